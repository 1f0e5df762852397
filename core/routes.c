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
    json_t *body, *ans;
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
    body = json_loadb(req->body, req->len, JSON_REJECT_DUPLICATES, &jerr);
    if (!body) {
        n->m.http_bad_request++;
        n->m.messages_invalid++;
        snprintf(reason, sizeof reason, "malformed JSON at line %d column %d: %s", jerr.line,
                 jerr.column, jerr.text);
        refuse(resp, 400, reason);
        return;
    }
    ans = hs_gossip_receive_body(n, body, hs_http_request_header(req, "X-Hearsay-From"), &status);
    json_decref(body);
    if (status == 400)
        n->m.http_bad_request++;
    answer(resp, status, ans);
}

typedef struct route {
    const char *path;
    const char *method;
} route;

static const route routes[] = {
    {"/gossip", "POST"},
    {"/peers", "GET"},
    {"/state", "GET"},
    {"/health", "GET"},
};

void hs_routes_handle(void *ud, const hs_http_request *req, hs_http_response *resp)
{
    hs_node *n = ud;
    const route *r = NULL;

    n->m.http_requests++;
    for (size_t i = 0; i < sizeof routes / sizeof *routes; i++)
        if (strcmp(req->path, routes[i].path) == 0)
            r = &routes[i];
    if (!r) {
        n->m.http_not_found++;
        refuse(resp, 404, "no such endpoint: try /gossip, /peers, /state or /health");
        return;
    }
    if (strcmp(req->method, r->method) != 0) {
        n->m.http_bad_method++;
        resp->allow = r->method;
        refuse(resp, 405, strcmp(r->method, "POST") == 0 ? "this endpoint takes POST"
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
    else if (strcmp(r->path, "/peers") == 0)
        answer(resp, 200, hs_node_peers_json(n));
    else if (strcmp(r->path, "/state") == 0)
        answer(resp, 200, hs_node_state_json(n));
    else
        answer(resp, 200, hs_node_health_json(n));
}
