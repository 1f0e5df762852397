/*
 * simnet.h -- whole nodes on a virtual network in virtual time, for the
 * protocol tests (test_proto.c): the node code as it runs for real, on
 * the socketless transport of spec/fuzz/fake_net.c and a clock of the
 * network's own, with one seeded generator for every choice (the nodes'
 * too). Nothing waits in real time: a test of a minute of gossip takes
 * milliseconds, and the same seed gives the same run.
 *
 * A request one node makes reaches the node whose URL it names after a
 * link's latency (latency + uniform jitter), unless it is lost (loss), the
 * target has crashed, or a partition lies between them; its answer comes
 * back the same way; a request nobody answers fails when its own timeout
 * runs out. Each node's rounds run at the deadlines it sets itself
 * (core/deadlines.h). SIMNET_LOG=1 prints the nodes' logs (from info
 * up; SIMNET_LOG=debug, all), stamped with the virtual time.
 */
#ifndef HS_SIMNET_H
#define HS_SIMNET_H

#include <stddef.h>
#include <stdint.h>

#include "node.h"

typedef struct sim sim;

typedef struct sim_opts {
    size_t nodes;   /* node i listens at http://10.0.0.(i + 1):8080 (10.0.1.0
                       after 10.0.0.255, and so on), in security "open" */
    uint64_t seed;  /* every random choice */
    double latency; /* s one way, 0.001 */
    double jitter;  /* s more, uniform, 0.001 */
    double loss;    /* chance a request or answer is lost, 0 */
    /* More settings for node i (its id, port and bootstrap, node 0's URL
     * for every other node, are set already), or NULL. */
    void (*configure)(void *ud, size_t i, hs_config *cfg);
    void *ud;
} sim_opts;

/* The network with its nodes started, or NULL (out of memory, or a node
 * refused its settings). */
sim *sim_new(const sim_opts *o);
void sim_free(sim *s);

hs_node *sim_node(sim *s, size_t i);
size_t sim_size(const sim *s);
/* Virtual seconds since the start. */
double sim_now(const sim *s);
/* Events run so far (a request, an answer, a timeout, a node's round). */
uint64_t sim_events(const sim *s);

/* Runs the network for s virtual seconds. A node may be called directly
 * between runs (hs_node_broadcast, say): what it then has due runs. */
void sim_run_for(sim *s, double secs);
/* Runs until pred is true (checked every `step` virtual seconds) or
 * max_s have passed; whether pred became true. */
int sim_run_until(sim *s, int (*pred)(sim *s, void *ud), void *ud, double step, double max_s);

/* Node i stops: it runs nothing more, and what is sent to it is lost. */
void sim_crash(sim *s, size_t i);
int sim_crashed(const sim *s, size_t i);
/* Node i's side of a partition (0 by default): nothing crosses between
 * two sides. sim_heal puts everyone on side 0. */
void sim_side(sim *s, size_t i, int side);
void sim_heal(sim *s);

/* Whether node i has message id (64 hex digits) in its seen-cache. */
int sim_has(sim *s, size_t i, const char *id);
/* How node i sees node j: known and not dead (alive, unhealthy or
 * suspect); known and dead. Neither: unknown to it. */
int sim_sees_alive(sim *s, size_t i, size_t j);
int sim_sees_dead(sim *s, size_t i, size_t j);
/* Node i's live peers (alive, verified). */
size_t sim_live_peers(sim *s, size_t i);
/* How many nodes not crashed have node i in their view, not dead; and
 * how many of those push to it (an eager link). */
size_t sim_in_views(sim *s, size_t i, size_t *eager);

#endif
