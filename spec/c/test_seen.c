/*
 * test_seen.c -- the seen-cache: duplicates, expiry, cap with oldest-first
 * eviction, growth, and deletion keeping every other id findable.
 */
#include <stdlib.h>
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

static void bodies_are_retained_then_dropped_oldest_first(void)
{
    hs_seen *s;
    uint8_t id[32];
    size_t len;

    CHECK(hs_seen_new(100, 300, &s) == HS_OK);
    hs_seen_retain(s, 10, 30); /* 10 s, 30 bytes */
    for (unsigned i = 0; i < 5; i++) {
        make_id(id, i);
        hs_seen_insert(s, id, 100.0 + i, NULL);
        char *b = malloc(11);
        memcpy(b, "0123456789", 11);
        CHECK(hs_seen_attach(s, id, b, 10) == HS_OK);
    }
    /* 30 bytes fit three bodies: the two oldest were dropped, ids kept. */
    CHECK(hs_seen_body_bytes(s) == 30);
    make_id(id, 0);
    CHECK(hs_seen_body(s, id, NULL) == NULL);
    CHECK(hs_seen_contains(s, id));
    make_id(id, 4);
    CHECK(hs_seen_body(s, id, &len) != NULL && len == 10);
    /* Expiry by age: at t = 113.5 only the body of id 4 (t = 104) is young. */
    hs_seen_expire(s, 113.5);
    CHECK(hs_seen_body_bytes(s) == 10);
    make_id(id, 3);
    CHECK(hs_seen_body(s, id, NULL) == NULL);
    /* Attaching to an unknown id fails and frees the body. */
    make_id(id, 99);
    CHECK(hs_seen_attach(s, id, malloc(4), 4) == HS_ENOENT);
    hs_seen_free(s);
}

static int collect(void *ud, const uint8_t id[32])
{
    unsigned *n = ud;
    (void)id;
    return ++*n >= 2;
}

static void recent_lists_newest_bodies_first(void)
{
    hs_seen *s;
    uint8_t id[32];
    unsigned n = 0;

    CHECK(hs_seen_new(100, 300, &s) == HS_OK);
    hs_seen_retain(s, 60, 1 << 20);
    for (unsigned i = 0; i < 5; i++) {
        make_id(id, i);
        hs_seen_insert(s, id, 100.0 + i, NULL);
        if (i != 3)
            hs_seen_attach(s, id, calloc(1, 8), 8);
    }
    hs_seen_recent(s, 0, collect, &n); /* stops after two */
    CHECK(n == 2);
    n = 0;
    hs_seen_recent(s, 102.5, collect, &n); /* ids 4 only (3 has no body) */
    CHECK(n == 1);
    hs_seen_free(s);
}

static void copies_are_counted(void)
{
    hs_seen *s;
    uint8_t id[32];

    CHECK(hs_seen_new(10, 300, &s) == HS_OK);
    make_id(id, 1);
    CHECK(hs_seen_copy(s, id) == 0);
    hs_seen_insert(s, id, 1.0, NULL);
    CHECK(hs_seen_copies(s, id) == 1);
    CHECK(hs_seen_copy(s, id) == 2);
    CHECK(hs_seen_copy(s, id) == 3);
    hs_seen_free(s);
}

int main(void)
{
    bodies_are_retained_then_dropped_oldest_first();
    recent_lists_newest_bodies_first();
    copies_are_counted();
    duplicates_are_reported();
    ids_expire_after_ttl();
    cap_evicts_oldest_first();
    memory_grows_with_use();
    rejects_bad_arguments();
    DONE();
}
