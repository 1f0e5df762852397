/*
 * realtime.h -- the real clocks: wall time in epoch seconds and monotonic
 * seconds, as the libuv io gives them to its nodes (io_uv.c), and wall
 * time as log lines carry it. The protocol (core/proto/) reads none of
 * them: it has its io's clock (io.h, hs_io.clock).
 */
#ifndef HS_REALTIME_H
#define HS_REALTIME_H

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

#endif
