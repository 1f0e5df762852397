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
#include "query.h"

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

/* A counter of seconds (a fraction). */
static void seconds_counter(text *t, const char *name, const char *help, double v)
{
    char full[96];

    snprintf(full, sizeof full, "%s_total", name);
    family(t, full, "counter", help);
    put(t, "hearsay_%s %.9f\n", full, v);
}

/* The breakdowns of hs_stats, and the messages by what became of them. */
static void breakdowns(text *t, hs_node *n, const hs_metrics *m)
{
    const struct {
        const char *result;
        uint64_t v;
    } rx[] = {{"accepted", m->messages_received}, {"duplicate", m->messages_duplicate},
              {"invalid", m->messages_invalid},   {"rejected", m->messages_rejected},
              {"ignored", m->messages_ignored},   {"dropped", m->messages_dropped},
              {"unsigned", m->messages_unsigned}, {"forged", m->messages_forged},
              {"oversize", m->http_too_large}};
    uint64_t cum = 0;
    size_t queued = 0;

    family(t, "messages_by_result_total", "counter",
           "envelopes that reached this node, by what became of them (oversize: bodies "
           "refused for max_body)");
    for (size_t i = 0; i < sizeof rx / sizeof rx[0]; i++)
        put(t, "hearsay_messages_by_result_total{result=\"%s\"} %llu\n", rx[i].result,
            (unsigned long long)rx[i].v);
    family(t, "http_requests_by_route_total", "counter",
           "requests served, by route (\"other\": no route) and status");
    for (size_t r = 0; r < HS_ROUTE_SLOTS; r++)
        for (size_t c = 0; c < HS_CODE_SLOTS; c++)
            if (n->stats.http[r][c])
                put(t, "hearsay_http_requests_by_route_total{route=\"%s\",code=\"%s\"} %llu\n",
                    hs_route_name(r), hs_code_name(c), (unsigned long long)n->stats.http[r][c]);
    family(t, "probes_total", "counter",
           "health probes of ours, by result (late: failed long past their timeout, our "
           "own loop stalled)");
    put(t, "hearsay_probes_total{result=\"ok\"} %llu\n", (unsigned long long)n->stats.probes_ok);
    put(t, "hearsay_probes_total{result=\"failed\"} %llu\n",
        (unsigned long long)n->stats.probes_failed);
    put(t, "hearsay_probes_total{result=\"late\"} %llu\n",
        (unsigned long long)n->stats.probes_late);
    family(t, "probe_duration_seconds", "histogram", "round trips of answered health probes");
    for (size_t k = 0; k < HS_PROBE_BUCKETS; k++) {
        cum += n->stats.probe_le[k];
        put(t, "hearsay_probe_duration_seconds_bucket{le=\"%g\"} %llu\n", hs_probe_bounds[k],
            (unsigned long long)cum);
    }
    put(t, "hearsay_probe_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
        (unsigned long long)n->stats.probes_ok);
    put(t, "hearsay_probe_duration_seconds_sum %.17g\nhearsay_probe_duration_seconds_count %llu\n",
        n->stats.probe_seconds, (unsigned long long)n->stats.probes_ok);
    for (size_t i = 0; i < n->peers.n; i++)
        queued += n->peers.v[i]->q ? n->peers.v[i]->q->n : 0;
    gauge(t, "send_queue_envelopes", "envelopes waiting in the peers' send queues", (double)queued);
    gauge(t, "probes_waiting", "first probes of new peers waiting for a slot",
          (double)n->peers.waiting);
    gauge(t, "queries_pending", "queries of ours still collecting answers",
          (double)hs_query_pending(n));
}

/* The plugin host's counters (what /health's "plugins" shows), by plugin:
 * names are the operator's, never the network's. */
static void plugins(text *t, hs_node *n)
{
    json_t *h, *p, *v;
    const char *name;

    if (!n->hooks.on_health || !(h = json_object()))
        return;
    n->hooks.on_health(n->hooks.ud, n, h);
    p = json_object_get(h, "plugins");
    if (json_is_object(p)) {
        const char *fam[][3] = {{"calls", "plugin_calls_total", "calls into each plugin"},
                                {"errors", "plugin_errors_total", "errors of each plugin"}};
        for (size_t f = 0; f < 2; f++) {
            json_t *by = json_object_get(p, fam[f][0]);
            if (!json_is_object(by))
                continue;
            family(t, fam[f][1], "counter", fam[f][2]);
            json_object_foreach(by, name, v)
            {
                if (strspn(name,
                           "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") !=
                    strlen(name))
                    continue; /* (a plugin file name; nothing to escape then) */
                put(t, "hearsay_%s{plugin=\"%s\"} %lld\n", fam[f][1], name,
                    (long long)json_integer_value(v));
            }
        }
        json_t *hooks = json_object_get(p, "hooks");
        if (json_is_object(hooks) && json_object_size(hooks)) {
            const char *hfam[][3] = {
                {"calls", "plugin_hook_calls_total", "calls into the plugins, by hook"},
                {"errors", "plugin_hook_errors_total",
                 "calls into the plugins that failed in the host, by hook"},
                {"seconds", "plugin_hook_seconds_total", "time spent in the plugins, by hook"}};
            for (size_t f = 0; f < 3; f++) {
                family(t, hfam[f][1], "counter", hfam[f][2]);
                json_object_foreach(hooks, name, v)
                {
                    put(t, "hearsay_%s{hook=\"%s\"} %.17g\n", hfam[f][1], name,
                        json_number_value(json_object_get(v, hfam[f][0])));
                }
            }
        }
        json_int_t reloads = json_integer_value(json_object_get(p, "reloads"));
        json_int_t failed = json_integer_value(json_object_get(p, "reload_errors"));
        family(t, "plugin_reloads_total", "counter", "reloads of the plugin set, by result");
        put(t, "hearsay_plugin_reloads_total{result=\"ok\"} %lld\n", (long long)reloads);
        put(t, "hearsay_plugin_reloads_total{result=\"failed\"} %lld\n", (long long)failed);
        gauge(t, "plugin_memory_bytes", "memory of the plugins' Lua state",
              json_number_value(json_object_get(p, "memory_used")));
    }
    json_decref(h);
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
    family(&t, "build_info", "gauge", "the build: its version and its shell's Lua in labels");
    put(&t, "hearsay_build_info{version=\"%s\",lua_version=\"%s\"} 1\n", HS_VERSION,
        n->lua_version);
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
    breakdowns(&t, n, &m);
    plugins(&t, n);
    gauge(&t, "seen_ids", "message ids the seen-cache holds", (double)hs_seen_count(n->seen));
    gauge(&t, "probes_in_flight", "direct health probes under way",
          (double)hs_pending_inflight(&n->pending, HS_REQ_PROBE));
    gauge(&t, "local_health", "Lifeguard's local health multiplier (0: well)",
          (double)n->local_health);
    gauge(&t, "copies_per_message", "copies of each new message that reached us, on average",
          hs_metric_copies(&m));
    gauge(&t, "state_version", "the version of the node's state", (double)n->state_version);
    gauge(&t, "loop_busy_ratio",
          "share of its time the node's thread works rather than waits for events, smoothed "
          "over about half a second (0 where unknown)",
          hs_node_load(n));
    double waited = hs_node_waited(n);
    if (waited >= 0)
        seconds_counter(&t, "cpu_wait_seconds",
                        "seconds the node's thread waited, ready to run, for a CPU (the kernel's "
                        "run-queue delay): other processes had the cores",
                        waited);
    gauge(&t, "uptime_seconds", "seconds since the node started",
          n->started ? hs_node_mono(n) - n->started_mono : 0.0);
    if (t.failed) {
        free(t.buf);
        return NULL;
    }
    *len = t.len;
    return t.buf;
}
