/*
 * snapshot.c -- what a node keeps across a restart (Serf's -snapshot and
 * -rejoin; README, Operations): the peers it knows, its incarnation,
 * tags and state, and the ids of the messages it saw lately, as one JSON
 * text whose "sha256" covers the rest, so that a torn or edited file is
 * told from a good one. The shell writes it atomically (hearsay run:
 * snapshot_file) and hands it back before the next start: the node then
 * rejoins through the peers it knew, without its bootstrap list, and a
 * message it had already taken is a duplicate, not a second delivery.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "hash.h"
#include "node.h"
#include "snapshot.h"

#define SNAPSHOT_VERSION 1
/* Message ids kept: the newest this many (a few MB of JSON at most). */
#define SNAPSHOT_IDS 20000
/* Peers kept: live ones first. */
#define SNAPSHOT_PEERS 1024

static void hex_sha256(const char *text, size_t len, char out[65])
{
    uint8_t d[SHA256_DIGEST_LENGTH];

    SHA256((const unsigned char *)text, len, d);
    hs_hash_to_hex(d, sizeof d, out);
}

typedef struct ids_ctx {
    json_t *list;
    size_t skip; /* the oldest, over SNAPSHOT_IDS */
    double since;
} ids_ctx;

static void add_id(void *ud, const uint8_t id[32], double t)
{
    ids_ctx *c = ud;
    char hex[65];

    if (c->skip) {
        c->skip--;
        return;
    }
    if (t < c->since)
        return;
    hs_hash_to_hex(id, 32, hex);
    json_array_append_new(c->list, json_pack("[s, f]", hex, t));
}

char *hs_node_snapshot(hs_node *n, size_t *len)
{
    json_t *peers = json_array(), *ids = json_array(), *body;
    char sum[65], *text, *out;
    size_t count = hs_seen_count(n->seen);
    ids_ctx c = {ids, count > SNAPSHOT_IDS ? count - SNAPSHOT_IDS : 0,
                 hs_node_now(n) - n->cfg.seen_ttl};

    for (int dead = 0; peers && dead < 2; dead++)
        for (size_t i = 0; i < n->peers.n && json_array_size(peers) < SNAPSHOT_PEERS; i++) {
            const hs_peer *p = n->peers.v[i];
            if ((p->state == HS_PEER_DEAD) == dead && hs_peer_usable(p))
                json_array_append_new(peers, json_pack("{s:s, s:s}", "id", p->id, "url", p->url));
        }
    if (ids)
        hs_seen_each(n->seen, add_id, &c);
    body = json_pack("{s:i, s:s, s:f, s:I, s:O?, s:{s:s, s:I}, s:o, s:o}", "version",
                     SNAPSHOT_VERSION, "node_id", n->id, "saved_at", hs_node_now(n), "incarnation",
                     (json_int_t)n->incarnation, "tags", n->tags, "state", "merkle_root",
                     n->merkle_root, "state_version", (json_int_t)n->state_version, "peers", peers,
                     "seen", ids);
    text = body ? json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(body);
    if (!text)
        return NULL;
    /* {"sha256": ..., "snapshot": <text>}: the sum of the exact bytes. */
    hex_sha256(text, strlen(text), sum);
    size_t need = strlen(text) + 100;
    if ((out = malloc(need)))
        *len = (size_t)snprintf(out, need, "{\"sha256\":\"%s\",\"snapshot\":%s}\n", sum, text);
    free(text);
    return out;
}

/* The snapshot's body (a new reference) once its sum holds, else NULL and
 * why. The body's bytes are found again in the text: the sum is of them. */
static json_t *verified(const char *text, size_t len, const char **why)
{
    static const char head[] = "{\"sha256\":\"";
    static const char mid[] = "\",\"snapshot\":";
    char sum[65];
    const char *body;
    size_t blen;

    *why = "not a snapshot (torn, or not written by hearsay)";
    if (len < sizeof head - 1 + 64 + sizeof mid - 1 + 2 ||
        memcmp(text, head, sizeof head - 1) != 0 ||
        memcmp(text + sizeof head - 1 + 64, mid, sizeof mid - 1) != 0)
        return NULL;
    body = text + sizeof head - 1 + 64 + sizeof mid - 1;
    blen = len - (size_t)(body - text);
    while (blen && (body[blen - 1] == '\n' || body[blen - 1] == ' '))
        blen--;
    if (!blen || body[blen - 1] != '}')
        return NULL;
    blen--; /* the outer object's brace */
    hex_sha256(body, blen, sum);
    if (memcmp(sum, text + sizeof head - 1, 64) != 0) {
        *why = "its checksum does not hold (torn or edited)";
        return NULL;
    }
    json_t *j = json_loadb(body, blen, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        *why = "its body is not JSON";
        return NULL;
    }
    return j;
}

hs_err hs_node_restore(hs_node *n, const char *text, size_t len, char *why, size_t cap)
{
    const char *reason = NULL;
    json_t *j, *v;
    size_t i;

#define FAIL(r)                                                                                    \
    do {                                                                                           \
        reason = (r);                                                                              \
        goto fail;                                                                                 \
    } while (0)
    if (n->started)
        return HS_ESTATE;
    if (!(j = verified(text, len, &reason)))
        goto fail_nojson;
    if (json_integer_value(json_object_get(j, "version")) != SNAPSHOT_VERSION)
        FAIL("another snapshot version");
    if (!json_is_string(json_object_get(j, "node_id")) ||
        strcmp(json_string_value(json_object_get(j, "node_id")), n->id) != 0)
        FAIL("another node's (its node_id is not this node's)");
    /* Tags: node.lua's win when it sets any (an operator's word). First,
     * so that running out of memory takes nothing from the snapshot. */
    v = json_object_get(j, "tags");
    if (!n->tags && hs_peers_valid_tags(v)) {
        if (!(n->tags = json_deep_copy(v))) {
            json_decref(j);
            return HS_ENOMEM;
        }
        n->cfg.tags = n->tags;
    }
    /* Our counters never go back: the last incarnation and state win. */
    v = json_object_get(j, "incarnation");
    if (json_is_integer(v) && (uint64_t)json_integer_value(v) < HS_COUNTER_MAX &&
        (uint64_t)json_integer_value(v) >= n->incarnation)
        n->incarnation = (uint64_t)json_integer_value(v) + 1;
    v = json_object_get(j, "state");
    const json_t *root = json_object_get(v, "merkle_root"),
                 *ver = json_object_get(v, "state_version");
    if (json_is_string(root) && json_string_length(root) <= HS_ROOT_MAX && json_is_integer(ver) &&
        json_integer_value(ver) >= 0 && (uint64_t)json_integer_value(ver) < HS_COUNTER_MAX &&
        (uint64_t)json_integer_value(ver) > n->state_version) {
        strcpy(n->merkle_root, json_string_value(root));
        n->state_version = (uint64_t)json_integer_value(ver);
    }
    /* The messages seen lately: duplicates from now on. */
    json_array_foreach(json_object_get(j, "seen"), i, v)
    {
        uint8_t bin[32];
        const char *hex = json_string_value(json_array_get(v, 0));
        double t = json_number_value(json_array_get(v, 1));
        if (hex && hs_hash_from_hex(hex, bin) == HS_OK && t > hs_node_now(n) - n->cfg.seen_ttl)
            (void)hs_seen_insert(n->seen, bin, t, &n->m.seen_evicted);
    }
    /* The peers: joined through at start, as bootstrap entries are. */
    json_t *peers = json_object_get(j, "peers");
    json_decref(n->rejoin);
    n->rejoin = NULL;
    if (json_is_array(peers)) {
        n->rejoin = json_array();
        json_array_foreach(peers, i, v)
        {
            const char *id = json_string_value(json_object_get(v, "id"));
            const char *url = json_string_value(json_object_get(v, "url"));
            if (n->rejoin && id && url && hs_peers_valid_id(id) && hs_peers_valid_url(url) &&
                strcmp(id, n->id) != 0 && i < SNAPSHOT_PEERS)
                json_array_append(n->rejoin, v);
        }
    }
    json_decref(j);
    return HS_OK;
fail:
    json_decref(j);
fail_nojson:
    if (why && cap)
        snprintf(why, cap, "%s", reason);
    return HS_EINVAL;
#undef FAIL
}

void hs_snapshot_rejoin(hs_node *n)
{
    size_t i;
    json_t *v;

    if (!n->rejoin)
        return;
    json_array_foreach(n->rejoin, i, v)
    {
        /* The operator's word: a snapshot is this node's own memory. */
        hs_node_add_peer(n, json_string_value(json_object_get(v, "id")),
                         json_string_value(json_object_get(v, "url")));
    }
    json_decref(n->rejoin);
    n->rejoin = NULL;
}
