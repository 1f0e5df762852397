/*
 * jsonnum.h -- a JSON number's extent, for the scanners that read
 * envelopes (envscan.c) and probe answers (jsonpick.c) without jansson's
 * lexer. Both decline what they would rather leave to jansson: numbers
 * longer than HS_JSON_NUM_MAX bytes, integers of more than 18 digits,
 * exponents of more than two digits.
 */
#ifndef HS_JSONNUM_H
#define HS_JSONNUM_H

#include <stddef.h>

#define HS_JSON_NUM_MAX 40

/* The length of the number at s[i] (s holds len bytes), *is_int when it
 * has no fraction or exponent; 0 when there is none there, or it is
 * declined. */
size_t hs_json_number_len(const char *s, size_t len, size_t i, int *is_int);

#endif
