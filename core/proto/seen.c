/*
 * seen.c -- chunked ring + tagged linear-probing index; see seen.h for the
 * cost model.
 *
 * Invariants: the ring holds `count` entries at positions head, head + 1,
 * ... (mod ring_cap); a position lives in chunk pos / chunk, allocated
 * while it may hold an entry. Every live entry has exactly one index slot,
 * holding its position + 1 in the low 32 bits and the low 32 bits of its
 * hash above them; 0 means empty. The hash bits are a filter (a probe
 * rarely reads the ring) and the slot's home: deleting (a shift back, so
 * no tombstones accumulate) and growing the index move slots without
 * reading the entries, which at a full cache are megabytes away.
 * `bodies` is a FIFO of the retained envelopes, ordered as their entries
 * are in the ring, each naming its entry's position; their bytes are in
 * `arena`, which gives them back a chunk at a time (arena.h).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "arena.h"
#include "seen.h"

#define CHUNK 512    /* entries a chunk (20 KiB), a power of two */
#define MIN_INDEX 16 /* index slots, a power of two */
#define MAX_MS ((UINT64_C(1) << 48) - 1)

typedef struct seen_entry {
    uint8_t id[32];
    uint32_t t_lo; /* insertion time, ms since the epoch: low 32 bits... */
    uint16_t t_hi; /* ...and the high 16 (8900 years) */
    uint16_t copies;
} seen_entry;

typedef struct seen_body {
    char *data;            /* in `arena` */
    hs_arena_chunk *chunk; /* where data is */
    uint32_t len;
    uint32_t pos; /* ring position of its entry */
} seen_body;

struct hs_seen {
    size_t cap;
    double ttl;
    seen_entry **chunks;
    size_t nchunks;    /* ring_cap / chunk */
    size_t chunks_len; /* length of the chunks array, grown as used */
    size_t allocated;  /* chunks allocated */
    size_t chunk;      /* entries a chunk, a power of two */
    unsigned shift;    /* log2(chunk) */
    size_t ring_cap, head, count;
    uint64_t *index;   /* (uint32 hash << 32) | position + 1; 0: empty */
    size_t index_mask; /* index size - 1, a power of two minus one */
    uint64_t key[2];
    double retain_ttl;
    size_t retain_bytes, body_bytes;
    seen_body *bodies;
    size_t bodies_cap, bodies_head, nbodies; /* bodies_cap: a power of two */
    hs_arena arena;                          /* the bodies' bytes (arena.h) */
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

static uint64_t hash_of(const hs_seen *s, const uint8_t id[32])
{
    uint64_t h = mix(load64(id) ^ s->key[0]) ^ mix(load64(id + 8) ^ s->key[1]);
    h = mix(h ^ load64(id + 16)) ^ load64(id + 24);
    return mix(h);
}

static uint64_t slot_of(uint64_t h, size_t pos)
{
    return (uint64_t)(uint32_t)h << 32 | (uint64_t)(pos + 1);
}

/* The index slot an entry hashes to, from its slot alone. */
static size_t home_of(const hs_seen *s, uint64_t slot)
{
    return (size_t)(slot >> 32) & s->index_mask;
}

static size_t pos_of(uint64_t slot)
{
    return (size_t)(uint32_t)slot - 1;
}

static seen_entry *at(const hs_seen *s, size_t pos)
{
    return &s->chunks[pos >> s->shift][pos & (s->chunk - 1)];
}

static size_t ring_pos(const hs_seen *s, size_t nth)
{
    size_t pos = s->head + nth;
    return pos >= s->ring_cap ? pos - s->ring_cap : pos;
}

/* How many entries precede position pos in the ring. */
static size_t nth_of(const hs_seen *s, size_t pos)
{
    return pos >= s->head ? pos - s->head : pos + s->ring_cap - s->head;
}

static uint64_t to_ms(double t)
{
    if (!(t > 0))
        return 0;
    if (t >= (double)MAX_MS / 1000)
        return MAX_MS;
    return (uint64_t)(t * 1000 + 0.5);
}

static double time_of(const seen_entry *e)
{
    return (double)((uint64_t)e->t_hi << 32 | e->t_lo) / 1000;
}

static void index_put_slot(hs_seen *s, uint64_t slot)
{
    size_t i = home_of(s, slot);
    while (s->index[i])
        i = (i + 1) & s->index_mask;
    s->index[i] = slot;
}

/* Finds the slot whose entry has this id; returns index size when absent. */
static size_t index_find(const hs_seen *s, const uint8_t id[32], uint64_t h)
{
    uint32_t tag = (uint32_t)h;
    size_t i = (size_t)h & s->index_mask;
    uint64_t v;

    while ((v = s->index[i])) {
        if ((uint32_t)(v >> 32) == tag && memcmp(at(s, pos_of(v))->id, id, 32) == 0)
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
        size_t home = home_of(s, s->index[j]);
        /* Move j back into the hole at i unless its home lies in (i, j]. */
        int stays = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
        if (!stays) {
            s->index[i] = s->index[j];
            i = j;
        }
    }
    s->index[i] = 0;
}

/* Rebuilds the index with `size` slots (a power of two). */
static hs_err index_resize(hs_seen *s, size_t size)
{
    uint64_t *old = s->index, *index = calloc(size, sizeof *index);
    size_t old_size = old ? s->index_mask + 1 : 0;

    if (!index)
        return HS_ENOMEM;
    s->index = index;
    s->index_mask = size - 1;
    for (size_t k = 0; k < old_size; k++)
        if (old[k])
            index_put_slot(s, old[k]);
    free(old);
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
    for (s->chunk = 1; s->chunk < CHUNK && s->chunk < cap; s->chunk <<= 1)
        s->shift++;
    s->nchunks = (cap + s->chunk - 1) / s->chunk;
    s->ring_cap = s->nchunks * s->chunk;
    if (RAND_bytes((unsigned char *)s->key, sizeof s->key) != 1) {
        free(s);
        return HS_EIO;
    }
    if (index_resize(s, MIN_INDEX) != HS_OK) {
        free(s);
        return HS_ENOMEM;
    }
    *out = s;
    return HS_OK;
}

static seen_body *body_at(const hs_seen *s, size_t k)
{
    return &s->bodies[(s->bodies_head + k) & (s->bodies_cap - 1)];
}

static void drop_oldest_body(hs_seen *s)
{
    seen_body *b = body_at(s, 0);

    s->body_bytes -= b->len;
    hs_arena_drop(&s->arena, b->chunk);
    s->bodies_head = (s->bodies_head + 1) & (s->bodies_cap - 1);
    s->nbodies--;
}

void hs_seen_free(hs_seen *s)
{
    if (!s)
        return;
    free(s->bodies);
    hs_arena_free(&s->arena);
    for (size_t c = 0; c < s->chunks_len; c++)
        free(s->chunks[c]);
    free(s->chunks);
    free(s->index);
    free(s);
}

static void pop_oldest(hs_seen *s)
{
    size_t i = (size_t)hash_of(s, at(s, s->head)->id) & s->index_mask;

    /* Its slot is the one holding its position. */
    while (s->index[i] && pos_of(s->index[i]) != s->head)
        i = (i + 1) & s->index_mask;
    if (s->index[i])
        index_delete(s, i);
    if (s->nbodies && body_at(s, 0)->pos == s->head)
        drop_oldest_body(s);
    s->head = s->head + 1 == s->ring_cap ? 0 : s->head + 1;
    s->count--;
    /* Leaving a chunk: free it unless the next insert lands in it. */
    if ((s->head & (s->chunk - 1)) == 0 && s->count + s->chunk < s->ring_cap) {
        size_t c = (s->head ? s->head : s->ring_cap) / s->chunk - 1;
        free(s->chunks[c]);
        s->chunks[c] = NULL;
        s->allocated--;
    }
}

/* Makes sure the chunk holding pos exists. */
static hs_err chunk_for(hs_seen *s, size_t pos)
{
    size_t c = pos >> s->shift;

    if (c >= s->chunks_len) {
        size_t len = s->chunks_len ? s->chunks_len * 2 : 4;
        if (len > s->nchunks)
            len = s->nchunks;
        if (len <= c)
            len = c + 1;
        seen_entry **v = realloc(s->chunks, len * sizeof *v);
        if (!v)
            return HS_ENOMEM;
        memset(v + s->chunks_len, 0, (len - s->chunks_len) * sizeof *v);
        s->chunks = v;
        s->chunks_len = len;
    }
    if (!s->chunks[c]) {
        if (!(s->chunks[c] = malloc(s->chunk * sizeof **s->chunks)))
            return HS_ENOMEM;
        s->allocated++;
    }
    return HS_OK;
}

/* Frees bodies from the oldest on while they are too old or too many bytes. */
static void trim_bodies(hs_seen *s, double now)
{
    while (s->nbodies) {
        const seen_body *b = body_at(s, 0);
        if (time_of(at(s, b->pos)) + s->retain_ttl > now && s->body_bytes <= s->retain_bytes)
            break;
        drop_oldest_body(s);
    }
}

hs_err hs_seen_insert(hs_seen *s, const uint8_t id[32], double now, uint64_t *evicted)
{
    uint64_t h = hash_of(s, id), ms = to_ms(now);

    if (index_find(s, id, h) <= s->index_mask)
        return HS_EDUP;
    if (s->count == s->cap) {
        pop_oldest(s);
        if (evicted)
            (*evicted)++;
    }
    /* At most 3/4 full keeps probe chains short. */
    if ((s->count + 1) * 4 > (s->index_mask + 1) * 3 &&
        index_resize(s, (s->index_mask + 1) * 2) != HS_OK)
        return HS_ENOMEM;
    size_t pos = ring_pos(s, s->count);
    if (chunk_for(s, pos) != HS_OK)
        return HS_ENOMEM;
    seen_entry *e = at(s, pos);
    memcpy(e->id, id, 32);
    e->t_lo = (uint32_t)ms;
    e->t_hi = (uint16_t)(ms >> 32);
    e->copies = 1;
    s->count++;
    index_put_slot(s, slot_of(h, pos));
    return HS_OK;
}

int hs_seen_contains(const hs_seen *s, const uint8_t id[32])
{
    return index_find(s, id, hash_of(s, id)) <= s->index_mask;
}

size_t hs_seen_expire(hs_seen *s, double now)
{
    size_t n = 0;
    while (s->count && time_of(at(s, s->head)) + s->ttl <= now) {
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
    return sizeof *s + s->chunks_len * sizeof *s->chunks +
           s->allocated * s->chunk * sizeof **s->chunks + (s->index_mask + 1) * sizeof *s->index +
           s->bodies_cap * sizeof *s->bodies + s->arena.bytes;
}

/* The position of id's entry, or ring_cap when absent. */
static size_t find_pos(const hs_seen *s, const uint8_t id[32])
{
    size_t i = index_find(s, id, hash_of(s, id));
    return i <= s->index_mask ? pos_of(s->index[i]) : s->ring_cap;
}

unsigned hs_seen_copy(hs_seen *s, const uint8_t id[32])
{
    size_t pos = find_pos(s, id);
    if (pos == s->ring_cap)
        return 0;
    seen_entry *e = at(s, pos);
    if (e->copies < UINT16_MAX)
        e->copies++;
    return e->copies;
}

unsigned hs_seen_copies(const hs_seen *s, const uint8_t id[32])
{
    size_t pos = find_pos(s, id);
    return pos == s->ring_cap ? 0 : at(s, pos)->copies;
}

void hs_seen_retain(hs_seen *s, double ttl, size_t max_bytes)
{
    s->retain_ttl = ttl;
    s->retain_bytes = max_bytes;
}

/* The first body whose entry is not older than the nth (binary search:
 * bodies are in ring order). */
static size_t body_lower_bound(const hs_seen *s, size_t nth)
{
    size_t lo = 0, hi = s->nbodies;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (nth_of(s, body_at(s, mid)->pos) < nth)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

hs_err hs_seen_attach(hs_seen *s, const uint8_t id[32], char *body, size_t len)
{
    hs_arena_part part = {body, len};
    hs_err err = hs_seen_attach_parts(s, id, &part, 1);

    free(body);
    return err;
}

hs_err hs_seen_attach_parts(hs_seen *s, const uint8_t id[32], const hs_arena_part *parts, size_t n)
{
    size_t pos = find_pos(s, id), nth, k, len = 0;
    hs_arena_chunk *chunk;
    char *kept;

    for (size_t i = 0; i < n; i++)
        len += parts[i].len < UINT32_MAX ? parts[i].len : UINT32_MAX;
    if (pos == s->ring_cap || len > UINT32_MAX || s->retain_bytes == 0)
        return pos != s->ring_cap ? HS_ETOOBIG : HS_ENOENT;
    kept = hs_arena_put_parts(&s->arena, parts, n, &chunk);
    if (!kept)
        return HS_ENOMEM;
    nth = nth_of(s, pos);
    /* Nearly always the newest entry's: it goes last, no search. */
    if (!s->nbodies || nth_of(s, body_at(s, s->nbodies - 1)->pos) < nth)
        k = s->nbodies;
    else
        k = body_lower_bound(s, nth);
    if (k < s->nbodies && body_at(s, k)->pos == pos) {
        seen_body *b = body_at(s, k);
        s->body_bytes -= b->len;
        hs_arena_drop(&s->arena, b->chunk);
    } else {
        if (s->nbodies == s->bodies_cap) {
            size_t cap = s->bodies_cap ? s->bodies_cap * 2 : 16;
            seen_body *v = malloc(cap * sizeof *v);
            if (!v) {
                hs_arena_drop(&s->arena, chunk);
                return HS_ENOMEM;
            }
            for (size_t i = 0; i < s->nbodies; i++)
                v[i] = *body_at(s, i);
            free(s->bodies);
            s->bodies = v;
            s->bodies_cap = cap;
            s->bodies_head = 0;
        }
        /* Almost always the newest entry: nothing to shift. */
        for (size_t i = s->nbodies; i > k; i--)
            *body_at(s, i) = *body_at(s, i - 1);
        s->nbodies++;
        body_at(s, k)->pos = (uint32_t)pos;
    }
    body_at(s, k)->data = kept;
    body_at(s, k)->chunk = chunk;
    body_at(s, k)->len = (uint32_t)len;
    s->body_bytes += len;
    trim_bodies(s, time_of(at(s, pos)));
    return HS_OK;
}

const char *hs_seen_body(const hs_seen *s, const uint8_t id[32], size_t *len)
{
    size_t pos = find_pos(s, id), k;

    if (pos == s->ring_cap)
        return NULL;
    k = body_lower_bound(s, nth_of(s, pos));
    if (k == s->nbodies || body_at(s, k)->pos != pos)
        return NULL;
    if (len)
        *len = body_at(s, k)->len;
    return body_at(s, k)->data;
}

void hs_seen_recent(const hs_seen *s, double since, double until,
                    int (*fn)(void *ud, const uint8_t id[32]), void *ud)
{
    for (size_t k = s->nbodies; k-- > 0;) {
        const seen_entry *e = at(s, body_at(s, k)->pos);
        if (time_of(e) < since)
            break;
        if (time_of(e) > until)
            continue;
        if (fn(ud, e->id))
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
        const seen_entry *e = at(s, ring_pos(s, k));
        fn(ud, e->id, time_of(e));
    }
}
