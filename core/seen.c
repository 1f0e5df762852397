/*
 * seen.c -- ring + linear-probing index; see seen.h for the cost model.
 *
 * Invariants: ring holds `count` entries starting at `head` (mod ring_cap);
 * every live entry has exactly one index slot holding its ring position + 1;
 * slot value 0 means empty. Deletion uses backward-shift so no tombstones
 * accumulate.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "seen.h"

#define SEEN_MIN_RING 64

typedef struct seen_entry {
    uint8_t id[32];
    double t;
    char *body;        /* retained envelope, or NULL */
    uint32_t body_len;
    uint16_t copies;
} seen_entry;

struct hs_seen {
    size_t cap;
    double ttl;
    seen_entry *ring;
    size_t ring_cap, head, count;
    uint32_t *index;
    size_t index_mask; /* index size - 1, a power of two minus one */
    uint64_t key[2];
    double retain_ttl;
    size_t retain_bytes, body_bytes;
    size_t body_from; /* ring offset (from head) of the oldest entry that may hold a body */
};

static uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static size_t slot_of(const hs_seen *s, const uint8_t id[32])
{
    uint64_t h = mix(load64(id) ^ s->key[0]) ^ mix(load64(id + 8) ^ s->key[1]);
    h = mix(h ^ load64(id + 16)) ^ load64(id + 24);
    return (size_t)mix(h) & s->index_mask;
}

static size_t ring_pos(const hs_seen *s, size_t nth)
{
    return (s->head + nth) % s->ring_cap;
}

static size_t index_size_for(size_t ring_cap)
{
    size_t n = 16;
    while (n < ring_cap * 2)
        n <<= 1;
    return n;
}

static void index_put(hs_seen *s, size_t pos)
{
    size_t i = slot_of(s, s->ring[pos].id);
    while (s->index[i])
        i = (i + 1) & s->index_mask;
    s->index[i] = (uint32_t)(pos + 1);
}

/* Finds the slot whose entry has this id; returns index size when absent. */
static size_t index_find(const hs_seen *s, const uint8_t id[32])
{
    size_t i = slot_of(s, id);
    while (s->index[i]) {
        if (memcmp(s->ring[s->index[i] - 1].id, id, 32) == 0)
            return i;
        i = (i + 1) & s->index_mask;
    }
    return s->index_mask + 1;
}

static void index_delete(hs_seen *s, size_t i)
{
    size_t j = i;
    for (;;) {
        j = (j + 1) & s->index_mask;
        if (!s->index[j])
            break;
        size_t home = slot_of(s, s->ring[s->index[j] - 1].id);
        /* Move j back into the hole at i unless its home lies in (i, j]. */
        int stays = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
        if (!stays) {
            s->index[i] = s->index[j];
            i = j;
        }
    }
    s->index[i] = 0;
}

static hs_err rebuild(hs_seen *s, size_t new_ring_cap)
{
    seen_entry *ring = malloc(new_ring_cap * sizeof *ring);
    size_t isize = index_size_for(new_ring_cap);
    uint32_t *index = calloc(isize, sizeof *index);

    if (!ring || !index) {
        free(ring);
        free(index);
        return HS_ENOMEM;
    }
    for (size_t k = 0; k < s->count; k++)
        ring[k] = s->ring[ring_pos(s, k)];
    free(s->ring);
    free(s->index);
    s->ring = ring;
    s->ring_cap = new_ring_cap;
    s->head = 0;
    s->index = index;
    s->index_mask = isize - 1;
    for (size_t k = 0; k < s->count; k++)
        index_put(s, k);
    return HS_OK;
}

hs_err hs_seen_new(size_t cap, double ttl, hs_seen **out)
{
    hs_seen *s;

    if (cap == 0 || cap > UINT32_MAX / 4 || !(ttl > 0))
        return HS_EINVAL;
    s = calloc(1, sizeof *s);
    if (!s)
        return HS_ENOMEM;
    s->cap = cap;
    s->ttl = ttl;
    s->retain_ttl = ttl;
    s->retain_bytes = 0;
    if (RAND_bytes((unsigned char *)s->key, sizeof s->key) != 1) {
        free(s);
        return HS_EIO;
    }
    if (rebuild(s, cap < SEEN_MIN_RING ? cap : SEEN_MIN_RING) != HS_OK) {
        free(s);
        return HS_ENOMEM;
    }
    *out = s;
    return HS_OK;
}

static void drop_body(hs_seen *s, seen_entry *e)
{
    if (e->body) {
        s->body_bytes -= e->body_len;
        free(e->body);
        e->body = NULL;
        e->body_len = 0;
    }
}

void hs_seen_free(hs_seen *s)
{
    if (!s)
        return;
    for (size_t k = 0; k < s->count; k++)
        free(s->ring[ring_pos(s, k)].body);
    free(s->ring);
    free(s->index);
    free(s);
}

static void pop_oldest(hs_seen *s)
{
    size_t i = index_find(s, s->ring[s->head].id);
    if (i <= s->index_mask)
        index_delete(s, i);
    drop_body(s, &s->ring[s->head]);
    s->head = (s->head + 1) % s->ring_cap;
    s->count--;
    if (s->body_from)
        s->body_from--;
}

/* Frees bodies from the oldest on while they are too old or too many bytes. */
static void trim_bodies(hs_seen *s, double now)
{
    while (s->body_from < s->count) {
        seen_entry *e = &s->ring[ring_pos(s, s->body_from)];
        if (e->body && e->t + s->retain_ttl > now && s->body_bytes <= s->retain_bytes)
            break;
        drop_body(s, e);
        s->body_from++;
    }
}

hs_err hs_seen_insert(hs_seen *s, const uint8_t id[32], double now, uint64_t *evicted)
{
    if (index_find(s, id) <= s->index_mask)
        return HS_EDUP;
    if (s->count == s->ring_cap) {
        if (s->ring_cap < s->cap) {
            size_t grow = s->ring_cap * 2 < s->cap ? s->ring_cap * 2 : s->cap;
            if (rebuild(s, grow) != HS_OK)
                return HS_ENOMEM;
        } else {
            pop_oldest(s);
            if (evicted)
                (*evicted)++;
        }
    }
    size_t pos = ring_pos(s, s->count);
    memcpy(s->ring[pos].id, id, 32);
    s->ring[pos].t = now;
    s->ring[pos].body = NULL;
    s->ring[pos].body_len = 0;
    s->ring[pos].copies = 1;
    s->count++;
    index_put(s, pos);
    return HS_OK;
}

int hs_seen_contains(const hs_seen *s, const uint8_t id[32])
{
    return index_find(s, id) <= s->index_mask;
}

size_t hs_seen_expire(hs_seen *s, double now)
{
    size_t n = 0;
    while (s->count && s->ring[s->head].t + s->ttl <= now) {
        pop_oldest(s);
        n++;
    }
    trim_bodies(s, now);
    return n;
}

size_t hs_seen_count(const hs_seen *s)
{
    return s->count;
}

size_t hs_seen_bytes(const hs_seen *s)
{
    return sizeof *s + s->ring_cap * sizeof *s->ring + (s->index_mask + 1) * sizeof *s->index +
           s->body_bytes;
}

static seen_entry *find_entry(const hs_seen *s, const uint8_t id[32])
{
    size_t i = index_find(s, id);
    return i <= s->index_mask ? &s->ring[s->index[i] - 1] : NULL;
}

unsigned hs_seen_copy(hs_seen *s, const uint8_t id[32])
{
    seen_entry *e = find_entry(s, id);
    if (!e)
        return 0;
    if (e->copies < UINT16_MAX)
        e->copies++;
    return e->copies;
}

unsigned hs_seen_copies(const hs_seen *s, const uint8_t id[32])
{
    const seen_entry *e = find_entry(s, id);
    return e ? e->copies : 0;
}

void hs_seen_retain(hs_seen *s, double ttl, size_t max_bytes)
{
    s->retain_ttl = ttl;
    s->retain_bytes = max_bytes;
}

hs_err hs_seen_attach(hs_seen *s, const uint8_t id[32], char *body, size_t len)
{
    seen_entry *e = find_entry(s, id);

    if (!e || len > UINT32_MAX || s->retain_bytes == 0) {
        free(body);
        return e ? HS_ETOOBIG : HS_ENOENT;
    }
    drop_body(s, e);
    e->body = body;
    e->body_len = (uint32_t)len;
    s->body_bytes += len;
    /* Bodies only ever attach to recent entries; keep the cursor honest. */
    size_t nth = ((size_t)(e - s->ring) + s->ring_cap - s->head) % s->ring_cap;
    if (nth < s->body_from)
        s->body_from = nth;
    trim_bodies(s, e->t);
    return HS_OK;
}

const char *hs_seen_body(const hs_seen *s, const uint8_t id[32], size_t *len)
{
    const seen_entry *e = find_entry(s, id);
    if (!e || !e->body)
        return NULL;
    if (len)
        *len = e->body_len;
    return e->body;
}

void hs_seen_recent(const hs_seen *s, double since, int (*fn)(void *ud, const uint8_t id[32]),
                    void *ud)
{
    for (size_t k = s->count; k-- > s->body_from;) {
        const seen_entry *e = &s->ring[ring_pos(s, k)];
        if (e->t < since)
            break;
        if (e->body && fn(ud, e->id))
            break;
    }
}

size_t hs_seen_body_bytes(const hs_seen *s)
{
    return s->body_bytes;
}

void hs_seen_each(const hs_seen *s, void (*fn)(void *ud, const uint8_t id[32], double t), void *ud)
{
    for (size_t k = 0; k < s->count; k++) {
        const seen_entry *e = &s->ring[ring_pos(s, k)];
        fn(ud, e->id, e->t);
    }
}
