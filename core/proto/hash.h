/*
 * hash.h -- SHA-256 and hex helpers for message ids, and SipHash-2-4 for
 * hash tables keyed per table (so crafted keys cannot force long chains).
 */
#ifndef HS_HASH_H
#define HS_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "hearsay.h"

/* Writes the SHA-256 of data as 64 lowercase hex chars plus NUL to hex. */
hs_err hs_hash_sha256_hex(const void *data, size_t len, char hex[65]);

/* Parses exactly 64 hex chars (either case) into 32 bytes; HS_EINVAL otherwise. */
hs_err hs_hash_from_hex(const char *hex, uint8_t out[32]);
/* The same for the 64 chars at hex, whatever follows them (a JSON
 * string's closing quote). */
hs_err hs_hash_from_hex64(const char *hex, uint8_t out[32]);
/* The same, and canon gets the id in lower case (64 digits and a NUL):
 * copied when it already is, which is the common case. */
hs_err hs_hash_parse_id(const char *hex, uint8_t bin[32], char canon[65]);

/* Writes 2*len lowercase hex chars plus NUL. */
void hs_hash_to_hex(const uint8_t *bytes, size_t len, char *hex);
/* The value of one hex digit (either case), or -1. */
int hs_hash_hex_digit(char c);

/* The 8 lowercase hex digits at hex (no NUL needed) as a number, most
 * significant first, in *out: 0, or -1 when one is not such a digit. */
int hs_hash_hex8(const char *hex, uint32_t *out);

/* SipHash-2-4 of data under a 128-bit key. */
uint64_t hs_hash_siphash(const uint64_t key[2], const void *data, size_t len);

#endif
