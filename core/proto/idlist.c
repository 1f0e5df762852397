/*
 * idlist.c -- a list of node ids held as its compact JSON text; see
 * idlist.h.
 *
 * Invariants: text[0..len) is the JSON of the entries, comma-separated,
 * each quoted; off[0..n) rise; off[i] - 1 is entry i's opening quote.
 * len <= cap_len and n <= cap_n, both set once by hs_idlist_reserve.
 */
#include <stdlib.h>
#include <string.h>

#include "idlist.h"
#include "peers.h"

hs_err hs_idlist_reserve(hs_idlist *l, size_t n, size_t bytes)
{
    memset(l, 0, sizeof *l);
    if (n == 0)
        return HS_OK;
    /* Each id is quoted, and all but the last followed by a comma. */
    if (n > UINT32_MAX / 4 || bytes > UINT32_MAX - 3 * n)
        return HS_EINVAL;
    size_t text = bytes + 3 * n;
    if (!(l->off = malloc(n * sizeof *l->off + text)))
        return HS_ENOMEM;
    l->text = (char *)(l->off + n);
    l->cap_n = n;
    l->cap_len = text;
    return HS_OK;
}

int hs_idlist_push(hs_idlist *l, const char *id, size_t len)
{
    size_t at = l->len + (l->n ? 1 : 0);

    if (l->n == l->cap_n || at + len + 2 > l->cap_len || !hs_peers_valid_idn(id, len))
        return -1;
    if (l->n)
        l->text[l->len] = ',';
    l->text[at] = '"';
    memcpy(l->text + at + 1, id, len);
    l->text[at + 1 + len] = '"';
    l->off[l->n++] = (uint32_t)(at + 1);
    l->len = at + len + 2;
    return 0;
}

int hs_idlist_has(const hs_idlist *l, const char *id, size_t len)
{
    for (size_t i = 0, n; i < l->n; i++) {
        const char *e = hs_idlist_get(l, i, &n);
        if (n == len && memcmp(e, id, len) == 0)
            return 1;
    }
    return 0;
}

int hs_idlist_equal(const hs_idlist *a, const hs_idlist *b)
{
    /* The text is canonical: one list, one text. */
    return a->n == b->n && a->len == b->len &&
           (a->len == 0 || memcmp(a->text, b->text, a->len) == 0);
}

json_t *hs_idlist_to_json(const hs_idlist *l)
{
    json_t *a = json_array();

    for (size_t i = 0, n; a && i < l->n; i++) {
        const char *e = hs_idlist_get(l, i, &n);
        if (json_array_append_new(a, json_stringn_nocheck(e, n)) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

void hs_idlist_free(hs_idlist *l)
{
    free(l->off);
    memset(l, 0, sizeof *l);
}

/* ---- the set ---------------------------------------------------------- */

/* The id's bytes 8 at a time, each mixed in with a multiply (splitmix64's
 * constants), then splitmix64's finaliser. */
uint64_t hs_idlist_hash(uint64_t key, const char *p, size_t len)
{
    const uint64_t m1 = 0xbf58476d1ce4e5b9u, m2 = 0x94d049bb133111ebu;
    uint64_t h = key ^ len, v;
    size_t i = 0;

    for (; i + 8 <= len; i += 8) {
        memcpy(&v, p + i, 8);
        h = (h ^ v) * m1;
        h ^= h >> 31;
    }
    if (i < len) {
        v = 0;
        memcpy(&v, p + i, len - i);
        h = (h ^ v) * m1;
    }
    h ^= h >> 30;
    h *= m2;
    return h ^ (h >> 31);
}

hs_err hs_idset_init(hs_idset *s, const hs_idlist *l, uint64_t key)
{
    size_t size = 16;

    while (size < 2 * l->n)
        size *= 2;
    s->list = l;
    s->key = key;
    s->mask = size - 1;
    s->slot = size <= HS_IDSET_SMALL ? s->small : calloc(size, sizeof *s->slot);
    if (!s->slot)
        return HS_ENOMEM;
    if (s->slot == s->small)
        memset(s->small, 0, size * sizeof *s->small);
    for (size_t i = 0, len; i < l->n; i++) {
        const char *id = hs_idlist_get(l, i, &len);
        size_t at = (size_t)hs_idlist_hash(key, id, len) & s->mask;
        while (s->slot[at])
            at = (at + 1) & s->mask;
        s->slot[at] = (uint32_t)(i + 1);
    }
    return HS_OK;
}

int hs_idset_has(const hs_idset *s, const char *id, size_t len)
{
    if (s->list->n == 0)
        return 0; /* (most broadcasts' first hop: not even a hash) */
    for (size_t at = (size_t)hs_idlist_hash(s->key, id, len) & s->mask; s->slot[at];
         at = (at + 1) & s->mask) {
        size_t n;
        const char *e = hs_idlist_get(s->list, s->slot[at] - 1, &n);
        if (n == len && memcmp(e, id, len) == 0)
            return 1;
    }
    return 0;
}

void hs_idset_free(hs_idset *s)
{
    if (s->slot != s->small)
        free(s->slot);
    s->slot = NULL;
}
