/*
 * seen.h -- the seen-cache: which message ids this node has already handled.
 *
 * A FIFO ring of (id, time in ms, copies) in insertion order plus an
 * open-addressing index into it. Insertion order is time order, so expiry
 * and cap eviction both pop the oldest entry from the ring's head. Memory:
 * 40 bytes per entry, in chunks of 512 allocated as the ring reaches them
 * and freed once it has left them (so an idle node does not pay for a full
 * cache, and growing copies nothing), plus an 8-byte index slot per 3/4
 * to 3/8 entry (the index doubles at 3/4 full): 51-62 bytes an id. Lookup
 * and insert are O(1) expected; the index hash is keyed per cache so
 * crafted ids cannot force long probe chains, and each slot carries 32
 * bits of its hash, so a probe rarely reads the ring and evicting or
 * growing never does (at a full cache each read of the ring is a cache
 * miss: with 4-byte slots that rehashed the entries they moved, evictions
 * took a third of the node's time under batched ingest).
 *
 * Recent messages may also keep their serialised envelope (the body), for
 * anti-entropy: bodies sit in their own FIFO (24 bytes each plus the body,
 * its bytes in 64 KiB chunks: arena.h),
 * and are dropped oldest first once older than the retain ttl or over the
 * byte cap, while their ids stay.
 */
#ifndef HS_SEEN_H
#define HS_SEEN_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "hearsay.h"

typedef struct hs_seen hs_seen;

/* Returns a new cache in *out, freed with hs_seen_free(). cap >= 1. */
hs_err hs_seen_new(size_t cap, double ttl, hs_seen **out);
void hs_seen_free(hs_seen *seen);

/*
 * Records id as seen at `now`. Returns HS_OK when it was new, HS_EDUP when it
 * was already there, HS_ENOMEM when growing failed (the id is then not
 * recorded). Evicts the oldest entry when full, counting it in *evicted.
 */
hs_err hs_seen_insert(hs_seen *seen, const uint8_t id[32], double now, uint64_t *evicted);

int hs_seen_contains(const hs_seen *seen, const uint8_t id[32]);

/* Forgets ids older than the ttl; returns how many. */
size_t hs_seen_expire(hs_seen *seen, double now);

size_t hs_seen_count(const hs_seen *seen);

/* Bytes currently allocated by the cache. */
size_t hs_seen_bytes(const hs_seen *seen);

/* Calls fn for each id, oldest first, with its insertion time. */
void hs_seen_each(const hs_seen *seen, void (*fn)(void *ud, const uint8_t id[32], double t),
                  void *ud);

/* Counts one more copy of a known id (saturating); returns the new count,
 * 0 when the id is unknown. A fresh insert counts as the first copy. */
unsigned hs_seen_copy(hs_seen *seen, const uint8_t id[32]);
unsigned hs_seen_copies(const hs_seen *seen, const uint8_t id[32]);

/* Sets the body retention: bodies older than ttl seconds, or beyond
 * max_bytes in total, are freed (oldest first). */
void hs_seen_retain(hs_seen *seen, double ttl, size_t max_bytes);

/* Keeps `body` (taken over: the cache frees it) as the id's envelope.
 * Returns HS_ENOENT (and frees body) when the id is not in the cache. */
hs_err hs_seen_attach(hs_seen *seen, const uint8_t id[32], char *body, size_t len);

/* The same for a body in n parts (copied, one after the other). */
hs_err hs_seen_attach_parts(hs_seen *seen, const uint8_t id[32], const hs_arena_part *parts,
                            size_t n);

/* The retained body of an id, borrowed, or NULL. */
const char *hs_seen_body(const hs_seen *seen, const uint8_t id[32], size_t *len);

/* Calls fn for the ids that still have a body and arrived at or after
 * `since` and at or before `until`, newest first, until fn returns
 * non-zero. */
void hs_seen_recent(const hs_seen *seen, double since, double until,
                    int (*fn)(void *ud, const uint8_t id[32]), void *ud);

size_t hs_seen_body_bytes(const hs_seen *seen);

#endif
