/*
 * clock.c -- a node's time: the wall and monotonic seconds it reads (its
 * hs_clock: the io's, or a harness's; clock.h), whether its own loop is
 * stalled, how busy its thread is, and its deadlines on that clock
 * (deadlines.h), the earliest of which the io's one timer waits for.
 * Every part of the protocol reads and sets these, so they sit below all
 * of them; what runs when a deadline is due is node.c's
 * (hs_node_run_due). O(HS_DUE_COUNT) per deadline set.
 */
#include <math.h>
#include <string.h>

#include "hash.h"
#include "node.h"

/* The monotonic clock read now, whatever event is under way. */
static double read_mono(const hs_node *n)
{
    return n->clock.mono(n->clock.ud);
}

double hs_node_now(const hs_node *n)
{
    return n->ev_depth ? n->ev_wall : n->clock.wall(n->clock.ud);
}

double hs_node_mono(const hs_node *n)
{
    return n->ev_depth ? n->ev_mono : read_mono(n);
}

void hs_node_event_begin(hs_node *n)
{
    if (n->ev_depth++ == 0) {
        n->ev_mono = read_mono(n);
        n->ev_wall = n->clock.wall(n->clock.ud);
    }
}

void hs_node_event_end(hs_node *n)
{
    if (n->ev_depth)
        n->ev_depth--;
}

void hs_node_set_clock(hs_node *n, const hs_clock *clock)
{
    if (!n->started) {
        n->clock = *clock;
        n->own_clock = 1;
    }
}

double hs_node_load(hs_node *n)
{
    double now = hs_node_mono(n), dt = now - n->load.at, busy;

    if (dt < HS_LOAD_STEP && n->load.at > 0)
        return n->load.share;
    /* On a clock of its own (a harness) the io's busy seconds are on
     * another clock. */
    if (n->own_clock || !n->io || !n->io->ops->busy || (busy = n->io->ops->busy(n->io)) < 0) {
        n->load.at = 0; /* the next reading that can tell starts afresh */
        return n->load.share = 0;
    }
    if (n->load.at > 0 && dt > 0) {
        double u = (busy - n->load.busy) / dt;
        u = u < 0 ? 0 : u > 1 ? 1 : u;
        /* An exponential average with time constant HS_LOAD_TAU, however
         * far apart the readings. */
        n->load.share += (u - n->load.share) * (1 - exp(-dt / HS_LOAD_TAU));
    }
    n->load.at = now;
    n->load.busy = busy;
    return n->load.share;
}

double hs_node_waited(const hs_node *n)
{
    if (n->own_clock || !n->io || !n->io->ops->waited)
        return -1;
    return n->io->ops->waited(n->io);
}

int hs_node_stalled(const hs_node *n)
{
    double now = read_mono(n);

    /* On a clock of its own (a harness) the node's time is not the
     * loop's: how late the loop runs says nothing of it. */
    if (n->own_clock)
        return 0;

    return now < n->stalled_until || (n->io && n->io->ops->lag(n->io, now) > HS_STALL_LAG);
}

void hs_node_rearm(hs_node *n)
{
    double next = hs_deadlines_next(&n->due);

    if (n->due_busy || !n->started || n->closing || next == n->timer_at)
        return;
    n->timer_at = next;
    if (next == HS_NEVER) {
        n->io->ops->arm(n->io, -1);
        return;
    }
    double in = next - read_mono(n);
    n->io->ops->arm(n->io, in > 0 ? in : 0);
}

void hs_node_after(hs_node *n, hs_deadline w, double s)
{
    if (n->closing)
        return;
    hs_deadlines_set(&n->due, w,
                     s == HS_NEVER || !(s < 1e15) ? HS_NEVER : hs_node_mono(n) + (s > 0 ? s : 0));
    hs_node_rearm(n);
}

void hs_node_due_within(hs_node *n, hs_deadline w, double s)
{
    double due = hs_node_due_in(n, w);

    if (s < 0)
        s = 0;
    if (due == HS_NEVER || s < due)
        hs_node_after(n, w, s);
}

/* The draw is a hash of the node's id and a count, not the generator's
 * next number: when rounds come must not move every choice the node
 * makes after them (a simulated run changes at every draw otherwise). */
double hs_node_spread(hs_node *n, double s)
{
    static const uint64_t key[2] = {0x7370726561640a01u, 0x6865617273617901u};
    uint64_t k[2] = {key[0] ^ n->spreads++, key[1]};

    return s * (0.5 + (double)(hs_hash_siphash(k, n->id, strlen(n->id)) >> 11) * 0x1p-53);
}

double hs_node_due_in(const hs_node *n, hs_deadline w)
{
    double at = hs_deadlines_at(&n->due, w), now;

    if (at == HS_NEVER)
        return HS_NEVER;
    now = hs_node_mono(n);
    return at > now ? at - now : 0;
}
