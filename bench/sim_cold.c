/*
 * sim_cold.c -- the first broadcasts after a cluster forms, in virtual
 * time (spec/c/simnet.h): N nodes start at once, all joining through node
 * 0, run for FORM virtual seconds, and then send three broadcasts, each
 * from another node, one after the other. For each it prints when 50, 90,
 * 99 and 100% of the nodes had it (virtual ms; "-" when not within 15 s)
 * and, when some never did, what the first few of those look like: how
 * many peers they have, in how many views they are, and how many of
 * those push to them.
 *
 *   build/spec/sim_cold [nodes [join_exchanges [form_s [seed]]]]
 *   build/spec/sim_cold 1000 5 20 1        (the defaults)
 *
 * Links are 2-5 ms, no loss; every other setting is the default. The
 * simulator is the node code on a virtual network: its times are the
 * protocol's (timeouts, lazy_delay, anti-entropy rounds), not this
 * machine's speed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "node.h"
#include "sim/sim.h"

static unsigned join_exchanges = 5;

static void configure(void *ud, size_t i, hs_config *cfg)
{
    (void)ud;
    (void)i;
    cfg->join_exchanges = join_exchanges;
}

static void ms(double t)
{
    if (t < 0)
        printf(" %8s", "-");
    else
        printf(" %8.0f", t * 1000);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000;
    double form = argc > 3 ? strtod(argv[3], NULL) : 20;
    hs_sim_opts o = {.nodes = n, .latency = 0.002, .jitter = 0.003, .configure = configure};
    clock_t c0 = clock();
    hs_sim *s;

    join_exchanges = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 5;
    o.seed = argc > 4 ? strtoull(argv[4], NULL, 10) : 1;
    if (n < 2 || !(s = hs_sim_new(&o))) {
        fprintf(stderr, "usage: sim_cold [nodes >= 2 [join_exchanges [form_s [seed]]]]\n");
        return 2;
    }
    hs_sim_run_for(s, form);
    size_t min_live = (size_t)-1, sum_live = 0, no_view = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = hs_sim_live_peers(s, i);
        sum_live += l;
        min_live = l < min_live ? l : min_live;
        no_view += hs_sim_in_views(s, i, NULL) == 0;
    }
    printf("%zu nodes, join_exchanges %u, seed %llu, after %.0f s: live peers min %zu, mean %.1f; "
           "in no view: %zu\n",
           n, join_exchanges, (unsigned long long)o.seed, form, min_live,
           (double)sum_live / (double)n, no_view);
    printf("broadcast      50%%      90%%      99%%     100%%  (virtual ms)\n");
    for (int b = 0; b < 3; b++) {
        char id[65];
        json_t *payload = json_pack("{s:i}", "b", b);
        hs_err err = hs_node_broadcast(hs_sim_node(s, (size_t)b * 97 % n), "chat", payload, id);
        json_decref(payload);
        if (err != HS_OK)
            return 1;
        double t0 = hs_sim_now(s), at[4] = {-1, -1, -1, -1};
        size_t have = 0;
        for (int k = 0; k < 3000 && have < n; k++) {
            hs_sim_run_for(s, 0.005);
            have = 0;
            for (size_t i = 0; i < n; i++)
                have += hs_sim_has(s, i, id) != 0;
            static const double part[4] = {0.5, 0.9, 0.99, 1.0};
            for (int q = 0; q < 4; q++)
                if (at[q] < 0 && (double)have >= part[q] * (double)n)
                    at[q] = hs_sim_now(s) - t0;
        }
        printf("%9d", b + 1);
        for (int q = 0; q < 4; q++)
            ms(at[q]);
        printf("  (%zu of %zu within 15 s)\n", have, n);
        for (size_t i = 0, shown = 0; i < n && shown < 3; i++) {
            size_t eager;
            if (hs_sim_has(s, i, id))
                continue;
            size_t views = hs_sim_in_views(s, i, &eager);
            printf(
                "          without it: node %zu, %zu live peers, in %zu views, pushed to by %zu\n",
                i, hs_sim_live_peers(s, i), views, eager);
            shown++;
        }
    }
    printf("%llu events, %.1f s of CPU\n", (unsigned long long)hs_sim_events(s),
           (double)(clock() - c0) / CLOCKS_PER_SEC);
    hs_sim_free(s);
    return 0;
}
