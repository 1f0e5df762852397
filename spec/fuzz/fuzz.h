/*
 * fuzz.h -- what the libFuzzer targets share: a check that aborts (so
 * libFuzzer keeps the input as a crash) and says which property broke,
 * and a tiny deterministic generator for choices derived from the input
 * (where to cut it into reads, for instance).
 *
 * A target is one file with LLVMFuzzerTestOneInput; it must be
 * deterministic in its verdict and leave nothing allocated between runs.
 */
#ifndef HS_FUZZ_H
#define HS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond, what)                                                                     \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz: %s:%d: %s (%s)\n", __FILE__, __LINE__, what, #cond);            \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* xorshift64*: a stream of choices from a seed taken from the input. */
typedef struct fuzz_rng {
    uint64_t s;
} fuzz_rng;

static inline void fuzz_rng_init(fuzz_rng *r, uint64_t seed)
{
    r->s = seed * 0x9E3779B97F4A7C15u + 0x2545F4914F6CDD1Du;
    if (!r->s)
        r->s = 1;
}

static inline uint64_t fuzz_rng_next(fuzz_rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545F4914F6CDD1Du;
}

/*
 * The length of the next read, from a one-byte "cut" choice: 0 means one
 * read of everything, 1 byte by byte, 2..255 random lengths from 1 to
 * cut (so the fuzzer can make the reads as short as it wants).
 */
static inline size_t fuzz_cut(fuzz_rng *r, unsigned cut, size_t left)
{
    size_t n;

    if (cut == 0)
        return left;
    n = cut == 1 ? 1 : 1 + (size_t)(fuzz_rng_next(r) % cut);
    return n < left ? n : left;
}

#endif
