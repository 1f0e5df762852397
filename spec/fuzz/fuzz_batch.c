/*
 * fuzz_batch.c -- POST /gossip bodies, one envelope or a batch (a JSON
 * array of them), through a whole node: the fast path that scans and
 * splits the text (hs_gossip_receive_text, core/proto/gossip.c) against the
 * jansson path (hs_gossip_receive_body) on a twin node.
 *
 * Node A is served the body as libmicrohttpd would hand it over (routes.c:
 * the fast path, and jansson when it declines); node B, the same node in
 * the same state, gets jansson's tree of it directly. Then the two must
 * agree on everything: the answer (status and bytes), the counters, the
 * bytes kept of each envelope for anti-entropy (the raw slice with ttl 0)
 * and every request the two send on (forwards, batched per peer, and lazy
 * offers), as JSON, but for what the node originates itself (its clock
 * is in it). Every envelope a node forwards must be one its own
 * parser accepts, so that the next node does not refuse it. The twins
 * read the harness's clock, which stands still, so that a busy machine
 * cannot make them decide apart (FUZZ_STALL_MS below).
 */
#include <stdlib.h>
#include <string.h>

#include "sim/memnet.h"
#include "fuzz.h"
#include "hash.h"
#include "node_harness.h"

#define OUTBOX_MAX 256

typedef struct sent {
    char *method, *url, *body;
    size_t len;
} sent;

typedef struct outbox {
    sent v[OUTBOX_MAX];
    size_t n;
} outbox;

static void record(void *ud, const hs_memnet_request *r)
{
    outbox *o = ud;
    sent *s;

    if (o->n == OUTBOX_MAX)
        return;
    s = &o->v[o->n++];
    s->method = strdup(r->method);
    s->url = strdup(r->url);
    s->body = malloc(r->len + 1);
    memcpy(s->body, r->body ? r->body : "", r->len);
    s->body[r->len] = '\0';
    s->len = r->len;
}

static void outbox_free(outbox *o)
{
    for (size_t i = 0; i < o->n; i++) {
        free(o->v[i].method);
        free(o->v[i].url);
        free(o->v[i].body);
    }
}

/* A timestamp is written as it came (the scanned text) or as jansson
 * prints a real: the same number either way, compared as a real. */
static void normalize(json_t *j)
{
    if (json_is_array(j)) {
        for (size_t i = 0; i < json_array_size(j); i++)
            normalize(json_array_get(j, i));
    } else if (json_is_number(json_object_get(j, "timestamp"))) {
        json_object_set_new(j, "timestamp",
                            json_real(json_number_value(json_object_get(j, "timestamp"))));
    }
}

/* Every envelope of a forwarded body is valid to a node like ours. */
static void check_forwarded(const json_t *j)
{
    static const hs_envelope_limits lim = {64, 8};
    const char *why;
    hs_envelope env;

    if (json_is_array(j)) {
        for (size_t i = 0; i < json_array_size(j); i++)
            check_forwarded(json_array_get(j, i));
        return;
    }
    FUZZ_CHECK(hs_envelope_parse(j, &lim, &env, &why) == HS_OK,
               "a forwarded envelope is valid to the next node");
    hs_envelope_clear(&env);
}

/* Envelopes the node originates itself (a refutation of a suspicion of
 * it, say) carry its clock: their ids, timestamps and incarnations differ
 * between the twins by the microseconds between them. Only that one was
 * sent is compared. */
static json_t *mask_own(json_t *j)
{
    if (json_is_array(j)) {
        for (size_t i = 0; i < json_array_size(j); i++)
            json_array_set_new(j, i, mask_own(json_incref(json_array_get(j, i))));
        return j;
    }
    const char *origin = json_string_value(json_object_get(j, "origin_peer"));
    if (origin && strcmp(origin, "fuzz-node") == 0) {
        json_decref(j);
        return json_string("our own");
    }
    return j;
}

static void same_outboxes(const outbox *a, const outbox *b)
{
    FUZZ_CHECK(a->n == b->n, "both paths send as many requests");
    for (size_t i = 0; i < a->n; i++) {
        const sent *x = &a->v[i], *y = &b->v[i];
        FUZZ_CHECK(strcmp(x->method, y->method) == 0 && strcmp(x->url, y->url) == 0,
                   "both paths send to the same peers");
        if (strcmp(x->method, "POST") != 0) {
            FUZZ_CHECK(x->len == y->len && memcmp(x->body, y->body, x->len) == 0,
                       "both paths ask the same");
            continue;
        }
        json_t *jx = json_loadb(x->body, x->len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
        json_t *jy = json_loadb(y->body, y->len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
        FUZZ_CHECK(jx && jy, "what a node posts is JSON");
        if (strstr(x->url, "/gossip")) {
            check_forwarded(jx);
            check_forwarded(jy);
            normalize(jx);
            normalize(jy);
            jx = mask_own(jx);
            jy = mask_own(jy);
        }
        if (!json_equal(jx, jy))
            fprintf(stderr, "%s %s:\n fast path: %.*s\n jansson:   %.*s\n", x->method, x->url,
                    (int)x->len, x->body, (int)y->len, y->body);
        FUZZ_CHECK(json_equal(jx, jy), "both paths send the same");
        json_decref(jx);
        json_decref(jy);
    }
}

/* The bytes each node kept of the envelope j names (if any). */
static void same_kept(hs_node *a, hs_node *b, const json_t *j)
{
    const char *hex = json_string_value(json_object_get(j, "message_id"));
    uint8_t bin[32];
    size_t la = 0, lb = 0;

    if (!hex || hs_hash_from_hex(hex, bin) != HS_OK)
        return;
    const char *ka = hs_seen_body(a->seen, bin, &la), *kb = hs_seen_body(b->seen, bin, &lb);
    FUZZ_CHECK((!ka && !kb) || (ka && kb && la == lb && memcmp(ka, kb, la) == 0),
               "both paths keep the same bytes");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uv_loop_t loop;
    static int ready;
    static unsigned stall_ms;
    const char *text = (const char *)data;
    outbox oa = {0}, ob = {0};
    hs_http_response ra;

    if (!ready) {
        uv_loop_init(&loop);
        const char *stall = getenv("FUZZ_STALL_MS");
        stall_ms = stall ? (unsigned)strtoul(stall, NULL, 10) : 0;
        ready = 1;
    }
    hs_node *a = harness_node(&loop, 0), *b = harness_node(&loop, 0);
    FUZZ_CHECK(a && b, "the harness starts");
    hs_memnet_client_observe(a->client, record, &oa);
    hs_memnet_client_observe(b->client, record, &ob);

    hs_memnet_server_serve(a->server, "POST", "/gossip", "peer-a", NULL, 0, text, size, &ra);
    FUZZ_CHECK(!ra.defer && ra.body, "POST /gossip answers at once");
    /* FUZZ_STALL_MS: the process stalls between the twins, as on a busy
     * machine; they must agree all the same (ctest fuzz_batch_stalled). */
    if (stall_ms)
        uv_sleep(stall_ms);
    json_t *answer = json_loadb(ra.body, ra.len, 0, NULL);
    FUZZ_CHECK(json_is_object(answer), "the answer is a JSON object");
    json_decref(answer);

    json_t *body = size && size <= a->cfg.max_body
                       ? json_loadb(text, size, JSON_REJECT_DUPLICATES, NULL)
                       : NULL;
    if (!body) {
        if (!(ra.status == 400 || ra.status == 413))
            fprintf(stderr, "answer %u: %.*s\n", ra.status, (int)ra.len, ra.body);
        FUZZ_CHECK(ra.status == 400 || ra.status == 413, "what jansson refuses is refused");
    } else {
        unsigned status = 0;
        size_t len = 0;
        char *tb = hs_gossip_receive_body(b, body, text, size, "peer-a", 1, &status, &len);
        FUZZ_CHECK(tb, "the jansson path answers");
        FUZZ_CHECK(status == ra.status && len == ra.len && memcmp(tb, ra.body, len) == 0,
                   "both paths answer the same");
        free(tb);
        FUZZ_CHECK(a->m.messages_received == b->m.messages_received &&
                       a->m.messages_duplicate == b->m.messages_duplicate &&
                       a->m.messages_invalid == b->m.messages_invalid &&
                       a->m.messages_expired == b->m.messages_expired &&
                       a->m.lazy_offered == b->m.lazy_offered &&
                       a->m.send_errors == b->m.send_errors,
                   "both paths count the same");
        if (json_is_array(body))
            for (size_t i = 0; i < json_array_size(body); i++)
                same_kept(a, b, json_array_get(body, i));
        else
            same_kept(a, b, body);
        harness_settle(&loop);
        same_outboxes(&oa, &ob);
    }
    json_decref(body);
    free(ra.body);
    harness_close(&loop, a);
    harness_close(&loop, b);
    outbox_free(&oa);
    outbox_free(&ob);
    return 0;
}
