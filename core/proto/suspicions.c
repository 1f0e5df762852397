/*
 * suspicions.c -- who else suspects a peer (suspicions.h): a fixed table
 * searched in full (HS_SUSPICIONS entries: suspicions are rare, and the
 * table is only read when one is heard or runs out).
 */
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "suspicions.h"

typedef struct entry {
    uint64_t peer; /* its id's hash; 0: unused */
    uint64_t incarnation;
    uint64_t by[HS_SUSPECTERS_MAX];
    unsigned n;
    double stamp;
} entry;

struct hs_suspicions {
    uint64_t key[2];
    entry e[HS_SUSPICIONS];
};

hs_suspicions *hs_suspicions_new(const uint64_t key[2])
{
    hs_suspicions *s = calloc(1, sizeof *s);

    if (s)
        memcpy(s->key, key, sizeof s->key);
    return s;
}

void hs_suspicions_free(hs_suspicions *s)
{
    free(s);
}

/* A hash that is never 0 (0 marks a free entry). */
static uint64_t hash_of(const hs_suspicions *s, const char *id)
{
    uint64_t h = hs_hash_siphash(s->key, id, strlen(id));
    return h ? h : 1;
}

static entry *find(const hs_suspicions *s, uint64_t peer)
{
    for (size_t i = 0; i < HS_SUSPICIONS; i++)
        if (s->e[i].peer == peer)
            return (entry *)&s->e[i];
    return NULL;
}

unsigned hs_suspicions_add(hs_suspicions *s, const char *peer_id, uint64_t incarnation,
                           const char *by, unsigned cap, double stamp)
{
    uint64_t peer = hash_of(s, peer_id), b = hash_of(s, by);
    entry *e = find(s, peer);

    if (cap > HS_SUSPECTERS_MAX)
        cap = HS_SUSPECTERS_MAX;
    if (!e) {
        /* A free entry, or else the stalest. */
        e = &s->e[0];
        for (size_t i = 0; i < HS_SUSPICIONS && e->peer; i++)
            if (!s->e[i].peer || s->e[i].stamp < e->stamp)
                e = &s->e[i];
        memset(e, 0, sizeof *e);
        e->peer = peer;
        e->incarnation = incarnation;
    }
    if (incarnation < e->incarnation)
        return e->n;
    if (incarnation > e->incarnation) {
        e->incarnation = incarnation;
        e->n = 0;
    }
    e->stamp = stamp;
    for (unsigned i = 0; i < e->n; i++)
        if (e->by[i] == b)
            return e->n;
    if (e->n < cap)
        e->by[e->n++] = b;
    return e->n;
}

unsigned hs_suspicions_count(const hs_suspicions *s, const char *peer_id, uint64_t incarnation)
{
    const entry *e = s ? find(s, hash_of(s, peer_id)) : NULL;

    return e && e->incarnation == incarnation ? e->n : 0;
}

int hs_suspicions_heard(const hs_suspicions *s, const char *peer_id, uint64_t incarnation)
{
    const entry *e = s ? find(s, hash_of(s, peer_id)) : NULL;

    return e && e->incarnation == incarnation;
}

void hs_suspicions_reset(hs_suspicions *s, const char *peer_id)
{
    entry *e = s ? find(s, hash_of(s, peer_id)) : NULL;

    if (e)
        e->n = 0;
}

void hs_suspicions_drop(hs_suspicions *s, const char *peer_id)
{
    entry *e = s ? find(s, hash_of(s, peer_id)) : NULL;

    if (e)
        memset(e, 0, sizeof *e);
}
