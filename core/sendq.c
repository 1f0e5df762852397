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
    b->len = len;
    memcpy(b->data, data, len);
    b->data[len] = '\0';
    return b;
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

char *hs_sendq_join(hs_sendq *q, size_t *len)
{
    size_t total = q->bytes + q->n + 2, off = 0;
    char *out = malloc(total);

    if (!out)
        return NULL;
    out[off++] = '[';
    for (size_t i = 0; i < q->n; i++) {
        if (i)
            out[off++] = ',';
        memcpy(out + off, q->v[i]->data, q->v[i]->len);
        off += q->v[i]->len;
        hs_body_unref(q->v[i]);
    }
    out[off++] = ']';
    out[off] = '\0';
    *len = off;
    q->n = 0;
    q->bytes = 0;
    return out;
}

int hs_idq_push(hs_idq *q, const unsigned char id[32])
{
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 4;
        unsigned char (*v)[32] = realloc(q->v, cap * sizeof *v);
        if (!v)
            return -1;
        q->v = v;
        q->cap = cap;
    }
    memcpy(q->v[q->n++], id, 32);
    return 0;
}

void hs_idq_clear(hs_idq *q)
{
    free(q->v);
    memset(q, 0, sizeof *q);
}
