/*
 * test_deadlines.c -- named deadlines (core/proto/deadlines.c): the earliest
 * first, ties in their order, each taken once, the far future is never;
 * and a node's rounds on its own clock (core/proto/node.c): none runs while the
 * clock stands still, a round comes again from when it ran, and a round
 * set to 1e-300 s comes a millisecond later, not at once.
 */
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "deadlines.h"
#include "node.h"
#include "uvtest.h"

static void the_earliest_comes_first(void)
{
    hs_deadlines d;

    hs_deadlines_init(&d);
    CHECK(hs_deadlines_next(&d) == HS_NEVER);
    CHECK(hs_deadlines_take(&d, 1e9, 0) == -1);
    hs_deadlines_set(&d, HS_DUE_LAZY, 5.0);
    hs_deadlines_set(&d, HS_DUE_PROBE, 7.0);
    hs_deadlines_set(&d, HS_DUE_FLUSH, 5.0);
    CHECK(hs_deadlines_next(&d) == 5.0);
    CHECK(hs_deadlines_at(&d, HS_DUE_PROBE) == 7.0);
    CHECK(hs_deadlines_take(&d, 4.9, 0) == -1);
    /* A tie goes in the enum's order; each is taken once. */
    CHECK(hs_deadlines_take(&d, 6.0, 0) == HS_DUE_FLUSH);
    CHECK(hs_deadlines_take(&d, 6.0, 0) == HS_DUE_LAZY);
    CHECK(hs_deadlines_take(&d, 6.0, 0) == -1);
    CHECK(hs_deadlines_at(&d, HS_DUE_FLUSH) == HS_NEVER);
    CHECK(hs_deadlines_next(&d) == 7.0);
    /* What is in skip waits. */
    hs_deadlines_set(&d, HS_DUE_ANNOUNCE, 1.0);
    CHECK(hs_deadlines_take(&d, 8.0, 1u << HS_DUE_ANNOUNCE) == HS_DUE_PROBE);
    CHECK(hs_deadlines_take(&d, 8.0, 1u << HS_DUE_ANNOUNCE) == -1);
    CHECK(hs_deadlines_take(&d, 8.0, 0) == HS_DUE_ANNOUNCE);
}

static void the_far_future_is_never(void)
{
    hs_deadlines d;

    hs_deadlines_init(&d);
    hs_deadlines_set(&d, HS_DUE_AE, 1e300);
    hs_deadlines_set(&d, HS_DUE_MAINTAIN, NAN);
    hs_deadlines_set(&d, HS_DUE_EXCHANGE, INFINITY);
    hs_deadlines_set(&d, HS_DUE_COUNT, 1.0); /* no such deadline */
    CHECK(hs_deadlines_next(&d) == HS_NEVER);
    hs_deadlines_set(&d, HS_DUE_AE, 3.0);
    hs_deadlines_set(&d, HS_DUE_AE, HS_NEVER);
    CHECK(hs_deadlines_next(&d) == HS_NEVER);
}

static double clock_now = 5000.0;

static double fake(void *ud)
{
    (void)ud;
    return clock_now;
}

static void closed(void *ud)
{
    *(int *)ud = 1;
}

/* A node on loop with these settings, reading `clock` for both times;
 * NULL (a failed check) when it cannot be made. */
static hs_node *node_on(uv_loop_t *loop, hs_config *cfg, double (*clock)(void *))
{
    hs_node *n;

    if (hs_node_new(loop, cfg, &n) != HS_OK) {
        CHECK(!"the node is made");
        return NULL;
    }
    hs_node_set_clock(n, &(hs_clock){clock, clock, NULL});
    return n;
}

/* Closes n and the loop. */
static void close_node(uv_loop_t *loop, hs_node *n)
{
    int done = 0;

    hs_node_close(n, closed, &done);
    CHECK(run_until(loop, &done, 1, 1000));
    CHECK(uv_loop_close(loop) == 0);
}

static void rounds_follow_the_node_clock(void)
{
    uv_loop_t loop;
    hs_config cfg;
    hs_node *n;

    uv_loop_init(&loop);
    hs_config_init(&cfg);
    cfg.node_id = "clocked";
    cfg.port = 0;
    cfg.gossip_interval = 1e-300;     /* valid: above 0 */
    cfg.peer_exchange_interval = 1e9; /* the most it may be */
    cfg.ae_interval = 2;
    if (!(n = node_on(&loop, &cfg, fake)))
        return;
    CHECK(hs_node_start(n) == HS_OK);
    CHECK(hs_node_due_in(n, HS_DUE_MAINTAIN) == 1.0);
    CHECK(hs_node_due_in(n, HS_DUE_AE) == 2.0);
    CHECK(fabs(hs_node_due_in(n, HS_DUE_ANNOUNCE) - 0.001) < 1e-9);
    CHECK(hs_node_due_in(n, HS_DUE_EXCHANGE) == 1e9);
    CHECK(hs_node_due_in(n, HS_DUE_FLUSH) == HS_NEVER);

    /* The loop runs 50 ms of real time; the node's clock stands still. */
    run_for(&loop, 50);
    CHECK(hs_node_due_in(n, HS_DUE_MAINTAIN) == 1.0);
    CHECK(hs_node_due_in(n, HS_DUE_AE) == 2.0);

    /* 1.5 s on: the tick ran and comes again a second after it ran; the
     * anti-entropy round is half a second off; the announce, due within
     * the millisecond, ran once and is a millisecond off again. */
    clock_now += 1.5;
    hs_node_run_due(n);
    CHECK(hs_node_due_in(n, HS_DUE_MAINTAIN) == 1.0);
    CHECK(hs_node_due_in(n, HS_DUE_AE) == 0.5);
    CHECK(fabs(hs_node_due_in(n, HS_DUE_ANNOUNCE) - 0.001) < 1e-9);
    /* 0.5 s on: the round ran, and backs off to 4 s (nothing to repair). */
    clock_now += 0.5;
    hs_node_run_due(n);
    CHECK(hs_node_due_in(n, HS_DUE_AE) == 4.0);
    CHECK(hs_node_due_in(n, HS_DUE_MAINTAIN) == 0.5);
    close_node(&loop, n);
}

static double counted_now;
static unsigned counted_reads;

/* A clock that moves a millisecond at every read, and counts them. */
static double counted(void *ud)
{
    (void)ud;
    counted_reads++;
    counted_now += 0.001;
    return counted_now;
}

/* Within an event (a request served, an answer taken, deadlines run) the
 * node's time is the time it began, read once: at 500 broadcasts a
 * second the clock was read 29 times a delivery, 3% of a loaded node's
 * CPU. Outside one it is read each time; a nested event keeps the outer
 * one's time. */
static void an_event_reads_the_clock_once(void)
{
    uv_loop_t loop;
    hs_config cfg;
    hs_node *n;

    uv_loop_init(&loop);
    hs_config_init(&cfg);
    cfg.node_id = "evented";
    cfg.port = 0;
    if (!(n = node_on(&loop, &cfg, counted)))
        return;
    double a = hs_node_mono(n), b = hs_node_mono(n);
    CHECK(b > a);
    hs_node_event_begin(n);
    unsigned reads = counted_reads;
    double m1 = hs_node_mono(n), w1 = hs_node_now(n);
    hs_node_event_begin(n);
    double m2 = hs_node_mono(n), w2 = hs_node_now(n);
    hs_node_event_end(n);
    double m3 = hs_node_mono(n), w3 = hs_node_now(n);
    CHECK(m1 > b && m1 == m2 && m2 == m3 && w1 == w2 && w2 == w3);
    CHECK(counted_reads == reads);
    hs_node_event_end(n);
    CHECK(hs_node_mono(n) > m3);
    hs_node_event_end(n); /* one end too many changes nothing */
    double c = hs_node_mono(n);
    CHECK(hs_node_mono(n) > c);
    close_node(&loop, n);
}

int main(void)
{
    /* A round that comes again at once spins inside libuv's timer pass:
     * fail in seconds, not at ctest's timeout. */
    alarm(20);
    the_earliest_comes_first();
    the_far_future_is_never();
    rounds_follow_the_node_clock();
    an_event_reads_the_clock_once();
    DONE();
}
