/*
 * rng.c -- xoshiro256** seeded by RAND_bytes; uuid4 straight from RAND_bytes.
 */
#include <stdio.h>

#include <openssl/rand.h>

#include "rng.h"

hs_err hs_rng_seed(hs_rng *rng)
{
    if (RAND_bytes((unsigned char *)rng->s, sizeof rng->s) != 1)
        return HS_EIO;
    if ((rng->s[0] | rng->s[1] | rng->s[2] | rng->s[3]) == 0)
        rng->s[0] = 1;
    return HS_OK;
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t hs_rng_next(hs_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t hs_rng_below(hs_rng *rng, uint64_t n)
{
    /* Rejection sampling keeps the choice unbiased. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;

    do
        x = hs_rng_next(rng);
    while (x >= limit);
    return x % n;
}

hs_err hs_rng_uuid4(char out[37])
{
    unsigned char b[16];

    if (RAND_bytes(b, sizeof b) != 1)
        return HS_EIO;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
    return HS_OK;
}
