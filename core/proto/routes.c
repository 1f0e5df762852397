/*
 * routes.c -- the node's HTTP endpoints: the reference's four (POST
 * /gossip, GET /peers, /state, /health), hearsay's own between nodes
 * (POST /digest, /fetch, /probe, /query, GET /ping), GET /metrics and the
 * dashboard (/ui...): the table `routes` below. Every answer but /metrics'
 * and the dashboard's is JSON; every refusal says why and is counted.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "cidr.h"
#include "hash.h"
#include "health.h"
#include "jsonout.h"
#include "jsonpick.h"
#include "metrics.h"
#include "node.h"
#include "query.h"
#include "score.h"
#include "ui.h"
#include "view.h"

static void answer(hs_http_response *resp, unsigned status, json_t *body)
{
    hs_jsonout o = {0};

    resp->status = status;
    /* json_dumps' bytes, written by jsonout.h (integers without printf);
     * what it would not write as jansson does is jansson's. */
    if ((json_is_object(body) || json_is_array(body)) && hs_jsonout_json(&o, body) == 0) {
        resp->body = hs_jsonout_finish(&o, &resp->len);
    } else {
        hs_jsonout_free(&o);
        resp->body = body ? json_dumps(body, JSON_COMPACT) : NULL;
    }
    json_decref(body);
    if (!resp->body) {
        resp->status = 500;
        resp->body = strdup("{\"status\":\"error\",\"error\":\"out of memory\"}");
    }
    resp->len = resp->body ? strlen(resp->body) : 0;
}

static void refuse(hs_http_response *resp, unsigned status, const char *reason)
{
    answer(resp, status, hs_http_error_json(reason));
}

/* Envelopes refused as invalid, forged or unsigned so far. */
static uint64_t refused_envelopes(const hs_node *n)
{
    return n->m.messages_invalid + n->m.messages_forged + n->m.messages_unsigned;
}

static void gossip_body(hs_node *n, const hs_http_request *req, hs_http_response *resp);

/* POST /gossip. What the sender got refused costs it score (score.h). */
static void gossip(hs_node *n, const hs_http_request *req, hs_http_response *resp)
{
    uint64_t before = refused_envelopes(n);
    hs_peer *p;

    gossip_body(n, req, resp);
    if (refused_envelopes(n) > before &&
        (p = hs_score_sender(n, hs_http_request_header(req, "X-Hearsay-From"))))
        hs_score_add(n, p, -n->cfg.score_invalid * (double)(refused_envelopes(n) - before));
}

static void gossip_body(hs_node *n, const hs_http_request *req, hs_http_response *resp)
{
    json_error_t jerr;
    json_t *body;
    unsigned status;
    char reason[200];

    if (req->too_large) {
        n->m.http_too_large++;
        n->m.messages_invalid++;
        snprintf(reason, sizeof reason, "body exceeds %zu bytes", n->cfg.max_body);
        refuse(resp, 413, reason);
        return;
    }
    if (!req->body || req->len == 0) {
        n->m.http_bad_request++;
        n->m.messages_invalid++;
        refuse(resp, 400, "empty body: expected a JSON envelope");
        return;
    }
    resp->body = hs_gossip_receive_text(
        n, req->body, req->len, hs_http_request_header(req, "X-Hearsay-From"), &status, &resp->len);
    if (resp->body || status != 0) {
        resp->status = status;
        if (!resp->body)
            refuse(resp, 500, "out of memory");
        return;
    }
    /* Declined by the fast path (invalid or unusual): jansson decides. */
    body = json_loadb(req->body, req->len, JSON_REJECT_DUPLICATES, &jerr);
    if (!body) {
        n->m.http_bad_request++;
        n->m.messages_invalid++;
        snprintf(reason, sizeof reason, "malformed JSON at line %d column %d: %s", jerr.line,
                 jerr.column, jerr.text);
        /* jansson quotes the bytes near the error, which need not be
         * UTF-8: a JSON string (the answer) could not hold them. */
        for (char *p = reason; *p; p++)
            if ((unsigned char)*p >= 0x80)
                *p = '?';
        refuse(resp, 400, reason);
        return;
    }
    resp->body = hs_gossip_receive_body(n, body, req->body, req->len,
                                        hs_http_request_header(req, "X-Hearsay-From"), 1, &status,
                                        &resp->len);
    json_decref(body);
    if (status == 400)
        n->m.http_bad_request++;
    resp->status = status;
    if (!resp->body)
        refuse(resp, 500, "out of memory");
}

/* GET /peers?sample=k: k random live peers (hearsay's peer exchange; the
 * reference asks without it and gets them all). */
static size_t peer_sample(const hs_http_request *req)
{
    const char *s = hs_http_request_arg(req, "sample");
    char *end;
    unsigned long k;

    if (!s || !*s)
        return 0;
    k = strtoul(s, &end, 10);
    return *end == '\0' && k < 100000 ? (size_t)k : 0;
}

/* GET /peers. With ?sample=k&url=U from a hearsay node (X-Hearsay-From),
 * a view shuffle as in CYCLON: the asker gets k of our peers, and takes a
 * place in our view (each shuffle moves the asker into the view of the
 * node it asks, which keeps in-degrees even). */
static void peers(hs_node *n, const hs_http_request *req, hs_http_response *resp)
{
    size_t k = peer_sample(req);
    const char *from = hs_http_request_header(req, "X-Hearsay-From");
    const char *url = hs_http_request_arg(req, "url");

    const char *detailed = hs_http_request_arg(req, "detailed");

    if (detailed && strcmp(detailed, "1") == 0) {
        answer(resp, 200, hs_node_peers_detailed_json(n));
        return;
    }
    answer(resp, 200, hs_node_peers_sample_json(n, k));
    /* The asker's word about itself: its URL must be at the address it
     * asks from, it is paced per address, and a full table only keeps it
     * as a candidate (taken if it answers a probe as that id). */
    if (k && from && url && hs_peers_valid_id(from) && hs_peers_valid_url(url)) {
        static const uint8_t unknown[16];
        hs_claim c = {n->rx_src_ok ? n->rx_src : unknown, 1, 1.0, 0, 0};
        (void)hs_membership_learn(n, from, url, NULL, hs_node_now(n), &c, NULL);
    }
}

/* A probe (/ping, /health) from the request's source address: one more
 * node that holds us (holders.h); and by the id it claims, if any. */
static void count_prober(hs_node *n, const hs_http_request *req)
{
    static const uint64_t key[2] = {0, 0}; /* (holders.h keys it again) */
    const char *from = hs_http_request_header(req, "X-Hearsay-From");
    uint8_t id[16] = {0};

    if (n->rx_src_ok)
        hs_holders_add(&n->holders, &n->rng, n->rx_src, hs_node_mono(n));
    if (from && hs_peers_valid_id(from)) {
        uint64_t h = hs_hash_siphash(key, from, strlen(from));
        memcpy(id, &h, sizeof h); /* (a /64's worth: never IPv4-mapped) */
        hs_holders_add(&n->holders_ids, &n->rng, id, hs_node_mono(n));
    }
}

/* /ping's &few=N (N: how many the prober counts holding it; a count
 * HS_FEW_MAX or over is no count): 1 + N, or 0 when not said. */
#define HS_FEW_MAX 1000000
static unsigned few_held(const char *few)
{
    char *end;
    unsigned long k;

    if (!few || *few < '0' || *few > '9')
        return 0;
    k = strtoul(few, &end, 10);
    return *end == '\0' && k < HS_FEW_MAX ? (unsigned)k + 1 : 0;
}

/* /ping's answer written as text (jsonout.h): the bytes jansson would dump
 * of the tree ping() builds below, at a tenth of the cost (a probe a
 * second per peer). 1 when resp is answered; 0 when jansson must build
 * it: a string it would refuse, a time it has no real for. */
static int ping_text(hs_node *n, int feeds, int through, const char *up, const hs_peer *refer,
                     hs_http_response *resp)
{
    const char *key = hs_node_public_key(n);
    double news = floor(n->last_news * 1000) / 1000;
    hs_jsonout o = {0};

    if (!hs_jsonout_utf8(n->id) || (key && !hs_jsonout_utf8(key)) || !isfinite(news) ||
        (refer && (!hs_jsonout_utf8(refer->id) || !hs_jsonout_utf8(refer->url))))
        return 0;
    HS_JSONOUT_LIT(&o, "{\"node_id\":");
    hs_jsonout_string(&o, n->id, strlen(n->id));
    HS_JSONOUT_LIT(&o, ",\"incarnation\":");
    hs_jsonout_int(&o, (json_int_t)n->incarnation);
    HS_JSONOUT_LIT(&o, ",\"features\":");
    hs_peers_features_write(HS_FEAT_OURS, &o);
    if (key && strcmp(key, n->id) != 0) {
        HS_JSONOUT_LIT(&o, ",\"public_key\":");
        hs_jsonout_string(&o, key, strlen(key));
    }
    HS_JSONOUT_LIT(&o, ",\"held\":");
    hs_jsonout_int(&o, (json_int_t)hs_node_held(n));
    if (n->peers.live < n->cfg.max_peers)
        HS_JSONOUT_LIT(&o, ",\"room\":true");
    else
        HS_JSONOUT_LIT(&o, ",\"room\":false");
    if (n->last_news > 0) {
        HS_JSONOUT_LIT(&o, ",\"news\":");
        hs_jsonout_real(&o, news);
    }
    if (hs_ae_news_named(n)) {
        HS_JSONOUT_LIT(&o, ",\"news_id\":");
        hs_jsonout_hex(&o, n->last_news_id, 32);
    }
    if (hs_membership_can_feed(n))
        HS_JSONOUT_LIT(&o, ",\"spare\":true");
    else
        HS_JSONOUT_LIT(&o, ",\"spare\":false");
    if (feeds)
        HS_JSONOUT_LIT(&o, ",\"feeds\":true");
    if (through)
        HS_JSONOUT_LIT(&o, ",\"through_you\":true");
    if (up) {
        HS_JSONOUT_LIT(&o, ",\"up\":");
        hs_jsonout_string(&o, up, strlen(up));
    }
    if (refer) {
        HS_JSONOUT_LIT(&o, ",\"try\":{\"node_id\":");
        hs_jsonout_string(&o, refer->id, strlen(refer->id));
        HS_JSONOUT_LIT(&o, ",\"url\":");
        hs_jsonout_string(&o, refer->url, strlen(refer->url));
        hs_jsonout_put(&o, "}", 1);
    }
    hs_jsonout_put(&o, "}", 1);
    if (!(resp->body = hs_jsonout_finish(&o, &resp->len))) {
        refuse(resp, 500, "out of memory");
        return 1;
    }
    resp->status = 200;
    return 1;
}

/* GET /ping: who we are, for a hearsay peer's probe. With ?url=U and
 * X-Hearsay-From, a prober we do not know yet is taken in as /peers?url=
 * takes an asker (its URL at the address it asks from, paced per address,
 * verified by a probe of ours), but only into room: never in place of a
 * peer at once. Probing a node thus puts the prober in its view, and
 * views become mutual: a node is in as many views as it has peers, and
 * the peers it pushes to push to it. With &few=N the prober is held by
 * N nodes, fewer than half as many as it holds: a full view keeps it as a
 * candidate, as it keeps a shuffle's asker (taken at the mixing's pace,
 * the fewest held first, in place of the most held of a few peers:
 * membership.c, take_candidates, make_room).
 * "room" says whether our view has room. "feeds": true says we push new messages to the
 * prober. With &feed=1 the prober has nobody pushing new messages to it:
 * we make it an eager link (hs_membership_feed) and answer "feeds": true,
 * or name a peer of ours with room, or one not past its feeding bound
 * ("try"); "spare" says whether we are past ours. "through_you": true
 * says the prober is the only one pushing to us (we are no way in for
 * it). "up", to a prober we feed or that asked: the chain of feeders
 * above us, not through the prober if we can (feedpath.h); the prober's
 * own tag on it says we are fed through it. */
static void ping(hs_node *n, const hs_http_request *req, hs_http_response *resp)
{
    const char *from = hs_http_request_header(req, "X-Hearsay-From");
    const char *url = hs_http_request_arg(req, "url");
    const char *feed = hs_http_request_arg(req, "feed");
    const char *few = hs_http_request_arg(req, "few");
    const char *told = hs_http_request_arg(req, "up");
    const char *top = hs_http_request_arg(req, "top");
    const hs_peer *refer = NULL;
    int feeds = 0, through = 0, asked = 0;
    char up[HS_FEEDPATH_TEXT];

    count_prober(n, req);
    if (from && url && hs_peers_valid_id(from) && hs_peers_valid_url(url)) {
        unsigned held = few_held(few);
        if ((n->peers.live < n->cfg.max_peers || held) && !hs_peers_find(&n->peers, from)) {
            static const uint8_t unknown[16];
            hs_claim c = {n->rx_src_ok ? n->rx_src : unknown, 1, held ? 1.0 : 0.0, 0, held};
            (void)hs_membership_learn(n, from, url, NULL, hs_node_now(n), &c, NULL);
        }
        if (told)
            hs_membership_told_up(n, from, told);
        if ((asked = feed && strcmp(feed, "1") == 0))
            feeds = hs_membership_feed(n, from, url, top && strcmp(top, "1") == 0, &refer);
        else
            feeds = hs_membership_feeds(n, from);
        through = feeds && hs_membership_fed_through(n, from);
    }
    const char *chain = (feeds || asked) && hs_membership_up(n, from, up) ? up : NULL;
    if (ping_text(n, feeds, through, chain, refer, resp))
        return;
    json_t *a =
        json_pack("{s:s, s:I, s:o}", "node_id", n->id, "incarnation", (json_int_t)n->incarnation,
                  "features", hs_peers_features_json(HS_FEAT_OURS));
    if (a) {
        /* The key travels with what we say of ourselves; an id that is our
         * public key already carries it (a probe a second: 80 bytes). */
        if (strcmp(hs_node_public_key(n), n->id) != 0)
            json_object_set_new(a, "public_key", json_string(hs_node_public_key(n)));
        json_object_set_new(a, "held", json_integer((json_int_t)hs_node_held(n)));
        json_object_set_new(a, "room", json_boolean(n->peers.live < n->cfg.max_peers));
        /* When we last took news and which message (anti-entropy,
         * hs_ae_news): a prober that lacks it runs a round with us. */
        if (n->last_news > 0)
            json_object_set_new(a, "news", json_real(floor(n->last_news * 1000) / 1000));
        if (hs_ae_news_named(n)) {
            char id[65];
            hs_hash_to_hex(n->last_news_id, 32, id);
            json_object_set_new(a, "news_id", json_string(id));
        }
        json_object_set_new(a, "spare", json_boolean(hs_membership_can_feed(n)));
        if (feeds)
            json_object_set_new(a, "feeds", json_true());
        if (through)
            json_object_set_new(a, "through_you", json_true());
        if (chain)
            json_object_set_new(a, "up", json_string(chain));
        if (refer)
            json_object_set_new(a, "try",
                                json_pack("{s:s, s:s}", "node_id", refer->id, "url", refer->url));
    }
    answer(resp, 200, a);
}

/* POST /digest and /fetch: anti-entropy between hearsay nodes, and lazy
 * push's offers. A lazy offer as lazypush.c writes it is read straight
 * from its text (digest.c: a few per message at every node under load);
 * anything else is built by hs_json_load, jansson's tree at a third of
 * json_loadb's cost (jsonpick.h). */
static void antientropy(hs_node *n, const hs_http_request *req, hs_http_response *resp, int fetch)
{
    json_t *body;
    unsigned status;
    hs_offer offer;
    int scanned;

    if (req->too_large) {
        n->m.http_too_large++;
        refuse(resp, 413, "body exceeds max_body");
        return;
    }
    scanned = fetch ? 0 : hs_offer_scan(req->body, req->len, n->cfg.max_digest, &offer);
    if (scanned == 1) {
        json_t *ans = hs_lazy_answer(n, &offer, &status);
        hs_offer_free(&offer);
        answer(resp, status, ans);
        return;
    }
    if (scanned == 0 && !fetch)
        scanned = hs_ae_digest_answer_text(n, req->body, req->len,
                                           hs_http_request_header(req, "X-Hearsay-From"), &status,
                                           &resp->body, &resp->len);
    if (scanned == 1) {
        resp->status = status;
        if (!resp->body)
            refuse(resp, 500, "out of memory");
        return;
    }
    if (scanned < 0) {
        refuse(resp, 500, "out of memory");
        return;
    }
    body = req->body ? hs_json_load(req->body, req->len) : NULL;
    if (!json_is_object(body)) {
        json_decref(body);
        n->m.http_bad_request++;
        refuse(resp, 400, "expected a JSON object");
        return;
    }
    if (fetch) {
        resp->body = hs_ae_fetch_answer(n, body, &status, &resp->len);
        resp->status = status;
        if (!resp->body)
            refuse(resp, 500, "out of memory");
    } else if (json_is_true(json_object_get(body, "lazy"))) {
        /* A lazy offer written otherwise. */
        json_t *ans = NULL;
        if (hs_offer_from_json(body, n->cfg.max_digest, &offer) == 0) {
            ans = hs_lazy_answer(n, &offer, &status);
            hs_offer_free(&offer);
        } else {
            status = 400;
            ans = hs_http_error_json(
                "a lazy digest is {\"ids\": [at most max_digest hex ids], \"lazy\": true}");
        }
        answer(resp, status, ans);
    } else {
        resp->body = hs_ae_digest_answer(n, body, hs_http_request_header(req, "X-Hearsay-From"),
                                         &status, &resp->len);
        resp->status = status;
        if (!resp->body)
            refuse(resp, 500, "out of memory");
    }
    if (status == 400)
        n->m.http_bad_request++;
    json_decref(body);
}

/* POST /probe {"node_id", "url"}: probe a peer of ours for another node. */
static void probe_for(hs_node *n, const hs_http_request *req, hs_http_response *resp)
{
    json_t *body = req->body && !req->too_large ? json_loadb(req->body, req->len, 0, NULL) : NULL;

    if (!json_is_object(body)) {
        json_decref(body);
        n->m.http_bad_request++;
        refuse(resp, 400, "expected {\"node_id\": ..., \"url\": ...}");
        return;
    }
    hs_membership_probe_for(n, body, req->token, resp);
    json_decref(body);
    if (resp->status == 400)
        n->m.http_bad_request++;
}

/* GET /ui: the dashboard (ui.c). */
static void ui(hs_http_response *resp, const char *path)
{
    const char *body, *type;
    size_t len;

    if (!hs_ui_asset(path, &body, &len, &type) || !(resp->body = malloc(len ? len : 1))) {
        refuse(resp, 500, "out of memory");
        return;
    }
    memcpy(resp->body, body, len);
    resp->len = len;
    resp->status = 200;
    resp->content_type = type;
    resp->csp = hs_ui_csp;
}

/* GET /health: written as text (health.c). A hearsay node's probe (it
 * says who it is: X-Hearsay-From) gets the short form, unless it asks
 * for ?full=1. */
static void health(hs_node *n, const hs_http_request *req, hs_http_response *resp)
{
    const char *full = hs_http_request_arg(req, "full");
    int probe = hs_http_request_header(req, "X-Hearsay-From") && !(full && strcmp(full, "1") == 0);

    count_prober(n, req);
    if (!(resp->body = probe ? hs_node_probe_health_text(n, &resp->len)
                             : hs_node_health_text(n, &resp->len))) {
        refuse(resp, 500, "out of memory");
        return;
    }
    resp->status = 200;
}

/* GET /metrics: Prometheus's text format (prometheus.c). */
static void prometheus(hs_node *n, hs_http_response *resp)
{
    if (!(resp->body = hs_node_prometheus(n, &resp->len))) {
        refuse(resp, 500, "out of memory");
        return;
    }
    resp->status = 200;
    resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

/* POST /query: a node's response to one of our queries (query.h). */
static void query_response(hs_node *n, const hs_http_request *req, hs_http_response *resp)
{
    json_t *body = req->body && !req->too_large ? json_loadb(req->body, req->len, 0, NULL) : NULL;
    unsigned status;

    if (req->too_large) {
        n->m.http_too_large++;
        refuse(resp, 413, "body exceeds max_body");
        return;
    }
    if (!json_is_object(body)) {
        json_decref(body);
        n->m.http_bad_request++;
        refuse(resp, 400, "expected {\"id\": ..., \"node\": ...}");
        return;
    }
    json_t *ans = hs_query_response(n, body, req->len,
                                    hs_http_request_header(req, "X-Hearsay-From"), &status);
    json_decref(body);
    if (status == 400)
        n->m.http_bad_request++;
    answer(resp, status, ans);
}

static const char *request_arg(void *ud, const char *name)
{
    return hs_http_request_arg(ud, name);
}

/* Cluster auth (auth.h): 1 when the request may go on, else refused. */
static int authenticated(hs_node *n, const hs_http_request *req, hs_http_response *resp)
{
    const char *from = hs_http_request_header(req, "X-Hearsay-From");
    hs_auth_verdict v = hs_auth_verify(
        n->auth, hs_http_request_header(req, HS_AUTH_HEADER), req->method, req->path, request_arg,
        (void *)req, from, req->body, req->len, req->too_large, (int64_t)(hs_node_now(n) * 1000));

    if (v == HS_AUTH_OK || v == HS_AUTH_UNCHECKED)
        return 1;
    if (v == HS_AUTH_REPLAY)
        n->m.auth_replayed++;
    else
        n->m.auth_failed++;
    hs_node_log(n, HS_LOG_DEBUG, "refused %s %s from %.64s: %s", req->method, req->path,
                from ? from : "?", hs_auth_reason(v));
    refuse(resp, hs_auth_status(v), hs_auth_reason(v));
    return 0;
}

static void dispatch(hs_node *n, const hs_http_request *req, hs_http_response *resp);

/* A GET that changes nothing: what a browser or an operator reads without
 * a cluster label (a shuffle, /peers?url=, learns: not this). */
static int read_only(const hs_http_request *req)
{
    static const char *const paths[] = {"/health", "/state",     "/metrics",    "/ui",
                                        "/ui/",    "/ui/app.js", "/ui/app.css", "/ui/favicon.svg"};

    if (strcmp(req->method, "GET") != 0)
        return 0;
    if (strcmp(req->path, "/peers") == 0)
        return hs_http_request_arg(req, "url") == NULL;
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
        if (strcmp(req->path, paths[i]) == 0)
            return 1;
    return 0;
}

static int trusted_proxy(const hs_node *n, const uint8_t addr[16])
{
    hs_cidr r;

    for (size_t i = 0; i < n->cfg.n_trust_forwarded; i++)
        if (hs_cidr_parse(n->cfg.trust_forwarded[i], &r) == HS_OK && hs_cidr_contains(&r, addr))
            return 1;
    return 0;
}

typedef struct route {
    const char *path;
    const char *method;
} route;

static const route routes[] = {
    {"/gossip", "POST"},    {"/digest", "POST"},    {"/fetch", "POST"},
    {"/probe", "POST"},     {"/ping", "GET"},       {"/peers", "GET"},
    {"/state", "GET"},      {"/health", "GET"},     {"/query", "POST"},
    {"/metrics", "GET"},    {"/ui", "GET"},         {"/ui/", "GET"},
    {"/ui/app.js", "GET"},  {"/ui/app.css", "GET"}, {"/ui/favicon.svg", "GET"},
    {"/ui/cluster", "GET"},
};

/* The request's source address: the client's, or, from a proxy listed in
 * trust_forwarded, the last address of X-Forwarded-For that is not one of
 * those proxies. 0, or -1 when there is none (a unix socket). */
static int source_of(const hs_node *n, const hs_http_request *req, uint8_t out[16])
{
    const char *xff;
    char part[64];

    if (!req->remote || hs_addr_bytes(req->remote, out) != 0)
        return -1;
    if (!n->cfg.n_trust_forwarded || !trusted_proxy(n, out) ||
        !(xff = hs_http_request_header(req, "X-Forwarded-For")))
        return 0;
    /* Right to left: each hop appends the address it saw. */
    for (size_t end = strlen(xff); end > 0;) {
        size_t start = end;
        while (start > 0 && xff[start - 1] != ',')
            start--;
        size_t a = start, b = end;
        while (a < b && (xff[a] == ' ' || xff[a] == '\t'))
            a++;
        while (b > a && (xff[b - 1] == ' ' || xff[b - 1] == '\t'))
            b--;
        if (b - a == 0 || b - a >= sizeof part)
            return 0; /* garbled: keep the proxy's own address */
        memcpy(part, xff + a, b - a);
        part[b - a] = '\0';
        if (hs_addr_parse(part, out) != 0)
            return 0;
        if (!trusted_proxy(n, out))
            return 0;
        end = start > 0 ? start - 1 : 0;
    }
    return 0;
}

/* The statuses a node gives, in HS_CODE_SLOTS' order (then the rest, then
 * answers given later). */
static const unsigned codes[] = {200, 400, 401, 403, 404, 405, 413, 500, 503};

const char *hs_route_name(size_t i)
{
    return i < sizeof routes / sizeof *routes ? routes[i].path : "other";
}

const char *hs_code_name(size_t i)
{
    static const char *const names[] = {"200", "400", "401", "403",   "404",     "405",
                                        "413", "500", "503", "other", "deferred"};
    return i < sizeof names / sizeof *names ? names[i] : "other";
}

_Static_assert(sizeof routes / sizeof *routes + 1 == HS_ROUTE_SLOTS, "a slot per route");
_Static_assert(sizeof codes / sizeof *codes + 2 == HS_CODE_SLOTS, "a slot per code");

void hs_routes_handle(void *ud, const hs_http_request *req, hs_http_response *resp)
{
    hs_node *n = ud;
    size_t r = 0, c = 0;

    hs_node_event_begin(n);
    n->rx_src_ok = source_of(n, req, n->rx_src) == 0;
    dispatch(n, req, resp);
    n->rx_src_ok = 0;
    /* By route (a path no route has counts as "other": never the path
     * itself, which is anyone's to choose) and status. */
    while (r < sizeof routes / sizeof *routes && strcmp(req->path, routes[r].path) != 0)
        r++;
    if (resp->defer)
        c = HS_CODE_SLOTS - 1;
    else
        while (c < sizeof codes / sizeof *codes && codes[c] != resp->status)
            c++;
    n->stats.http[r][c]++;
    n->m.bytes_in += req->len;
    n->m.bytes_out += resp->len;
    hs_node_event_end(n);
}

static void dispatch(hs_node *n, const hs_http_request *req, hs_http_response *resp)
{
    const route *r = NULL;

    n->m.http_requests++;
    /* Another cluster's request (or one without our label) is refused:
     * two clusters sharing addresses never merge. Reads that change
     * nothing (read_only: /health, /state, /metrics, the dashboard, a
     * plain /peers) need no label: operators and browsers have none. */
    const char *label = hs_http_request_header(req, "X-Hearsay-Cluster");
    if (label ? !n->label[0] || strcmp(label, n->label) != 0 : n->label[0] && !read_only(req)) {
        n->m.http_wrong_cluster++;
        refuse(resp, 403,
               n->label[0]
                   ? "another cluster: this node's cluster_label differs (X-Hearsay-Cluster)"
                   : "another cluster: this node has no cluster_label");
        return;
    }
    /* Only GET /health and the dashboard's files are open to anyone in a
     * keyed cluster. */
    const char *body_unused, *type_unused;
    size_t len_unused;
    if (n->cfg.security >= HS_SECURITY_CLUSTER &&
        !(strcmp(req->method, "GET") == 0 &&
          (strcmp(req->path, "/health") == 0 ||
           hs_ui_asset(req->path, &body_unused, &len_unused, &type_unused))) &&
        !authenticated(n, req, resp))
        return;
    if (n->n_blocked && hs_node_is_blocked(n, hs_http_request_header(req, "X-Hearsay-From"))) {
        n->m.http_blocked++;
        refuse(resp, 403, "this node has banned yours");
        return;
    }
    /* A graylisted peer (score.h) is refused all but /health. */
    if (!(strcmp(req->method, "GET") == 0 && strcmp(req->path, "/health") == 0) &&
        hs_score_graylisted(n, hs_http_request_header(req, "X-Hearsay-From"))) {
        n->m.http_graylisted++;
        refuse(resp, 403, "graylisted: this node refused too much of your traffic (scores)");
        return;
    }
    hs_membership_heard_from(n, hs_http_request_header(req, "X-Hearsay-From"));
    for (size_t i = 0; i < sizeof routes / sizeof *routes; i++)
        if (strcmp(req->path, routes[i].path) == 0)
            r = &routes[i];
    if (!r) {
        n->m.http_not_found++;
        refuse(resp, 404,
               "no such endpoint: try /gossip, /peers, /state, /health, /digest, "
               "/fetch, /probe, /ping, /query, /metrics or /ui");
        return;
    }
    if (strcmp(req->method, r->method) != 0) {
        n->m.http_bad_method++;
        resp->allow = r->method;
        refuse(resp, 405,
               strcmp(r->method, "POST") == 0 ? "this endpoint takes POST"
                                              : "this endpoint takes GET");
        return;
    }
    if (req->too_large && strcmp(r->method, "GET") == 0) {
        n->m.http_too_large++;
        refuse(resp, 413, "a GET takes no body");
        return;
    }
    if (strcmp(r->path, "/gossip") == 0)
        gossip(n, req, resp);
    else if (strcmp(r->path, "/digest") == 0)
        antientropy(n, req, resp, 0);
    else if (strcmp(r->path, "/fetch") == 0)
        antientropy(n, req, resp, 1);
    else if (strcmp(r->path, "/probe") == 0)
        probe_for(n, req, resp);
    else if (strcmp(r->path, "/query") == 0)
        query_response(n, req, resp);
    else if (strcmp(r->path, "/metrics") == 0)
        prometheus(n, resp);
    else if (strcmp(r->path, "/ui/cluster") == 0)
        hs_view_request(n, req->token, resp);
    else if (strncmp(r->path, "/ui", 3) == 0)
        ui(resp, r->path);
    else if (strcmp(r->path, "/ping") == 0)
        ping(n, req, resp);
    else if (strcmp(r->path, "/peers") == 0)
        peers(n, req, resp);
    else if (strcmp(r->path, "/state") == 0)
        answer(resp, 200, hs_node_state_json(n));
    else
        health(n, req, resp);
}
