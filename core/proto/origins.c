/*
 * origins.c -- the tree's origins (origins.h): a table of up to
 * HS_ORIGINS_MAX keys, the least recently used one taken for a new
 * origin. Use is a counter, not a clock, so a simulated run stays the
 * same. The words themselves are the peers' (peers.h).
 */
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "origins.h"

struct hs_origins {
    uint64_t key[2];
    uint64_t tick;
    size_t n;
    struct {
        uint64_t key;  /* SipHash of the origin's id (never 0) */
        uint64_t used; /* the tick at the last find or take */
    } v[HS_ORIGINS_MAX];
};

void hs_origins_free(hs_origins *o)
{
    free(o);
}

static uint64_t key_of(const hs_origins *o, const char *origin, size_t len)
{
    uint64_t k = hs_hash_siphash(o->key, origin, len);

    return k ? k : 1;
}

static int find(const hs_origins *o, uint64_t k)
{
    for (size_t i = 0; i < o->n; i++)
        if (o->v[i].key == k)
            return (int)i;
    return -1;
}

int hs_origins_find(hs_origins *o, const char *origin, size_t len)
{
    int i = o && o->n ? find(o, key_of(o, origin, len)) : -1;

    if (i >= 0)
        o->v[i].used = ++o->tick;
    return i;
}

int hs_origins_take(hs_origins **o, hs_rng *rng, const char *origin, size_t len, int *fresh)
{
    hs_origins *t = *o;
    uint64_t k;
    int i;

    *fresh = 0;
    if (!t) {
        if (!(t = *o = calloc(1, sizeof *t)))
            return -1;
        t->key[0] = hs_rng_next(rng);
        t->key[1] = hs_rng_next(rng);
    }
    k = key_of(t, origin, len);
    if ((i = find(t, k)) < 0) {
        /* A new slot, or the least recently used one. */
        if (t->n < HS_ORIGINS_MAX) {
            i = (int)t->n++;
        } else {
            i = 0;
            for (size_t j = 1; j < t->n; j++)
                if (t->v[j].used < t->v[i].used)
                    i = (int)j;
        }
        t->v[i].key = k;
        *fresh = 1;
    }
    t->v[i].used = ++t->tick;
    return i;
}

size_t hs_origins_count(const hs_origins *o)
{
    return o ? o->n : 0;
}
