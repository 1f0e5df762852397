/*
 * io.h -- what a node needs from whatever runs it, besides a transport
 * (transport.h): one timer, word of its loop's stalls, and DNS lookups
 * that may block. The real one runs on libuv (io_uv.c, made by
 * hs_node_new); the simulator's runs on virtual time (core/sim/sim.c).
 * The protocol never reads a loop, a socket or a resolver itself.
 *
 * An implementation puts the base struct first in its own and fills an
 * ops table. Every callback runs on the node's thread, never from within
 * the call that asked for it.
 */
#ifndef HS_IO_H
#define HS_IO_H

#include <stddef.h>

#include "hearsay.h"

typedef struct hs_io hs_io;

/* s: a loop turn this much longer than it should have taken means the
 * node's own thread is stalled (hs_io_events.stalled, hs_io_ops.lag). */
#define HS_STALL_LAG 0.1

/* What an io tells its node. */
typedef struct hs_io_events {
    void (*fire)(void *ud);                 /* the timer came due */
    void (*stalled)(void *ud, double mono); /* the loop's turns ran late (at
                                               monotonic s `mono`): what timed
                                               out meanwhile says nothing of
                                               the peers */
    void *ud;
} hs_io_events;

/* The addresses a DNS bootstrap entry gave, as URLs (borrowed for the
 * call), or none and a sentence saying why; err is HS_ESTATE when the
 * lookup was called off before it ran. */
typedef void (*hs_io_resolved)(void *ud, hs_err err, const char *const *urls, size_t n,
                               const char *error);

typedef struct hs_io_ops {
    /* Begins: from now on the io may call ev's functions (ev is copied). */
    hs_err (*start)(hs_io *io, const hs_io_events *ev);
    /* Fires the timer once, in_s seconds from now (rounded up to the io's
     * steps; 0: at its next turn), in place of what it was set to; a
     * negative in_s stops it. */
    void (*arm)(hs_io *io, double in_s);
    /* How far, in s, the start of the loop's current turn lies behind
     * monotonic s `mono` (0 where turns take no time, as in a simulator). */
    double (*lag)(const hs_io *io, double mono);
    /* Looks up a DNS bootstrap entry ("dns+NAME:PORT", "dnssrv+..."; see
     * discovery.h) off the node's thread; URLs get https:// when tls.
     * cb runs exactly once unless this returns an error. */
    hs_err (*resolve)(hs_io *io, const char *entry, int tls, hs_io_resolved cb, void *ud);
    /* Stops the timer and the watch and frees the io; `done` (may be
     * NULL) runs once its resources are released, from within this call
     * when it was never started. A lookup under way still ends with its
     * callback, which may come after that. */
    void (*close)(hs_io *io, void (*done)(void *ud), void *ud);
} hs_io_ops;

struct hs_io {
    const hs_io_ops *ops;
};

/* A node on `io`, which it takes in every case: closed with the node, or
 * at once when this fails. Otherwise as hs_node_new. */
hs_err hs_node_new_io(hs_io *io, const hs_config *cfg, hs_node **out);

/* The io a node runs on. */
hs_io *hs_node_io(const hs_node *n);

#endif
