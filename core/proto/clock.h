/*
 * clock.h -- the two clocks the core uses: wall time in epoch seconds (what
 * the wire carries: timestamps, last_seen) and monotonic seconds (what
 * timeouts and backoff are measured in). A node reads them through an
 * hs_clock (hs_node_now, hs_node_mono): the real one by default, another
 * in a harness that must replay a node's decisions exactly.
 */
#ifndef HS_CLOCK_H
#define HS_CLOCK_H

#include <stdint.h>
#include <stdio.h>
#include <time.h>

static inline double hs_clock_wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline double hs_clock_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Wall time as log lines carry it: "2026-12-05T06:48:01.123Z" (UTC, ms),
 * in out (at least HS_CLOCK_STAMP_MAX bytes). */
#define HS_CLOCK_STAMP_MAX 32

static inline void hs_clock_stamp(char *out)
{
    struct timespec ts;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, HS_CLOCK_STAMP_MAX, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, HS_CLOCK_STAMP_MAX - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

typedef struct hs_clock {
    double (*wall)(void *ud);
    double (*mono)(void *ud);
    void *ud;
} hs_clock;

#endif
