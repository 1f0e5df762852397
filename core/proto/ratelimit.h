/*
 * ratelimit.h -- token buckets, one per source address, for what strangers
 * may make a node do (learn peers, probe new addresses).
 *
 * A fixed table of HS_RATE_SOURCES buckets, found by a keyed hash of the
 * 16-byte address with linear probing over a short window; a new source
 * takes the stalest bucket of its window, so the table never grows and an
 * attacker with many addresses only recycles buckets (each new one starts
 * full, which is why callers also bound the total). Cost: O(1), no
 * allocation after hs_ratelimit_init.
 */
#ifndef HS_RATELIMIT_H
#define HS_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "hearsay.h"

#define HS_RATE_SOURCES 1024

typedef struct hs_bucket {
    uint8_t addr[16];
    double tokens;
    double at; /* monotonic s of the last refill; 0: unused */
} hs_bucket;

typedef struct hs_ratelimit {
    hs_bucket *b; /* HS_RATE_SOURCES */
    uint64_t key[2];
    double rate, burst;
} hs_ratelimit;

/* rate: tokens per s; burst: a full bucket. */
hs_err hs_ratelimit_init(hs_ratelimit *rl, double rate, double burst);
void hs_ratelimit_free(hs_ratelimit *rl);

/* Takes one token of addr's bucket at monotonic time now; 1 when there
 * was one, 0 when the source is over its rate. */
int hs_ratelimit_take(hs_ratelimit *rl, const uint8_t addr[16], double now);

/* One bucket for everything (a global rate): the same on a fixed key. */
typedef struct hs_tokens {
    double tokens, at, rate, burst;
} hs_tokens;

void hs_tokens_init(hs_tokens *t, double rate, double burst);
int hs_tokens_take(hs_tokens *t, double now);

#endif
