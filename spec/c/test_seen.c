/*
 * test_seen.c -- the seen-cache: duplicates, expiry, cap with oldest-first
 * eviction, growth, deletion keeping every other id findable, the memory
 * an id costs, and retained bodies (their order, replacement, trimming).
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
    /* Bounded memory: 40-byte entries plus the index, at the cap. */
    CHECK(hs_seen_bytes(s) < cap * 64);
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

/* 40 bytes an entry in chunks, plus an index of 8-byte slots 3/8 to 3/4
 * full: at most 62 bytes an id at any size. */
static void an_id_costs_at_most_64_bytes(void)
{
    hs_seen *s;
    uint8_t id[32];
    size_t worst = 0;

    CHECK(hs_seen_new(1000000, 300, &s) == HS_OK);
    for (unsigned i = 0; i < 300000; i++) {
        make_id(id, i);
        CHECK(hs_seen_insert(s, id, 1.0, NULL) == HS_OK);
        if (i + 1 >= 10000 && (i + 1) % 997 == 0) {
            size_t per = hs_seen_bytes(s) / (i + 1);
            worst = per > worst ? per : worst;
        }
    }
    CHECK(worst < 64);
    hs_seen_free(s);
}

/* Once the ring has moved on, the chunks it left are given back. */
static void expiry_gives_memory_back(void)
{
    hs_seen *s;
    uint8_t id[32];

    CHECK(hs_seen_new(1000000, 10, &s) == HS_OK);
    size_t empty = hs_seen_bytes(s);
    for (unsigned i = 0; i < 100000; i++) {
        make_id(id, i);
        hs_seen_insert(s, id, 100.0 + i / 10000.0, NULL);
    }
    CHECK(hs_seen_bytes(s) > 4000000);
    CHECK(hs_seen_expire(s, 200.0) == 100000);
    CHECK(hs_seen_count(s) == 0);
    /* The index stays its size (8 bytes a slot); the entries are gone. */
    CHECK(hs_seen_bytes(s) < empty + 8 * 262144 + 2 * 512 * 40 + 8 * 1024);
    /* And it keeps working from wherever the ring stopped. */
    for (unsigned i = 0; i < 3000; i++) {
        make_id(id, 500000 + i);
        CHECK(hs_seen_insert(s, id, 300.0, NULL) == HS_OK);
    }
    make_id(id, 500000);
    CHECK(hs_seen_contains(s, id));
    make_id(id, 99999);
    CHECK(!hs_seen_contains(s, id));
    hs_seen_free(s);
}

static void times_keep_milliseconds(void)
{
    hs_seen *s;
    uint8_t a[32], b[32];

    CHECK(hs_seen_new(10, 1, &s) == HS_OK);
    make_id(a, 1);
    make_id(b, 2);
    hs_seen_insert(s, a, 1760000000.125, NULL);
    hs_seen_insert(s, b, 1760000000.250, NULL);
    CHECK(hs_seen_expire(s, 1760000001.124) == 0);
    CHECK(hs_seen_expire(s, 1760000001.125) == 1);
    CHECK(hs_seen_expire(s, 1760000001.249) == 0);
    CHECK(hs_seen_contains(s, b));
    hs_seen_free(s);
}

static int record(void *ud, const uint8_t id[32])
{
    unsigned *order = ud;
    unsigned n;
    memcpy(&n, id, sizeof n);
    order[++order[0]] = n;
    return 0;
}

static char *text(const char *t)
{
    char *b = malloc(strlen(t) + 1);
    strcpy(b, t);
    return b;
}

/* A body may attach to an older id than the last one (a handler that
 * broadcasts runs before the message's own body is kept): it still goes
 * in ring order, is found, and is dropped in its turn. */
static void bodies_attach_in_any_order(void)
{
    hs_seen *s;
    uint8_t id[32];
    unsigned order[8] = {0};
    size_t len;

    CHECK(hs_seen_new(100, 300, &s) == HS_OK);
    hs_seen_retain(s, 60, 1000);
    for (unsigned i = 1; i <= 4; i++) {
        make_id(id, i);
        hs_seen_insert(s, id, 100.0 + i, NULL);
    }
    unsigned attach[] = {4, 2, 1, 3};
    for (unsigned i = 0; i < 4; i++) {
        make_id(id, attach[i]);
        CHECK(hs_seen_attach(s, id, text("abcd"), 4) == HS_OK);
    }
    hs_seen_recent(s, 0, 1e18, record, order);
    CHECK(order[0] == 4 && order[1] == 4 && order[2] == 3 && order[3] == 2 && order[4] == 1);
    /* Replacing a body counts only the new one. */
    make_id(id, 2);
    CHECK(hs_seen_attach(s, id, text("abcdefgh"), 8) == HS_OK);
    CHECK(hs_seen_body_bytes(s) == 20);
    CHECK(hs_seen_body(s, id, &len) && len == 8);
    /* Over the byte cap, the oldest entries' bodies go first. */
    hs_seen_retain(s, 1000, 12);
    make_id(id, 4);
    CHECK(hs_seen_attach(s, id, text("wxyz"), 4) == HS_OK);
    CHECK(hs_seen_body_bytes(s) == 8);
    make_id(id, 2);
    CHECK(hs_seen_body(s, id, NULL) == NULL);
    make_id(id, 3);
    CHECK(hs_seen_body(s, id, NULL) != NULL);
    /* An id evicted or expired takes its body along. */
    CHECK(hs_seen_expire(s, 403.5) == 3);
    CHECK(hs_seen_body_bytes(s) == 4);
    CHECK(hs_seen_expire(s, 404.0) == 1);
    CHECK(hs_seen_body_bytes(s) == 0);
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
    hs_seen_recent(s, 0, 1e18, collect, &n); /* stops after two */
    CHECK(n == 2);
    n = 0;
    hs_seen_recent(s, 102.5, 1e18, collect, &n); /* ids 4 only (3 has no body) */
    CHECK(n == 1);
    n = 0;
    hs_seen_recent(s, 0, 102.5, collect, &n); /* ids 2 and 1: newer ones skipped */
    CHECK(n == 2);
    n = 0;
    hs_seen_recent(s, 101, 101, collect, &n); /* id 1 alone */
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

/* A body kept from parts is the parts joined, counted as one body. */
static void bodies_attach_from_parts(void)
{
    hs_seen *s = NULL;
    uint8_t id[32];
    size_t len = 0;
    hs_arena_part parts[3] = {{"ab", 2}, {"0", 1}, {"cd", 2}};

    CHECK(hs_seen_new(100, 300, &s) == HS_OK);
    hs_seen_retain(s, 60, 1000);
    make_id(id, 1);
    CHECK(hs_seen_attach_parts(s, id, parts, 3) == HS_ENOENT);
    hs_seen_insert(s, id, 100.0, NULL);
    CHECK(hs_seen_attach_parts(s, id, parts, 3) == HS_OK);
    const char *b = hs_seen_body(s, id, &len);
    CHECK(b && len == 5 && strcmp(b, "ab0cd") == 0);
    CHECK(hs_seen_body_bytes(s) == 5);
    hs_seen_free(s);
}

int main(void)
{
    bodies_are_retained_then_dropped_oldest_first();
    bodies_attach_from_parts();
    recent_lists_newest_bodies_first();
    copies_are_counted();
    duplicates_are_reported();
    ids_expire_after_ttl();
    cap_evicts_oldest_first();
    memory_grows_with_use();
    an_id_costs_at_most_64_bytes();
    expiry_gives_memory_back();
    times_keep_milliseconds();
    bodies_attach_in_any_order();
    rejects_bad_arguments();
    DONE();
}
