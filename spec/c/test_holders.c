/*
 * test_holders.c -- the in-degree estimate (holders.h): distinct sources
 * counted within HyperLogLog's error, a source repeated counted once, an
 * IPv6 source by its /64, and the windows forgotten in turn.
 */
#include <math.h>
#include <string.h>

#include "check.h"
#include "holders.h"

static void v4(uint8_t out[16], uint32_t a)
{
    memset(out, 0, 16);
    out[10] = out[11] = 0xff;
    out[12] = (uint8_t)(a >> 24);
    out[13] = (uint8_t)(a >> 16);
    out[14] = (uint8_t)(a >> 8);
    out[15] = (uint8_t)a;
}

static hs_rng seeded(uint64_t x)
{
    hs_rng r;
    for (int i = 0; i < 4; i++)
        r.s[i] = x = x * 6364136223846793005ull + 1442695040888963407ull;
    return r;
}

static unsigned count(unsigned distinct, uint64_t seed)
{
    hs_holders h;
    hs_rng r = seeded(seed);
    uint8_t a[16];

    hs_holders_init(&h, 60);
    for (unsigned k = 0; k < 3; k++) /* each source probes three times */
        for (unsigned i = 0; i < distinct; i++) {
            v4(a, 0x0a000000u + i * 7919u);
            hs_holders_add(&h, &r, a, 1 + k * 10);
        }
    return hs_holders_estimate(&h, 40);
}

/* Within 3 standard errors (13% with 64 registers), over 20 keys. */
static void counts_distinct_sources(void)
{
    static const unsigned sizes[] = {1, 5, 20, 50, 100, 400, 2000, 10000, 100000};

    CHECK(count(0, 1) == 0);
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        double worst = 0;
        for (uint64_t seed = 1; seed <= 20; seed++) {
            double e = count(sizes[k], seed), err = fabs(e - sizes[k]) / sizes[k];
            worst = err > worst ? err : worst;
        }
        if (worst > 0.4)
            fprintf(stderr, "%u sources: off by %.0f%%\n", sizes[k], worst * 100);
        CHECK(worst <= 0.4);
    }
}

static void one_source_is_one(void)
{
    hs_holders h;
    hs_rng r = seeded(3);
    uint8_t a[16];

    hs_holders_init(&h, 60);
    v4(a, 0x7f000001u);
    for (int i = 0; i < 1000; i++)
        hs_holders_add(&h, &r, a, 1);
    CHECK(hs_holders_estimate(&h, 2) == 1);
    /* IPv6: every address of one /64 is one source; another /64 another */
    memset(a, 0, 16);
    a[0] = 0x20;
    a[1] = 0x01;
    for (int i = 0; i < 1000; i++) {
        a[8] = (uint8_t)i;
        a[15] = (uint8_t)(i * 3);
        hs_holders_add(&h, &r, a, 3);
    }
    CHECK(hs_holders_estimate(&h, 4) == 2);
    a[7] = 1;
    hs_holders_add(&h, &r, a, 5);
    CHECK(hs_holders_estimate(&h, 6) == 3);
}

/* The current window and the one before count; older ones do not. */
static void windows_roll(void)
{
    hs_holders h;
    hs_rng r = seeded(4);
    uint8_t a[16];

    hs_holders_init(&h, 60);
    for (unsigned i = 0; i < 30; i++) {
        v4(a, 0x0a000000u + i);
        hs_holders_add(&h, &r, a, 10);
    }
    unsigned now = hs_holders_estimate(&h, 11);
    CHECK(now >= 20 && now <= 40);
    CHECK(hs_holders_estimate(&h, 100) == now); /* now the previous window */
    v4(a, 0x0b000000u);
    hs_holders_add(&h, &r, a, 130);
    unsigned more = hs_holders_estimate(&h, 131);
    CHECK(more >= now && more <= now + 2);
    CHECK(hs_holders_estimate(&h, 170) == 1); /* a window on: the 30 are gone */
    CHECK(hs_holders_estimate(&h, 400) == 0); /* two: all are */
}

int main(void)
{
    counts_distinct_sources();
    one_source_is_one();
    windows_roll();
    DONE();
}
