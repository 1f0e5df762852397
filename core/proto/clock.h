/*
 * clock.h -- the two clocks the core uses: wall time in epoch seconds (what
 * the wire carries: timestamps, last_seen) and monotonic seconds (what
 * timeouts and backoff are measured in). The protocol reads no clock of
 * its own: a node reads these through an hs_clock (hs_node_now,
 * hs_node_mono), its io's (io.h: the real one on libuv, virtual time in
 * the simulator), or another in a harness that must replay a node's
 * decisions exactly (hs_node_set_clock).
 */
#ifndef HS_CLOCK_H
#define HS_CLOCK_H

typedef struct hs_clock {
    double (*wall)(void *ud);
    double (*mono)(void *ud);
    void *ud;
} hs_clock;

#endif
