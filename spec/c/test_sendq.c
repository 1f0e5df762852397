/*
 * test_sendq.c -- what waits for one peer: ids to offer lazily come due in
 * the order they were queued, each lazy_delay after its own arrival.
 */
#include <string.h>

#include "check.h"
#include "sendq.h"

static void ids_come_due_each_in_its_time(void)
{
    hs_idq q = {0};
    unsigned char id[32];

    CHECK(hs_idq_due(&q, 100.0) == 0);
    for (unsigned i = 0; i < 5; i++) {
        memset(id, (int)i, sizeof id);
        /* queued at 10, 10.1, ... 10.4 with a delay of 0.25 */
        CHECK(hs_idq_push(&q, id, i, 10.25 + 0.1 * i) == 0);
    }
    CHECK(q.n == 5);
    CHECK(hs_idq_due(&q, 10.2) == 0);
    CHECK(hs_idq_due(&q, 10.25) == 1);
    CHECK(hs_idq_due(&q, 10.46) == 3);
    hs_idq_shift(&q, 3);
    CHECK(q.n == 2);
    CHECK(q.v[0].id[0] == 3 && q.v[0].ttl == 3 && q.v[1].id[31] == 4);
    CHECK(hs_idq_due(&q, 10.46) == 0);
    CHECK(hs_idq_due(&q, 11.0) == 2);
    hs_idq_shift(&q, 0);
    CHECK(q.n == 2);
    hs_idq_shift(&q, 7);
    CHECK(q.n == 0);
    hs_idq_clear(&q);
    CHECK(q.v == NULL && q.cap == 0);
}

int main(void)
{
    ids_come_due_each_in_its_time();
    DONE();
}
