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
    unsigned char tree;  /* pushed along eager links: a duplicate prunes one */
    unsigned char known; /* bin and ttl are set (hs_body_known) */
    /* The message's binary id and the ttl it goes on with: a tree push's
     * (gossip.c), with when it was queued (monotonic s), so that one that
     * waited too long is offered instead; and a repair's, lazy or by
     * anti-entropy: a push that is stuck has them offered (push.c). */
    unsigned char bin[32];
    unsigned ttl;
    double born;
    size_t len;
    char data[]; /* NUL-terminated */
} hs_body;

/* A new body (one reference) holding a copy of data, or NULL. */
hs_body *hs_body_new(const char *data, size_t len);
/* b is the envelope of id `bin`, going on with `ttl`. */
void hs_body_known(hs_body *b, const unsigned char bin[32], unsigned ttl);
void hs_body_ref(hs_body *b);
void hs_body_unref(hs_body *b);

/* Message ids waiting to be offered to one peer (lazy push, lazypush.c),
 * each with the ttl it goes on with if the peer asks for it, in the order
 * they came, so that those due form a prefix. */
typedef struct hs_idq_entry {
    unsigned char id[32];
    unsigned ttl;
    double due; /* monotonic s: offered from then on */
} hs_idq_entry;

typedef struct hs_idq {
    hs_idq_entry *v;
    size_t n, cap;
} hs_idq;

typedef struct hs_sendq {
    hs_body **v;
    size_t n, cap;
    size_t bytes;
    hs_idq lazy;                  /* ids to offer (lazypush.c) */
    unsigned inflight;            /* POSTs to this peer not answered yet (push.c) */
    unsigned stuck;               /* ...of which stuck, no longer counted in
                                     inflight (push.c) */
    unsigned char loose;          /* a POST of nothing we could offer in
                                     flight, not counted in inflight (push.c) */
    struct hs_push_out *checking; /* a push past its time whose ids went in
                                     an offer, or NULL (push.c) */
    double credit, credit_at;     /* POSTs it may get now, as of when (push.c) */
} hs_sendq;

/* Queues b, taking a new reference; returns 0, or -1 out of memory. */
int hs_sendq_push(hs_sendq *q, hs_body *b);

/* Drops every queued body (not the ids; the in-flight count stays: those
 * requests are still out). */
void hs_sendq_clear(hs_sendq *q);

/* Joins the oldest bodies, at most max_n of them and (beyond the first)
 * at most max_bytes, into "[b1,b2,...]" (malloc'd, NUL-terminated; NULL
 * out of memory, the queue then unchanged) and takes them off the queue;
 * *count says how many, *tree whether any of them was a tree push. With
 * `taken` (room for max_n), the bodies' references go there instead of
 * being released. O(queued) for the shift. */
char *hs_sendq_join(hs_sendq *q, size_t max_n, size_t max_bytes, size_t *len, size_t *count,
                    int *tree, hs_body **taken);

/* Takes the oldest body off the queue (the caller owns its reference), or
 * NULL when empty. */
hs_body *hs_sendq_pop(hs_sendq *q);

/* Queues a binary id, to be offered from `due` on; returns 0, or -1 out of
 * memory. */
int hs_idq_push(hs_idq *q, const unsigned char id[32], unsigned ttl, double due);
/* How many of the first entries are due at `now`. */
size_t hs_idq_due(const hs_idq *q, double now);
/* Takes the first k entries off the queue. */
void hs_idq_shift(hs_idq *q, size_t k);
void hs_idq_clear(hs_idq *q);

#endif
