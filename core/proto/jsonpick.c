/*
 * jsonpick.c -- see jsonpick.h. A strict recogniser of a subset of JSON,
 * as envscan.c's: it must never take what jansson refuses, and what it
 * cannot vouch for it declines to json_loadb. Declined: a top level that
 * is not an object, \u escapes (jansson's surrogate and NUL rules), any
 * escape in a key, a picked key twice (jansson keeps the last), control
 * bytes and invalid UTF-8 in strings, nesting deeper than PICK_DEPTH,
 * integers of more than 18 digits (jansson refuses past int64), reals
 * with exponents of more than two digits or more than HS_JSON_NUM_MAX
 * characters (none can overflow a double), anything else invalid.
 *
 * Cost: one pass over the text, ~10 instructions a byte, and the picked
 * values only are built, from the text: strings with escapes and reals
 * of more than 15 digits or with exponents by json_loadb of their own
 * text, the rest directly.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonnum.h"
#include "envelope.h"
#include "jsonpick.h"

#define PICK_DEPTH 32
#define PICK_KEYS 16 /* keys a caller may pick */

typedef struct pick {
    const char *s;
    size_t len, i;
} pick;

/* Bytes that stand for themselves in a string: printable ASCII but the
 * quote and the backslash. */
#define P16 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1
static const unsigned char plain_byte[256] = {
    [0x20] = 1, 1,   0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x22 '"' */
    P16,        P16,                                           /* 0x30-0x4f */
    1,          1,   1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, /* 0x5c '\\' */
    P16,                                                       /* 0x60-0x6f */
    1,          1,   1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* DEL: jansson takes it */
};
#undef P16

static void ws(pick *c)
{
    c->i = hs_json_ws(c->s, c->i, c->len);
}

/* Which of the 8 bytes of v (in memory order) may need a look in a
 * string: a quote, a backslash, a control byte or a byte >= 0x80; a high
 * bit set in each. Never wrong when it says none, and the first byte it
 * marks is never past the first that needs a look (a false alarm only
 * comes from a borrow out of a lower byte that did need one). */
static inline uint64_t special8(uint64_t v)
{
    const uint64_t ones = 0x0101010101010101u;
    uint64_t q = v ^ (ones * '"'), b = v ^ (ones * '\\');

    return (((q - ones) & ~q) | ((b - ones) & ~b) | ((v - ones * 0x20) & ~v) | v) & (ones * 0x80);
}

/* A string at c->i (its opening quote): c->i past its closing quote, *esc
 * set when it holds escapes. 0, or -1 to decline. */
static int string(pick *c, int *esc)
{
    const unsigned char *s = (const unsigned char *)c->s;
    size_t i = c->i + 1;

    *esc = 0;
    for (;;) {
        for (uint64_t v, m; i + 8 <= c->len; i += 8) {
            memcpy(&v, s + i, 8);
            if ((m = special8(v)) != 0) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
                i += (size_t)__builtin_ctzll(m) >> 3; /* to the first byte marked */
#endif
                break;
            }
        }
        while (i < c->len && plain_byte[s[i]])
            i++;
        if (i >= c->len)
            return -1;
        if (s[i] == '"')
            break;
        if (s[i] == '\\') {
            if (i + 1 >= c->len || !s[i + 1] || !strchr("\"\\/bfnrt", s[i + 1]))
                return -1; /* \u, and anything invalid */
            *esc = 1;
            i += 2;
        } else if (s[i] < 0x80) {
            return -1; /* a control byte */
        } else {
            size_t k = hs_utf8_seq(s + i, c->len - i);
            if (!k)
                return -1;
            i += k;
        }
    }
    c->i = i + 1;
    return 0;
}

/* A number at c->i; *is_int when it has no fraction or exponent. */
static int number(pick *c, int *is_int)
{
    size_t n = hs_json_number_len(c->s, c->len, c->i, is_int);

    if (!n)
        return -1;
    c->i += n;
    return 0;
}

static int literal(pick *c, const char *word, size_t n)
{
    if (c->len - c->i < n || memcmp(c->s + c->i, word, n) != 0)
        return -1;
    c->i += n;
    return 0;
}

/* After a member or element: 1 at `close` (taken), 0 after a comma
 * (whitespace skipped), -1 otherwise. */
static int next_member(pick *c, char close)
{
    ws(c);
    if (c->i < c->len && c->s[c->i] == ',') {
        c->i++;
        ws(c);
        return 0;
    }
    if (c->i < c->len && c->s[c->i] == close) {
        c->i++;
        return 1;
    }
    return -1;
}

/* A key (no escapes) and the colon and whitespace after it. */
static int key(pick *c, const char **p, size_t *n)
{
    int esc;
    size_t start = c->i;

    if (c->i >= c->len || c->s[c->i] != '"' || string(c, &esc) != 0 || esc)
        return -1;
    *p = c->s + start + 1;
    *n = c->i - start - 2;
    ws(c);
    if (c->i >= c->len || c->s[c->i] != ':')
        return -1;
    c->i++;
    ws(c);
    return 0;
}

/* Validates the value at c->i (no leading whitespace). */
static int value(pick *c, int depth)
{
    int flag;

    if (c->i >= c->len || depth > PICK_DEPTH)
        return -1;
    switch (c->s[c->i]) {
    case '{':
    case '[': {
        char close = c->s[c->i] == '{' ? '}' : ']';
        const char *p;
        size_t n;
        c->i++;
        ws(c);
        if (c->i < c->len && c->s[c->i] == close) {
            c->i++;
            return 0;
        }
        for (;;) {
            if ((close == '}' && key(c, &p, &n) != 0) || value(c, depth + 1) != 0)
                return -1;
            int r = next_member(c, close);
            if (r != 0)
                return r > 0 ? 0 : -1;
        }
    }
    case '"':
        return string(c, &flag);
    case 't':
        return literal(c, "true", 4);
    case 'f':
        return literal(c, "false", 5);
    case 'n':
        return literal(c, "null", 4);
    default:
        return number(c, &flag);
    }
}

/* A real the scanner took, as strtod reads it (which jansson calls), when
 * that is sure without strtod: at most 15 digits and no exponent make an
 * integer and a power of ten that a double holds exactly, and one
 * division of exact values rounds as strtod rounds. 0, or -1. */
static int exact_real(const char *t, size_t n, double *out)
{
    static const double pow10[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
    uint64_t m = 0;
    size_t digits = 0, frac = 0, i = t[0] == '-';
    int dot = 0;

    for (; i < n; i++) {
        if (t[i] == '.') {
            dot = 1;
        } else if (t[i] >= '0' && t[i] <= '9' && digits < 15) {
            m = m * 10 + (uint64_t)(t[i] - '0');
            digits++;
            frac += (size_t)dot;
        } else {
            return -1; /* an exponent, or too many digits */
        }
    }
    *out = t[0] == '-' ? -((double)m / pow10[frac]) : (double)m / pow10[frac];
    return 0;
}

/* The value at c->i (validated already) as jansson builds it, c->i past
 * it; NULL out of memory. Strings with escapes and long reals are
 * json_loadb's, from their own text. */
static json_t *build(pick *c)
{
    const char *p = c->s + c->i;
    size_t start = c->i;
    int flag;
    double v;

    switch (*p) {
    case 't':
        c->i += 4;
        return json_true();
    case 'f':
        c->i += 5;
        return json_false();
    case 'n':
        c->i += 4;
        return json_null();
    case '"':
        if (string(c, &flag) != 0)
            return NULL;
        if (!flag) /* validated UTF-8, no NUL */
            return json_stringn_nocheck(p + 1, c->i - start - 2);
        break;
    case '{':
    case '[': {
        char close = *p == '{' ? '}' : ']';
        json_t *o = close == '}' ? json_object() : json_array();
        const char *k;
        size_t n;
        c->i++;
        ws(c);
        if (c->i < c->len && c->s[c->i] == close) {
            c->i++;
            return o;
        }
        while (o) {
            json_t *e;
            if (close == '}' && key(c, &k, &n) != 0)
                break;
            /* jansson's own calls: a key again replaces its value. */
            if (!(e = build(c)) || (close == '}' ? json_object_setn_new_nocheck(o, k, n, e)
                                                 : json_array_append_new(o, e)) != 0)
                break;
            int r = next_member(c, close);
            if (r > 0)
                return o;
            if (r < 0)
                break;
        }
        json_decref(o);
        return NULL;
    }
    default:
        if (number(c, &flag) != 0)
            return NULL;
        if (flag) {
            char digits[24]; /* at most '-' and 18 digits */
            memcpy(digits, p, c->i - start);
            digits[c->i - start] = '\0';
            return json_integer((json_int_t)strtoll(digits, NULL, 10));
        }
        if (exact_real(p, c->i - start, &v) == 0)
            return json_real(v);
    }
    return json_loadb(p, c->i - start, JSON_DECODE_ANY, NULL);
}

/* The picked members' spans in text, or -1 to decline. */
static int scan(pick *c, const char *const *keys, const size_t *klen, size_t nkeys, size_t *at,
                size_t *end)
{
    const char *p;
    size_t n;

    c->i = hs_json_ws(c->s, 0, c->len);
    if (c->i >= c->len || c->s[c->i] != '{')
        return -1;
    c->i++;
    ws(c);
    if (c->i < c->len && c->s[c->i] == '}') {
        c->i++;
    } else {
        for (;;) {
            if (key(c, &p, &n) != 0)
                return -1;
            size_t k = 0;
            while (k < nkeys && (klen[k] != n || memcmp(keys[k], p, n) != 0))
                k++;
            size_t start = c->i;
            if (value(c, 1) != 0)
                return -1;
            if (k < nkeys) {
                if (end[k])
                    return -1; /* twice: jansson keeps the last */
                at[k] = start;
                end[k] = c->i;
            }
            int r = next_member(c, '}');
            if (r < 0)
                return -1;
            if (r > 0)
                break;
        }
    }
    ws(c);
    return c->i == c->len ? 0 : -1;
}

json_t *hs_json_pick(const char *text, size_t len, const char *const *keys, size_t nkeys)
{
    pick c = {text, len, 0};
    size_t at[PICK_KEYS], end[PICK_KEYS] = {0}, klen[PICK_KEYS];
    json_t *o;

    if (!text || nkeys > PICK_KEYS)
        return json_loadb(text, len, 0, NULL);
    for (size_t k = 0; k < nkeys; k++)
        klen[k] = strlen(keys[k]);
    if (scan(&c, keys, klen, nkeys, at, end) != 0 || !(o = json_object()))
        return json_loadb(text, len, 0, NULL);
    for (size_t k = 0; k < nkeys; k++) {
        json_t *v;
        if (!end[k])
            continue;
        c.i = at[k];
        if (!(v = build(&c)) || c.i != end[k]) {
            json_decref(v);
            json_decref(o);
            return json_loadb(text, len, 0, NULL);
        }
        if (json_object_set_new(o, keys[k], v) != 0) {
            json_decref(o);
            return json_loadb(text, len, 0, NULL);
        }
    }
    return o;
}

json_t *hs_json_load(const char *text, size_t len)
{
    pick c = {text, len, 0};
    size_t at;
    json_t *v;

    if (!text)
        return json_loadb(text, len, 0, NULL);
    at = c.i = hs_json_ws(text, 0, len);
    /* Without JSON_DECODE_ANY jansson takes an object or an array only. */
    if (at >= len || (text[at] != '{' && text[at] != '[') || value(&c, 1) != 0 ||
        hs_json_ws(text, c.i, len) != len)
        return json_loadb(text, len, 0, NULL);
    c.i = at;
    if (!(v = build(&c)))
        return json_loadb(text, len, 0, NULL);
    return v;
}
