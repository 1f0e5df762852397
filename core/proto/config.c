/*
 * config.c -- a node's configuration: the defaults (hs_config_init) and
 * the check hs_node_new() makes (hs_config_check), which says which
 * setting is wrong and why, so a user is never left with a bare "invalid
 * argument".
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cidr.h"
#include "hash.h"
#include "identity.h"
#include "discovery.h"
#include "node.h"

void hs_config_init(hs_config *c)
{
    memset(c, 0, sizeof *c);
    c->host = "127.0.0.1";
    c->port = 8080;
    c->fanout = 3;
    c->tree = 1;
    c->lazy_fanout = 6;
    c->lazy_delay = 0.25;
    c->ttl = 32;
    c->max_ttl = 64;
    c->announce_ttl = 0;
    c->max_peers = 50;
    c->min_peers = 1;
    c->gossip_interval = 30;
    c->health_interval = 60;
    c->peer_exchange_interval = 60;
    c->rebootstrap_interval = 10;
    c->discovery_interval = 60;
    c->request_timeout = 5;
    c->dead_after = 3;
    c->dead_timeout = 300;
    c->retry_min = 1;
    c->retry_max = 30;
    c->forget_after = 3600;
    c->probe_timeout = 1;
    c->probe_interval = 1;
    c->indirect_probes = 3;
    c->suspicion_timeout = 5;
    c->suspicion_min = 1;
    c->suspicion_confirmations = 3;
    c->max_probes_in_flight = 64;
    c->seen_ttl = 300;
    c->seen_cap = 100000;
    c->max_body = 1 << 20;
    c->max_seen_by = 256;
    c->max_batch = 1000;
    c->max_connections = 1024;
    c->peer_connections = 1;
    c->batch_window = 0;
    c->batch_interval = 0;
    c->ae_interval = 2;
    c->ae_max_interval = 30;
    c->ae_window = 30;
    c->max_digest = 1024;
    c->retain_ttl = 120;
    c->retain_bytes = 16 << 20;
    c->security = HS_SECURITY_PROTECTED;
    c->auth_window = 30;
    c->join_exchanges = 5;
    c->learn_rate = 5;
    c->learn_burst = 64;
    c->probe_new_rate = 20;
    c->score_delivery = 1;
    c->score_reject = 10;
    c->score_invalid = 10;
    c->score_failure = 1;
    c->score_max = 10;
    c->score_half_life = 60;
    c->score_forward = -20;
    c->score_graylist = -50;
    c->graylist_time = 60;
    c->query_timeout = 5;
    c->query_answer_max = 8192;
    c->query_answer_rate = 100;
    c->log_level = HS_LOG_WARN;
}

int hs_valid_label(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' || s[i] == '-'))
            return 0;
    return 1;
}

/* Writes the reason into why (when there is room for it) and fails. */
static hs_err bad(char *why, size_t cap, const char *fmt, ...)
{
    va_list ap;

    if (why && cap) {
        va_start(ap, fmt);
        vsnprintf(why, cap, fmt, ap);
        va_end(ap);
    }
    return HS_EINVAL;
}

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            return bad(why, cap, __VA_ARGS__);                                                     \
    } while (0)

/* Numbers each in its own range. (`!(x > 0)` also refuses NaN.) */
static hs_err check_ranges(const hs_config *c, char *why, size_t cap)
{
    const struct {
        const char *name;
        double v, min, max; /* min excluded when open is set */
        int open;
    } r[] = {
        {"gossip_interval", c->gossip_interval, 0, 1e9, 1},
        {"health_interval", c->health_interval, 0, 1e9, 1},
        {"peer_exchange_interval", c->peer_exchange_interval, 0, 1e9, 1},
        {"rebootstrap_interval", c->rebootstrap_interval, 0, 1e9, 1},
        {"discovery_interval", c->discovery_interval, 0, 1e9, 1},
        {"request_timeout", c->request_timeout, 0, 1e9, 1},
        {"dead_timeout", c->dead_timeout, 0, 1e9, 1},
        {"retry_min", c->retry_min, 0, 1e9, 1},
        {"retry_max", c->retry_max, 0, 1e9, 1},
        {"forget_after", c->forget_after, 0, 1e9, 1},
        {"probe_timeout", c->probe_timeout, 0, 1e9, 1},
        {"probe_interval", c->probe_interval, 0, 1e9, 1},
        {"suspicion_timeout", c->suspicion_timeout, 0, 1e9, 1},
        {"suspicion_min", c->suspicion_min, 0, 1e9, 1},
        {"seen_ttl", c->seen_ttl, 0, 1e9, 1},
        {"ae_window", c->ae_window, 0, 1e9, 1},
        {"retain_ttl", c->retain_ttl, 0, 1e9, 1},
        {"auth_window", c->auth_window, 0, 1e9, 1},
        {"learn_rate", c->learn_rate, 0, 1e9, 1},
        {"probe_new_rate", c->probe_new_rate, 0, 1e9, 1},
        {"score_delivery", c->score_delivery, 0, 1e6, 0},
        {"score_reject", c->score_reject, 0, 1e6, 0},
        {"score_invalid", c->score_invalid, 0, 1e6, 0},
        {"score_failure", c->score_failure, 0, 1e6, 0},
        {"score_max", c->score_max, 0, 1e6, 0},
        {"score_half_life", c->score_half_life, 0, 1e9, 1},
        {"score_forward", c->score_forward, -1e6, 0, 0},
        {"score_graylist", c->score_graylist, -1e6, 0, 0},
        {"graylist_time", c->graylist_time, 0, 1e7, 1},
        {"query_timeout", c->query_timeout, 0, 3600, 1},
        {"query_answer_rate", c->query_answer_rate, 0, 1e9, 1},
        {"batch_window", c->batch_window, 0, 10, 0},
        {"batch_interval", c->batch_interval, 0, 10, 0},
        {"lazy_delay", c->lazy_delay, 0, 10, 0},
        {"ae_interval", c->ae_interval, 0, 1e9, 0},
    };

    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++) {
        double v = r[i].v;
        int ok = (r[i].open ? v > r[i].min : v >= r[i].min) && v <= r[i].max;

        if (!ok && r[i].max < 1e9)
            return bad(why, cap, "%s must be %s 0 and at most %g (it is %g)", r[i].name,
                       r[i].open ? "above" : "at least", r[i].max, v);
        CHECK(ok, "%s must be %s 0 (it is %g)", r[i].name, r[i].open ? "above" : "at least", v);
    }
    return HS_OK;
}

/* The trust settings: ranges parse, keys are keys, a keyed mode has a
 * key, TLS comes as a certificate with its key. */
static hs_err check_trust(const hs_config *c, char *why, size_t cap)
{
    hs_cidr r;
    uint8_t bin[32];

    CHECK(c->security >= HS_SECURITY_PROTECTED && c->security <= HS_SECURITY_SIGNED,
          "security must be one of protected, open, cluster, signed");
    CHECK(c->learn_burst > 0, "learn_burst must be at least 1");
    CHECK(c->join_exchanges <= 20, "join_exchanges must be at most 20 (it is %u)",
          c->join_exchanges);
    for (size_t i = 0; i < c->n_peer_allow; i++)
        CHECK(hs_cidr_parse(c->peer_allow[i], &r) == HS_OK,
              "peer_allow entry %zu is not an address range", i + 1);
    for (size_t i = 0; i < c->n_trust_forwarded; i++)
        CHECK(hs_cidr_parse(c->trust_forwarded[i], &r) == HS_OK,
              "trust_forwarded entry %zu is not an address range", i + 1);
    for (size_t i = 0; i < c->n_writers; i++)
        CHECK(hs_hash_from_hex(c->writers[i], bin) == HS_OK,
              "writers entry %zu is not a public key (64 hex digits)", i + 1);
    CHECK(!c->node_key || hs_hash_from_hex(c->node_key, bin) == HS_OK,
          "node_key is not a node key (64 hex digits)");
    CHECK(c->security < HS_SECURITY_CLUSTER || c->n_cluster_keys > 0,
          "security \"%s\" needs cluster_keys",
          c->security == HS_SECURITY_SIGNED ? "signed" : "cluster");
    CHECK(!c->tls_cert == !c->tls_key, "tls_cert and tls_key come together");
    CHECK(!c->tls_client_auth || (c->tls_cert && c->tls_ca),
          "tls_client_auth needs tls_cert, tls_key and tls_ca");
    /* A TLS node names itself and joins by https:// URLs only. */
    CHECK(!c->tls_cert || !c->public_url || strncmp(c->public_url, "https://", 8) == 0,
          "public_url must be https:// on a node with tls_cert");
    for (size_t i = 0; c->tls_cert && i < c->n_bootstrap; i++)
        CHECK(strncmp(c->bootstrap[i], "https://", 8) == 0 || hs_discovery_entry(c->bootstrap[i]),
              "bootstrap entry %zu must be https:// on a node with tls_cert", i + 1);
    /* Signed mode checks every message against its origin's id: ours must
     * be our key. */
    if (c->security == HS_SECURITY_SIGNED && c->node_id) {
        hs_identity *id;
        int same;

        CHECK(c->node_key, "security \"signed\" needs node_id left unset (the node's id is its "
                           "public key) or node_key given with node_id its public key");
        if (hs_identity_new(c->node_key, &id) != HS_OK)
            return HS_ENOMEM;
        same = strcmp(hs_identity_public(id), c->node_id) == 0;
        hs_identity_free(id);
        CHECK(same, "security \"signed\" needs node_id to be the node's public key");
    }
    return HS_OK;
}

hs_err hs_config_check(const hs_config *c, char *why, size_t cap)
{
    hs_err err;

    if (why && cap)
        why[0] = '\0';
    CHECK(c->host && strlen(c->host) < 64, "host must be a name or address under 64 bytes");
    CHECK(c->fanout >= 1 && c->fanout <= 64, "fanout must be from 1 to 64 (it is %u)", c->fanout);
    CHECK(c->lazy_fanout <= 64, "lazy_fanout must be at most 64 (it is %u)", c->lazy_fanout);
    CHECK(c->max_ttl <= 1024, "max_ttl must be at most 1024 (it is %u)", c->max_ttl);
    CHECK(c->ttl <= c->max_ttl, "ttl (%u) must not exceed max_ttl (%u)", c->ttl, c->max_ttl);
    CHECK(c->announce_ttl <= c->max_ttl, "announce_ttl (%u) must not exceed max_ttl (%u)",
          c->announce_ttl, c->max_ttl);
    CHECK(c->max_peers >= 1, "max_peers must be at least 1");
    CHECK(c->min_peers <= c->max_peers, "min_peers (%u) must not exceed max_peers (%u)",
          c->min_peers, c->max_peers);
    CHECK(c->seen_cap >= 1, "seen_cap must be at least 1");
    CHECK(c->query_answer_max >= 16 && c->query_answer_max <= (1 << 20),
          "query_answer_max must be from 16 to 1048576 bytes");
    CHECK(c->max_body >= 256, "max_body must be at least 256 bytes");
    CHECK(c->max_seen_by >= 8, "max_seen_by must be at least 8");
    CHECK(c->max_batch >= 1, "max_batch must be at least 1");
    CHECK(c->max_connections >= 1, "max_connections must be at least 1");
    CHECK(c->peer_connections >= 1, "peer_connections must be at least 1");
    CHECK(c->dead_after >= 1, "dead_after must be at least 1");
    CHECK(c->max_probes_in_flight >= 1, "max_probes_in_flight must be at least 1");
    CHECK(c->indirect_probes <= 16, "indirect_probes must be at most 16");
    CHECK(c->suspicion_confirmations <= HS_SUSPECTERS_MAX,
          "suspicion_confirmations must be at most %d", HS_SUSPECTERS_MAX);
    CHECK(c->max_digest >= 1 && c->max_digest <= 100000, "max_digest must be from 1 to 100000");
    if ((err = check_ranges(c, why, cap)) != HS_OK)
        return err;
    CHECK(c->retry_min <= c->retry_max, "retry_min (%g) must not exceed retry_max (%g)",
          c->retry_min, c->retry_max);
    CHECK(c->score_graylist < c->score_forward,
          "score_graylist (%g) must be below score_forward (%g)", c->score_graylist,
          c->score_forward);
    CHECK(c->ae_interval <= c->ae_max_interval,
          "ae_interval (%g) must not exceed ae_max_interval (%g)", c->ae_interval,
          c->ae_max_interval);
    CHECK(!c->node_id || hs_peers_valid_id(c->node_id),
          "node_id must be 1-%d printable characters, no quotes or spaces", HS_PEER_ID_MAX);
    CHECK(!c->public_url || hs_peers_valid_url(c->public_url),
          "public_url must be an http(s) URL with a host");
    CHECK(!c->tags || hs_peers_valid_tags(c->tags), "tags must map short names to short strings");
    CHECK(!c->cluster_label || hs_valid_label(c->cluster_label),
          "cluster_label must be 1-64 characters of A-Z a-z 0-9 . _ -");
    for (size_t i = 0; i < c->n_bootstrap; i++)
        CHECK(hs_peers_valid_url(c->bootstrap[i]) || hs_discovery_entry(c->bootstrap[i]),
              "bootstrap entry %zu is not an http(s) URL, dns+NAME:PORT or "
              "dnssrv+_SERVICE._tcp.NAME",
              i + 1);
    return check_trust(c, why, cap);
}
