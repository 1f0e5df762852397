/*
 * suspicions.h -- Lifeguard's independent suspicions: which other nodes
 * say a peer is suspect (their own gossiped hs.suspect), so that a
 * suspicion several nodes bear out runs out sooner than one ours alone
 * (membership.c). Kept per peer and incarnation: a refutation raises the
 * incarnation and leaves the old word behind.
 *
 * A small table of HS_SUSPICIONS entries, made on the first suspicion
 * heard (most nodes never hear one), the stalest entry taken for a new
 * peer: its size bounds the memory whatever is gossiped. Peers and
 * suspecters are kept as SipHash-2-4 values under a key of the table's
 * own, so crafted ids cannot make two peers share an entry; two
 * suspecters that hash alike count once, never twice. No I/O, no clock.
 */
#ifndef HS_SUSPICIONS_H
#define HS_SUSPICIONS_H

#include <stddef.h>
#include <stdint.h>

#include "hearsay.h"

#define HS_SUSPICIONS 32
/* The most suspecters counted for one peer (the suspicion_confirmations
 * setting's upper bound). */
#define HS_SUSPECTERS_MAX 8

typedef struct hs_suspicions hs_suspicions;

/* A table keyed by key (two random words from the node's generator), or
 * NULL out of memory. */
hs_suspicions *hs_suspicions_new(const uint64_t key[2]);
void hs_suspicions_free(hs_suspicions *s);

/* Records that `by` suspects peer_id at `incarnation`, counting at most
 * `cap` (<= HS_SUSPECTERS_MAX) distinct suspecters; `stamp` orders the
 * entries for eviction (any increasing number, e.g. monotonic seconds).
 * Returns how many distinct suspecters it now has at that incarnation
 * (word of an older incarnation than the entry's is ignored; a newer one
 * starts the count again). */
unsigned hs_suspicions_add(hs_suspicions *s, const char *peer_id, uint64_t incarnation,
                           const char *by, unsigned cap, double stamp);

/* How many distinct suspecters peer_id has at `incarnation` (0 when s is
 * NULL or none). */
unsigned hs_suspicions_count(const hs_suspicions *s, const char *peer_id, uint64_t incarnation);

/* Whether anything was said of peer_id at `incarnation` since the table
 * last forgot it (a suspicion counted, even one reset since). */
int hs_suspicions_heard(const hs_suspicions *s, const char *peer_id, uint64_t incarnation);

/* peer_id answered: the suspecters so far no longer count (a later
 * suspicion starts from none), but the incarnation stays heard. */
void hs_suspicions_reset(hs_suspicions *s, const char *peer_id);

/* Forgets peer_id altogether (it is dead, or gone). */
void hs_suspicions_drop(hs_suspicions *s, const char *peer_id);

#endif
