/*
 * check.h -- a minimal test harness for the C unit tests: CHECK records a
 * failure with file and line and keeps going; DONE prints the tally in the
 * "N passed, N failed" form ctest's logs and CI read.
 */
#ifndef HS_CHECK_H
#define HS_CHECK_H

#include <stdio.h>

static int hs_checks_passed, hs_checks_failed;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (cond) {                                                                                \
            hs_checks_passed++;                                                                    \
        } else {                                                                                   \
            hs_checks_failed++;                                                                    \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);              \
        }                                                                                          \
    } while (0)

#define DONE()                                                                                     \
    do {                                                                                           \
        printf("%d passed, %d failed\n", hs_checks_passed, hs_checks_failed);                     \
        return hs_checks_failed ? 1 : 0;                                                           \
    } while (0)

#endif
