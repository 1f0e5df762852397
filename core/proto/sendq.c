/*
 * sendq.c -- per-peer send queues of refcounted envelope bodies; see sendq.h.
 */
#include <stdlib.h>
#include <string.h>

#include "sendq.h"

hs_body *hs_body_new(const char *data, size_t len)
{
    hs_body *b = malloc(sizeof *b + len + 1);

    if (!b)
        return NULL;
    b->refs = 1;
    b->tree = 0;
    b->known = 0;
    b->ttl = 0;
    b->born = 0;
    b->len = len;
    memcpy(b->data, data, len);
    b->data[len] = '\0';
    return b;
}

void hs_body_known(hs_body *b, const unsigned char bin[32], unsigned ttl)
{
    b->known = 1;
    memcpy(b->bin, bin, 32);
    b->ttl = ttl;
}

void hs_body_ref(hs_body *b)
{
    b->refs++;
}

void hs_body_unref(hs_body *b)
{
    if (b && --b->refs == 0)
        free(b);
}

int hs_sendq_push(hs_sendq *q, hs_body *b)
{
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 8;
        hs_body **v = realloc(q->v, cap * sizeof *v);
        if (!v)
            return -1;
        q->v = v;
        q->cap = cap;
    }
    hs_body_ref(b);
    q->v[q->n++] = b;
    q->bytes += b->len;
    return 0;
}

void hs_sendq_clear(hs_sendq *q)
{
    for (size_t i = 0; i < q->n; i++)
        hs_body_unref(q->v[i]);
    free(q->v);
    q->v = NULL;
    q->n = q->cap = q->bytes = 0;
}

/* Drops the first k entries, `bytes` long in all (their references are
 * already released or handed on). */
static void shift(hs_sendq *q, size_t k, size_t bytes)
{
    q->bytes -= bytes;
    memmove(q->v, q->v + k, (q->n - k) * sizeof *q->v);
    q->n -= k;
}

char *hs_sendq_join(hs_sendq *q, size_t max_n, size_t max_bytes, size_t *len, size_t *count,
                    int *tree, hs_body **taken)
{
    size_t k = 0, bytes = 0, off = 0;
    char *out;

    while (k < q->n && k < max_n && (k == 0 || bytes + q->v[k]->len <= max_bytes))
        bytes += q->v[k++]->len;
    out = malloc(bytes + k + 2);
    if (!out)
        return NULL;
    out[off++] = '[';
    *tree = 0;
    for (size_t i = 0; i < k; i++) {
        *tree |= q->v[i]->tree;
        if (i)
            out[off++] = ',';
        memcpy(out + off, q->v[i]->data, q->v[i]->len);
        off += q->v[i]->len;
        if (taken)
            taken[i] = q->v[i];
        else
            hs_body_unref(q->v[i]);
    }
    out[off++] = ']';
    out[off] = '\0';
    *len = off;
    *count = k;
    shift(q, k, bytes);
    return out;
}

hs_body *hs_sendq_pop(hs_sendq *q)
{
    hs_body *b;

    if (!q->n)
        return NULL;
    b = q->v[0];
    shift(q, 1, b->len);
    return b;
}

int hs_idq_push(hs_idq *q, const unsigned char id[32], unsigned ttl, double due)
{
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 4;
        hs_idq_entry *v = realloc(q->v, cap * sizeof *v);
        if (!v)
            return -1;
        q->v = v;
        q->cap = cap;
    }
    memcpy(q->v[q->n].id, id, 32);
    q->v[q->n].ttl = ttl;
    q->v[q->n++].due = due;
    return 0;
}

size_t hs_idq_due(const hs_idq *q, double now)
{
    size_t k = 0;

    while (k < q->n && q->v[k].due <= now)
        k++;
    return k;
}

void hs_idq_shift(hs_idq *q, size_t k)
{
    if (k >= q->n) {
        q->n = 0;
        return;
    }
    memmove(q->v, q->v + k, (q->n - k) * sizeof *q->v);
    q->n -= k;
}

void hs_idq_clear(hs_idq *q)
{
    free(q->v);
    memset(q, 0, sizeof *q);
}
