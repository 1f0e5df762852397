/*
 * test_peers.c -- the peer table: validation, duplicate ids, live counts
 * across state changes, removal.
 */
#include <string.h>

#include "check.h"
#include "peers.h"

int main(void)
{
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
