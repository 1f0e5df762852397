/*
 * routes.c -- the node's HTTP endpoints: POST /gossip, GET /peers, /state,
 * /health. Every answer is JSON; every refusal says why and is counted.
 */
#include <stdlib.h>
#include <string.h>

#include "node.h"

static void answer(hs_http_response *resp, unsigned status, json_t *body)
{
    resp->status = status;
    resp->body = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!resp->body) {
        resp->status = 500;
        resp->body = strdup("{\"status\":\"error\",\"error\":\"out of memory\"}");
    }
    resp->len = resp->body ? strlen(resp->body) : 0;
}

static void refuse(hs_http_response *resp, unsigned status, const char *reason)
{
    answer(resp, status, json_pack("{s:s, s:s}", "status", "error", "error", reason));
}

static void gossip(hs_node *n, const hs_http_request *req, hs_http_response *resp)
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

    answer(resp, 200, hs_node_peers_sample_json(n, k));
    if (k && from && url && hs_peers_valid_id(from) && hs_peers_valid_url(url))
        hs_membership_learn(n, from, url, NULL, hs_node_now(), 1.0);
}

/* POST /digest and /fetch: anti-entropy between hearsay nodes. */
static void antientropy(hs_node *n, const hs_http_request *req, hs_http_response *resp, int fetch)
{
    json_t *body;
    unsigned status;

    if (req->too_large) {
        n->m.http_too_large++;
        refuse(resp, 413, "body exceeds max_body");
        return;
    }
    body = req->body ? json_loadb(req->body, req->len, 0, NULL) : NULL;
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
    } else {
        json_t *ans =
            hs_ae_digest_answer(n, body, hs_http_request_header(req, "X-Hearsay-From"), &status);
        answer(resp, status, ans);
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

typedef struct route {
    const char *path;
    const char *method;
} route;

static const route routes[] = {
    {"/gossip", "POST"}, {"/digest", "POST"}, {"/fetch", "POST"}, {"/probe", "POST"},
    {"/ping", "GET"},    {"/peers", "GET"},   {"/state", "GET"},  {"/health", "GET"},
};

void hs_routes_handle(void *ud, const hs_http_request *req, hs_http_response *resp)
{
    hs_node *n = ud;
    const route *r = NULL;

    n->m.http_requests++;
    if (n->n_blocked && hs_node_is_blocked(n, hs_http_request_header(req, "X-Hearsay-From"))) {
        n->m.http_blocked++;
        refuse(resp, 403, "this node has banned yours");
        return;
    }
    for (size_t i = 0; i < sizeof routes / sizeof *routes; i++)
        if (strcmp(req->path, routes[i].path) == 0)
            r = &routes[i];
    if (!r) {
        n->m.http_not_found++;
        refuse(resp, 404,
               "no such endpoint: try /gossip, /peers, /state, /health, /digest, "
               "/fetch, /probe or /ping");
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
    else if (strcmp(r->path, "/ping") == 0)
        answer(resp, 200,
               json_pack("{s:s, s:I, s:o}", "node_id", n->id, "incarnation",
                         (json_int_t)n->incarnation, "features",
                         hs_peers_features_json(HS_FEAT_OURS)));
    else if (strcmp(r->path, "/peers") == 0)
        peers(n, req, resp);
    else if (strcmp(r->path, "/state") == 0)
        answer(resp, 200, hs_node_state_json(n));
    else
        answer(resp, 200, hs_node_health_json(n));
}
