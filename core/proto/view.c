/*
 * view.c -- GET /ui/cluster: the cluster as this node can see it, for the
 * dashboard's graph -- its live hearsay peers and, for each, the peers
 * that peer lists (its GET /peers, asked now, 1 s at most). Gathered once
 * for every request that comes while it runs (at most VIEW_WAITERS), and
 * kept VIEW_FRESH seconds: a page that polls costs the peers a request
 * per VIEW_FRESH seconds, whoever asks.
 */
#include <stdlib.h>
#include <string.h>

#include "view.h"

#define VIEW_PEERS 32   /* peers asked */
#define VIEW_IDS 64     /* ids kept of each one's list */
#define VIEW_WAITERS 16 /* requests answered by one gathering */
#define VIEW_FRESH 5.0  /* s a gathering's answer is reused */

struct hs_view_gather {
    uint64_t waiters[VIEW_WAITERS];
    size_t n_waiters, pending;
    json_t *views; /* {peer id: [ids]} */
};

/* The answer's text from what was gathered, kept for VIEW_FRESH s. */
static const char *keep(hs_node *n, json_t *views)
{
    json_t *body =
        json_pack("{s:s, s:O, s:f}", "node", n->id, "views", views, "at", hs_node_now(n));
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;

    json_decref(body);
    free(n->view_text);
    n->view_text = text;
    n->view_at = hs_node_mono(n);
    return text;
}

static void answer_all(hs_node *n)
{
    hs_view_gather *g = n->view_gather;
    const char *text = keep(n, g->views);

    for (size_t i = 0; i < g->n_waiters; i++) {
        char *copy = text ? strdup(text) : NULL;
        hs_http_server_answer(n->server, g->waiters[i], copy ? 200 : 500, copy,
                              copy ? strlen(copy) : 0);
    }
    json_decref(g->views);
    free(g);
    n->view_gather = NULL;
}

/* e->peer's GET /peers. */
static void on_peers(hs_node *n, hs_pending *e, const hs_http_result *res)
{
    json_t *list, *ids;

    if (!n->view_gather)
        return;
    if (res->err == HS_OK && res->status == 200 &&
        (list = json_loadb(res->body, res->len, 0, NULL))) {
        if (json_is_array(list) && (ids = json_array())) {
            size_t i;
            json_t *entry;
            json_array_foreach(list, i, entry)
            {
                const char *id = json_string_value(json_object_get(entry, "peer_id"));
                if (json_array_size(ids) < VIEW_IDS && id && hs_peers_valid_id(id))
                    json_array_append_new(ids, json_string(id));
            }
            json_object_set_new(n->view_gather->views, e->peer, ids);
        }
        json_decref(list);
    }
    if (--n->view_gather->pending == 0)
        answer_all(n);
}

static const hs_pending_kind ask_kind = {HS_REQ_VIEW, on_peers, NULL, NULL};

void hs_view_request(hs_node *n, uint64_t token, hs_http_response *resp)
{
    hs_view_gather *g = n->view_gather;

    if (n->view_text && hs_node_mono(n) - n->view_at < VIEW_FRESH) {
        resp->status = 200;
        resp->body = strdup(n->view_text);
        resp->len = resp->body ? strlen(resp->body) : 0;
        if (!resp->body)
            resp->status = 500;
        return;
    }
    if (g) { /* one under way: its answer is this one's too */
        if (g->n_waiters == VIEW_WAITERS) {
            resp->status = 503;
            resp->body = hs_http_error_text("busy: try again", &resp->len);
            return;
        }
        g->waiters[g->n_waiters++] = token;
        resp->defer = 1;
        return;
    }
    if (!(g = calloc(1, sizeof *g)) || !(g->views = json_object())) {
        free(g);
        resp->status = 500;
        return;
    }
    n->view_gather = g; /* (the callbacks run later, never in the requests) */
    for (size_t i = 0; i < n->peers.n && g->pending < VIEW_PEERS; i++) {
        const hs_peer *p = n->peers.v[i];
        hs_pending *e;
        if (p->state == HS_PEER_DEAD || !hs_peer_usable(p) || !(p->features & HS_FEAT_AE) ||
            !(e = hs_pending_new(n, &ask_kind, p->id, p->url)))
            continue;
        if (hs_pending_send(e, "GET", "/peers", NULL, 0, 1.0) == HS_OK)
            g->pending++;
    }
    if (g->pending == 0) { /* nobody to ask: the answer is now */
        const char *text = keep(n, g->views);
        resp->body = text ? strdup(text) : NULL;
        resp->len = resp->body ? strlen(resp->body) : 0;
        resp->status = resp->body ? 200 : 500;
        json_decref(g->views);
        free(g);
        n->view_gather = NULL;
        return;
    }
    g->waiters[g->n_waiters++] = token;
    resp->defer = 1;
}

void hs_view_free(hs_node *n)
{
    if (n->view_gather) {
        json_decref(n->view_gather->views);
        free(n->view_gather);
        n->view_gather = NULL;
    }
    free(n->view_text);
    n->view_text = NULL;
}
