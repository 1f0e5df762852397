/*
 * sendq.h -- what a node has queued for one peer: envelopes waiting for the
 * next flush, which sends them in one POST /gossip (a JSON array) to a peer
 * that advertises the "batch" feature, or one by one to any other.
 *
 * Next to it wait the ids to offer the peer lazily (hs_idq, lazypush.c).
 *
 * Envelope bodies are refcounted: one forward serialises an envelope once
 * and queues the same body for every target.
 */
#ifndef HS_SENDQ_H
#define HS_SENDQ_H

#include <stddef.h>

typedef struct hs_body {
    unsigned refs;
    size_t len;
    char data[]; /* NUL-terminated */
} hs_body;

/* A new body (one reference) holding a copy of data, or NULL. */
hs_body *hs_body_new(const char *data, size_t len);
void hs_body_ref(hs_body *b);
void hs_body_unref(hs_body *b);

/* Message ids waiting to be offered to one peer (lazy push, lazypush.c). */
typedef struct hs_idq {
    unsigned char (*v)[32];
    size_t n, cap;
} hs_idq;

typedef struct hs_sendq {
    hs_body **v;
    size_t n, cap;
    size_t bytes;
    hs_idq lazy; /* ids to offer */
} hs_sendq;

/* Queues b, taking a new reference; returns 0, or -1 out of memory. */
int hs_sendq_push(hs_sendq *q, hs_body *b);

/* Drops every queued body (not the ids). */
void hs_sendq_clear(hs_sendq *q);

/* Joins the queued bodies into "[b1,b2,...]" (malloc'd, NUL-terminated;
 * NULL out of memory) and empties the queue. */
char *hs_sendq_join(hs_sendq *q, size_t *len);

/* Queues a binary id; returns 0, or -1 out of memory. */
int hs_idq_push(hs_idq *q, const unsigned char id[32]);
void hs_idq_clear(hs_idq *q);

#endif
