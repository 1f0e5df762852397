/*
 * node_harness.c -- see node_harness.h.
 */
#include <stdio.h>
#include <string.h>

#include "sim/memnet.h"
#include "identity.h"
#include "node_harness.h"

const char harness_health_fmt[] =
    "{\"status\":\"healthy\",\"node_id\":\"%s\",\"peer_count\":3,\"uptime\":12.5,"
    "\"metrics\":{},\"version\":\"0.1.0\",\"features\":[\"batch\",\"ae\",\"swim\",\"seen_hash\"],"
    "\"incarnation\":1700000000000,\"tags\":{\"region\":\"eu\"}}";

/* The harness's clock: it stands still but where a target moves it
 * (harness_advance), and starts at the same time for every node, so that
 * two nodes given the same input decide the same, and an input decides
 * the same today and in a year. */
static struct {
    double wall, mono;
    int nodes; /* open: the clock starts over with the first */
} now = {HARNESS_WALL, HARNESS_MONO, 0};

static double fake_wall(void *ud)
{
    (void)ud;
    return now.wall;
}

static double fake_mono(void *ud)
{
    (void)ud;
    return now.mono;
}

/* The open nodes, for harness_settle. */
#define HARNESS_MAX_NODES 4
static hs_node *open_nodes[HARNESS_MAX_NODES];

void harness_advance(double s)
{
    now.wall += s;
    now.mono += s;
}

/* Every line is formatted (the level lets all through) and dropped. */
static void quiet(void *ud, hs_log_level level, const char *node_id, const char *msg)
{
    (void)ud;
    (void)level;
    (void)node_id;
    (void)msg;
}

static void answer_probe(hs_node *n, const char *json)
{
    hs_memnet_client_answer(n->client, HS_OK, 200, json, strlen(json));
}

hs_node *harness_node(uv_loop_t *loop, int mode)
{
    static const char *const keys[] = {HARNESS_KEY};
    const char *writers[1];
    hs_identity *writer = NULL;
    hs_config cfg;
    hs_node *n;
    char health[512];
    hs_err err;

    hs_config_init(&cfg);
    cfg.node_id = "fuzz-node";
    cfg.port = 40000;
    cfg.max_seen_by = 8;
    cfg.max_batch = 16;
    cfg.max_digest = 64;
    cfg.max_body = 64 * 1024;
    cfg.seen_cap = 4096;
    cfg.lazy_delay = 0;
    cfg.batch_window = 0;
    cfg.batch_interval = 0;
    cfg.ae_interval = 0;
    /* Rounds are due on the harness's clock, which stands still: none
     * comes by itself (a target asks for one, or moves the clock), so that
     * none runs in one of two twins and not in the other. The maintenance
     * tick (1 s) runs when the clock moves a second; these do not. */
    cfg.gossip_interval = cfg.health_interval = cfg.probe_interval = 1e8;
    cfg.peer_exchange_interval = 1e8;
    cfg.transport = &hs_memnet_transport;
    cfg.log = quiet;
    cfg.log_level = HS_LOG_DEBUG;
    if (mode != HARNESS_OPEN) {
        cfg.security = HS_SECURITY_CLUSTER;
        cfg.cluster_keys = keys;
        cfg.n_cluster_keys = 1;
    }
    if (mode == HARNESS_SIGNED) {
        if (hs_identity_new(HARNESS_WRITER_SEED, &writer) != HS_OK)
            return NULL;
        cfg.security = HS_SECURITY_SIGNED;
        cfg.node_id = NULL; /* its public key */
        cfg.node_key = HARNESS_NODE_SEED;
        writers[0] = hs_identity_public(writer);
        cfg.writers = writers;
        cfg.n_writers = 1;
    }
    err = hs_node_new(loop, &cfg, &n);
    hs_identity_free(writer);
    if (err != HS_OK)
        return NULL;
    /* The same choices for every input. */
    n->rng.s[0] = 0x0123456789abcdefu;
    n->rng.s[1] = 0x1122334455667788u;
    n->rng.s[2] = 0x99aabbccddeeff00u;
    n->rng.s[3] = 0x0f1e2d3c4b5a6978u;
    if (now.nodes++ == 0) {
        now.wall = HARNESS_WALL;
        now.mono = HARNESS_MONO;
    }
    hs_node_set_clock(n, &(hs_clock){fake_wall, fake_mono, NULL});
    if (hs_node_start(n) != HS_OK) {
        hs_node_close(n, NULL, NULL);
        return NULL;
    }
    for (size_t k = 0; k < HARNESS_MAX_NODES; k++) {
        if (!open_nodes[k]) {
            open_nodes[k] = n;
            break;
        }
    }
    hs_node_add_peer(n, "peer-a", "http://127.0.0.1:7001");
    hs_node_add_peer(n, "peer-b", "http://127.0.0.1:7002");
    hs_node_add_peer(n, "ref-c", "http://127.0.0.1:7003");
    hs_node_add_peer(n, "new-d", "http://localhost:7004/");
    /* The first three probes (GET /health, in that order) are answered. */
    snprintf(health, sizeof health, harness_health_fmt, "peer-a");
    answer_probe(n, health);
    snprintf(health, sizeof health, harness_health_fmt, "peer-b");
    answer_probe(n, health);
    answer_probe(n, "{\"status\":\"healthy\",\"node_id\":\"ref-c\",\"peer_count\":2,"
                    "\"uptime\":3.0,\"metrics\":{\"messages_sent\":1}}");
    harness_settle(loop);
    return n;
}

void harness_settle(uv_loop_t *loop)
{
    /* What the nodes have due within HARNESS_SOON_MS runs now: their clock
     * moves on to it (a flush, a lazy offer, a round due again 1 ms on),
     * up to 100 times. Never in real time: with the clock standing still
     * a deadline 40 ms away never came, and sleeping for it up to 100
     * times a record held one input 2 min 49 s (fuzz_node_requests at
     * 5.1M; its input is in the corpus). The same for twins: both see the
     * same clock. */
    for (int i = 0; i < 100; i++) {
        double soonest = HS_NEVER;
        uv_run(loop, UV_RUN_NOWAIT);
        for (size_t k = 0; k < HARNESS_MAX_NODES; k++) {
            double t = open_nodes[k] ? hs_deadlines_next(&open_nodes[k]->due) : HS_NEVER;
            if (t < soonest)
                soonest = t;
        }
        if (soonest == HS_NEVER || soonest - now.mono > HARNESS_SOON_MS / 1000.0)
            break;
        if (soonest > now.mono)
            harness_advance(soonest - now.mono);
        for (size_t k = 0; k < HARNESS_MAX_NODES; k++)
            if (open_nodes[k])
                hs_node_run_due(open_nodes[k]);
    }
}

static void closed(void *ud)
{
    *(int *)ud = 1;
}

void harness_close(uv_loop_t *loop, hs_node *n)
{
    int done = 0;

    now.nodes--;
    for (size_t k = 0; k < HARNESS_MAX_NODES; k++)
        if (open_nodes[k] == n)
            open_nodes[k] = NULL;
    hs_node_close(n, closed, &done);
    while (!done)
        uv_run(loop, UV_RUN_NOWAIT);
}
