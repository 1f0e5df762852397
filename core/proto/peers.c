/*
 * peers.c -- the peer table; see peers.h.
 */
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "jsonout.h"
#include "peers.h"

/* The root of a peer that has told us none; never freed. */
static const char no_root[] = "";

void hs_peers_init(hs_peers *p)
{
    memset(p, 0, sizeof *p);
    hs_peerindex_init(&p->by_id, HS_PEERINDEX_ID);
    hs_peerindex_init(&p->by_url, HS_PEERINDEX_URL);
}

static void free_peer(hs_peer *peer)
{
    json_decref(peer->tags);
    hs_peers_sendq_free(peer);
    if (peer->url_own)
        free(peer->url);
    if (peer->merkle_root != no_root)
        free((char *)peer->merkle_root);
    free(peer);
}

/* The features' names on the wire, in the order we advertise them. */
static const struct {
    const char *name;
    unsigned bit;
} feature_names[] = {{"batch", HS_FEAT_BATCH},
                     {"ae", HS_FEAT_AE},
                     {"swim", HS_FEAT_SWIM},
                     {"seen_hash", HS_FEAT_SEENH}};

#define N_FEATURES (sizeof feature_names / sizeof *feature_names)

unsigned hs_peers_features(const json_t *features)
{
    unsigned f = 0;
    for (size_t i = 0; i < json_array_size(features); i++) {
        const char *s = json_string_value(json_array_get(features, i));
        for (size_t k = 0; s && k < N_FEATURES; k++)
            if (strcmp(s, feature_names[k].name) == 0)
                f |= feature_names[k].bit;
    }
    return f;
}

json_t *hs_peers_features_json(unsigned features)
{
    json_t *arr = json_array();

    for (size_t k = 0; arr && k < N_FEATURES; k++)
        if ((features & feature_names[k].bit) &&
            json_array_append_new(arr, json_string(feature_names[k].name)) != 0) {
            json_decref(arr);
            return NULL;
        }
    return arr;
}

void hs_peers_features_write(unsigned features, hs_jsonout *o)
{
    int sep = 0;

    hs_jsonout_put(o, "[", 1);
    for (size_t k = 0; k < N_FEATURES; k++)
        if (features & feature_names[k].bit) {
            if (sep)
                hs_jsonout_put(o, ",", 1);
            hs_jsonout_string(o, feature_names[k].name, strlen(feature_names[k].name));
            sep = 1;
        }
    hs_jsonout_put(o, "]", 1);
}

void hs_peers_free(hs_peers *p)
{
    for (size_t i = 0; i < p->n; i++)
        free_peer(p->v[i]);
    free(p->v);
    hs_peerindex_free(&p->by_id);
    hs_peerindex_free(&p->by_url);
    hs_origins_free(p->origins);
    hs_peers_init(p);
}

hs_peer *hs_peers_find(const hs_peers *p, const char *id)
{
    return hs_peerindex_find(&p->by_id, id);
}

uint64_t hs_peers_name(const hs_peers *p, const hs_peer *peer)
{
    uint64_t h = hs_hash_siphash(p->by_id.key, peer->id, strlen(peer->id));

    return h ? h : 1;
}

hs_peer *hs_peers_named(const hs_peers *p, uint64_t name)
{
    for (size_t i = 0; name && i < p->n; i++)
        if (hs_peers_name(p, p->v[i]) == name)
            return p->v[i];
    return NULL;
}

hs_peer *hs_peers_find_url(const hs_peers *p, const char *url)
{
    return hs_peerindex_find(&p->by_url, url);
}

/* Printable ASCII without space, '"' or '\\', 1 to max bytes. */
static int printable(const char *s, size_t max)
{
    size_t n = 0;
    for (; *s; s++, n++) {
        unsigned char c = (unsigned char)*s;
        if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\' || n >= max)
            return 0;
    }
    return n > 0;
}

int hs_peers_valid_id(const char *id)
{
    return id && hs_peers_valid_idn(id, strnlen(id, HS_PEER_ID_MAX + 1));
}

/* Whether a byte of v is not printable ASCII, or is a space, '"' or '\\'
 * (exact: never yes for a word of valid bytes). Each test is the classic
 * "some byte less than" / "more than" / "equal to" on eight at once. */
static inline int bad_id_bytes8(uint64_t v)
{
    const uint64_t ones = 0x0101010101010101u, high = ones * 0x80;
    uint64_t q = v ^ (ones * '"'), b = v ^ (ones * '\\');

    uint64_t below = (v - ones * 0x21) & ~v; /* a byte under '!' */
    uint64_t above = (v + ones) | v;         /* a byte over '~' */
    uint64_t quote = (q - ones) & ~q, backslash = (b - ones) & ~b;

    return ((below | above | quote | backslash) & high) != 0;
}

/* Every seen_by entry of every envelope comes through here (a strchr per
 * byte was 12% of a loaded node's CPU, a test per byte 15% of a relay's
 * instructions): eight bytes at a time. */
int hs_peers_valid_idn(const char *id, size_t len)
{
    size_t i = 0;

    if (!id || len == 0 || len > HS_PEER_ID_MAX)
        return 0;
    for (uint64_t v; i + 8 <= len; i += 8) {
        memcpy(&v, id + i, 8);
        if (bad_id_bytes8(v))
            return 0;
    }
    for (; i < len; i++) {
        unsigned char c = (unsigned char)id[i];
        if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\')
            return 0;
    }
    return 1;
}

int hs_peers_valid_url(const char *url)
{
    if (!url || !printable(url, HS_URL_MAX))
        return 0;
    return strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0;
}

/* A base URL's length without trailing slashes, which would double up in
 * "url/gossip". */
static size_t trimmed_len(const char *url)
{
    size_t len = strlen(url);
    while (len > 0 && url[len - 1] == '/')
        len--;
    return len;
}

hs_err hs_peers_add(hs_peers *p, const char *id, const char *url, hs_peer **out)
{
    hs_peer *peer;
    hs_err err;
    size_t idlen, urllen;

    if (!hs_peers_valid_id(id) || !hs_peers_valid_url(url))
        return HS_EINVAL;
    if (hs_peers_find(p, id))
        return HS_EDUP;
    if (p->n >= UINT32_MAX)
        return HS_ETOOBIG;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        hs_peer **v = realloc(p->v, cap * sizeof *v);
        if (!v)
            return HS_ENOMEM;
        p->v = v;
        p->cap = cap;
    }
    if ((err = hs_peerindex_reserve(&p->by_id, p->n + 1)) != HS_OK ||
        (err = hs_peerindex_reserve(&p->by_url, p->n + 1)) != HS_OK)
        return err;
    idlen = strlen(id);
    urllen = trimmed_len(url);
    peer = calloc(1, sizeof *peer + idlen + 1 + urllen + 1);
    if (!peer)
        return HS_ENOMEM;
    memcpy(peer->id, id, idlen + 1);
    peer->url = peer->id + idlen + 1;
    memcpy(peer->url, url, urllen);
    peer->url[urllen] = '\0';
    peer->merkle_root = no_root;
    peer->latency_ms = -1;
    peer->state = HS_PEER_ALIVE;
    peer->pos = (uint32_t)p->n;
    p->v[p->n++] = peer;
    p->live++;
    hs_peerindex_put(&p->by_id, peer);
    hs_peerindex_put(&p->by_url, peer);
    if (out)
        *out = peer;
    return HS_OK;
}

void hs_peers_set_eager(hs_peers *p, hs_peer *peer, unsigned char eager)
{
    if (eager && !peer->eager)
        p->eager++;
    else if (!eager && peer->eager)
        p->eager--;
    peer->eager = eager;
}

_Static_assert(HS_ORIGINS_MAX <= 32, "a peer's words for the origins are a uint32_t");

hs_err hs_peers_set_origin(hs_peers *p, hs_rng *rng, const char *origin, size_t len, hs_peer *peer,
                           int eager)
{
    int fresh, k = hs_origins_take(&p->origins, rng, origin, len, &fresh);

    if (k < 0)
        return HS_ENOMEM;
    uint32_t bit = 1u << k;
    if (fresh)
        for (size_t i = 0; i < p->n; i++) {
            p->v[i]->origin_word &= ~bit;
            p->v[i]->origin_open &= ~bit;
        }
    peer->origin_word |= bit;
    peer->origin_open = eager ? peer->origin_open | bit : peer->origin_open & ~bit;
    return HS_OK;
}

void hs_peers_remove(hs_peers *p, hs_peer *peer)
{
    size_t i = peer->pos;

    if (i >= p->n || p->v[i] != peer)
        return; /* not ours */
    if (peer->state != HS_PEER_DEAD)
        p->live--;
    if (peer->eager)
        p->eager--;
    p->v[i] = p->v[--p->n];
    p->v[i]->pos = (uint32_t)i;
    hs_peerindex_del(&p->by_id, peer);
    hs_peerindex_del(&p->by_url, peer);
    hs_peers_wait_unlink(p, peer);
    free_peer(peer);
}

hs_err hs_peers_set_url(hs_peers *p, hs_peer *peer, const char *url)
{
    size_t len;
    char *copy;

    if (!hs_peers_valid_url(url))
        return HS_EINVAL;
    len = trimmed_len(url);
    if (strlen(peer->url) == len && memcmp(peer->url, url, len) == 0)
        return HS_OK;
    if (!(copy = malloc(len + 1)))
        return HS_ENOMEM;
    memcpy(copy, url, len);
    copy[len] = '\0';
    hs_peerindex_del(&p->by_url, peer);
    if (peer->url_own)
        free(peer->url);
    peer->url = copy;
    peer->url_own = 1;
    hs_peerindex_put(&p->by_url, peer); /* room: it held this peer before */
    return HS_OK;
}

hs_err hs_peers_set_root(hs_peer *peer, const char *root)
{
    size_t len = strlen(root);
    char *copy;

    if (len > HS_ROOT_MAX)
        return HS_EINVAL;
    if (strcmp(peer->merkle_root, root) == 0)
        return HS_OK;
    if (len == 0) {
        copy = (char *)no_root;
    } else {
        if (!(copy = malloc(len + 1)))
            return HS_ENOMEM;
        memcpy(copy, root, len + 1);
    }
    if (peer->merkle_root != no_root)
        free((char *)peer->merkle_root);
    peer->merkle_root = copy;
    return HS_OK;
}

hs_sendq *hs_peers_sendq(hs_peer *peer)
{
    if (!peer->q)
        peer->q = calloc(1, sizeof *peer->q);
    return peer->q;
}

void hs_peers_sendq_free(hs_peer *peer)
{
    if (peer->q) {
        hs_sendq_clear(peer->q);
        hs_idq_clear(&peer->q->lazy);
        free(peer->q);
        peer->q = NULL;
    }
}

void hs_peers_wait_push(hs_peers *p, hs_peer *peer)
{
    if (peer->waiting)
        return;
    peer->waiting = 1;
    peer->wait_next = NULL;
    peer->wait_prev = p->wait_tail;
    if (p->wait_tail)
        p->wait_tail->wait_next = peer;
    else
        p->wait_head = peer;
    p->wait_tail = peer;
    p->waiting++;
}

void hs_peers_wait_unlink(hs_peers *p, hs_peer *peer)
{
    if (!peer->waiting)
        return;
    if (peer->wait_prev)
        peer->wait_prev->wait_next = peer->wait_next;
    else
        p->wait_head = peer->wait_next;
    if (peer->wait_next)
        peer->wait_next->wait_prev = peer->wait_prev;
    else
        p->wait_tail = peer->wait_prev;
    peer->wait_prev = peer->wait_next = NULL;
    peer->waiting = 0;
    p->waiting--;
}

hs_peer *hs_peers_wait_pop(hs_peers *p)
{
    hs_peer *peer = p->wait_head;
    if (peer)
        hs_peers_wait_unlink(p, peer);
    return peer;
}

void hs_peers_set_state(hs_peers *p, hs_peer *peer, hs_peer_state st)
{
    if (peer->state == HS_PEER_DEAD && st != HS_PEER_DEAD)
        p->live++;
    else if (peer->state != HS_PEER_DEAD && st == HS_PEER_DEAD)
        p->live--;
    peer->state = st;
}

/* EWMA weight of a new sample: smooths jitter, still follows a trend
 * within a handful of probes. */
#define LATENCY_ALPHA 0.25

double hs_peers_latency_avg(double old, double sample)
{
    if (old < 0)
        return sample;
    return (1 - LATENCY_ALPHA) * old + LATENCY_ALPHA * sample;
}

const char *hs_peer_state_name(hs_peer_state s)
{
    switch (s) {
    case HS_PEER_ALIVE:
        return "alive";
    case HS_PEER_UNHEALTHY:
        return "unhealthy";
    case HS_PEER_SUSPECT:
        return "suspect";
    case HS_PEER_DEAD:
        break;
    }
    return "dead";
}

void hs_peer_info_of(const hs_peer *peer, hs_peer_info *out)
{
    out->id = peer->id;
    out->url = peer->url;
    out->merkle_root = peer->merkle_root;
    out->last_seen = peer->last_seen;
    out->latency_ms = peer->latency_ms;
    out->state = peer->state;
    out->failures = peer->failures;
    out->eager = hs_peer_eager_link(peer);
    out->feeds_us = peer->feeds_us;
    out->tags = peer->tags;
    out->score = peer->score;
    out->graylisted = peer->gray_s != 0;
}

int hs_peers_valid_tags(const json_t *tags)
{
    const char *k;
    json_t *v;

    if (!json_is_object(tags) || json_object_size(tags) > HS_TAGS_MAX)
        return 0;
    json_object_foreach((json_t *)tags, k, v)
    {
        if (strlen(k) == 0 || strlen(k) > HS_TAG_KEY_MAX || !json_is_string(v) ||
            json_string_length(v) > HS_TAG_VALUE_MAX)
            return 0;
    }
    return 1;
}

void hs_peers_set_tags(hs_peer *peer, const json_t *tags)
{
    json_t *copy = tags ? json_deep_copy(tags) : NULL;

    if (tags && !copy)
        return; /* out of memory: keep the old tags */
    json_decref(peer->tags);
    peer->tags = copy;
}

hs_peer *hs_peers_nth(const hs_peers *p, hs_peer_pred ok, const void *arg, size_t k)
{
    for (size_t i = 0; i < p->n; i++)
        if (ok(p->v[i], arg) && k-- == 0)
            return p->v[i];
    return NULL;
}

hs_peer *hs_peers_random(const hs_peers *p, hs_rng *rng, hs_peer_pred ok, const void *arg)
{
    size_t count = 0;

    for (size_t i = 0; i < p->n; i++)
        count += ok(p->v[i], arg) != 0;
    return count ? hs_peers_nth(p, ok, arg, (size_t)hs_rng_below(rng, count)) : NULL;
}
