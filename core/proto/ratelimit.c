/*
 * ratelimit.c -- token buckets by source address; see ratelimit.h.
 */
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "ratelimit.h"
#include "rng.h"

/* Buckets a source may land in: its hash slot and the next few. */
#define WINDOW 8

static void refill(double *tokens, double *at, double rate, double burst, double now)
{
    if (now > *at) {
        *tokens += (now - *at) * rate;
        if (*tokens > burst)
            *tokens = burst;
    }
    *at = now;
}

hs_err hs_ratelimit_init(hs_ratelimit *rl, double rate, double burst)
{
    hs_rng rng;

    memset(rl, 0, sizeof *rl);
    if (!(rl->b = calloc(HS_RATE_SOURCES, sizeof *rl->b)))
        return HS_ENOMEM;
    if (hs_rng_seed(&rng) != HS_OK) {
        free(rl->b);
        rl->b = NULL;
        return HS_EIO;
    }
    rl->key[0] = hs_rng_next(&rng);
    rl->key[1] = hs_rng_next(&rng);
    rl->rate = rate;
    rl->burst = burst;
    return HS_OK;
}

void hs_ratelimit_free(hs_ratelimit *rl)
{
    free(rl->b);
    rl->b = NULL;
}

int hs_ratelimit_take(hs_ratelimit *rl, const uint8_t addr[16], double now)
{
    size_t home = (size_t)(hs_hash_siphash(rl->key, addr, 16) % HS_RATE_SOURCES);
    hs_bucket *b = NULL, *stalest = NULL;

    for (size_t k = 0; k < WINDOW && !b; k++) {
        hs_bucket *c = &rl->b[(home + k) % HS_RATE_SOURCES];
        if (c->at > 0 && memcmp(c->addr, addr, 16) == 0)
            b = c;
        else if (!stalest || c->at < stalest->at)
            stalest = c;
    }
    if (!b) {
        b = stalest;
        memcpy(b->addr, addr, 16);
        b->tokens = rl->burst;
        b->at = now;
    }
    refill(&b->tokens, &b->at, rl->rate, rl->burst, now);
    if (b->tokens < 1)
        return 0;
    b->tokens -= 1;
    return 1;
}

void hs_tokens_init(hs_tokens *t, double rate, double burst)
{
    t->tokens = burst;
    t->at = 0;
    t->rate = rate;
    t->burst = burst;
}

int hs_tokens_take(hs_tokens *t, double now)
{
    refill(&t->tokens, &t->at, t->rate, t->burst, now);
    if (t->tokens < 1)
        return 0;
    t->tokens -= 1;
    return 1;
}
