/*
 * origins.h -- the tree's links per origin: for the origins a push's
 * answer named last, which of our links carry that origin's messages and
 * which were pruned for it (Plumtree's eager and lazy sets per root, as
 * Riak's plumtree keeps them), over the shared links of hs_peer.eager.
 *
 * One set of eager links carries every origin's messages. A link that is
 * the only path for one origin's messages and brings another's second
 * was cut by the other's duplicates, then grafted again by the first's
 * next miss, and so on: under a stream from 10 origins the tree tore
 * (bench/RESULTS.md, Load). So each origin a push's answer names gets a
 * slot here, and each peer holds a word for each slot (hs_peer's
 * origin_word and origin_open, peers.h: a bit a slot), which overrides
 * the shared link; every other origin and peer goes by the shared links.
 * Any number of links may have a word for an origin. (A slot held the
 * words of at most 16 links and let go of its oldest: a link let go of
 * fell back to the shared link, and after a half-second pause under
 * load the words for one origin outgrew 16, and the tree never settled
 * again: 1.30-1.45 copies a node in the simulator, tens of thousands of
 * duplicates a second on loopback.) Slots are made on first use, up to
 * HS_ORIGINS_MAX, and the least recently used one makes room for a new
 * origin; whoever takes a slot that held another origin clears its
 * words (hs_peers_set_origin). Cost: 16 bytes a slot, 8 a peer; a lookup
 * hashes the origin (SipHash) and scans the slots' keys.
 */
#ifndef HS_ORIGINS_H
#define HS_ORIGINS_H

#include <stddef.h>
#include <stdint.h>

#include "hearsay.h"
#include "rng.h"

/* Slots; a peer's words are a bit a slot in a uint32_t. */
#define HS_ORIGINS_MAX 32

typedef struct hs_origins hs_origins;

/* Frees the table (NULL: nothing). */
void hs_origins_free(hs_origins *o);

/* The slot of `origin` (len bytes), marked used, or -1 when the table
 * (NULL: none yet) has none. */
int hs_origins_find(hs_origins *o, const char *origin, size_t len);

/* The slot of `origin`, marked used, made as needed (and the table, *o,
 * its key drawn from rng); *fresh is 1 when the slot is new to the
 * origin: the words that are the slot's are another origin's, or none,
 * and the caller clears them. -1: out of memory. */
int hs_origins_take(hs_origins **o, hs_rng *rng, const char *origin, size_t len, int *fresh);

/* Slots in use (for tests). */
size_t hs_origins_count(const hs_origins *o);

#endif
