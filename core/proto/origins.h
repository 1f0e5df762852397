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
 * (bench/RESULTS.md, Load). A slot holds up to HS_ORIGIN_LINKS peers
 * with a state of their own for its origin, which overrides the shared
 * link; every other origin and peer goes by the shared links. Slots are
 * made on first use, up to HS_ORIGINS_MAX, and the least recently used
 * one makes room for a new origin. The peer table owns the table
 * (hs_peers.origins) and takes a peer out of it when it removes the peer,
 * so the pointers never dangle.
 * Cost: about 150 bytes a slot, none before the first; a lookup hashes
 * the origin (SipHash) and scans the slots' keys.
 */
#ifndef HS_ORIGINS_H
#define HS_ORIGINS_H

#include <stddef.h>
#include <stdint.h>

#include "hearsay.h"
#include "rng.h"

#define HS_ORIGINS_MAX 32
#define HS_ORIGIN_LINKS 16

struct hs_peer;

typedef struct hs_origin {
    uint64_t key;  /* SipHash of the origin's id; 0: free */
    uint64_t used; /* hs_origins' tick at the last find or set */
    const struct hs_peer *peers[HS_ORIGIN_LINKS];
    uint16_t eager; /* bit i: the link to peers[i] is open for the origin */
    uint8_t n;      /* peers held */
    uint8_t next;   /* where the next peer goes once all are held */
} hs_origin;

typedef struct hs_origins hs_origins;

/* Frees the table (NULL: nothing). */
void hs_origins_free(hs_origins *o);

/* The slot of `origin` (len bytes), marked used, or NULL when the table
 * (NULL: none yet) has none. */
const hs_origin *hs_origins_find(hs_origins *o, const char *origin, size_t len);

/* What slot s says of the link to p: 1 it carries the origin's
 * messages, 0 pruned for them, -1 nothing (the shared link decides). */
int hs_origin_link(const hs_origin *s, const struct hs_peer *p);

/* Sets the link to p open (eager 1) or pruned (eager 0) for `origin`
 * (len bytes), making the table (*o, its key drawn from rng) and the slot
 * as needed. A full slot lets go of its oldest peer. HS_ENOMEM leaves
 * things as they were. */
hs_err hs_origins_set(hs_origins **o, hs_rng *rng, const char *origin, size_t len,
                      const struct hs_peer *p, int eager);

/* Takes p out of every slot (the peer table, before it frees p). */
void hs_origins_forget(hs_origins *o, const struct hs_peer *p);

/* Slots in use (for tests). */
size_t hs_origins_count(const hs_origins *o);

#endif
