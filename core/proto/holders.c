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

/* 2^-r for the ranks a register holds (at most 58): ldexp a register was
 * most of an estimate's cost, and a node makes one at every probe. */
static const double pow2neg[64] = {
    0x1p-0,  0x1p-1,  0x1p-2,  0x1p-3,  0x1p-4,  0x1p-5,  0x1p-6,  0x1p-7,  0x1p-8,  0x1p-9,
    0x1p-10, 0x1p-11, 0x1p-12, 0x1p-13, 0x1p-14, 0x1p-15, 0x1p-16, 0x1p-17, 0x1p-18, 0x1p-19,
    0x1p-20, 0x1p-21, 0x1p-22, 0x1p-23, 0x1p-24, 0x1p-25, 0x1p-26, 0x1p-27, 0x1p-28, 0x1p-29,
    0x1p-30, 0x1p-31, 0x1p-32, 0x1p-33, 0x1p-34, 0x1p-35, 0x1p-36, 0x1p-37, 0x1p-38, 0x1p-39,
    0x1p-40, 0x1p-41, 0x1p-42, 0x1p-43, 0x1p-44, 0x1p-45, 0x1p-46, 0x1p-47, 0x1p-48, 0x1p-49,
    0x1p-50, 0x1p-51, 0x1p-52, 0x1p-53, 0x1p-54, 0x1p-55, 0x1p-56, 0x1p-57, 0x1p-58, 0x1p-59,
    0x1p-60, 0x1p-61, 0x1p-62, 0x1p-63};

unsigned hs_holders_estimate(hs_holders *h, double now)
{
    const double m = HS_HOLDERS_REGISTERS, alpha = 0.709; /* alpha_64 */
    double sum = 0, e;
    unsigned zeros = 0;

    roll(h, now);
    for (unsigned i = 0; i < HS_HOLDERS_REGISTERS; i++) {
        unsigned r = h->cur[i] > h->prev[i] ? h->cur[i] : h->prev[i];
        sum += r < 64 ? pow2neg[r] : ldexp(1.0, -(int)r);
        zeros += r == 0;
    }
    e = alpha * m * m / sum;
    if (e <= 2.5 * m && zeros)
        e = m * log(m / zeros); /* small counts: linear counting */
    return e > 4e9 ? 4000000000u : (unsigned)(e + 0.5);
}
