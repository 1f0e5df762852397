/*
 * seen.h -- the seen-cache: which message ids this node has already handled.
 *
 * A FIFO ring of (id, time) in insertion order plus an open-addressing index
 * into it. Insertion order is time order, so expiry and cap eviction both pop
 * the oldest entry from the ring's head. Memory: 40 bytes per entry in the
 * ring plus 8 bytes of index (load <= 1/2); both grow by doubling up to `cap`,
 * so an idle node does not pay for a full cache. Lookup and insert are O(1)
 * expected; the index hash is keyed per cache so crafted ids cannot force
 * long probe chains.
 */
#ifndef HS_SEEN_H
#define HS_SEEN_H

#include <stddef.h>
#include <stdint.h>

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

#endif
