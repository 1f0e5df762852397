/*
 * digest.h -- the message ids POST /digest and POST /fetch carry
 * (anti-entropy's digests and fetches, lazy push's offers, and their
 * answers): a JSON list of hex ids (digest.c). Shared by antientropy.c
 * and lazypush.c, below both.
 */
#ifndef HS_DIGEST_H
#define HS_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "seen.h"

/* Parses a JSON list of hex ids (at most max; NULL if longer or not a
 * list) into sorted binary ids, skipping what is not a hex id; returns
 * them malloc'd (the caller frees them), *count gets how many. */
uint8_t (*hs_digest_parse_ids(const json_t *arr, size_t max, size_t *count))[32];

/* The ids (NULL: none) `seen` has not seen, as a JSON list of hex ids (a
 * new reference; NULL out of memory). Borrows ids. */
json_t *hs_digest_unseen(const hs_seen *seen, const uint8_t (*ids)[32], size_t count);

#endif
