/*
 * health.c -- GET /health's answer written as text (jsonout.h), not built
 * as a jansson tree and dumped: the same bytes as
 * json_dumps(hs_node_health_json(n), JSON_COMPACT), keys in the same
 * order. The tree of ~100 values cost ~330k instructions to build and
 * dump; this ~25k.
 *
 * Whatever the text writer would not write as jansson does goes to
 * jansson: an on_health hook (a plugin adds its fields to the tree), and
 * any string that is not UTF-8 (jansson refuses it, and what it then
 * answers is its own).
 *
 * A hearsay node's probe (membership.c: a new peer's first probe, every
 * 50th, a candidate's, a bootstrap URL's) gets the short form instead
 * (hs_node_probe_health_text): what a prober reads and the fields the
 * reference's /health has, not the ~90 counters, which were a tenth of
 * `hearsay sim --nodes 1000`'s instructions to write and a fifth to read
 * past, and most of the bytes of an idle node's probes.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "health.h"
#include "identity.h"
#include "jsonout.h"
#include "metrics.h"
#include "node.h"
#include "seen.h"

/* Whether every string /health holds is one jansson takes. */
static int plain(const hs_node *n, const char *public_key)
{
    if (!hs_jsonout_utf8(n->id) || !hs_jsonout_utf8(n->url) ||
        (public_key && !hs_jsonout_utf8(public_key)) || !hs_jsonout_utf8(n->label))
        return 0;
    for (size_t i = 0; n->recent_types && i < HS_RECENT_TYPES; i++)
        if (n->recent_types[i].count && !hs_jsonout_utf8(n->recent_types[i].type))
            return 0;
    return 1;
}

static void key(hs_jsonout *o, const char *k)
{
    hs_jsonout_put(o, ",\"", 2);
    hs_jsonout_put(o, k, strlen(k));
    hs_jsonout_put(o, "\":", 2);
}

static void key_string(hs_jsonout *o, const char *k, const char *v)
{
    key(o, k);
    hs_jsonout_string(o, v, strlen(v));
}

static void key_int(hs_jsonout *o, const char *k, long long v)
{
    key(o, k);
    hs_jsonout_int(o, v);
}

/* As hs_node_metrics_json. */
static void metrics(hs_node *n, hs_jsonout *o)
{
    hs_metrics m;

    hs_node_metrics(n, &m);
    for (size_t i = 0; i < hs_metric_field_count; i++) {
        hs_jsonout_put(o, i ? "," : "{", 1);
        hs_jsonout_put(o, hs_metric_fields[i].key, hs_metric_fields[i].key_len);
        hs_jsonout_int(o, (long long)(json_int_t)hs_metric_value(&m, &hs_metric_fields[i]));
    }
    key_int(o, "connections_opened", (long long)(json_int_t)hs_node_connects(n));
    key_int(o, "connections_drained", (long long)(json_int_t)hs_node_drained(n));
    key(o, "copies_per_message");
    hs_jsonout_real(o, hs_metric_copies(&m));
    hs_jsonout_put(o, "}", 1);
}

/* The reference's six counters (REFERENCE.md), in /health's order. */
static void reference_metrics(hs_node *n, hs_jsonout *o)
{
    hs_metrics m;

    hs_node_metrics(n, &m);
    HS_JSONOUT_LIT(o, "{\"messages_sent\":");
    hs_jsonout_int(o, (long long)(json_int_t)m.messages_sent);
    key_int(o, "messages_received", (long long)(json_int_t)m.messages_received);
    key_int(o, "messages_dropped", (long long)(json_int_t)m.messages_dropped);
    key_int(o, "gossip_rounds", (long long)(json_int_t)m.gossip_rounds);
    key_int(o, "peers_discovered", (long long)(json_int_t)m.peers_discovered);
    key_int(o, "health_checks", (long long)(json_int_t)m.health_checks);
    hs_jsonout_put(o, "}", 1);
}

/* Who the node is, as both forms say it after their first members: its
 * tags, incarnation and public key. 0, or -1 out of memory. */
static int who(const hs_node *n, hs_jsonout *o, const char *public_key)
{
    if (n->tags) {
        char *text = json_dumps(n->tags, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!text)
            return -1;
        key(o, "tags");
        hs_jsonout_put(o, text, strlen(text));
        free(text);
    }
    key_int(o, "incarnation", (long long)(json_int_t)n->incarnation);
    if (public_key)
        key_string(o, "public_key", public_key);
    return 0;
}

/* The first members of both forms: status, node_id, peer_count, uptime,
 * metrics (every counter, or the reference's six), version, url,
 * features. */
static void head(hs_node *n, hs_jsonout *o, double uptime, int every_counter)
{
    HS_JSONOUT_LIT(o, "{\"status\":");
    hs_jsonout_string(o, n->closing ? "stopped" : "healthy", 7);
    key_string(o, "node_id", n->id);
    key_int(o, "peer_count", (long long)n->peers.live);
    key(o, "uptime");
    hs_jsonout_real(o, uptime);
    key(o, "metrics");
    if (every_counter)
        metrics(n, o);
    else
        reference_metrics(n, o);
    key_string(o, "version", HS_VERSION);
    key_string(o, "url", n->url);
    key(o, "features");
    hs_peers_features_write(HS_FEAT_OURS, o);
}

char *hs_node_probe_health_text(hs_node *n, size_t *len)
{
    const char *public_key = hs_identity_public(n->ident);
    double uptime = n->started ? hs_node_mono(n) - n->started_mono : 0.0;
    hs_jsonout o = {0};

    if (!plain(n, public_key) || !isfinite(uptime))
        return hs_node_health_text(n, len);
    if (hs_jsonout_reserve(&o, 1024) != 0)
        return NULL;
    head(n, &o, uptime, 0);
    if (who(n, &o, public_key) != 0) {
        hs_jsonout_free(&o);
        return NULL;
    }
    key_int(&o, "held", (long long)hs_node_held(n));
    if (n->label[0])
        key_string(&o, "cluster_label", n->label);
    HS_JSONOUT_LIT(&o, "}");
    return hs_jsonout_finish(&o, len);
}

char *hs_node_health_text(hs_node *n, size_t *len)
{
    size_t dead = n->peers.n - n->peers.live, unhealthy = 0;
    const char *public_key = hs_identity_public(n->ident);
    double uptime = n->started ? hs_node_mono(n) - n->started_mono : 0.0;
    hs_jsonout o = {0};
    json_t *h;

    if (n->hooks.on_health || !plain(n, public_key) || !isfinite(uptime)) {
        char *text;
        if (!(h = hs_node_health_json(n)))
            return NULL;
        text = json_dumps(h, JSON_COMPACT);
        json_decref(h);
        if (text)
            *len = strlen(text);
        return text;
    }
    for (size_t i = 0; i < n->peers.n; i++)
        unhealthy +=
            n->peers.v[i]->state == HS_PEER_UNHEALTHY || n->peers.v[i]->state == HS_PEER_SUSPECT;
    if (hs_jsonout_reserve(&o, 4096) != 0)
        return NULL;
    head(n, &o, uptime, 1);
    HS_JSONOUT_LIT(&o, ",\"peers\":{\"alive\":");
    hs_jsonout_int(&o, (long long)(n->peers.live - unhealthy));
    key_int(&o, "unhealthy", (long long)unhealthy);
    key_int(&o, "dead", (long long)dead);
    hs_jsonout_put(&o, "}", 1);
    key_int(&o, "seen_ids", (long long)hs_seen_count(n->seen));
    if (who(n, &o, public_key) != 0) {
        hs_jsonout_free(&o);
        return NULL;
    }
    key_int(&o, "local_health", (long long)n->local_health);
    key_int(&o, "held", (long long)hs_node_held(n));
    if (n->label[0])
        key_string(&o, "cluster_label", n->label);
    if (n->recent_types) {
        /* The latest first: what the dashboard lists. */
        int order[HS_RECENT_TYPES];
        size_t count = hs_gossip_recent_types(n, order);
        key(&o, "recent_types");
        hs_jsonout_put(&o, "[", 1);
        for (size_t k = 0; k < count; k++) {
            int best = order[k];
            if (k)
                hs_jsonout_put(&o, ",", 1);
            HS_JSONOUT_LIT(&o, "{\"type\":");
            hs_jsonout_string(&o, n->recent_types[best].type, strlen(n->recent_types[best].type));
            key_int(&o, "count", (long long)(json_int_t)n->recent_types[best].count);
            hs_jsonout_put(&o, "}", 1);
        }
        hs_jsonout_put(&o, "]", 1);
    }
    HS_JSONOUT_LIT(&o, ",\"probes\":{\"in_flight\":");
    hs_jsonout_int(&o, (long long)hs_pending_inflight(&n->pending, HS_REQ_PROBE));
    key_int(&o, "waiting", (long long)n->peers.waiting);
    HS_JSONOUT_LIT(&o, "}}");
    return hs_jsonout_finish(&o, len);
}
