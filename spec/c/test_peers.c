/*
 * test_peers.c -- the peer table: validation, duplicate ids, live counts
 * across state changes, removal; its indexes by id and URL at scale; the
 * first-probe FIFO; the tree's links per origin (origins.h); and the
 * SipHash they hash with.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "hash.h"
#include "peers.h"

static void siphash_matches_the_reference_vectors(void)
{
    const uint64_t key[2] = {0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};
    uint8_t msg[15];

    for (int i = 0; i < 15; i++)
        msg[i] = (uint8_t)i;
    CHECK(hs_hash_siphash(key, msg, 0) == 0x726fdb47dd0e0e31ULL);
    CHECK(hs_hash_siphash(key, msg, 1) == 0x74f839c593dc67fdULL);
    CHECK(hs_hash_siphash(key, msg, 8) == 0x93f5f5799a932462ULL);
    CHECK(hs_hash_siphash(key, msg, 15) == 0xa129ca6149be45e5ULL);
}

static void ids(char *id, char *url, unsigned i)
{
    snprintf(id, 32, "peer-%07u", i);
    snprintf(url, 64, "http://10.0.%u.%u:8080", i / 250, i % 250);
}

/* 20,000 peers: every one found by id and by URL, removals in any order
 * leave the rest findable, and a record's strings are its own size. */
static void the_indexes_hold_many_peers(void)
{
    enum { N = 20000 };
    hs_peers p;
    hs_peer *peer;
    char id[32], url[64];
    unsigned found = 0, gone = 0;

    hs_peers_init(&p);
    for (unsigned i = 0; i < N; i++) {
        ids(id, url, i);
        CHECK(hs_peers_add(&p, id, url, NULL) == HS_OK);
    }
    CHECK(p.n == N && p.by_id.count == N && p.by_url.count == N);
    for (unsigned i = 0; i < N; i++) {
        ids(id, url, i);
        peer = hs_peers_find(&p, id);
        found += peer && strcmp(peer->id, id) == 0 && hs_peers_find_url(&p, url) == peer;
    }
    CHECK(found == N);
    /* Remove every third peer, from the end of the array and its middle. */
    for (unsigned i = 0; i < N; i += 3) {
        ids(id, url, i);
        hs_peers_remove(&p, hs_peers_find(&p, id));
    }
    found = 0;
    for (unsigned i = 0; i < N; i++) {
        ids(id, url, i);
        peer = hs_peers_find(&p, id);
        if (i % 3 == 0)
            gone += !peer && !hs_peers_find_url(&p, url);
        else
            found += peer && hs_peers_find_url(&p, url) == peer && p.v[peer->pos] == peer;
    }
    CHECK(gone == (N + 2) / 3 && found == N - (N + 2) / 3);
    CHECK(p.n == N - (N + 2) / 3 && p.live == p.n);
    hs_peers_free(&p);
    /* No more fixed arrays: a peer record is 136 bytes before its strings
     * (peers.h). */
    CHECK(sizeof(hs_peer) <= 136);
}

static void a_peer_can_move(void)
{
    hs_peers p;
    hs_peer *a, *b;

    hs_peers_init(&p);
    CHECK(hs_peers_add(&p, "a", "http://127.0.0.1:1", &a) == HS_OK);
    CHECK(hs_peers_add(&p, "b", "http://127.0.0.1:2", &b) == HS_OK);
    CHECK(hs_peers_set_url(&p, a, "ftp://nope") == HS_EINVAL);
    CHECK(hs_peers_set_url(&p, a, "http://127.0.0.1:3//") == HS_OK);
    CHECK(strcmp(a->url, "http://127.0.0.1:3") == 0);
    CHECK(hs_peers_find_url(&p, "http://127.0.0.1:1") == NULL);
    CHECK(hs_peers_find_url(&p, "http://127.0.0.1:3") == a);
    /* Two ids at one URL (a restart under a new id): either is found,
     * and removing one leaves the other. */
    CHECK(hs_peers_set_url(&p, b, "http://127.0.0.1:3") == HS_OK);
    hs_peer *either = hs_peers_find_url(&p, "http://127.0.0.1:3");
    CHECK(either == a || either == b);
    hs_peers_remove(&p, a);
    CHECK(hs_peers_find_url(&p, "http://127.0.0.1:3") == b);
    /* Roots: copied, capped, "" by default. */
    CHECK(strcmp(b->merkle_root, "") == 0);
    CHECK(hs_peers_set_root(b, "abc") == HS_OK && strcmp(b->merkle_root, "abc") == 0);
    char big[HS_ROOT_MAX + 2];
    memset(big, 'r', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    CHECK(hs_peers_set_root(b, big) == HS_EINVAL && strcmp(b->merkle_root, "abc") == 0);
    CHECK(hs_peers_set_root(b, "") == HS_OK && strcmp(b->merkle_root, "") == 0);
    hs_peers_free(&p);
}

static void peers_wait_for_a_first_probe_in_order(void)
{
    hs_peers p;
    hs_peer *a, *b, *c;

    hs_peers_init(&p);
    hs_peers_add(&p, "a", "http://127.0.0.1:1", &a);
    hs_peers_add(&p, "b", "http://127.0.0.1:2", &b);
    hs_peers_add(&p, "c", "http://127.0.0.1:3", &c);
    hs_peers_wait_push(&p, a);
    hs_peers_wait_push(&p, b);
    hs_peers_wait_push(&p, c);
    hs_peers_wait_push(&p, a); /* already waiting: keeps its place */
    CHECK(p.waiting == 3);
    hs_peers_remove(&p, b); /* leaves the FIFO with the table */
    CHECK(p.waiting == 2);
    CHECK(hs_peers_wait_pop(&p) == a);
    hs_peers_wait_unlink(&p, c);
    CHECK(hs_peers_wait_pop(&p) == NULL && p.waiting == 0);
    hs_peers_wait_push(&p, c);
    CHECK(hs_peers_wait_pop(&p) == c);
    hs_peers_free(&p);
}

static void eager_links_are_counted(void)
{
    hs_peers p;
    hs_peer *a, *b;

    hs_peers_init(&p);
    hs_peers_add(&p, "a", "http://127.0.0.1:1", &a);
    hs_peers_add(&p, "b", "http://127.0.0.1:2", &b);
    CHECK(p.eager == 0 && !a->eager);
    hs_peers_set_eager(&p, a, 1);
    hs_peers_set_eager(&p, a, HS_EAGER_CHILD); /* still one link */
    hs_peers_set_eager(&p, b, 1);
    CHECK(p.eager == 2 && a->eager == HS_EAGER_CHILD);
    hs_peers_set_eager(&p, b, 0);
    hs_peers_set_eager(&p, b, 0);
    CHECK(p.eager == 1);
    hs_peers_remove(&p, a); /* an eager peer leaves with its count */
    CHECK(p.eager == 0);
    hs_peers_free(&p);
}

static int is_dead(const hs_peer *p, const void *arg)
{
    (void)arg;
    return p->state == HS_PEER_DEAD;
}

/* hs_peers_nth counts only the peers a predicate wants, in table order;
 * hs_peers_random picks among those only, each in turn, and none (without
 * a draw) when there are none. */
static void a_peer_is_picked_among_those_wanted(void)
{
    hs_peers p;
    hs_rng rng = {{1, 2, 3, 4}}, before;
    hs_peer *v[6];
    char id[32], url[64];
    unsigned hits[6] = {0};

    hs_peers_init(&p);
    CHECK(hs_peers_random(&p, &rng, is_dead, NULL) == NULL);
    for (unsigned i = 0; i < 6; i++) {
        ids(id, url, i);
        CHECK(hs_peers_add(&p, id, url, &v[i]) == HS_OK);
    }
    before = rng;
    CHECK(hs_peers_random(&p, &rng, is_dead, NULL) == NULL);
    CHECK(memcmp(&before, &rng, sizeof rng) == 0);
    hs_peers_set_state(&p, v[1], HS_PEER_DEAD);
    hs_peers_set_state(&p, v[4], HS_PEER_DEAD);
    CHECK(hs_peers_nth(&p, is_dead, NULL, 0) == v[1]);
    CHECK(hs_peers_nth(&p, is_dead, NULL, 1) == v[4]);
    CHECK(hs_peers_nth(&p, is_dead, NULL, 2) == NULL);
    for (unsigned k = 0; k < 200; k++) {
        hs_peer *q = hs_peers_random(&p, &rng, is_dead, NULL);
        for (unsigned i = 0; i < 6; i++)
            hits[i] += q == v[i];
    }
    CHECK(hits[1] + hits[4] == 200 && hits[1] > 50 && hits[4] > 50);
    hs_peers_free(&p);
}

/* A word for an origin says nothing of another origin or another peer
 * (-1); set again, it changes in place. Every link keeps its word, however
 * many have one for that origin: a slot held at most 16 and let go of its
 * oldest, which then went by the shared link, and after a pause under
 * load the tree never settled again (sim_spec, "settles its tree"). A
 * removed peer takes its words along. Past HS_ORIGINS_MAX origins the
 * least recently used one's slot goes to the new one, with no word in it
 * left from the old. */
static void links_are_kept_per_origin(void)
{
    enum { PEERS = 60 };
    hs_peers p;
    hs_rng rng = {{5, 6, 7, 8}};
    hs_peer *v[PEERS];
    char id[32], url[64];
    int k, k2;

    hs_peers_init(&p);
    CHECK(hs_origins_find(p.origins, "o-1", 3) == -1); /* no table yet */
    for (unsigned i = 0; i < PEERS; i++) {
        ids(id, url, i);
        CHECK(hs_peers_add(&p, id, url, &v[i]) == HS_OK);
    }
    CHECK(hs_peers_set_origin(&p, &rng, "o-1", 3, v[0], 0) == HS_OK);
    CHECK(hs_peers_set_origin(&p, &rng, "o-1", 3, v[1], 1) == HS_OK);
    CHECK(hs_peers_set_origin(&p, &rng, "o-2", 3, v[2], 1) == HS_OK);
    CHECK(hs_origins_count(p.origins) == 2);
    CHECK((k = hs_origins_find(p.origins, "o-1", 3)) >= 0);
    CHECK(hs_peer_origin_link(v[0], k) == 0);
    CHECK(hs_peer_origin_link(v[1], k) == 1);
    CHECK(hs_peer_origin_link(v[2], k) == -1);
    CHECK(hs_peer_origin_link(v[0], -1) == -1);
    CHECK(hs_origins_find(p.origins, "o-3", 3) == -1);
    CHECK(hs_peers_set_origin(&p, &rng, "o-1", 3, v[0], 1) == HS_OK);
    CHECK(hs_peer_origin_link(v[0], k) == 1);
    /* Every link a word for o-1, odd ones open. */
    for (unsigned i = 0; i < PEERS; i++)
        CHECK(hs_peers_set_origin(&p, &rng, "o-1", 3, v[i], (int)(i & 1)) == HS_OK);
    for (unsigned i = 0; i < PEERS; i++)
        CHECK(hs_peer_origin_link(v[i], k) == (int)(i & 1));
    hs_peers_remove(&p, v[1]);
    CHECK(hs_peer_origin_link(v[3], k) == 1 && hs_peer_origin_link(v[4], k) == 0);
    /* o-2 was used least lately: the (HS_ORIGINS_MAX + 1)th origin takes
     * its slot, without v[2]'s word for o-2, and o-1 stays. */
    CHECK((k2 = hs_origins_find(p.origins, "o-2", 3)) >= 0);
    CHECK(hs_peer_origin_link(v[2], k2) == 1);
    for (unsigned i = 3; i <= HS_ORIGINS_MAX + 1; i++) {
        char o[16];
        snprintf(o, sizeof o, "o-%u", i);
        CHECK(hs_peers_set_origin(&p, &rng, o, strlen(o), v[3], 0) == HS_OK);
        CHECK(hs_origins_find(p.origins, "o-1", 3) == k);
    }
    CHECK(hs_origins_count(p.origins) == HS_ORIGINS_MAX);
    CHECK(hs_origins_find(p.origins, "o-2", 3) == -1);
    {
        char o[16];
        snprintf(o, sizeof o, "o-%u", HS_ORIGINS_MAX + 1);
        CHECK(hs_origins_find(p.origins, o, strlen(o)) == k2);
        CHECK(hs_peer_origin_link(v[2], k2) == -1);
        CHECK(hs_peer_origin_link(v[3], k2) == 0);
    }
    CHECK(hs_peer_origin_link(v[4], k) == 0 && hs_peer_origin_link(v[5], k) == 1);
    hs_peers_free(&p);
}

int main(void)
{
    siphash_matches_the_reference_vectors();
    links_are_kept_per_origin();
    eager_links_are_counted();
    the_indexes_hold_many_peers();
    a_peer_can_move();
    peers_wait_for_a_first_probe_in_order();
    a_peer_is_picked_among_those_wanted();

    hs_peers p;
    hs_peer *a, *b;

    hs_peers_init(&p);
    CHECK(hs_peers_add(&p, "a", "http://127.0.0.1:1/", &a) == HS_OK);
    CHECK(strcmp(a->url, "http://127.0.0.1:1") == 0); /* trailing slash trimmed */
    CHECK(hs_peers_add(&p, "a", "http://127.0.0.1:2", NULL) == HS_EDUP);
    CHECK(hs_peers_add(&p, "b", "ftp://x", NULL) == HS_EINVAL);
    CHECK(hs_peers_add(&p, "has space", "http://x", NULL) == HS_EINVAL);
    CHECK(hs_peers_add(&p, "b", "http://127.0.0.1:2", &b) == HS_OK);
    CHECK(p.live == 2);
    hs_peers_set_state(&p, a, HS_PEER_DEAD);
    CHECK(p.live == 1);
    hs_peers_set_state(&p, a, HS_PEER_DEAD);
    CHECK(p.live == 1);
    hs_peers_set_state(&p, a, HS_PEER_ALIVE);
    CHECK(p.live == 2);
    CHECK(hs_peers_find_url(&p, "http://127.0.0.1:2") == b);
    hs_peers_remove(&p, a);
    CHECK(p.n == 1 && p.live == 1);
    CHECK(hs_peers_find(&p, "a") == NULL);
    hs_peers_free(&p);

    /* Latency is a moving average, not the last sample. */
    double avg = hs_peers_latency_avg(-1, 10.0);
    CHECK(avg == 10.0);
    avg = hs_peers_latency_avg(avg, 50.0);
    CHECK(avg > 10.0 && avg < 50.0);
    CHECK(avg == 20.0);
    for (int i = 0; i < 30; i++)
        avg = hs_peers_latency_avg(avg, 50.0);
    CHECK(avg > 49.0 && avg <= 50.0);
    DONE();
}
