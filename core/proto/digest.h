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

#include "jsonout.h"
#include "seen.h"

/* Parses a JSON list of hex ids (at most max; NULL if longer or not a
 * list) into sorted binary ids, skipping what is not a hex id; returns
 * them malloc'd (the caller frees them), *count gets how many. */
uint8_t (*hs_digest_parse_ids(const json_t *arr, size_t max, size_t *count))[32];

/* The ids (NULL: none) `seen` has not seen, written to o as a JSON list of
 * hex ids; returns how many. Borrows ids. */
size_t hs_digest_unseen(const hs_seen *seen, const uint8_t (*ids)[32], size_t count, hs_jsonout *o);

/*
 * A lazy offer (POST /digest with "lazy": true, lazypush.c): the ids in the
 * order the offerer wrote them, and with each the ttl a copy would carry
 * ("ttls", paired by position: HS_OFFER_NO_TTL where the list is missing,
 * of another length, or that entry is not a ttl from 0 to 65535); ids that
 * are not hex ids are left out, with their ttls. node_id is the offerer's
 * ("" when not a string).
 */
#define HS_OFFER_NO_TTL 0xffffffffu

typedef struct hs_offer {
    uint8_t (*ids)[32];
    unsigned *ttls;
    size_t count;
    char node_id[129];
} hs_offer;

/* Reads a lazy offer from its JSON object; -1 (nothing to free) when "ids"
 * is not a list of at most max, or out of memory. */
int hs_offer_from_json(const json_t *req, size_t max, hs_offer *out);

/*
 * Reads a lazy offer straight from its text when it is written as
 * lazypush.c writes it ({"node_id":"..","ids":["<hex>",..],"ttls":[n,..],
 * "lazy":true}, no spaces, at most max ids, ttls of at most 5 digits): 1
 * (and *out), else 0: the text is not that, and only jansson can say what
 * it is (the offer it gives is this one whenever this takes the text); -1
 * out of memory. Either way nothing to free unless 1.
 */
int hs_offer_scan(const char *text, size_t len, size_t max, hs_offer *out);

void hs_offer_free(hs_offer *o);

/*
 * A digest (POST /digest, not lazy; antientropy.c) or its answer, read
 * straight from its text when written as antientropy.c writes it
 * ({"node_id":"..","ids":[..],...} or {"missing":[..],"extra":[..],...}:
 * no spaces, ids as "<64 hex>", at most max in a list): the lists sorted,
 * as hs_digest_parse_ids gives them ("ids" or "missing" in a, "extra" in
 * b), and the members after them (the state, a digest's window) as the
 * object rest. 1 (and *out); 0 when the text is not that, or gives a list
 * again, or is a lazy offer: only jansson's path can say what it is (and
 * it reads the same whenever this takes the text); -1 out of memory.
 * Nothing to free unless 1. A digest's 1024 ids as jansson strings cost
 * more than the rest of a round.
 */
typedef struct hs_digest_text {
    uint8_t (*a)[32], (*b)[32];
    size_t na, nb;
    json_t *rest;
} hs_digest_text;

int hs_digest_scan(const char *text, size_t len, size_t max, int answer, hs_digest_text *out);
void hs_digest_text_free(hs_digest_text *d);

#endif
