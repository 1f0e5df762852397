/*
 * origins.c -- the tree's links per origin (origins.h). The table is an
 * array of slots grown by doubling up to HS_ORIGINS_MAX; a slot's peers
 * are a ring: when all HS_ORIGIN_LINKS are taken, the oldest goes. Use
 * is a counter, not a clock, so a simulated run stays the same.
 */
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "origins.h"

struct hs_origins {
    uint64_t key[2];
    uint64_t tick;
    size_t n, cap;
    hs_origin *v;
};

void hs_origins_free(hs_origins *o)
{
    if (o) {
        free(o->v);
        free(o);
    }
}

static uint64_t key_of(const hs_origins *o, const char *origin, size_t len)
{
    uint64_t k = hs_hash_siphash(o->key, origin, len);

    return k ? k : 1;
}

static hs_origin *find(hs_origins *o, uint64_t k)
{
    for (size_t i = 0; i < o->n; i++)
        if (o->v[i].key == k)
            return &o->v[i];
    return NULL;
}

const hs_origin *hs_origins_find(hs_origins *o, const char *origin, size_t len)
{
    hs_origin *s = o && o->n ? find(o, key_of(o, origin, len)) : NULL;

    if (s)
        s->used = ++o->tick;
    return s;
}

int hs_origin_link(const hs_origin *s, const struct hs_peer *p)
{
    for (unsigned i = 0; i < s->n; i++)
        if (s->peers[i] == p)
            return (s->eager >> i) & 1;
    return -1;
}

/* A slot for key k: a free one, a new one, or the least recently used. */
static hs_origin *take_slot(hs_origins *o, uint64_t k)
{
    hs_origin *s;

    if (o->n == o->cap && o->cap < HS_ORIGINS_MAX) {
        size_t cap = o->cap ? o->cap * 2 : 4;
        hs_origin *v = realloc(o->v, (cap < HS_ORIGINS_MAX ? cap : HS_ORIGINS_MAX) * sizeof *v);
        if (!v)
            return NULL;
        o->v = v;
        o->cap = cap < HS_ORIGINS_MAX ? cap : HS_ORIGINS_MAX;
    }
    if (o->n < o->cap) {
        s = &o->v[o->n++];
    } else {
        s = &o->v[0];
        for (size_t i = 1; i < o->n; i++)
            if (o->v[i].used < s->used)
                s = &o->v[i];
    }
    memset(s, 0, sizeof *s);
    s->key = k;
    return s;
}

hs_err hs_origins_set(hs_origins **o, hs_rng *rng, const char *origin, size_t len,
                      const struct hs_peer *p, int eager)
{
    hs_origin *s;
    unsigned i;

    if (!*o) {
        if (!(*o = calloc(1, sizeof **o)))
            return HS_ENOMEM;
        (*o)->key[0] = hs_rng_next(rng);
        (*o)->key[1] = hs_rng_next(rng);
    }
    uint64_t k = key_of(*o, origin, len);
    if (!(s = find(*o, k)) && !(s = take_slot(*o, k)))
        return HS_ENOMEM;
    s->used = ++(*o)->tick;
    for (i = 0; i < s->n && s->peers[i] != p; i++)
        ;
    if (i == s->n) {
        if (s->n < HS_ORIGIN_LINKS) {
            s->n++;
        } else {
            i = s->next;
            s->next = (uint8_t)((s->next + 1) % HS_ORIGIN_LINKS);
        }
        s->peers[i] = p;
    }
    s->eager = (uint16_t)(eager ? s->eager | (1u << i) : s->eager & ~(1u << i));
    return HS_OK;
}

void hs_origins_forget(hs_origins *o, const struct hs_peer *p)
{
    for (size_t k = 0; o && k < o->n; k++) {
        hs_origin *s = &o->v[k];
        for (unsigned i = 0; i < s->n; i++) {
            if (s->peers[i] != p)
                continue;
            /* The last one moves into the hole, its bit with it. */
            unsigned last = s->n - 1u;
            s->peers[i] = s->peers[last];
            s->eager = (uint16_t)((s->eager & ~(1u << i)) | (((s->eager >> last) & 1u) << i));
            s->eager &= (uint16_t) ~(1u << last);
            s->n--;
            if (s->next > s->n)
                s->next = 0;
            break;
        }
    }
}

size_t hs_origins_count(const hs_origins *o)
{
    return o ? o->n : 0;
}
