/*
 * query.c -- see query.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"
#include "hash.h"
#include "http_url.h"
#include "query.h"

/* A query of ours, waiting for responses. */
typedef struct hs_query {
    struct hs_query *next;
    char id[HS_QUERY_ID];
    char name[65];
    double start, deadline, last; /* monotonic s: asked, gives up, last response */
    size_t want;
    int listed;        /* the filter names its nodes: `expected` is exact */
    json_t *expected;  /* {id: true} the nodes it waits for */
    json_t *responded; /* {id: true} every node that responded */
    json_t *answers;   /* {id: answer} */
    json_t *errors;    /* {id: "why"} */
    size_t n_expected; /* of `expected`, how many have responded */
    size_t bytes;      /* of the responses taken */
    size_t duplicates;
    hs_query_cb cb;
    void *ud;
} hs_query;

/* The settling time after every expected node responded (query.h). */
#define SETTLE_MIN 0.05
/* What one query takes at most: responses, and bytes of them. */
#define HS_QUERY_MAX_RESPONSES 20000
#define HS_QUERY_MAX_BYTES (16u << 20)

/* Whether a request in p's name comes from another address than p's URL
 * names (only an address can be compared; a keyed cluster's members are
 * taken at their word). */
static int elsewhere(const hs_node *n, const hs_peer *p)
{
    uint8_t addr[16];
    hs_http_url u;

    if (!n->rx_src_ok || n->cfg.security >= HS_SECURITY_CLUSTER)
        return 0;
    return hs_http_url_parse(p->url, &u) == HS_OK && hs_addr_parse(u.host, addr) == 0 &&
           memcmp(addr, n->rx_src, 16) != 0;
}

static void query_free(hs_query *q)
{
    json_decref(q->expected);
    json_decref(q->responded);
    json_decref(q->answers);
    json_decref(q->errors);
    free(q);
}

/* Whether `tags` (a node's, may be NULL) hold every pair of `filter`. */
static int tags_match(const json_t *filter, const json_t *tags)
{
    const char *k;
    const json_t *v;

    if (!filter || json_object_size(filter) == 0)
        return 1;
    if (!tags)
        return 0;
    json_object_foreach((json_t *)filter, k, v)
    {
        if (!json_equal(json_object_get(tags, k), v))
            return 0;
    }
    return 1;
}

/* Whether `nodes` (a JSON list of ids, may be NULL) lets `id` in. */
static int listed(const json_t *nodes, const char *id)
{
    size_t i;
    const json_t *v;

    if (!nodes)
        return 1;
    json_array_foreach(nodes, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), id) == 0)
            return 1;
    }
    return 0;
}

/* Whether q has what it waits for: `want` answers, or a response from
 * every node it names. */
static int done_now(const hs_query *q)
{
    return (q->want && json_object_size(q->answers) >= q->want) ||
           (q->listed && q->n_expected == json_object_size(q->expected));
}

/* When q may end: now when done, else its deadline or the end of its
 * settling time. */
static double ends_at(const hs_query *q)
{
    if (done_now(q))
        return q->last;
    if (q->n_expected < json_object_size(q->expected) || q->listed)
        return q->deadline;
    double settle = (q->last - q->start) / 2;
    double at = q->last + (settle > SETTLE_MIN ? settle : SETTLE_MIN);
    return at < q->deadline ? at : q->deadline;
}

static void schedule(hs_node *n)
{
    double soonest = HS_NEVER;

    for (hs_query *q = n->queries; q; q = q->next) {
        double at = ends_at(q);
        if (soonest == HS_NEVER || at < soonest)
            soonest = at;
    }
    hs_node_after(n, HS_DUE_QUERY, soonest == HS_NEVER ? HS_NEVER : soonest - hs_node_mono(n));
}

/* Takes q off the node's list (where it may be anywhere: a query asked
 * from within a callback goes first). */
static void unlink_query(hs_node *n, hs_query *q)
{
    for (hs_query **pp = &n->queries; *pp; pp = &(*pp)->next)
        if (*pp == q) {
            *pp = q->next;
            return;
        }
}

/* Hands an unlinked q's result to its callback, and frees it; a node that
 * closed meanwhile (in an earlier callback) gives it NULL instead. The
 * callback may close the node. */
static void deliver(hs_node *n, hs_query *q, int timed_out)
{
    if (n->closing) {
        q->cb(q->ud, NULL);
        query_free(q);
        return;
    }
    memcpy(n->query_done[n->query_done_next++ % HS_QUERY_DONE], q->id, HS_QUERY_ID);
    json_t *r = json_pack("{s:s, s:s, s:O, s:O, s:I, s:I, s:I, s:I, s:b, s:f}", "id", q->id, "name",
                          q->name, "answers", q->answers, "errors", q->errors, "answered",
                          (json_int_t)json_object_size(q->answers), "acks",
                          (json_int_t)json_object_size(q->responded), "expected",
                          (json_int_t)json_object_size(q->expected), "duplicates",
                          (json_int_t)q->duplicates, "timed_out", timed_out, "elapsed",
                          hs_node_mono(n) - q->start);
    /* When the last response came: with every node answering, the time
     * to all answers (elapsed adds the settling time, query.h). */
    if (r)
        json_object_set_new(r, "last_response", json_real(q->last - q->start));
    /* Who responded at all (hearsay reachability compares it with the
     * members it knows). */
    json_t *who = r ? json_array() : NULL;
    const char *id;
    json_t *v;
    json_object_foreach(q->responded, id, v)
    {
        (void)v;
        if (who)
            json_array_append_new(who, json_string(id));
    }
    if (who)
        json_object_set_new(r, "responded", who);
    /* Out of memory, the callback still runs, with nothing in it. */
    if (!r)
        r = json_object();
    q->cb(q->ud, r);
    json_decref(r);
    query_free(q);
}

/* Ends q if it is complete; 1 when it ended. */
static int complete(hs_node *n, hs_query *q)
{
    if (!done_now(q))
        return 0;
    unlink_query(n, q);
    deliver(n, q, 0);
    return 1;
}

void hs_query_due(hs_node *n)
{
    double now = hs_node_mono(n) + 0.001;
    hs_query *due = NULL;

    /* Off the list first: a callback may ask again, or close the node
     * (which cancels what is still on the list). */
    for (hs_query **pp = &n->queries; *pp;) {
        hs_query *q = *pp;
        if (ends_at(q) <= now) {
            *pp = q->next;
            q->next = due;
            due = q;
        } else {
            pp = &q->next;
        }
    }
    while (due) {
        hs_query *q = due;
        due = q->next;
        deliver(n, q, !done_now(q) && (q->n_expected < json_object_size(q->expected) || q->listed));
    }
    if (!n->closing)
        schedule(n);
}

size_t hs_query_pending(const hs_node *n)
{
    size_t k = 0;

    for (const hs_query *q = n->queries; q; q = q->next)
        k++;
    return k;
}

void hs_query_cancel_all(hs_node *n)
{
    while (n->queries) {
        hs_query *q = n->queries;
        n->queries = q->next;
        q->cb(q->ud, NULL);
        query_free(q);
    }
}

/* Records one node's response: 0 new, 1 a duplicate. */
static int record(hs_node *n, hs_query *q, const char *node, const json_t *answer,
                  const char *error)
{
    if (json_object_get(q->responded, node)) {
        q->duplicates++;
        n->m.query_duplicates++;
        return 1;
    }
    json_object_set_new(q->responded, node, json_true());
    if (answer)
        json_object_set(q->answers, node, (json_t *)answer);
    if (error)
        json_object_set_new(q->errors, node, json_string(error));
    if (json_object_get(q->expected, node))
        q->n_expected++;
    q->last = hs_node_mono(n);
    return 0;
}

/* What this node answers to a query (or NULL); *error says why not when
 * it had an answer it may not send. */
static json_t *answer_of(hs_node *n, const char *name, const json_t *payload, const char *from,
                         const char **error)
{
    json_t *answer = NULL;
    char *text;

    *error = NULL;
    if (!n->hooks.on_query || !n->hooks.on_query(n->hooks.ud, n, name, payload, from, &answer) ||
        !answer)
        return NULL;
    text = json_dumps(answer, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text || strlen(text) > n->cfg.query_answer_max) {
        n->m.query_answers_refused++;
        *error = text ? "answer too large (query_answer_max)" : "out of memory";
        json_decref(answer);
        answer = NULL;
    }
    free(text);
    return answer;
}

hs_err hs_node_query(hs_node *n, const hs_query_opts *o, hs_query_cb cb, void *ud, char *id_out)
{
    uint8_t bin[16];
    hs_query *q;
    json_t *nodes = NULL, *payload;
    hs_err err;

    if (!n->started || n->closing)
        return HS_ESTATE;
    if (!o || !cb || !o->name || hs_message_type_check(o->name, strlen(o->name)) ||
        !(o->timeout >= 0) || o->timeout > 3600 || (o->tags && !hs_peers_valid_tags(o->tags)) ||
        o->n_nodes > 1024)
        return HS_EINVAL;
    if (!(q = calloc(1, sizeof *q)))
        return HS_ENOMEM;
    for (size_t i = 0; i < sizeof bin; i += 8) {
        uint64_t r = hs_rng_next(&n->rng);
        memcpy(bin + i, &r, 8);
    }
    hs_hash_to_hex(bin, sizeof bin, q->id);
    snprintf(q->name, sizeof q->name, "%s", o->name);
    q->start = q->last = hs_node_mono(n);
    q->deadline = q->start + (o->timeout > 0 ? o->timeout : n->cfg.query_timeout);
    q->want = o->want;
    q->listed = o->nodes != NULL;
    q->cb = cb;
    q->ud = ud;
    q->expected = json_object();
    q->responded = json_object();
    q->answers = json_object();
    q->errors = json_object();
    if (o->nodes && (nodes = json_array()))
        for (size_t i = 0; i < o->n_nodes; i++)
            if (!o->nodes[i] || !hs_peers_valid_id(o->nodes[i]) ||
                json_array_append_new(nodes, json_string(o->nodes[i])) != 0) {
                json_decref(nodes);
                query_free(q);
                return HS_EINVAL;
            }
    payload = json_pack("{s:s, s:s, s:s, s:O?, s:s, s:f}", "node_id", n->id, "id", q->id, "name",
                        q->name, "payload", o->payload ? o->payload : json_null(), "reply", n->url,
                        "timeout", q->deadline - q->start);
    if (!q->expected || !q->responded || !q->answers || !q->errors || !payload ||
        (o->nodes && !nodes)) {
        json_decref(nodes);
        json_decref(payload);
        query_free(q);
        return HS_ENOMEM;
    }
    if (o->tags)
        json_object_set(payload, "tags", (json_t *)o->tags);
    if (nodes)
        json_object_set(payload, "nodes", nodes);
    /* Whom we wait for: the nodes named, or the live ones we know that
     * match (ourselves included). */
    if (nodes) {
        for (size_t i = 0; i < json_array_size(nodes); i++)
            json_object_set_new(q->expected, json_string_value(json_array_get(nodes, i)),
                                json_true());
    } else {
        if (tags_match(o->tags, n->tags))
            json_object_set_new(q->expected, n->id, json_true());
        /* (Not a reference node, or any that does not do queries: only
         * peers that advertised hearsay's features.) */
        for (size_t i = 0; i < n->peers.n; i++) {
            const hs_peer *p = n->peers.v[i];
            if (p->state != HS_PEER_DEAD && hs_peer_usable(p) && (p->features & HS_FEAT_AE) &&
                tags_match(o->tags, p->tags))
                json_object_set_new(q->expected, p->id, json_true());
        }
    }
    q->next = n->queries;
    n->queries = q;
    if (id_out)
        memcpy(id_out, q->id, HS_QUERY_ID);
    n->m.queries_sent++;
    err = hs_gossip_broadcast(n, "hs.query", payload, n->cfg.ttl, 0, NULL);
    json_decref(payload);
    if (n->closing) {
        /* A hook closed the node while it gossiped: q was cancelled, its
         * callback has run (with NULL). */
        json_decref(nodes);
        return HS_OK;
    }
    if (err != HS_OK) {
        unlink_query(n, q);
        json_decref(nodes);
        query_free(q);
        return err;
    }
    /* We answer our own query like any node (a local call); named but
     * left out by the tags, we only acknowledge it, as others do. */
    if (listed(nodes, n->id)) {
        const char *error = NULL;
        json_t *answer =
            tags_match(o->tags, n->tags)
                ? answer_of(n, q->name, o->payload ? o->payload : json_null(), n->id, &error)
                : NULL;
        record(n, q, n->id, answer, error);
        json_decref(answer);
    }
    json_decref(nodes);
    schedule(n); /* (the callback never runs before this returns) */
    return HS_OK;
}

/* A response we sent: nothing waits for its answer. */
static void response_sent(hs_node *n, hs_pending *e, const hs_http_result *res)
{
    (void)n;
    (void)e;
    (void)res;
}

static const hs_pending_kind response_kind = {HS_REQ_QUERY, response_sent, NULL, NULL};

void hs_query_receive(hs_node *n, hs_envelope *env, int authentic)
{
    const json_t *p = hs_envelope_payload(env);
    const char *node_id = json_string_value(json_object_get(p, "node_id"));
    const char *id = json_string_value(json_object_get(p, "id"));
    const char *name = json_string_value(json_object_get(p, "name"));
    const char *reply = json_string_value(json_object_get(p, "reply"));
    const json_t *tags = json_object_get(p, "tags"), *nodes = json_object_get(p, "nodes");
    const json_t *payload = json_object_get(p, "payload");
    const hs_peer *origin;
    const char *error = NULL;
    hs_pending *e;
    json_t *answer = NULL, *body;
    char *text;
    int match;

    if (!node_id || !id || !name || !reply || strcmp(node_id, env->origin) != 0 ||
        strlen(id) != HS_QUERY_ID - 1 || hs_message_type_check(name, strlen(name)) ||
        !hs_peers_valid_url(reply) || (tags && !hs_peers_valid_tags(tags)) ||
        (nodes && !json_is_array(nodes)) || strcmp(node_id, n->id) == 0)
        return;
    /* Responses go only where the asker demonstrably wants them, or a
     * stranger could aim every node's response at a third party: to the
     * URL of a peer we know by that id (it answered our probe there), or,
     * in a keyed cluster, where a member asked in its own signed word. */
    origin = hs_peers_find(&n->peers, node_id);
    if (!(origin && hs_peer_usable(origin) && strcmp(origin->url, reply) == 0) &&
        !(authentic && n->cfg.security >= HS_SECURITY_CLUSTER)) {
        n->m.queries_refused++;
        return;
    }
    if (!hs_tokens_take(&n->query_tokens, hs_node_mono(n))) {
        n->m.queries_refused++;
        return;
    }
    match = tags_match(tags, n->tags) && listed(nodes, n->id);
    if (match)
        answer = answer_of(n, name, payload ? payload : json_null(), node_id, &error);
    body = json_pack("{s:s, s:s}", "id", id, "node", n->id);
    if (body && answer) {
        json_object_set_new(body, "answer", answer);
        n->m.query_answers++;
    } else {
        json_decref(answer);
    }
    if (body && !match)
        json_object_set_new(body, "filtered", json_true());
    if (body && error)
        json_object_set_new(body, "error", json_string(error));
    text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (text && (e = hs_pending_new(n, &response_kind, NULL, reply)))
        hs_pending_send(e, "POST", "/query", text, strlen(text), n->cfg.request_timeout);
    free(text);
}

json_t *hs_query_response(hs_node *n, const json_t *body, size_t body_len, const char *from,
                          unsigned *status)
{
    const char *id = json_string_value(json_object_get(body, "id"));
    const char *node = json_string_value(json_object_get(body, "node"));
    const char *error = json_string_value(json_object_get(body, "error"));
    const json_t *answer = json_object_get(body, "answer");
    const hs_peer *p;
    hs_query *q;

    *status = 400;
    if (!id || strlen(id) != HS_QUERY_ID - 1 || !node || !hs_peers_valid_id(node))
        return hs_http_error_json("expected {\"id\": ..., \"node\": ...}");
    /* A node speaks for itself, and, when we know it, from its address. */
    *status = 403;
    if (!from || strcmp(from, node) != 0 ||
        ((p = hs_peers_find(&n->peers, node)) && elsewhere(n, p)))
        return hs_http_error_json("a response comes from the node it names (X-Hearsay-From)");
    *status = 413;
    if (body_len > n->cfg.query_answer_max + 512 || (error && strlen(error) > 200)) {
        n->m.query_answers_refused++;
        return hs_http_error_json("the answer exceeds query_answer_max");
    }
    *status = 200;
    for (q = n->queries; q && strcmp(q->id, id) != 0; q = q->next)
        ;
    if (!q) {
        for (size_t i = 0; i < HS_QUERY_DONE; i++)
            if (strcmp(n->query_done[i], id) == 0) {
                n->m.query_late++;
                return json_pack("{s:s}", "status", "late");
            }
        *status = 404;
        return hs_http_error_json("no such query");
    }
    /* A query that named its nodes hears only from them; any query, from
     * at most HS_QUERY_MAX_RESPONSES nodes and HS_QUERY_MAX_BYTES of
     * answers: the ids are anyone's to make up. */
    if (q->listed && !json_object_get(q->expected, node)) {
        *status = 403;
        return hs_http_error_json("this query did not ask you");
    }
    if (!json_object_get(q->responded, node) &&
        (json_object_size(q->responded) >= HS_QUERY_MAX_RESPONSES ||
         q->bytes + body_len > HS_QUERY_MAX_BYTES)) {
        n->m.query_answers_refused++;
        *status = 503;
        return hs_http_error_json("this query has all the responses it takes");
    }
    n->m.query_responses++;
    if (record(n, q, node, answer, error))
        return json_pack("{s:s}", "status", "duplicate");
    q->bytes += body_len;
    if (!complete(n, q))
        schedule(n);
    return json_pack("{s:s}", "status", "ok");
}
