/*
 * rng.h -- a small per-node pseudo-random generator (xoshiro256**), seeded
 * from the OS. Used for peer choice and jitter, never for secrets; each node
 * owns one, so there is no shared state between nodes.
 */
#ifndef HS_RNG_H
#define HS_RNG_H

#include <stdint.h>

#include "hearsay.h"

typedef struct hs_rng {
    uint64_t s[4];
} hs_rng;

hs_err hs_rng_seed(hs_rng *rng);
uint64_t hs_rng_next(hs_rng *rng);
/* Uniform in [0, n); n > 0. */
uint64_t hs_rng_below(hs_rng *rng, uint64_t n);
/* Writes a random RFC 4122 version 4 uuid (36 chars plus NUL). */
hs_err hs_rng_uuid4(char out[37]);

#endif
