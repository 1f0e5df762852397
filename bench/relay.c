/*
 * relay.c -- one node receiving and forwarding envelopes that carry a
 * long seen_by, in virtual time: the workload of bench/profile.sh relay,
 * made to be counted by callgrind (deterministic: the same arguments give
 * the same instructions, whatever the machine is doing).
 *
 *   build/spec/relay [nodes [seen_by [envelopes [jansson]]]]
 *   build/spec/relay 100 40 200          (the defaults)
 *
 * `nodes` simulated nodes form for 20 virtual s; then node nodes/2 (not
 * node 0, everyone's first contact and so a hub) is handed `envelopes`
 * single envelopes from its first peer, one after another, each with a
 * ~300-byte payload, ttl 5 and a seen_by of `seen_by` ids: every other
 * one a simulated node's id ("sim-00042", mostly its peers), the others
 * 64 hex characters (nodes it does not know): 40 ids make the 2.7 KB the
 * issue measured. Each goes through hs_gossip_receive_text (the
 * scanner), or with `jansson` is parsed by jansson and goes through
 * hs_gossip_receive_body, in relay_one; between two, the network runs
 * for 10 virtual ms so the forwards go out. Under
 *   valgrind --tool=callgrind --toggle-collect=relay_one ...
 * the total is the instructions of receiving and forwarding them (up to
 * the send queue), the network's own work left out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node.h"
#include "sim/sim.h"

/* One envelope received and forwarded: what callgrind counts. Called
 * through a pointer, so that it is neither inlined nor cloned and keeps
 * its name: every node of the network receives through the same
 * functions, this is the bench's alone. */
static char *relay_one(hs_node *n, const char *text, size_t len, const char *sender, int jansson,
                       unsigned *status, size_t *alen)
{
    if (jansson) {
        json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
        char *answer = hs_gossip_receive_body(n, j, text, len, sender, 1, status, alen);
        json_decref(j);
        return answer;
    }
    return hs_gossip_receive_text(n, text, len, sender, status, alen);
}

int main(int argc, char **argv)
{
    size_t nodes = argc > 1 ? strtoul(argv[1], NULL, 10) : 100;
    size_t seen = argc > 2 ? strtoul(argv[2], NULL, 10) : 40;
    size_t count = argc > 3 ? strtoul(argv[3], NULL, 10) : 200;
    int jansson = argc > 4 && strcmp(argv[4], "jansson") == 0;
    hs_sim_opts o = {.nodes = nodes, .seed = 1, .latency = 0.002, .jitter = 0.003};
    hs_sim *s;

    if (nodes < 2 || !(s = hs_sim_new(&o))) {
        fprintf(stderr, "usage: relay [nodes >= 2 [seen_by [envelopes [jansson]]]]\n");
        return 2;
    }
    hs_sim_run_for(s, 20);
    size_t at = nodes / 2;
    hs_node *n = hs_sim_node(s, at);
    if (n->peers.n == 0)
        return 1;
    const char *sender = n->peers.v[0]->id;
    hs_metrics before = n->m;
    char *(*volatile relay)(hs_node *, const char *, size_t, const char *, int, unsigned *,
                            size_t *) = relay_one;
    size_t cap = 1024 + seen * 72, accepted = 0;
    char *text = malloc(cap);
    if (!text)
        return 1;
    for (size_t k = 0; k < count; k++) {
        int len = snprintf(text, cap,
                           "{\"message_id\":\"%064zx\",\"message_type\":\"bench\",\"payload\":"
                           "{\"text\":\"%s\",\"n\":%zu,\"tags\":[\"relay\",\"seen_by\"]},"
                           "\"timestamp\":1760000000.%03zu,\"ttl\":5,\"origin_peer\":\"sim-%05zu\","
                           "\"seen_by\":[",
                           k + 1,
                           "a payload of about three hundred bytes, as a chat line or a state "
                           "update carries: some text, some numbers, a few tags; enough that the "
                           "envelope is mostly its seen_by list, as the issue measured it, and "
                           "not so much that copying the payload hides what the list costs",
                           k, k % 1000, 1 + k % (nodes - 1));
        for (size_t i = 0; i < seen; i++)
            len += i % 2 ? snprintf(text + len, cap - (size_t)len, "%s\"%016zx%048x\"",
                                    i ? "," : "", i * 7919 + k, 0)
                         : snprintf(text + len, cap - (size_t)len, "%s\"sim-%05zu\"", i ? "," : "",
                                    1 + (i * 7 + k) % (nodes - 1));
        len += snprintf(text + len, cap - (size_t)len, "],\"hops\":3}");
        unsigned status = 0;
        size_t alen = 0;
        char *answer = relay(n, text, (size_t)len, sender, jansson, &status, &alen);
        accepted += status == 200 && answer && strstr(answer, "\"accepted\"");
        free(answer);
        hs_sim_run_for(s, 0.01);
    }
    printf("%zu nodes, %zu seen_by ids, %zu envelopes (%s): %zu accepted; node %zu received "
           "%llu, delivered %llu to peers, offered %llu lazily; trace %016llx\n",
           nodes, seen, count, jansson ? "jansson" : "scanner", accepted, at,
           (unsigned long long)(n->m.messages_received - before.messages_received),
           (unsigned long long)(n->m.messages_sent - before.messages_sent),
           (unsigned long long)(n->m.lazy_offered - before.lazy_offered),
           (unsigned long long)hs_sim_trace(s));
    free(text);
    hs_sim_free(s);
    return accepted == count ? 0 : 1;
}
