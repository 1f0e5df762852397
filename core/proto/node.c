/*
 * node.c -- a node's life cycle: configuration, start, close, accessors,
 * local state updates and the JSON views served on /health, /peers,
 * /state. The top of the protocol's layers (README, Architecture): it
 * runs every module's rounds when they are due, and fills in the upcalls
 * by which the lower layers reach the higher (node.h).
 *
 * A node owns an io (its one timer, for the earliest of its deadlines:
 * rounds and delayed work, deadlines.h; io.h), an HTTP server and an HTTP
 * client; close cancels its requests in flight (pending.h), then counts
 * those three down through their close callbacks and frees the node only
 * when the last one is gone, so no callback ever sees freed memory.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <openssl/rand.h>

#include "auth.h"
#include "cidr.h"
#include "clock.h"
#include "hash.h"
#include "identity.h"
#include "keycache.h"
#include "left.h"
#include "log.h"
#include "metrics.h"
#include "node.h"
#include "query.h"
#include "snapshot.h"
#include "view.h"

/* Where no sink is given: nothing (hs_node_new gives stderr's). */
static void quiet(void *ud, hs_log_level level, const char *node_id, const char *msg)
{
    (void)ud;
    (void)level;
    (void)node_id;
    (void)msg;
}

void hs_node_set_log_level(hs_node *n, hs_log_level level)
{
    if ((unsigned)level <= HS_LOG_DEBUG)
        n->cfg.log_level = level;
}

/* The server's log lines go through the node's sink and level filter. */
static void server_log(void *ud, hs_log_level level, const char *name, const char *msg)
{
    (void)name;
    hs_node_log(ud, level, "http: %s", msg);
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

/* A copy of the n strings of v (an empty list when n is 0); NULL out of
 * memory. */
static char **copy_list(const char *const *v, size_t n)
{
    char **c = calloc(n ? n : 1, sizeof *c);

    for (size_t i = 0; c && i < n; i++)
        if (!(c[i] = strdup(v[i]))) {
            free_list(c, i);
            return NULL;
        }
    return c;
}

static void free_node(hs_node *n)
{
    free_list(n->bootstrap, n->cfg.n_bootstrap);
    free_list(n->lists.cluster_keys, n->cfg.n_cluster_keys);
    free_list(n->lists.writers, n->cfg.n_writers);
    free_list(n->lists.peer_allow, n->cfg.n_peer_allow);
    free_list(n->lists.trust_forwarded, n->cfg.n_trust_forwarded);
    free(n->lists.tls);
    hs_ratelimit_free(&n->learn_limit);
    hs_suspicions_free(n->suspicions);
    hs_membership_free_candidates(n);
    hs_identity_free(n->ident);
    hs_keycache_free(n->keys);
    hs_seen_free(n->seen);
    hs_auth_free(n->auth);
    hs_peers_free(&n->peers);
    hs_left_free(n);
    hs_view_free(n);
    free(n->recent_types);
    json_decref(n->rejoin);
    json_decref(n->tags);
    for (size_t i = 0; i < n->n_blocked; i++)
        free(n->blocked[i]);
    free(n->blocked);
    if (n->io) /* (never started: the io has nothing open) */
        n->io->ops->close(n->io, NULL, NULL);
    free(n);
}

/* The TLS file names, copied into one allocation (NULL stays NULL). */
static hs_err copy_tls(hs_node *n, const hs_config *cfg)
{
    const char *in[] = {cfg->tls_cert, cfg->tls_key, cfg->tls_ca, cfg->node_key};
    const char **out[] = {&n->cfg.tls_cert, &n->cfg.tls_key, &n->cfg.tls_ca, &n->cfg.node_key};
    size_t total = 0;
    char *p;

    for (size_t i = 0; i < 4; i++)
        total += in[i] ? strlen(in[i]) + 1 : 0;
    if (!total)
        return HS_OK;
    if (!(p = n->lists.tls = malloc(total)))
        return HS_ENOMEM;
    for (size_t i = 0; i < 4; i++) {
        if (!in[i])
            continue;
        *out[i] = strcpy(p, in[i]);
        p += strlen(in[i]) + 1;
    }
    return HS_OK;
}

static void part_done(hs_node *n);

hs_err hs_node_new_io(hs_io *io, const hs_config *cfg, hs_node **out)
{
    hs_node *n;
    hs_err err;

    if (!io)
        return HS_EINVAL;
    if (!cfg || !out)
        err = HS_EINVAL;
    else if ((err = hs_config_check(cfg, NULL, 0)) == HS_OK && !(n = calloc(1, sizeof *n)))
        err = HS_ENOMEM;
    if (err != HS_OK) {
        io->ops->close(io, NULL, NULL);
        return err;
    }
    n->io = io;
    n->up = (hs_upcalls){
        .broadcast = hs_gossip_broadcast,
        .receive = hs_gossip_receive_body,
        .ae_news = hs_ae_news,
        .ae_catchup = hs_ae_catchup,
        .offer_now = hs_lazy_offer_now,
        .offer_ids = hs_lazy_offer_ids,
        .part_done = part_done,
    };
    n->clock = io->clock;
    hs_deadlines_init(&n->due);
    n->timer_at = HS_NEVER;
    n->cfg = *cfg;
    if (!n->cfg.log)
        n->cfg.log = quiet;
    strcpy(n->host, cfg->host);
    n->cfg.host = n->host;
    /* The key pair first: a node given no id is known by its public key,
     * so what it signs can be checked by anyone who has its id. */
    if ((err = hs_identity_new(cfg->node_key, &n->ident)) != HS_OK)
        goto fail;
    if (!(n->keys = hs_keycache_new())) {
        err = HS_ENOMEM;
        goto fail;
    }
    if (cfg->node_id)
        strcpy(n->id, cfg->node_id);
    else
        strcpy(n->id, hs_identity_public(n->ident));
    n->cfg.node_id = n->id;
    if (cfg->public_url)
        strcpy(n->url, cfg->public_url);
    n->cfg.public_url = NULL;
    if (!(n->bootstrap = copy_list(cfg->bootstrap, cfg->n_bootstrap)) ||
        !(n->lists.cluster_keys = copy_list(cfg->cluster_keys, cfg->n_cluster_keys)) ||
        !(n->lists.writers = copy_list(cfg->writers, cfg->n_writers)) ||
        !(n->lists.peer_allow = copy_list(cfg->peer_allow, cfg->n_peer_allow)) ||
        !(n->lists.trust_forwarded = copy_list(cfg->trust_forwarded, cfg->n_trust_forwarded)))
        goto nomem;
    n->cfg.bootstrap = (const char *const *)n->bootstrap;
    n->cfg.cluster_keys = (const char *const *)n->lists.cluster_keys;
    n->cfg.writers = (const char *const *)n->lists.writers;
    n->cfg.peer_allow = (const char *const *)n->lists.peer_allow;
    n->cfg.trust_forwarded = (const char *const *)n->lists.trust_forwarded;
    if (copy_tls(n, cfg) != HS_OK)
        goto nomem;
    if (cfg->tags && !(n->tags = json_deep_copy(cfg->tags)))
        goto nomem;
    n->cfg.tags = n->tags;
    snprintf(n->from_header, sizeof n->from_header, "X-Hearsay-From: %s", n->id);
    if (cfg->cluster_label) {
        snprintf(n->label, sizeof n->label, "%s", cfg->cluster_label);
        snprintf(n->label_header, sizeof n->label_header, "X-Hearsay-Cluster: %s", n->label);
    }
    if (cfg->lua_version)
        snprintf(n->lua_version, sizeof n->lua_version, "%s", cfg->lua_version);
    n->cfg.lua_version = n->lua_version;
    n->cfg.cluster_label = n->label[0] ? n->label : NULL;
    hs_peers_init(&n->peers);
    if ((err = hs_rng_seed(&n->rng)) != HS_OK)
        goto fail;
    if (RAND_bytes((unsigned char *)&n->idset_key, sizeof n->idset_key) != 1) {
        err = HS_EIO;
        goto fail;
    }
    if ((err = hs_seen_new(cfg->seen_cap, cfg->seen_ttl, &n->seen)) != HS_OK)
        goto fail;
    if ((err = hs_auth_new(cfg->cluster_keys, cfg->n_cluster_keys, cfg->auth_window, &n->auth)) !=
        HS_OK)
        goto fail;
    hs_auth_set_clock(n->auth, &n->clock);
    hs_seen_retain(n->seen, cfg->retain_ttl, cfg->retain_bytes);
    if ((err = hs_ratelimit_init(&n->learn_limit, cfg->learn_rate, cfg->learn_burst)) != HS_OK)
        goto fail;
    hs_tokens_init(&n->probe_new, cfg->probe_new_rate, (double)cfg->max_probes_in_flight);
    hs_tokens_init(&n->probe_for_new, cfg->probe_new_rate,
                   cfg->probe_new_rate > 1 ? cfg->probe_new_rate : 1);
    hs_tokens_init(&n->query_tokens, cfg->query_answer_rate, 2 * cfg->query_answer_rate);
    hs_holders_init(&n->holders, cfg->health_interval);
    hs_holders_init(&n->holders_ids, cfg->health_interval);
    *out = n;
    return HS_OK;
nomem:
    err = HS_ENOMEM;
fail:
    free_node(n);
    return err;
}

/*
 * A loop that was stalled (callbacks that ran long, or a starved process)
 * cannot judge its peers' timeouts: a request may have timed out while its
 * answer sat unread. So, as Lifeguard does for memberlist, a node that sees
 * its own loop stall holds no failure against a peer until every request
 * in flight during the stall has ended. The io says when its loop stalled
 * (hs_io_events.stalled) and how late the current turn runs (lag).
 */
static void stalled(hs_node *n, double now)
{
    double window = n->cfg.request_timeout > n->cfg.probe_timeout * 2 + 1
                        ? n->cfg.request_timeout
                        : n->cfg.probe_timeout * 2 + 1;

    if (now + window > n->stalled_until)
        n->stalled_until = now + window;
}

/* The client could not open a socket: the process is out of file
 * descriptors. The requests that fail for it say nothing of their peers,
 * so for a while none is held against them, as after a stall. */
static void on_no_fd(void *ud, int first)
{
    hs_node *n = ud;
    struct rlimit rl;

    n->m.fd_exhausted_connects++;
    stalled(n, hs_node_mono(n));
    if (first && getrlimit(RLIMIT_NOFILE, &rl) == 0)
        hs_node_log(n, HS_LOG_WARN,
                    "out of file descriptors: requests to peers fail (not held against them) "
                    "until descriptors free up. Raise the process's limit (now %llu: ulimit -n, "
                    "or LimitNOFILE= under systemd), or lower max_connections or max_peers",
                    (unsigned long long)rl.rlim_cur);
}

static void on_stalled(void *ud, double mono)
{
    stalled(ud, mono);
}

/* The maintenance tick: at most a second, sooner with a shorter
 * health_interval. */
static double tick(const hs_node *n)
{
    return n->cfg.health_interval < 1 ? n->cfg.health_interval : 1;
}

/* A round comes again a millisecond later at the soonest, whatever the
 * settings say (1e-300 s is a valid interval). */
static void again(hs_node *n, hs_deadline w, double s)
{
    hs_node_after(n, w, s < 0.001 ? 0.001 : s);
}

hs_err hs_node_set_interval(hs_node *n, const char *name, double s)
{
    static const struct {
        const char *name;
        size_t offset;
    } knobs[] = {
        {"gossip_interval", offsetof(hs_config, gossip_interval)},
        {"health_interval", offsetof(hs_config, health_interval)},
        {"probe_interval", offsetof(hs_config, probe_interval)},
        {"peer_exchange_interval", offsetof(hs_config, peer_exchange_interval)},
        {"rebootstrap_interval", offsetof(hs_config, rebootstrap_interval)},
        {"ae_interval", offsetof(hs_config, ae_interval)},
        {"ae_max_interval", offsetof(hs_config, ae_max_interval)},
    };
    hs_config c = n->cfg;
    size_t k = 0;

    while (k < sizeof knobs / sizeof knobs[0] && strcmp(knobs[k].name, name) != 0)
        k++;
    if (k == sizeof knobs / sizeof knobs[0])
        return HS_ENOENT;
    *(double *)((char *)&c + knobs[k].offset) = s;
    c.public_url = NULL; /* (n->url holds it: the check need not see it) */
    if (hs_config_check(&c, NULL, 0) != HS_OK)
        return HS_EINVAL;
    *(double *)((char *)&n->cfg + knobs[k].offset) = s;
    if (!n->started || n->closing)
        return HS_OK;
    /* The rounds it times start over at the new pace. */
    if (strcmp(name, "gossip_interval") == 0)
        again(n, HS_DUE_ANNOUNCE, s);
    else if (strcmp(name, "peer_exchange_interval") == 0)
        again(n, HS_DUE_EXCHANGE, n->exchange_next = s);
    else if (strcmp(name, "health_interval") == 0 || strcmp(name, "probe_interval") == 0)
        again(n, HS_DUE_PROBE, 0);
    else if (strncmp(name, "ae_", 3) == 0) {
        if (n->cfg.ae_interval > 0) {
            n->ae_next = n->cfg.ae_interval;
            again(n, HS_DUE_AE, n->ae_next);
        } else {
            hs_node_after(n, HS_DUE_AE, HS_NEVER);
        }
    }
    return HS_OK;
}

static void run(hs_node *n, hs_deadline w)
{
    switch (w) {
    case HS_DUE_ANNOUNCE:
        again(n, w, n->cfg.gossip_interval);
        hs_membership_announce(n, 0);
        break;
    case HS_DUE_PROBE:
        again(n, w, hs_membership_probe_next(n));
        break;
    case HS_DUE_EXCHANGE:
        if (n->join_exchanges > 0 && hs_membership_exchange_fruitful(n))
            ; /* the same pace again (membership.c) */
        else if (n->join_exchanges > 0 && --n->join_exchanges > 0 &&
                 n->exchange_next * 2 < n->cfg.peer_exchange_interval)
            n->exchange_next *= 2;
        else
            n->exchange_next = n->cfg.peer_exchange_interval;
        again(n, w, n->exchange_next);
        hs_membership_exchange(n);
        break;
    case HS_DUE_MAINTAIN:
        again(n, w, tick(n));
        hs_membership_maintain(n);
        break;
    case HS_DUE_FLUSH:
        hs_push_flush(n);
        break;
    case HS_DUE_AE:
        hs_ae_round(n);
        /* Back off while rounds repair nothing; hs_ae_activity() resets it. */
        n->ae_next =
            n->ae_next * 2 > n->cfg.ae_max_interval ? n->cfg.ae_max_interval : n->ae_next * 2;
        again(n, w, n->ae_next);
        break;
    case HS_DUE_LAZY:
        hs_lazy_due(n);
        break;
    case HS_DUE_QUERY:
        hs_query_due(n);
        break;
    case HS_DUE_SUSPECT:
        hs_membership_suspicions_due(n);
        break;
    case HS_DUE_STUCK:
        hs_push_overdue(n);
        break;
    default:
        break;
    }
}

static void on_timer(void *ud)
{
    hs_node *n = ud;

    n->timer_at = HS_NEVER;
    hs_node_run_due(n);
}

void hs_node_run_due(hs_node *n)
{
    /* The timer has millisecond steps: what is due within one goes now. */
    double now = hs_node_mono(n) + 0.001;
    unsigned ran = 0;
    int w;

    if (!n->started || n->closing || n->due_busy)
        return;
    hs_node_event_begin(n);
    n->due_busy = 1;
    while (!n->closing && (w = hs_deadlines_take(&n->due, now, ran)) >= 0) {
        ran |= 1u << w;
        run(n, (hs_deadline)w);
    }
    n->due_busy = 0;
    hs_node_rearm(n);
    hs_node_event_end(n);
}

/* Whether the listen address reaches beyond this machine (a name other
 * than localhost counts: it may resolve anywhere). */
static int beyond_loopback(const char *host)
{
    uint8_t a[16];

    if (strcmp(host, "localhost") == 0)
        return 0;
    return hs_addr_parse(host, a) != 0 || !hs_addr_is_loopback(a);
}

hs_err hs_node_start(hs_node *n)
{
    hs_http_server_opts so = {0};
    hs_err err;

    if (n->started || n->closing)
        return HS_ESTATE;
    /* Protected mode, as Redis has it: nobody runs an open node on a
     * network by accident. */
    if (n->cfg.security == HS_SECURITY_PROTECTED && beyond_loopback(n->host)) {
        hs_node_log(n, HS_LOG_ERROR,
                    "refusing to listen on %s: without a security setting a node listens on "
                    "loopback only. Set security = \"cluster\" with cluster_keys (README, "
                    "Security), or security = \"open\" to run an open network on purpose",
                    n->host);
        return HS_EPERM;
    }
    so.host = n->host;
    so.port = n->cfg.port;
    so.max_body = n->cfg.max_body;
    so.max_connections = n->cfg.max_connections;
    /* Idle kept-alive connections outlive the gaps between probes. */
    so.connection_timeout = 150;
    so.handler = hs_routes_handle;
    so.ud = n;
    so.log = server_log;
    so.log_ud = n;
    so.log_name = n->id;
    so.tls_cert = n->cfg.tls_cert;
    so.tls_key = n->cfg.tls_key;
    so.tls_ca = n->cfg.tls_ca;
    so.tls_client_auth = n->cfg.tls_client_auth;
    so.allow = n->cfg.peer_allow;
    so.n_allow = n->cfg.n_peer_allow;
    const hs_transport *t = n->cfg.transport ? n->cfg.transport : n->io->transport;
    if (!t)
        return HS_EINVAL;
    if ((err = t->server_start(t->ud, n->io, &so, &n->server)) != HS_OK) {
        hs_node_log(n, HS_LOG_ERROR, "cannot listen on %s:%u: %s", n->host, (unsigned)n->cfg.port,
                    hs_strerror(err));
        return err;
    }
    /* Responses are small JSON; 4x the request cap bounds a /peers answer. */
    hs_http_client_opts co = {
        .max_response = n->cfg.max_body * 4,
        .max_connections = (n->cfg.max_peers + 8) * n->cfg.peer_connections,
        .per_host = n->cfg.peer_connections,
        /* Closed by us before the peer's server closes it (150 s here). */
        .idle_timeout = 118,
        .curl_for_http = n->cfg.curl_for_http,
        /* Every request we make carries the cluster MAC (auth.h). */
        .sign = n->cfg.security >= HS_SECURITY_CLUSTER ? hs_auth_sign_request : NULL,
        .sign_ud = n->auth,
        .label_header = n->label[0] ? n->label_header : NULL,
        .no_fd = on_no_fd,
        .no_fd_ud = n,
        .trust = {.tls_ca = n->cfg.tls_ca,
                  .tls_cert = n->cfg.tls_cert,
                  .tls_key = n->cfg.tls_key,
                  .https_only = n->cfg.tls_cert != NULL,
                  .allow = n->cfg.peer_allow,
                  .n_allow = n->cfg.n_peer_allow},
    };
    err = t->client_new(t->ud, n->io, &co, &n->client);
    if (err != HS_OK) {
        hs_http_server_close(n->server, NULL, NULL);
        n->server = NULL;
        return err;
    }
    hs_io_events ev = {on_timer, on_stalled, n};
    if ((err = n->io->ops->start(n->io, &ev)) != HS_OK) {
        hs_http_server_close(n->server, NULL, NULL);
        hs_http_client_close(n->client, NULL, NULL);
        n->server = NULL;
        n->client = NULL;
        return err;
    }
    n->open_handles++; /* the io, until it has closed */
    n->cfg.port = hs_http_server_port(n->server);
    if (!n->url[0]) /* (an IPv6 address in brackets) */
        snprintf(n->url, sizeof n->url, strchr(n->host, ':') ? "%s://[%s]:%u" : "%s://%s:%u",
                 n->cfg.tls_cert ? "https" : "http", n->host, (unsigned)n->cfg.port);
    n->started = 1;
    n->started_wall = hs_node_now(n);
    /* A restarted node must out-rank what the network last heard of it
     * (a restored snapshot's incarnation too, should the clock go back). */
    if ((uint64_t)(n->started_wall * 1000) > n->incarnation)
        n->incarnation = (uint64_t)(n->started_wall * 1000);
    n->started_mono = hs_node_mono(n);
    n->score_tick = n->started_mono;
    hs_node_load(n); /* the busy seconds its load is measured from */

    again(n, HS_DUE_ANNOUNCE, n->cfg.gossip_interval);
    again(n, HS_DUE_PROBE, hs_membership_probe_next(n));
    n->exchange_next = n->cfg.peer_exchange_interval;
    again(n, HS_DUE_EXCHANGE, n->exchange_next);
    if (n->cfg.ae_interval > 0) {
        n->ae_next = n->cfg.ae_interval;
        again(n, HS_DUE_AE, n->ae_next);
    }
    /* (nothing before we started to look back to) */
    n->ae_covered = n->ae_covered_prev = hs_node_now(n);
    again(n, HS_DUE_MAINTAIN, tick(n));
    hs_node_log(n, HS_LOG_DEBUG, "listening on %s", n->url); /* the shell prints it */
    hs_membership_start(n);
    hs_snapshot_rejoin(n);
    return HS_OK;
}

static void part_closed(void *ud)
{
    hs_node *n = ud;

    if (--n->open_handles == 0) {
        void (*done)(void *) = n->done;
        void *dud = n->done_ud;
        free_node(n);
        if (done)
            done(dud);
    }
}

/* A part of the node besides its io, server and client (a DNS lookup,
 * discovery.c) is done (hs_upcalls.part_done). */
static void part_done(hs_node *n)
{
    part_closed(n);
}

void hs_node_close(hs_node *n, void (*done)(void *ud), void *ud)
{
    if (n->closing)
        return;
    n->closing = 1;
    n->done = done;
    n->done_ud = ud;
    memset(&n->hooks, 0, sizeof n->hooks);
    hs_query_cancel_all(n);
    if (!n->started) {
        free_node(n);
        if (done)
            done(ud);
        return;
    }
    /* The server, the client and ourselves (the io was counted when it
     * started): the node is freed only after every close began and ended. */
    n->open_handles += 3;
    hs_io *io = n->io;
    n->io = NULL; /* (it is gone before we are) */
    io->ops->close(io, part_closed, n);
    hs_http_server_close(n->server, part_closed, n);
    hs_pending_cancel_all(n);
    hs_http_client_close(n->client, part_closed, n);
    part_closed(n);
}

void hs_node_set_hooks(hs_node *n, const hs_hooks *hooks)
{
    if (hooks)
        n->hooks = *hooks;
    else
        memset(&n->hooks, 0, sizeof n->hooks);
}

const char *hs_node_id(const hs_node *n)
{
    return n->id;
}

const char *hs_node_url(const hs_node *n)
{
    return n->url;
}

const char *hs_node_public_key(const hs_node *n)
{
    return hs_identity_public(n->ident);
}

const char *hs_node_secret_key(const hs_node *n)
{
    return hs_identity_seed(n->ident);
}

uint16_t hs_node_port(const hs_node *n)
{
    return n->cfg.port;
}

hs_io *hs_node_io(const hs_node *n)
{
    return n->io;
}

void hs_node_metrics(const hs_node *n, hs_metrics *out)
{
    hs_http_refused r = {0};

    *out = n->m;
    /* The trust counters kept by the server and the client. */
    if (n->client)
        hs_http_client_refused(n->client, &r);
    out->tls_refused = n->server ? hs_http_server_tls_refused(n->server) : 0;
    out->fd_exhausted_accepts = n->server ? hs_http_server_fd_exhausted(n->server) : 0;
    out->tls_verify_failed = r.verify;
    out->tls_plain_refused += r.plain;
    out->peer_allow_refused = r.allow + (n->server ? hs_http_server_allow_refused(n->server) : 0);
    if (n->client) {
        out->bytes_in += n->client->bytes_in;
        out->bytes_out += n->client->bytes_out;
    }
}

const char *hs_node_merkle_root(const hs_node *n)
{
    return n->merkle_root;
}

uint64_t hs_node_state_version(const hs_node *n)
{
    return n->state_version;
}

size_t hs_node_peer_total(const hs_node *n)
{
    return n->peers.n;
}

size_t hs_node_peer_count(const hs_node *n)
{
    return n->peers.live;
}

hs_err hs_node_peer_get(const hs_node *n, size_t i, hs_peer_info *out)
{
    if (i >= n->peers.n)
        return HS_ENOENT;
    hs_peer_info_of(n->peers.v[i], out);
    return HS_OK;
}

int hs_node_is_blocked(const hs_node *n, const char *id)
{
    for (size_t i = 0; id && i < n->n_blocked; i++)
        if (strcmp(n->blocked[i], id) == 0)
            return 1;
    return 0;
}

hs_err hs_node_block(hs_node *n, const char *id, int blocked)
{
    if (!hs_peers_valid_id(id))
        return HS_EINVAL;
    for (size_t i = 0; i < n->n_blocked; i++) {
        if (strcmp(n->blocked[i], id) == 0) {
            if (!blocked) {
                free(n->blocked[i]);
                n->blocked[i] = n->blocked[--n->n_blocked];
            }
            return HS_OK;
        }
    }
    if (!blocked)
        return HS_OK;
    if (n->n_blocked >= 1024)
        return HS_ETOOBIG;
    char **v = realloc(n->blocked, (n->n_blocked + 1) * sizeof *v);
    if (!v)
        return HS_ENOMEM;
    n->blocked = v;
    if (!(v[n->n_blocked] = strdup(id)))
        return HS_ENOMEM;
    n->n_blocked++;
    return HS_OK;
}

hs_err hs_node_add_peer(hs_node *n, const char *id, const char *url)
{
    /* Learning a peer probes it: that needs the client start() makes. */
    if (!n->started)
        return HS_ESTATE;
    if (!hs_peers_valid_id(id) || !hs_peers_valid_url(url) || strcmp(id, n->id) == 0)
        return HS_EINVAL;
    if (!hs_node_url_allowed(n, url))
        return HS_EPERM;
    /* (Refused: HS_EPERM, peer_allow or a node that left; HS_ETOOBIG, a
     * full table with no peer to let go.) */
    return hs_membership_learn(n, id, url, NULL, hs_node_now(n), NULL, NULL);
}

hs_err hs_node_update_state(hs_node *n, const char *root)
{
    char old[HS_ROOT_MAX + 1];
    json_t *payload;
    hs_err err;

    if (!root || strlen(root) > HS_ROOT_MAX)
        return HS_EINVAL;
    if (strcmp(root, n->merkle_root) == 0)
        return HS_OK;
    if (n->state_version >= HS_COUNTER_MAX)
        return HS_ETOOBIG; /* (only a forged version could have brought it here) */
    /* A local update always takes the next version, whatever the root. */
    strcpy(old, n->merkle_root);
    strcpy(n->merkle_root, root);
    n->state_version++;
    if (n->hooks.on_state)
        n->hooks.on_state(n->hooks.ud, n, old, n->state_version - 1, n->merkle_root,
                          n->state_version, NULL);
    if (!n->started)
        return HS_OK;
    payload = json_pack("{s:s, s:I}", "merkle_root", n->merkle_root, "state_version",
                        (json_int_t)n->state_version);
    if (!payload)
        return HS_ENOMEM;
    err = hs_node_broadcast(n, "state_update", payload, NULL);
    json_decref(payload);
    return err;
}

json_t *hs_node_state_json(hs_node *n)
{
    return json_pack("{s:s, s:s, s:I, s:I, s:f}", "node_id", n->id, "merkle_root", n->merkle_root,
                     "state_version", (json_int_t)n->state_version, "peer_count",
                     (json_int_t)n->peers.live, "timestamp", hs_node_now(n));
}

json_t *hs_node_peers_json(hs_node *n)
{
    return hs_node_peers_sample_json(n, 0);
}

unsigned hs_node_held(hs_node *n)
{
    return hs_holders_estimate(&n->holders, hs_node_mono(n));
}

static int sampled(const hs_peer *p, size_t sample)
{
    return p->state != HS_PEER_DEAD && hs_peer_usable(p) && !(sample && p->crowded);
}

json_t *hs_node_peers_sample_json(hs_node *n, size_t sample)
{
    json_t *arr = json_array();
    size_t left = 0, want;

    if (!arr)
        return NULL;
    /* Live peers we vouch for: not a stranger's claim we have not checked
     * (we would be passing it on); in a sample, not one held by too many
     * already (membership.c, shed()): views would learn it again. */
    for (size_t i = 0; i < n->peers.n; i++)
        left += sampled(n->peers.v[i], sample);
    want = sample && sample < left ? sample : left;
    for (size_t i = 0; i < n->peers.n && want > 0; i++) {
        const hs_peer *p = n->peers.v[i];
        if (!sampled(p, sample) || left == 0)
            continue;
        /* Selection sampling: each live peer with chance want / left. */
        if (hs_rng_below(&n->rng, left--) >= want)
            continue;
        want--;
        /* Exactly these six keys: the reference rejects a list with more. */
        json_t *e = json_pack("{s:s, s:s, s:f, s:s, s:b, s:f}", "peer_id", p->id, "url", p->url,
                              "last_seen", p->last_seen, "merkle_root", p->merkle_root,
                              "is_healthy", p->state == HS_PEER_ALIVE, "latency_ms",
                              p->latency_ms < 0 ? 0.0 : p->latency_ms);
        if (!e || json_array_append_new(arr, e) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

json_t *hs_node_peers_detailed_json(hs_node *n)
{
    json_t *arr = json_array();

    for (size_t i = 0; arr && i < n->peers.n; i++) {
        const hs_peer *p = n->peers.v[i];
        if (!hs_peer_usable(p))
            continue;
        hs_peer_info info;
        hs_peer_info_of(p, &info);
        json_t *e = json_pack(
            "{s:s, s:s, s:f, s:s, s:b, s:f, s:s, s:O, s:o, s:I, s:f, s:b}", "peer_id", p->id, "url",
            p->url, "last_seen", p->last_seen, "merkle_root", p->merkle_root, "is_healthy",
            p->state == HS_PEER_ALIVE, "latency_ms", p->latency_ms < 0 ? 0.0 : p->latency_ms,
            "state", hs_peer_state_name(p->state), "tags", p->tags ? p->tags : json_null(),
            "features", hs_peers_features_json(p->features), "incarnation",
            (json_int_t)p->incarnation, "score", (double)p->score, "graylisted", p->gray_s != 0);
        if (!e || json_array_append_new(arr, e) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

unsigned hs_node_copies(const hs_node *n, const char *id)
{
    uint8_t bin[32];
    return hs_hash_from_hex(id, bin) == HS_OK ? hs_seen_copies(n->seen, bin) : 0;
}

uint64_t hs_node_connects(const hs_node *n)
{
    return n->client ? hs_http_client_connects(n->client) : 0;
}

uint64_t hs_node_drained(const hs_node *n)
{
    return n->server ? hs_http_server_drained(n->server) : 0;
}

json_t *hs_node_health_json(hs_node *n)
{
    size_t dead = n->peers.n - n->peers.live, unhealthy = 0;
    json_t *metrics;

    for (size_t i = 0; i < n->peers.n; i++)
        unhealthy +=
            n->peers.v[i]->state == HS_PEER_UNHEALTHY || n->peers.v[i]->state == HS_PEER_SUSPECT;
    if (!(metrics = hs_node_metrics_json(n)))
        return NULL;
    json_t *h = json_pack(
        "{s:s, s:s, s:I, s:f, s:o, s:s, s:s, s:o, s:{s:I, s:I, s:I}, s:I}", "status",
        n->closing ? "stopped" : "healthy", "node_id", n->id, "peer_count",
        (json_int_t)n->peers.live, "uptime", n->started ? hs_node_mono(n) - n->started_mono : 0.0,
        "metrics", metrics, "version", HS_VERSION, "url", n->url, "features",
        hs_peers_features_json(HS_FEAT_OURS), "peers", "alive",
        (json_int_t)(n->peers.live - unhealthy), "unhealthy", (json_int_t)unhealthy, "dead",
        (json_int_t)dead, "seen_ids", (json_int_t)hs_seen_count(n->seen));
    if (h && n->tags)
        json_object_set(h, "tags", n->tags);
    if (h)
        json_object_set_new(h, "incarnation", json_integer((json_int_t)n->incarnation));
    if (h)
        json_object_set_new(h, "public_key", json_string(hs_identity_public(n->ident)));
    if (h)
        json_object_set_new(h, "local_health", json_integer((json_int_t)n->local_health));
    if (h)
        json_object_set_new(h, "held", json_integer((json_int_t)hs_node_held(n)));
    if (h && n->label[0])
        json_object_set_new(h, "cluster_label", json_string(n->label));
    if (h && n->recent_types) {
        /* The latest first: what the dashboard lists. */
        json_t *list = json_array();
        int order[HS_RECENT_TYPES];
        size_t count = hs_gossip_recent_types(n, order);
        for (size_t k = 0; list && k < count; k++) {
            int best = order[k];
            json_array_append_new(list,
                                  json_pack("{s:s, s:I}", "type", n->recent_types[best].type,
                                            "count", (json_int_t)n->recent_types[best].count));
        }
        if (list)
            json_object_set_new(h, "recent_types", list);
    }
    if (h)
        json_object_set_new(h, "probes",
                            json_pack("{s:I, s:I}", "in_flight",
                                      (json_int_t)hs_pending_inflight(&n->pending, HS_REQ_PROBE),
                                      "waiting", (json_int_t)n->peers.waiting));
    if (h && n->hooks.on_health)
        n->hooks.on_health(n->hooks.ud, n, h);
    return h;
}

/* hs_node_fetch's requests: e->data holds the caller's callback and ud,
 * told of every end, a close too. */
typedef struct user_fetch {
    hs_fetch_cb cb;
    void *ud;
} user_fetch;

static void on_fetched(hs_node *n, hs_pending *e, const hs_http_result *res)
{
    user_fetch *f = e->data;

    (void)n;
    if (res->err == HS_OK)
        f->cb(f->ud, HS_OK, res->status, res->body, res->len);
    else
        f->cb(f->ud, res->err, 0, res->error ? res->error : "",
              res->error ? strlen(res->error) : 0);
}

static void fetch_cancelled(hs_node *n, hs_pending *e)
{
    user_fetch *f = e->data;
    static const char why[] = "the node closed";

    (void)n;
    f->cb(f->ud, HS_ESTATE, 0, why, sizeof why - 1);
}

static const hs_pending_kind user_kind = {HS_REQ_USER, on_fetched, fetch_cancelled, NULL};

hs_err hs_node_fetch(hs_node *n, const char *method, const char *url, const char *body, size_t len,
                     const char *header, double timeout_s, hs_fetch_cb cb, void *ud)
{
    user_fetch *f;
    hs_pending *e;

    if (!n->started || n->closing)
        return HS_ESTATE;
    if (!method || !url || !cb || !(timeout_s > 0))
        return HS_EINVAL;
    if (!(f = malloc(sizeof *f)) || !(e = hs_pending_new(n, &user_kind, NULL, url))) {
        free(f);
        return HS_ENOMEM;
    }
    f->cb = cb;
    f->ud = ud;
    e->data = f;
    e->header = header;
    return hs_pending_send(e, method, "", body, len, timeout_s);
}
