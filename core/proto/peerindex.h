/*
 * peerindex.h -- a hash index of peer records by id or by URL.
 *
 * Open addressing with linear probing over an array of record pointers,
 * kept at most 3/4 full and doubled when it would be fuller; deletion
 * shifts entries back, so no tombstones pile up. Cost: 8 bytes a slot,
 * 11-21 bytes a peer; lookup, insert and delete O(1) expected. Keys are
 * hashed with SipHash under a random key per index, so ids from the
 * network cannot be crafted into one long probe chain.
 *
 * The index does not own the records and reads their key through the
 * record, so a record's key must not change while it is indexed (delete,
 * change, put). Several records may share a key (two ids at one URL);
 * find returns one of them.
 */
#ifndef HS_PEERINDEX_H
#define HS_PEERINDEX_H

#include <stddef.h>
#include <stdint.h>

#include "hearsay.h"

struct hs_peer;

typedef enum hs_peerindex_by { HS_PEERINDEX_ID, HS_PEERINDEX_URL } hs_peerindex_by;

typedef struct hs_peerindex {
    struct hs_peer **slots; /* NULL until the first reserve */
    size_t mask;            /* slot count - 1 */
    size_t count;
    uint64_t key[2];
    hs_peerindex_by by;
} hs_peerindex;

void hs_peerindex_init(hs_peerindex *ix, hs_peerindex_by by);
void hs_peerindex_free(hs_peerindex *ix);

/* Makes room for `n` records in all, so that the puts up to n cannot fail.
 * HS_ENOMEM (the index unchanged) or HS_EIO (no randomness for the key). */
hs_err hs_peerindex_reserve(hs_peerindex *ix, size_t n);

/* Indexes a record; the caller reserved room for it. */
void hs_peerindex_put(hs_peerindex *ix, struct hs_peer *peer);

/* Unindexes exactly this record (not another one with the same key). */
void hs_peerindex_del(hs_peerindex *ix, const struct hs_peer *peer);

/* A record with this key, or NULL. */
struct hs_peer *hs_peerindex_find(const hs_peerindex *ix, const char *key);

#endif
