/*
 * sim.h -- whole nodes on a virtual network in virtual time: `hearsay sim`
 * (bindings/lsim.c) and the protocol tests (spec/c/test_proto.c). The
 * node code as it runs for real, on the socketless transport of memnet.h
 * and a clock of the network's own, with one seeded generator for every
 * choice (the nodes' too). Nothing waits in real time: a minute of gossip
 * takes milliseconds, and the same seed gives the same run, event for
 * event (hs_sim_trace).
 *
 * A request one node makes reaches the node whose URL it names after a
 * link's latency (latency + uniform jitter), unless it is lost (loss), the
 * target has crashed, or a partition lies between them; its answer comes
 * back the same way; a request nobody answers fails when its own timeout
 * runs out. Each node's rounds run at the deadlines it sets itself
 * (core/proto/deadlines.h).
 *
 * The simulator follows what it is asked to: the broadcasts made through
 * hs_sim_broadcast (when each node first had each, its hops, the copies
 * it took) and the crashes made through hs_sim_crash (when each node
 * that had the crashed node in view declared it dead), and counts every
 * death declared of a node that is alive (a false death).
 */
#ifndef HS_SIM_H
#define HS_SIM_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "hearsay.h"

typedef struct hs_sim hs_sim;

#define HS_SIM_REGIONS_MAX 64

enum { HS_SIM_UNIFORM = 0, HS_SIM_LOGNORMAL = 1 };

/* What the nodes' work costs in CPU time, for a network of few machines
 * (the loopback benchmark: many nodes to a process, many processes to a
 * core). Without it (per_host 0) work takes no time. With it, nodes
 * 0..per_host-1 share host 0 (a process: one thing at a time), the next
 * per_host host 1, and so on; the hosts share `cores` CPUs (0: a core
 * each). Serving a request takes `serve` s, taking an answer or a
 * timeout `answer` s, a round or a timer `round` s, and each request it
 * makes `send` s more (answering is part of serving); a POST /gossip
 * takes `gossip` s more to serve, and `envelope` s more for each envelope
 * it carries. A host serves its
 * work in the order it comes: what a node sends leaves once the host has
 * done the work that came before and this work up to that send (the node
 * acts on what came at once, so it acts in that order; only its sending
 * waits). */
typedef struct hs_sim_cpu {
    size_t per_host;
    size_t cores;
    double serve, answer, round, send;
    double gossip;   /* more to serve a POST /gossip (a signature's check, say) */
    double envelope; /* more to serve each envelope of a POST /gossip: a
                        batch costs its envelopes (parsing, dedup), not
                        its request alone */
} hs_sim_cpu;

typedef struct hs_sim_opts {
    size_t nodes;   /* node i listens at http://10.0.0.(i + 1):8080 (10.0.1.0
                       after 10.0.0.255, and so on), in security "open" */
    uint64_t seed;  /* every random choice */
    int model;      /* HS_SIM_UNIFORM (0): one way takes latency + jitter * U(0,1);
                       HS_SIM_LOGNORMAL: latency * exp(jitter * N(0,1)), so
                       `latency` is the median and `jitter` the log's sigma */
    double latency; /* s one way, 0.001 */
    double jitter;  /* 0.001 */
    double loss;    /* chance a request or answer is lost, 0 */
    int log;        /* 0: the nodes log nothing; 1 + an hs_log_level: from
                       that level up, on stderr, with the virtual time */
    /* Regions: node i is in region i % regions, and a link from region a
     * to region b takes matrix[a * regions + b] s one way in place of
     * `latency` (jitter and model as above). 0 regions: one, `latency`.
     * The matrix is copied; at most HS_SIM_REGIONS_MAX regions. */
    size_t regions;
    const double *matrix;
    /* More settings for node i (its id, port and bootstrap, node 0's URL
     * for every other node, are set already), or NULL. */
    void (*configure)(void *ud, size_t i, hs_config *cfg);
    /* Called once node i has started (at hs_sim_new, and again after each
     * hs_sim_restart: a new node), or NULL: what the embedder puts on it
     * (plugins: hs_sim_set_hooks, hs_sim_timer_start). An error fails the
     * making of the network (or the restart). */
    hs_err (*attach)(void *ud, hs_sim *s, size_t i, hs_node *n);
    /* Called before node i is closed (a restart, hs_sim_free), or NULL:
     * what attach put on it must go (its timers, its hooks). */
    void (*detach)(void *ud, hs_sim *s, size_t i, hs_node *n);
    void *ud;
    hs_sim_cpu cpu; /* all 0: work takes no time */
} hs_sim_opts;

/* The network with its nodes started, or NULL (out of memory, or a node
 * refused its settings): up to 1,000,000 nodes. */
hs_sim *hs_sim_new(const hs_sim_opts *o);
void hs_sim_free(hs_sim *s);

hs_node *hs_sim_node(hs_sim *s, size_t i);
/* Node i's region (0 without regions). */
size_t hs_sim_region(const hs_sim *s, size_t i);
size_t hs_sim_size(const hs_sim *s);
/* Virtual seconds since the start. */
double hs_sim_now(const hs_sim *s);
/* The nodes' clocks: epoch s (wall) and monotonic s, virtual. */
double hs_sim_wall(const hs_sim *s);
double hs_sim_mono(const hs_sim *s);
/* Events run so far (a request, an answer, a timeout, a node's round, a
 * timer of hs_sim_timer_start). */
uint64_t hs_sim_events(const hs_sim *s);

/* The CPU time the nodes' work took so far (hs_sim_cpu; 0 without it),
 * and the host that was busy longest, with its busy time. */
double hs_sim_cpu_used(const hs_sim *s, size_t *busiest, double *busiest_s);

/* Runs the network for s virtual seconds. A node may be called directly
 * between runs (hs_node_broadcast, say): what it then has due runs. A run
 * that failed (hs_sim_error) runs nothing more. */
void hs_sim_run_for(hs_sim *s, double secs);
/* Runs until pred is true (checked every `step` virtual seconds) or
 * max_s have passed; whether pred became true. */
int hs_sim_run_until(hs_sim *s, int (*pred)(hs_sim *s, void *ud), void *ud, double step,
                     double max_s);

/* Node i stops: it runs nothing more, and what is sent to it is lost. */
void hs_sim_crash(hs_sim *s, size_t i);
int hs_sim_crashed(const hs_sim *s, size_t i);
/* Node i starts again at its address with its id (crashed first if it
 * was not), with a new incarnation, and joins through node 0 (node 1 when
 * it is node 0); what its earlier life asked is answered to nobody.
 * HS_EINVAL: no node i; else as hs_node_new (the run then fails). */
hs_err hs_sim_restart(hs_sim *s, size_t i);
/* Node i runs nothing for secs (a stopped process): what comes for it and
 * what it has due wait, and happen, in order, when it resumes. */
void hs_sim_pause(hs_sim *s, size_t i, double secs);
/* Node i's side of a partition (0 by default): nothing crosses between
 * two sides. hs_sim_heal puts everyone on side 0. */
void hs_sim_side(hs_sim *s, size_t i, int side);
void hs_sim_heal(hs_sim *s);

/* Whether node i has message id (64 hex digits) in its seen-cache. */
int hs_sim_has(hs_sim *s, size_t i, const char *id);
/* How node i sees node j: known and not dead (alive, unhealthy or
 * suspect); known and dead. Neither: unknown to it. */
int hs_sim_sees_alive(hs_sim *s, size_t i, size_t j);
int hs_sim_sees_dead(hs_sim *s, size_t i, size_t j);
/* Node i's live peers (alive, verified). */
size_t hs_sim_live_peers(hs_sim *s, size_t i);
/* How many nodes not crashed have node i in their view, not dead; and
 * how many of those push to it (an eager link). */
size_t hs_sim_in_views(hs_sim *s, size_t i, size_t *eager);

/* Why the run stopped (out of memory; a node's round due again at the
 * same instant, over and over: a spin), or NULL while it runs. */
const char *hs_sim_error(const hs_sim *s);
/* A hash of every event run so far, in order (kind, time, nodes, request):
 * the same seed and code give the same value. */
uint64_t hs_sim_trace(const hs_sim *s);
/* Requests and answers delivered so far, and their body bytes. */
void hs_sim_traffic(const hs_sim *s, uint64_t *messages, uint64_t *bytes);
/* Of the requests delivered, those from one region to another (0 without
 * regions), and of them the gossip pushes (POST /gossip). */
void hs_sim_cross_traffic(const hs_sim *s, uint64_t *requests, uint64_t *pushes);
/* Deaths declared, by a node not crashed, of a node not crashed. */
uint64_t hs_sim_false_deaths(const hs_sim *s);
/* Pairs of nodes not crashed where the first holds the second dead (a
 * dead peer is tried again after a backoff up to retry_max: such pairs
 * may take that long to clear). */
size_t hs_sim_held_dead(const hs_sim *s);
/* Nodes not crashed that some live node holds dead and none holds alive:
 * cut out of the cluster (SIZE_MAX: out of memory). */
size_t hs_sim_excluded(const hs_sim *s);

/* What waits in the queues of the live nodes not paused, added up:
 * envelopes to push
 * and ids to offer lazily, requests in flight; and what is stuck there:
 * ids due to be offered more than HS_SIM_STUCK s ago, and peers whose
 * envelopes wait with no POST in flight and no flush planned. Nothing
 * should be stuck: a queue that does not drain grows without bound. */
#define HS_SIM_STUCK 2.0
typedef struct hs_sim_backlog_info {
    uint64_t queued, offers, inflight;
    uint64_t queued_max; /* the most envelopes waiting for one peer */
    uint64_t offers_max; /* the most ids waiting for one peer */
    uint64_t stuck_offers, stuck_queues;
} hs_sim_backlog_info;
void hs_sim_backlog(hs_sim *s, hs_sim_backlog_info *out);
/* The same for node i alone (all zero when it is crashed or paused, or
 * out of range). */
void hs_sim_backlog_of(hs_sim *s, size_t i, hs_sim_backlog_info *out);
/* Every node's counters (hs_metrics: all uint64_t) added up, the
 * crashed ones' as they were when they crashed (a restart starts a
 * node's afresh). */
void hs_sim_totals(const hs_sim *s, hs_metrics *out);
/* More hooks for node i (copied; NULL: none), run beside the simulator's
 * own: its message and peer hooks run first (it follows deliveries and
 * deaths), then these; the rest are these alone. The embedder's plugins
 * (bindings/lsim.c). */
void hs_sim_set_hooks(hs_sim *s, size_t i, const hs_hooks *h);

/* A timer in virtual time for node i: fire(arg) runs `delay` s from now,
 * then every `repeat` s (0: once). It waits while the node is paused and
 * does not run while it is crashed. Returns a handle for
 * hs_sim_timer_stop, or NULL (out of memory). Every handle must be
 * stopped, a one-shot one too (after it fired, or from its own fire);
 * the detach callback is the place for what is left. */
typedef struct hs_sim_timer hs_sim_timer;
hs_sim_timer *hs_sim_timer_start(hs_sim *s, size_t i, double delay, double repeat,
                                 void (*fire)(void *arg), void *arg);
void hs_sim_timer_stop(hs_sim *s, hs_sim_timer *t);

/* From now on a request or an answer is lost with this chance. */
void hs_sim_set_loss(hs_sim *s, double loss);

/* Node i broadcasts (hs_node_broadcast: `payload` is borrowed), and the
 * simulator follows the message. id_out: 65 bytes, or NULL. */
hs_err hs_sim_broadcast(hs_sim *s, size_t i, const char *type, json_t *payload, char *id_out);
size_t hs_sim_broadcasts(const hs_sim *s);

/* Broadcast k (0 first) as far as it went. Times are virtual s after it
 * was sent, when that share of the nodes not crashed (now) had it; -1
 * while fewer had. */
typedef struct hs_sim_delivery_info {
    char id[65];
    size_t origin;
    double sent;    /* virtual s */
    size_t live;    /* nodes not crashed */
    size_t reached; /* of them, had it (the origin too) */
    double p50, p90, p99, p100;
    unsigned max_hops;
    double mean_hops; /* over the nodes reached but the origin */
    double copies;    /* copies taken per node reached, the origin not counted */
} hs_sim_delivery_info;
hs_err hs_sim_delivery(const hs_sim *s, size_t k, hs_sim_delivery_info *out);

/* Crash k (0 first, hs_sim_crash order). Watchers: the nodes that held
 * it alive (in view, not dead) when it crashed. Times are virtual s after
 * the crash (-1: not yet): p* when that share of the watchers had
 * declared it dead; gone* when that share no longer held it alive (dead,
 * or dropped from view), looked at every 0.1 s: gone100 is "dead
 * everywhere". */
typedef struct hs_sim_detection_info {
    size_t node;
    double at;
    size_t watchers;
    size_t detected; /* deaths declared of it since (by any live node) */
    double p50, p99, p100;
    double gone50, gone99, gone100;
    size_t still_alive; /* live nodes that hold it alive now */
    int restarted;      /* it came back (hs_sim_restart) before all let go */
} hs_sim_detection_info;
size_t hs_sim_crashes(const hs_sim *s);
hs_err hs_sim_detection(hs_sim *s, size_t k, hs_sim_detection_info *out);

#endif
