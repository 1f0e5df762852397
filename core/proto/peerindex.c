/*
 * peerindex.c -- linear-probing hash index of peer records; see peerindex.h.
 *
 * Invariants: every indexed record sits in exactly one slot, reachable from
 * its home slot (hash & mask) without crossing an empty slot; empty slots
 * are NULL; count <= 3/4 of the slots.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "hash.h"
#include "peerindex.h"
#include "peers.h"

#define MIN_SLOTS 16

static const char *key_of(const hs_peerindex *ix, const hs_peer *p)
{
    return ix->by == HS_PEERINDEX_ID ? p->id : p->url;
}

static size_t home(const hs_peerindex *ix, const char *key)
{
    return (size_t)hs_hash_siphash(ix->key, key, strlen(key)) & ix->mask;
}

void hs_peerindex_init(hs_peerindex *ix, hs_peerindex_by by)
{
    memset(ix, 0, sizeof *ix);
    ix->by = by;
}

void hs_peerindex_free(hs_peerindex *ix)
{
    free(ix->slots);
    hs_peerindex_init(ix, ix->by);
}

static void place(hs_peerindex *ix, hs_peer *p)
{
    size_t i = home(ix, key_of(ix, p));
    while (ix->slots[i])
        i = (i + 1) & ix->mask;
    ix->slots[i] = p;
}

hs_err hs_peerindex_reserve(hs_peerindex *ix, size_t n)
{
    size_t size = ix->slots ? ix->mask + 1 : 0, want = MIN_SLOTS;
    hs_peer **old = ix->slots;

    if (size && n <= size / 4 * 3)
        return HS_OK;
    while (n > want / 4 * 3) {
        if (want > SIZE_MAX / 2 / sizeof *old)
            return HS_ENOMEM;
        want *= 2;
    }
    if (!old && RAND_bytes((unsigned char *)ix->key, sizeof ix->key) != 1)
        return HS_EIO;
    hs_peer **slots = calloc(want, sizeof *slots);
    if (!slots)
        return HS_ENOMEM;
    ix->slots = slots;
    ix->mask = want - 1;
    for (size_t i = 0; i < size; i++)
        if (old[i])
            place(ix, old[i]);
    free(old);
    return HS_OK;
}

void hs_peerindex_put(hs_peerindex *ix, hs_peer *p)
{
    place(ix, p);
    ix->count++;
}

void hs_peerindex_del(hs_peerindex *ix, const hs_peer *p)
{
    size_t i, j;

    if (!ix->slots)
        return;
    for (i = home(ix, key_of(ix, p)); ix->slots[i] != p; i = (i + 1) & ix->mask)
        if (!ix->slots[i])
            return; /* not indexed */
    /* Backward shift: pull later entries of the chain into the hole unless
     * their home lies cyclically in (hole, j]. */
    for (j = i;;) {
        j = (j + 1) & ix->mask;
        if (!ix->slots[j])
            break;
        size_t h = home(ix, key_of(ix, ix->slots[j]));
        int stays = i <= j ? (i < h && h <= j) : (i < h || h <= j);
        if (!stays) {
            ix->slots[i] = ix->slots[j];
            i = j;
        }
    }
    ix->slots[i] = NULL;
    ix->count--;
}

hs_peer *hs_peerindex_find(const hs_peerindex *ix, const char *key)
{
    if (!ix->slots)
        return NULL;
    for (size_t i = home(ix, key); ix->slots[i]; i = (i + 1) & ix->mask)
        if (strcmp(key_of(ix, ix->slots[i]), key) == 0)
            return ix->slots[i];
    return NULL;
}
