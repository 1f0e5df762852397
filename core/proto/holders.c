/*
 * holders.c -- the in-degree estimate (holders.h): a HyperLogLog of 64
 * registers per window, the current and the previous one read together.
 */
#include <math.h>
#include <string.h>

#include "hash.h"
#include "holders.h"

void hs_holders_init(hs_holders *h, double window)
{
    memset(h, 0, sizeof *h);
    h->window = window > 0 ? window : 60;
}

/* The window of now becomes the current one: one window on, the old
 * current is the previous; two or more, both are empty. */
static void roll(hs_holders *h, double now)
{
    if (now - h->start < h->window)
        return;
    if (now - h->start < 2 * h->window)
        memcpy(h->prev, h->cur, sizeof h->prev);
    else
        memset(h->prev, 0, sizeof h->prev);
    memset(h->cur, 0, sizeof h->cur);
    h->start = now;
}

void hs_holders_add(hs_holders *h, hs_rng *rng, const uint8_t addr[16], double now)
{
    static const uint8_t v4[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    uint64_t x;
    unsigned reg, rank;

    if (!h->keyed) {
        h->key[0] = hs_rng_next(rng);
        h->key[1] = hs_rng_next(rng);
        h->keyed = 1;
    }
    roll(h, now);
    /* An IPv4 address whole; an IPv6 one by its /64. */
    x = hs_hash_siphash(h->key, addr, memcmp(addr, v4, sizeof v4) == 0 ? 16 : 8);
    reg = (unsigned)(x & (HS_HOLDERS_REGISTERS - 1));
    x >>= 6;
    rank = 1;
    while (rank < 58 && !(x & 1)) {
        rank++;
        x >>= 1;
    }
    if (rank > h->cur[reg])
        h->cur[reg] = (uint8_t)rank;
}

unsigned hs_holders_estimate(hs_holders *h, double now)
{
    const double m = HS_HOLDERS_REGISTERS, alpha = 0.709; /* alpha_64 */
    double sum = 0, e;
    unsigned zeros = 0;

    roll(h, now);
    for (unsigned i = 0; i < HS_HOLDERS_REGISTERS; i++) {
        unsigned r = h->cur[i] > h->prev[i] ? h->cur[i] : h->prev[i];
        sum += ldexp(1.0, -(int)r);
        zeros += r == 0;
    }
    e = alpha * m * m / sum;
    if (e <= 2.5 * m && zeros)
        e = m * log(m / zeros); /* small counts: linear counting */
    return e > 4e9 ? 4000000000u : (unsigned)(e + 0.5);
}
