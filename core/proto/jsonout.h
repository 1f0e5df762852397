/*
 * jsonout.h -- compact JSON text written straight into a growing buffer,
 * byte for byte as jansson's json_dumps(JSON_COMPACT) would write the
 * same values (strings escaped as jansson escapes them, integers as
 * %lld, reals as %.17g with jansson's clean-ups). For answers sent often
 * (an envelope, /health) where building a jansson tree to dump it once
 * cost more than the rest of the request.
 *
 * Cost: amortised O(bytes written), one realloc per doubling; no printf
 * but for reals. A failed allocation sticks (`failed`): the writer keeps
 * taking calls and hs_jsonout_finish() says NULL.
 */
#ifndef HS_JSONOUT_H
#define HS_JSONOUT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

typedef struct hs_jsonout {
    char *p; /* malloc'd, or NULL before the first byte */
    size_t len, cap;
    int failed;
} hs_jsonout;

/* Makes room for n more bytes and a NUL; 0, or -1 (and `failed`). */
int hs_jsonout_reserve(hs_jsonout *o, size_t n);

/* Appends s[0..n) as it is. */
static inline void hs_jsonout_put(hs_jsonout *o, const char *s, size_t n)
{
    if (o->failed || (o->len + n + 1 > o->cap && hs_jsonout_reserve(o, n) != 0))
        return;
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

#define HS_JSONOUT_LIT(o, s) hs_jsonout_put((o), (s), sizeof(s) - 1)

/* s[0..n) (valid UTF-8: the caller checks) as a JSON string, quotes
 * included: '"', '\\' and control bytes escaped, the rest as it is. */
void hs_jsonout_string(hs_jsonout *o, const char *s, size_t n);

/* Whether the NUL-terminated s is UTF-8 as jansson takes it (json_string
 * refuses anything else). */
int hs_jsonout_utf8(const char *s);

/* Integers as jansson prints a json_int_t. */
void hs_jsonout_int(hs_jsonout *o, long long v);
void hs_jsonout_uint(hs_jsonout *o, unsigned long long v);

/* bytes[0..n) as a JSON string of lowercase hex digits, quotes included
 * (a message id: 32 bytes, 66 characters). */
void hs_jsonout_hex(hs_jsonout *o, const uint8_t *bytes, size_t n);

/* A double as jansson prints a real: %.17g, a ".0" when that reads as an
 * integer, no '+' or leading zeros in the exponent. Finite: jansson has
 * no other real (the caller checks). */
void hs_jsonout_real(hs_jsonout *o, double v);

/* A jansson tree, as json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) writes
 * it: keys in the object's order, integers without printf. -1 (o as it
 * was but for bytes to drop with hs_jsonout_free) when jansson would
 * write otherwise or not at all: a string that is not UTF-8, a tree
 * deeper than 64. */
int hs_jsonout_json(hs_jsonout *o, const json_t *v);

/* The text, NUL-terminated, its length in *len: the caller's to free (o is
 * emptied). NULL (everything freed) when an allocation failed. */
char *hs_jsonout_finish(hs_jsonout *o, size_t *len);

/* Frees what o holds (a writer given up on). */
void hs_jsonout_free(hs_jsonout *o);

#endif
