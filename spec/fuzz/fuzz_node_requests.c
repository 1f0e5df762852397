/*
 * fuzz_node_requests.c -- a node's endpoints and the answers to its own
 * requests: anti-entropy digests and fetches (core/proto/antientropy.c), lazy
 * offers (core/proto/lazypush.c), /probe, /peers?sample=k&url=U, /gossip
 * (core/proto/routes.c), and what peers answer to its probes, peer exchanges,
 * digests, fetches, offers and pushes (core/proto/membership.c, gossip.c).
 *
 * The input is a script of records, each starting at a line "> ":
 *
 *   > POST /digest peer-a        a request (method, target, optional
 *   {"ids": [...], ...}          X-Hearsay-From), its body below
 *   > ANSWER 200                 the answer to the node's oldest request
 *   {"missing": [...], ...}      still waiting (status, then the body)
 *   > FAIL                       that request fails (no answer)
 *   > SKIP                       the oldest request goes to the back
 *   > TICK ae                    a timer fires: ae, exchange, probe,
 *                                announce, maintain, bootstrap, flush
 *   > WAIT 6                     the node's clock moves on 6 s, and what is
 *                                due by then runs (the clock stands
 *                                still otherwise: node_harness.h)
 *   > SIGNED POST /digest peer-a   a request signed now with the cluster
 *                                key (X-Hearsay-Auth, core/proto/auth.c)
 *   > REPLAY                     the last signed request, again
 *
 *   > ORIGINATE writer peer-a    POST /gossip of a message originated
 *   {"message_type": "state_update", "payload": {...},
 *    "timestamp": 1760000000.5, "ttl": 3}
 *                                and signed by writer, member or self
 *                                (node_harness.h's keys), its id made from
 *                                its content; signed with the cluster key
 *                                too when the node has one
 *
 * Lines "@Name: value" after a request's first line are its headers
 * (X-Hearsay-Auth, say). An input that starts with "> CLUSTER" runs a
 * node in a keyed cluster, where every request but GET /health is
 * authenticated first; one that starts with "> SIGNED-MODE", a node in
 * security "signed", which takes only messages their origin signed (and
 * a state_update only from the writer): the fuzzer reaches past the
 * signature check with ORIGINATE, and tries forged ones with the rest.
 *
 * on the node of node_harness.h. Every answer the node gives, at once or
 * deferred, must be JSON with a status it may give -- but what says it is
 * something else: the dashboard's files and /metrics' text, each with its
 * content type -- everything it posts must be JSON, and every envelope it
 * pushes valid to a node like it.
 */
#include <string.h>

#include "auth.h"
#include "sim/memnet.h"
#include "identity.h"
#include "sign.h"
#include "fuzz.h"
#include "node_harness.h"

#define MAX_RECORDS 64

static void check_answer(unsigned status, const char *body, size_t len)
{
    FUZZ_CHECK(status == 200 || status == 400 || status == 401 || status == 403 || status == 404 ||
                   status == 405 || status == 413 || status == 503,
               "a status the node may give");
    FUZZ_CHECK(body, "an answer has a body");
    json_t *j = json_loadb(body, len, JSON_DECODE_ANY, NULL);
    FUZZ_CHECK(json_is_object(j) || json_is_array(j), "the answer is JSON");
    json_decref(j);
}

/* Every envelope of a body posted to /gossip is valid to a node like ours. */
static void check_envelopes(const json_t *j)
{
    static const hs_envelope_limits lim = {64, 8};
    const char *why;
    hs_envelope env;

    if (json_is_array(j)) {
        for (size_t i = 0; i < json_array_size(j); i++)
            check_envelopes(json_array_get(j, i));
        return;
    }
    FUZZ_CHECK(hs_envelope_parse(j, &lim, &env, &why) == HS_OK,
               "an envelope the node sends is valid to the next node");
    hs_envelope_clear(&env);
}

/* What the node sends: GETs without a body, POSTs of JSON. */
static void on_request(void *ud, const hs_memnet_request *r)
{
    (void)ud;
    if (strcmp(r->method, "POST") != 0) {
        FUZZ_CHECK(strcmp(r->method, "GET") == 0 && r->len == 0, "a GET without a body");
        return;
    }
    json_t *j = json_loadb(r->body, r->len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
    FUZZ_CHECK(json_is_object(j) || json_is_array(j), "what the node posts is JSON");
    /* A POST to a peer's /gossip: the peer's base URL may have a path of
     * its own, "/gossip" too (a shuffle's asker named
     * http://127/gossip, and its digest went to .../gossip/digest: input
     * gossip_in_base_url), so the request's own endpoint is the last one. */
    size_t ul = strlen(r->url);
    if (ul >= 7 && strcmp(r->url + ul - 7, "/gossip") == 0)
        check_envelopes(j);
    json_decref(j);
}

static void on_deferred(void *ud, uint64_t token, unsigned status, const char *body, size_t len)
{
    (void)token;
    (void)ud;
    check_answer(status, body, len);
}

/* The words of a record's first line: up to 4, NUL-terminated in buf. */
static size_t words(const char *line, size_t n, char *buf, size_t cap, const char **w)
{
    size_t k = 0;

    if (n >= cap)
        n = cap - 1;
    memcpy(buf, line, n);
    buf[n] = '\0';
    for (char *p = buf; *p && k < 4;) {
        while (*p == ' ')
            *p++ = '\0';
        if (!*p)
            break;
        w[k++] = p;
        while (*p && *p != ' ')
            p++;
    }
    return k;
}

static void tick(hs_node *n, const char *what)
{
    if (strcmp(what, "ae") == 0)
        hs_ae_round(n);
    else if (strcmp(what, "exchange") == 0)
        hs_membership_exchange(n);
    else if (strcmp(what, "probe") == 0)
        (void)hs_membership_probe_next(n);
    else if (strcmp(what, "announce") == 0)
        hs_membership_announce(n, 0);
    else if (strcmp(what, "maintain") == 0)
        hs_membership_maintain(n);
    else if (strcmp(what, "bootstrap") == 0)
        hs_membership_bootstrap(n);
    else if (strcmp(what, "flush") == 0)
        hs_push_flush(n);
}

#define MAX_HEADERS 8

/* FUZZ_VERBOSE=1: each request and its answer on stderr (for writing seeds). */
static int verbose;

/* A request as served, kept for REPLAY when it was signed. */
typedef struct served {
    char method[32], target[512], from[160], auth[HS_AUTH_VALUE_MAX + 32];
    int has_from, signed_;
    char *body;
    size_t len;
} served;

static void serve(hs_node *n, const char *method, const char *target, const char *from,
                  const char *const *headers, size_t nh, const char *body, size_t len)
{
    hs_http_response resp;

    hs_memnet_server_serve(n->server, method, target, from, headers, nh, body, len, &resp);
    if (verbose)
        fprintf(stderr, "%s %s -> %u %.*s\n", method, target, resp.status, (int)resp.len,
                resp.body ? resp.body : "");
    if (!resp.defer && resp.content_type) {
        /* Not JSON, and says so: a page, its files, Prometheus's text. */
        FUZZ_CHECK(resp.status == 200 && resp.body && resp.len > 0, "a file is a 200 with a body");
        FUZZ_CHECK(strncmp(resp.content_type, "text/", 5) == 0 ||
                       strcmp(resp.content_type, "image/svg+xml") == 0,
                   "a content type the node gives");
    } else if (!resp.defer) {
        check_answer(resp.status, resp.body, resp.len);
    }
    free(resp.body);
}

/* Serves a request signed now with the cluster key, as a member would: it
 * gets past authentication (in a keyed cluster) to the routes. Kept in
 * *last for REPLAY. */
static void serve_signed(hs_node *n, const char *method, const char *target, const char *from,
                         const char **headers, size_t nh, const char *body, size_t blen,
                         served *last)
{
    char value[HS_AUTH_VALUE_MAX + 1];
    int vl = hs_auth_sign(n->auth, method, target, strlen(target), from, body, blen,
                          (int64_t)(hs_node_now(n) * 1000), value, sizeof value);
    char *copy = malloc(blen + 1);

    if (vl < 0 || !copy) {
        free(copy);
        return;
    }
    snprintf(last->method, sizeof last->method, "%s", method);
    snprintf(last->target, sizeof last->target, "%s", target);
    snprintf(last->from, sizeof last->from, "%s", from ? from : "");
    snprintf(last->auth, sizeof last->auth, "%s: %s", HS_AUTH_HEADER, value);
    last->has_from = from != NULL;
    free(last->body);
    memcpy(copy, body, blen);
    last->body = copy;
    last->len = blen;
    last->signed_ = 1;
    headers[nh++] = last->auth;
    serve(n, method, target, from, headers, nh, body, blen);
}

/* ORIGINATE who [from]: the message the body describes, originated and
 * signed by who (writer, member or self), posted to /gossip. */
static void originate(hs_node *n, const char *who, const char *from, const char *body, size_t blen,
                      served *last)
{
    const char *seed = strcmp(who, "writer") == 0   ? HARNESS_WRITER_SEED
                       : strcmp(who, "member") == 0 ? HARNESS_MEMBER_SEED
                       : strcmp(who, "self") == 0   ? HARNESS_NODE_SEED
                                                    : NULL;
    json_t *j = seed ? json_loadb(body, blen, 0, NULL) : NULL;
    const json_t *type = json_object_get(j, "message_type"), *ts = json_object_get(j, "timestamp"),
                 *ttl = json_object_get(j, "ttl");
    json_t *payload = json_object_get(j, "payload");
    hs_identity *id = NULL;
    hs_envelope env;
    json_t *wire;
    char *text;
    const char *headers[1];

    if (!json_is_string(type) || !payload || hs_identity_new(seed, &id) != HS_OK) {
        json_decref(j);
        return;
    }
    if (hs_envelope_make(&env, json_string_value(type), payload,
                         json_is_number(ts) ? json_number_value(ts) : hs_node_now(n),
                         json_is_integer(ttl) ? (unsigned)json_integer_value(ttl) & 0xffff : 3,
                         hs_identity_public(id)) == HS_OK) {
        if (hs_sign_envelope(id, &env) == HS_OK && (wire = hs_envelope_to_json(&env))) {
            if ((text = json_dumps(wire, JSON_COMPACT))) {
                if (n->cfg.security >= HS_SECURITY_CLUSTER)
                    serve_signed(n, "POST", "/gossip", from, headers, 0, text, strlen(text), last);
                else
                    serve(n, "POST", "/gossip", from, headers, 0, text, strlen(text));
                free(text);
            }
            json_decref(wire);
        }
        hs_envelope_clear(&env);
    }
    hs_identity_free(id);
    json_decref(j);
}

static void run_record(hs_node *n, const char *rec, size_t len, served *last)
{
    const char *nl = memchr(rec, '\n', len);
    size_t head = nl ? (size_t)(nl - rec) : len;
    const char *body = nl ? nl + 1 : rec + len, *end = rec + len;
    char buf[512], hbuf[MAX_HEADERS][256];
    const char *w[4] = {NULL, NULL, NULL, NULL}, *headers[MAX_HEADERS + 1];
    size_t k = words(rec, head, buf, sizeof buf, w), nh = 0;

    /* Header lines ("@Name: value") come before the body. */
    while (body < end && *body == '@' && nh < MAX_HEADERS) {
        const char *eol = memchr(body, '\n', (size_t)(end - body));
        size_t hl = (size_t)((eol ? eol : end) - body - 1);
        if (hl >= sizeof hbuf[nh])
            hl = sizeof hbuf[nh] - 1;
        memcpy(hbuf[nh], body + 1, hl);
        hbuf[nh][hl] = '\0';
        headers[nh] = hbuf[nh];
        nh++;
        body = eol ? eol + 1 : end;
    }
    size_t blen = (size_t)(end - body);
    if (k == 0)
        return;
    if (strcmp(w[0], "ANSWER") == 0) {
        long status = k > 1 ? strtol(w[1], NULL, 10) : 200;
        hs_memnet_client_answer(n->client, HS_OK, status, body, blen);
    } else if (strcmp(w[0], "FAIL") == 0) {
        hs_memnet_client_answer(n->client, HS_EIO, 0, "", 0);
    } else if (strcmp(w[0], "SKIP") == 0) {
        hs_memnet_client_rotate(n->client);
    } else if (strcmp(w[0], "TICK") == 0) {
        if (k > 1)
            tick(n, w[1]);
    } else if (strcmp(w[0], "WAIT") == 0) {
        /* Seconds, up to a day at a time: suspicions and deaths time out,
         * the seen-cache and the auth window expire. */
        double s = k > 1 ? strtod(w[1], NULL) : 1;
        if (s > 0 && s <= 86400) {
            harness_advance(s);
            hs_node_run_due(n); /* the maintenance tick, flushes, offers */
        }
    } else if (strcmp(w[0], "REPLAY") == 0) {
        /* The last signed request again, header and all: a replay. */
        if (last->signed_) {
            const char *h[1] = {last->auth};
            serve(n, last->method, last->target, last->has_from ? last->from : NULL, h, 1,
                  last->body, last->len);
        }
    } else if (strcmp(w[0], "SIGNED") == 0) {
        if (k >= 3 && n->auth)
            serve_signed(n, w[1], w[2], k > 3 ? w[3] : NULL, headers, nh, body, blen, last);
    } else if (strcmp(w[0], "ORIGINATE") == 0) {
        if (k >= 2)
            originate(n, w[1], k > 2 ? w[2] : NULL, body, blen, last);
    } else if (k > 1) {
        serve(n, w[0], w[1], k > 2 ? w[2] : NULL, headers, nh, body, blen);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uv_loop_t loop;
    static int ready;
    const char *text = (const char *)data, *end = text + size;
    size_t records = 0;
    served last = {0};

    if (!ready) {
        uv_loop_init(&loop);
        verbose = getenv("FUZZ_VERBOSE") != NULL;
        ready = 1;
    }
    /* "> CLUSTER" first: the node is in a keyed cluster; "> SIGNED-MODE":
     * in security "signed". */
    int mode = size >= 10 && memcmp(text, "> CLUSTER\n", 10) == 0       ? HARNESS_CLUSTER
               : size >= 14 && memcmp(text, "> SIGNED-MODE\n", 14) == 0 ? HARNESS_SIGNED
                                                                        : HARNESS_OPEN;
    hs_node *n = harness_node(&loop, mode);
    FUZZ_CHECK(n, "the harness starts");
    hs_memnet_server_observe(n->server, on_deferred, NULL);
    hs_memnet_client_observe(n->client, on_request, NULL);

    /* Records start at "> " at the start of the input or of a line. */
    const char *at = size >= 2 && memcmp(text, "> ", 2) == 0 ? text : NULL;
    while (at && records++ < MAX_RECORDS) {
        const char *start = at + 2, *next = NULL;
        for (const char *p = start; p + 3 <= end; p++) {
            p = memchr(p, '\n', (size_t)(end - p));
            if (!p || p + 3 > end)
                break;
            if (p[1] == '>' && p[2] == ' ') {
                next = p + 1;
                break;
            }
        }
        /* The body ends before the newline that ends the record. */
        run_record(n, start, (size_t)((next ? next - 1 : end) - start), &last);
        harness_settle(&loop);
        at = next;
    }
    harness_close(&loop, n);
    free(last.body);
    return 0;
}
