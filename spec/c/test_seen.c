/*
 * test_seen.c -- the seen-cache: duplicates, expiry, cap with oldest-first
 * eviction, growth, and deletion keeping every other id findable.
 */
#include <string.h>

#include "check.h"
#include "seen.h"

static void make_id(uint8_t id[32], unsigned n)
{
    memset(id, 0, 32);
    memcpy(id, &n, sizeof n);
    id[31] = (uint8_t)(n * 7);
}

static void duplicates_are_reported(void)
{
    hs_seen *s;
    uint8_t id[32];
    uint64_t ev = 0;

    CHECK(hs_seen_new(10, 300, &s) == HS_OK);
    make_id(id, 1);
    CHECK(hs_seen_insert(s, id, 1.0, &ev) == HS_OK);
    CHECK(hs_seen_insert(s, id, 2.0, &ev) == HS_EDUP);
    CHECK(hs_seen_contains(s, id));
    CHECK(hs_seen_count(s) == 1);
    hs_seen_free(s);
}

static void ids_expire_after_ttl(void)
{
    hs_seen *s;
    uint8_t a[32], b[32];

    CHECK(hs_seen_new(10, 300, &s) == HS_OK);
    make_id(a, 1);
    make_id(b, 2);
    hs_seen_insert(s, a, 100.0, NULL);
    hs_seen_insert(s, b, 250.0, NULL);
    CHECK(hs_seen_expire(s, 399.0) == 0);
    CHECK(hs_seen_expire(s, 400.0) == 1);
    CHECK(!hs_seen_contains(s, a));
    CHECK(hs_seen_contains(s, b));
    CHECK(hs_seen_insert(s, a, 401.0, NULL) == HS_OK);
    hs_seen_free(s);
}

static void cap_evicts_oldest_first(void)
{
    hs_seen *s;
    uint8_t id[32];
    uint64_t ev = 0;
    const unsigned cap = 1000;

    CHECK(hs_seen_new(cap, 300, &s) == HS_OK);
    for (unsigned i = 0; i < 5000; i++) {
        make_id(id, i);
        CHECK(hs_seen_insert(s, id, (double)i, &ev) == HS_OK);
    }
    CHECK(hs_seen_count(s) == cap);
    CHECK(ev == 4000);
    /* Exactly the newest `cap` ids survive; the index stays consistent. */
    unsigned found = 0, old_found = 0;
    for (unsigned i = 0; i < 5000; i++) {
        make_id(id, i);
        if (hs_seen_contains(s, id))
            *(i >= 4000 ? &found : &old_found) += 1;
    }
    CHECK(found == cap);
    CHECK(old_found == 0);
    /* Bounded memory: under 100 bytes per id at the cap. */
    CHECK(hs_seen_bytes(s) < cap * 100);
    hs_seen_free(s);
}

static void memory_grows_with_use(void)
{
    hs_seen *s;
    uint8_t id[32];

    CHECK(hs_seen_new(1000000, 300, &s) == HS_OK);
    size_t empty = hs_seen_bytes(s);
    CHECK(empty < 16 * 1024);
    for (unsigned i = 0; i < 10000; i++) {
        make_id(id, i);
        hs_seen_insert(s, id, 1.0, NULL);
    }
    CHECK(hs_seen_bytes(s) > empty);
    CHECK(hs_seen_bytes(s) < 100 * 16384);
    hs_seen_free(s);
}

static void rejects_bad_arguments(void)
{
    hs_seen *s = NULL;
    CHECK(hs_seen_new(0, 300, &s) == HS_EINVAL);
    CHECK(hs_seen_new(10, 0, &s) == HS_EINVAL);
}

int main(void)
{
    duplicates_are_reported();
    ids_expire_after_ttl();
    cap_evicts_oldest_first();
    memory_grows_with_use();
    rejects_bad_arguments();
    DONE();
}
