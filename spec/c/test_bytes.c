/*
 * test_bytes.c -- the capped, NUL-terminated byte buffer (core/proto/bytes.c).
 */
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "check.h"

static void grows_and_stays_terminated(void)
{
    char *b = NULL, chunk[700];
    size_t len = 0, cap = 0;

    memset(chunk, 'x', sizeof chunk);
    CHECK(hs_bytes_append(&b, &len, &cap, 5000, "ab", 2) == HS_OK);
    CHECK(len == 2 && cap == 1024 && strcmp(b, "ab") == 0);
    for (int i = 0; i < 4; i++)
        CHECK(hs_bytes_append(&b, &len, &cap, 5000, chunk, sizeof chunk) == HS_OK);
    CHECK(len == 2802 && cap == 4096 && b[len] == '\0' && strlen(b) == len);
    free(b);
}

static void never_passes_its_cap(void)
{
    char *b = NULL, chunk[600];
    size_t len = 0, cap = 0;

    memset(chunk, 'y', sizeof chunk);
    CHECK(hs_bytes_append(&b, &len, &cap, 1500, chunk, sizeof chunk) == HS_OK);
    CHECK(hs_bytes_append(&b, &len, &cap, 1500, chunk, sizeof chunk) == HS_OK);
    CHECK(len == 1200 && cap == 1501); /* doubling stops at max + 1 */
    /* One byte too many: refused, the buffer as it was. */
    CHECK(hs_bytes_append(&b, &len, &cap, 1500, chunk, 301) == HS_ETOOBIG);
    CHECK(len == 1200 && b[len] == '\0');
    CHECK(hs_bytes_append(&b, &len, &cap, 1500, chunk, 300) == HS_OK);
    CHECK(len == 1500 && b[1500] == '\0');
    CHECK(hs_bytes_append(&b, &len, &cap, 1500, chunk, 1) == HS_ETOOBIG);
    /* n so large that len + n would wrap */
    CHECK(hs_bytes_append(&b, &len, &cap, 1500, chunk, (size_t)-1) == HS_ETOOBIG);
    free(b);
}

int main(void)
{
    grows_and_stays_terminated();
    never_passes_its_cap();
    DONE();
}
