/*
 * prometheus.c -- GET /metrics: the node's counters and gauges in the
 * Prometheus text exposition format (version 0.0.4). Names have the
 * hearsay_ prefix, counters end in _total, times are in seconds, and no
 * label takes a value from the network (never a peer id): the labels are
 * a peer's state and a score's bucket.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "metrics.h"

/* The text under way; any failure sticks. */
typedef struct text {
    char *buf;
    size_t len, cap;
    int failed;
} text;

#define TEXT_MAX (4u << 20)

static void put(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(text *t, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    int n;

    if (t->failed)
        return;
    va_start(ap, fmt);
    n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof line ||
        hs_bytes_append(&t->buf, &t->len, &t->cap, TEXT_MAX, line, (size_t)n) != HS_OK)
        t->failed = 1;
}

static void family(text *t, const char *name, const char *type, const char *help)
{
    put(t, "# HELP hearsay_%s %s\n# TYPE hearsay_%s %s\n", name, help, name, type);
}

static void gauge(text *t, const char *name, const char *help, double v)
{
    family(t, name, "gauge", help);
    put(t, "hearsay_%s %.17g\n", name, v);
}

static void counter(text *t, const char *name, const char *help, uint64_t v)
{
    char full[96];

    snprintf(full, sizeof full, "%s_total", name);
    family(t, full, "counter", help);
    put(t, "hearsay_%s %llu\n", full, (unsigned long long)v);
}

/* The peers' scores as a histogram (score.h). */
static void scores(text *t, const hs_node *n)
{
    static const double le[] = {-50, -20, -10, -1, 0, 1, 5, 10};
    size_t below[sizeof le / sizeof le[0]] = {0};
    double sum = 0;

    for (size_t i = 0; i < n->peers.n; i++) {
        double s = n->peers.v[i]->score;
        sum += s;
        for (size_t k = 0; k < sizeof le / sizeof le[0]; k++)
            below[k] += s <= le[k];
    }
    family(t, "peer_score", "histogram",
           "the peers' scores: how far their traffic is trusted (README, Verdicts and scores)");
    for (size_t k = 0; k < sizeof le / sizeof le[0]; k++)
        put(t, "hearsay_peer_score_bucket{le=\"%g\"} %zu\n", le[k], below[k]);
    put(t, "hearsay_peer_score_bucket{le=\"+Inf\"} %zu\n", n->peers.n);
    put(t, "hearsay_peer_score_sum %.17g\nhearsay_peer_score_count %zu\n", sum, n->peers.n);
}

char *hs_node_prometheus(hs_node *n, size_t *len)
{
    static const hs_peer_state states[] = {HS_PEER_ALIVE, HS_PEER_UNHEALTHY, HS_PEER_SUSPECT,
                                           HS_PEER_DEAD};
    text t = {0};
    hs_metrics m;
    size_t graylisted = 0;

    hs_node_metrics(n, &m);
    family(&t, "build_info", "gauge", "the build: its version in a label");
    put(&t, "hearsay_build_info{version=\"%s\"} 1\n", HS_VERSION);
    for (size_t i = 0; i < hs_metric_field_count; i++)
        counter(&t, hs_metric_fields[i].name, hs_metric_fields[i].help,
                hs_metric_value(&m, &hs_metric_fields[i]));
    counter(&t, "connections_opened", "outbound connections the client opened",
            hs_node_connects(n));
    counter(&t, "connections_drained", "inbound connections shut to make room", hs_node_drained(n));
    family(&t, "peers", "gauge", "peers known, by state");
    for (size_t k = 0; k < sizeof states / sizeof states[0]; k++) {
        size_t c = 0;
        for (size_t i = 0; i < n->peers.n; i++)
            c += n->peers.v[i]->state == states[k];
        put(&t, "hearsay_peers{state=\"%s\"} %zu\n", hs_peer_state_name(states[k]), c);
    }
    for (size_t i = 0; i < n->peers.n; i++)
        graylisted += n->peers.v[i]->gray_s != 0;
    gauge(&t, "peers_graylisted_now", "peers whose requests are refused now (graylist)",
          (double)graylisted);
    scores(&t, n);
    gauge(&t, "seen_ids", "message ids the seen-cache holds", (double)hs_seen_count(n->seen));
    gauge(&t, "probes_in_flight", "direct health probes under way", (double)n->probes_in_flight);
    gauge(&t, "local_health", "Lifeguard's local health multiplier (0: well)",
          (double)n->local_health);
    gauge(&t, "copies_per_message", "copies of each new message that reached us, on average",
          hs_metric_copies(&m));
    gauge(&t, "state_version", "the version of the node's state", (double)n->state_version);
    gauge(&t, "uptime_seconds", "seconds since the node started",
          n->started ? hs_node_mono(n) - n->started_mono : 0.0);
    if (t.failed) {
        free(t.buf);
        return NULL;
    }
    *len = t.len;
    return t.buf;
}
