/*
 * pending.h -- a node's table of its requests in flight. Every request the
 * protocol makes goes out through it (hs_pending_new, hs_pending_send):
 * an entry names what the request is for, its kind (the handler its
 * answer goes to), and carries a small fixed payload: the peer it
 * concerns by id (a peer forgotten meanwhile is simply not found again),
 * the base URL asked, a time, a number, a flag, and at most one pointer
 * it owns. Every answer comes to one dispatcher, which takes the entry out
 * of the table and applies, once for all kinds, the rule for a node that
 * closed while the request was in flight: the kind's handler does not
 * run, only its cancel and the release of what the entry owns. Closing
 * the node cancels every entry at once (hs_pending_cancel_all).
 *
 * Entries are listed in the order they were sent (ids rise from 1). Cost:
 * one allocation a request (the entry and its URL), O(1) to add and to
 * complete, one pass to cancel them all.
 */
#ifndef HS_PENDING_H
#define HS_PENDING_H

#include <stddef.h>
#include <stdint.h>

#include "hearsay.h"
#include "io.h"
#include "peers.h"

/* What requests are counted as (hs_pending_inflight). */
typedef enum hs_pending_slot {
    HS_REQ_GOSSIP,    /* POST /gossip: pushes (push.c) */
    HS_REQ_LAZY,      /* POST /digest: lazy offers (lazypush.c) */
    HS_REQ_DIGEST,    /* POST /digest: anti-entropy rounds (antientropy.c) */
    HS_REQ_FETCH,     /* POST /fetch: their repairs (antientropy.c) */
    HS_REQ_PROBE,     /* direct probes, candidates' too: max_probes_in_flight */
    HS_REQ_INDIRECT,  /* POST /probe: SWIM's indirect probes (membership.c) */
    HS_REQ_PROBE_FOR, /* a probe for another's POST /probe (membership.c) */
    HS_REQ_PEERS,     /* bootstrap /health and /peers lists (membership.c) */
    HS_REQ_VIEW,      /* GET /peers for /ui/cluster (view.c) */
    HS_REQ_QUERY,     /* POST /query: responses to others' queries (query.c) */
    HS_REQ_USER,      /* hs_node_fetch (node.c) */
    HS_REQ_KINDS
} hs_pending_slot;

typedef struct hs_pending hs_pending;

/* A kind of request: one static const of these per kind, in its module. */
typedef struct hs_pending_kind {
    hs_pending_slot slot;
    /* The answer (any status, or a transport failure), the node open.
     * The handler may close the node. */
    void (*done)(hs_node *n, hs_pending *e, const hs_http_result *res);
    /* The node closed while it was in flight (NULL: nothing to do). */
    void (*cancel)(hs_node *n, hs_pending *e);
    /* Releases e->data after done or cancel, or when the send failed
     * (NULL: free()). */
    void (*release)(hs_node *n, void *data);
} hs_pending_kind;

struct hs_pending {
    const hs_pending_kind *kind;
    uint64_t id;                   /* the node's id-th request sent */
    char peer[HS_PEER_ID_MAX + 1]; /* whom it concerns, by id, or "" */
    const char *url;               /* the base URL asked (the entry's copy) */
    const char *header;            /* the extra header line it goes with
                                      (borrowed for hs_pending_send):
                                      X-Hearsay-From unless changed */
    double at;                     /* the kind's: a time */
    double waited;                 /* ...hs_node_waited when it went out */
    uint64_t word;                 /* ...a count, a token */
    int flag;                      /* ...a yes or no */
    void *data;                    /* ...what it owns (kind->release) */
    /* The table's. */
    hs_node *node;
    hs_pending *prev, *next;
    int cancelled; /* released at close; the transport's call frees it */
};

typedef struct hs_pending_table {
    hs_pending *head, *tail; /* in flight, oldest first */
    uint64_t last_id;
    size_t inflight[HS_REQ_KINDS];
} hs_pending_table;

/* A new entry of `kind` about peer (NULL: none) for the base URL `base`
 * (copied), not yet sent: the caller fills its payload, then sends it.
 * NULL out of memory. */
hs_pending *hs_pending_new(hs_node *n, const hs_pending_kind *kind, const char *peer,
                           const char *base);

/* Sends e: `method` to its URL followed by `path`, with `body` (len
 * bytes, copied; NULL for none), within timeout_s. On HS_OK the table
 * holds e until its answer comes to the kind; on an error e (and what it
 * owns) is released and the caller only counts the failure. */
hs_err hs_pending_send(hs_pending *e, const char *method, const char *path, const char *body,
                       size_t len, double timeout_s);

/* Requests of `slot` in flight. */
size_t hs_pending_inflight(const hs_pending_table *t, hs_pending_slot slot);

/* The node is closing: every entry's kind cancels it and releases what it
 * owns, now, in the order sent (the transport's calls that follow only
 * free the entries). */
void hs_pending_cancel_all(hs_node *n);

#endif
