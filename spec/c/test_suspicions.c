/*
 * test_suspicions.c -- who else suspects a peer (suspicions.h): distinct
 * suspecters counted once each up to the cap, word of an older incarnation
 * ignored and a newer one starting again, an answer resetting the count
 * but not what was heard, the stalest entry taken when the table is full,
 * and a NULL table read as empty.
 */
#include <stdio.h>

#include "check.h"
#include "suspicions.h"

static const uint64_t key[2] = {0x0123456789abcdefull, 0xfedcba9876543210ull};

static void counts_distinct_suspecters(void)
{
    hs_suspicions *s = hs_suspicions_new(key);

    CHECK(s);
    CHECK(hs_suspicions_count(s, "x", 4) == 0);
    CHECK(!hs_suspicions_heard(s, "x", 4));
    CHECK(hs_suspicions_add(s, "x", 4, "a", 3, 1) == 1);
    CHECK(hs_suspicions_add(s, "x", 4, "a", 3, 2) == 1); /* the same node again */
    CHECK(hs_suspicions_add(s, "x", 4, "b", 3, 3) == 2);
    CHECK(hs_suspicions_add(s, "x", 4, "c", 3, 4) == 3);
    CHECK(hs_suspicions_add(s, "x", 4, "d", 3, 5) == 3); /* the cap */
    CHECK(hs_suspicions_count(s, "x", 4) == 3);
    CHECK(hs_suspicions_count(s, "y", 4) == 0); /* another peer */
    CHECK(hs_suspicions_heard(s, "x", 4));
    /* The cap is at most HS_SUSPECTERS_MAX whatever is asked. */
    char by[16];
    for (int i = 0; i < 20; i++) {
        snprintf(by, sizeof by, "n%d", i);
        hs_suspicions_add(s, "z", 1, by, 100, 6);
    }
    CHECK(hs_suspicions_count(s, "z", 1) == HS_SUSPECTERS_MAX);
    hs_suspicions_free(s);
}

static void keeps_to_one_incarnation(void)
{
    hs_suspicions *s = hs_suspicions_new(key);

    CHECK(s);
    hs_suspicions_add(s, "x", 4, "a", 3, 1);
    hs_suspicions_add(s, "x", 4, "b", 3, 1);
    /* An older incarnation's word: refuted already, not counted. */
    CHECK(hs_suspicions_add(s, "x", 3, "c", 3, 2) == 2);
    CHECK(hs_suspicions_count(s, "x", 3) == 0);
    CHECK(!hs_suspicions_heard(s, "x", 3));
    /* A newer one starts the count again. */
    CHECK(hs_suspicions_add(s, "x", 5, "c", 3, 3) == 1);
    CHECK(hs_suspicions_count(s, "x", 4) == 0);
    CHECK(hs_suspicions_count(s, "x", 5) == 1);
    hs_suspicions_free(s);
}

static void an_answer_resets_the_count(void)
{
    hs_suspicions *s = hs_suspicions_new(key);

    CHECK(s);
    hs_suspicions_add(s, "x", 4, "a", 3, 1);
    hs_suspicions_add(s, "x", 4, "b", 3, 1);
    hs_suspicions_reset(s, "x");
    CHECK(hs_suspicions_count(s, "x", 4) == 0);
    CHECK(hs_suspicions_heard(s, "x", 4)); /* still heard */
    /* Those who suspected it before the answer count again only anew. */
    CHECK(hs_suspicions_add(s, "x", 4, "a", 3, 2) == 1);
    hs_suspicions_drop(s, "x");
    CHECK(!hs_suspicions_heard(s, "x", 4));
    CHECK(hs_suspicions_count(s, "x", 4) == 0);
    hs_suspicions_reset(s, "never-heard"); /* no entry: nothing happens */
    hs_suspicions_drop(s, "never-heard");
    hs_suspicions_free(s);
}

static void a_full_table_takes_the_stalest(void)
{
    hs_suspicions *s = hs_suspicions_new(key);
    char peer[16];

    CHECK(s);
    for (int i = 0; i < HS_SUSPICIONS; i++) {
        snprintf(peer, sizeof peer, "p%d", i);
        hs_suspicions_add(s, peer, 1, "a", 3, 10 + i);
    }
    hs_suspicions_add(s, "p0", 1, "b", 3, 100); /* p0 is fresh now: p1 is the stalest */
    CHECK(hs_suspicions_add(s, "new", 1, "a", 3, 101) == 1);
    CHECK(hs_suspicions_count(s, "p0", 1) == 2);
    CHECK(!hs_suspicions_heard(s, "p1", 1));
    for (int i = 2; i < HS_SUSPICIONS; i++) {
        snprintf(peer, sizeof peer, "p%d", i);
        CHECK(hs_suspicions_count(s, peer, 1) == 1);
    }
    hs_suspicions_free(s);
}

static void a_null_table_is_empty(void)
{
    CHECK(hs_suspicions_count(NULL, "x", 1) == 0);
    CHECK(!hs_suspicions_heard(NULL, "x", 1));
    hs_suspicions_reset(NULL, "x");
    hs_suspicions_drop(NULL, "x");
    hs_suspicions_free(NULL);
}

int main(void)
{
    counts_distinct_suspecters();
    keeps_to_one_incarnation();
    an_answer_resets_the_count();
    a_full_table_takes_the_stalest();
    a_null_table_is_empty();
    DONE();
}
