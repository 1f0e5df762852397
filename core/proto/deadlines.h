/*
 * deadlines.h -- a node's rounds and delayed work as named deadlines on its
 * own monotonic clock (seconds, hs_node_mono): when the next announce,
 * probe, peer exchange, maintenance tick, flush, anti-entropy round, batch
 * of lazy offers, end of a query, end of a suspicion and the time a push
 * in flight is past are due. Plain
 * data, no I/O and no clock of its own: clock.c keeps the io's one timer
 * on the earliest (hs_node_after), node.c runs what is due when it fires
 * (hs_node_run_due); a harness or a simulator runs them at the times it
 * chooses.
 */
#ifndef HS_DEADLINES_H
#define HS_DEADLINES_H

/* In the order two deadlines due at the same time run. */
typedef enum hs_deadline {
    HS_DUE_ANNOUNCE, /* peer_announce round, every gossip_interval */
    HS_DUE_PROBE,    /* the next health probe (SWIM's protocol period) */
    HS_DUE_EXCHANGE, /* GET /peers of a random peer, every peer_exchange_interval */
    HS_DUE_MAINTAIN, /* timeouts, retries, expiry: a tick of at most 1 s */
    HS_DUE_FLUSH,    /* send what waits in the peers' queues */
    HS_DUE_AE,       /* an anti-entropy round, backing off while idle */
    HS_DUE_LAZY,     /* lazy offers that have waited lazy_delay */
    HS_DUE_QUERY,    /* the next of our queries to end (query.c) */
    HS_DUE_SUSPECT,  /* the next suspicion to run out (membership.c) */
    HS_DUE_STUCK,    /* the oldest push in flight to be past its time (push.c) */
    HS_DUE_COUNT
} hs_deadline;

typedef struct hs_deadlines {
    double at[HS_DUE_COUNT]; /* monotonic s; HS_NEVER when not set */
} hs_deadlines;

#define HS_NEVER (-1.0)

/* Every deadline unset. */
void hs_deadlines_init(hs_deadlines *d);

/* w is due at `at` (monotonic s); HS_NEVER (or NaN, or at or past 1e15:
 * "in 1e300 s") unsets it. */
void hs_deadlines_set(hs_deadlines *d, hs_deadline w, double at);

/* When w is due, or HS_NEVER. */
double hs_deadlines_at(const hs_deadlines *d, hs_deadline w);

/* The earliest deadline set, or HS_NEVER. */
double hs_deadlines_next(const hs_deadlines *d);

/* Takes (unsets) and returns the earliest deadline due by `now` that is
 * not in `skip` (a mask of 1u << w), the lower first on a tie; -1 when
 * none is. */
int hs_deadlines_take(hs_deadlines *d, double now, unsigned skip);

#endif
