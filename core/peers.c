/*
 * peers.c -- the peer table; see peers.h.
 */
#include <stdlib.h>
#include <string.h>

#include "peers.h"

void hs_peers_init(hs_peers *p)
{
    memset(p, 0, sizeof *p);
}

static void free_peer(hs_peer *peer)
{
    json_decref(peer->tags);
    hs_sendq_clear(&peer->q);
    hs_idq_clear(&peer->lazy);
    free(peer);
}

unsigned hs_peers_features(const json_t *features)
{
    unsigned f = 0;
    for (size_t i = 0; i < json_array_size(features); i++) {
        const char *s = json_string_value(json_array_get(features, i));
        if (!s)
            continue;
        if (strcmp(s, "batch") == 0)
            f |= HS_FEAT_BATCH;
        else if (strcmp(s, "ae") == 0)
            f |= HS_FEAT_AE;
        else if (strcmp(s, "swim") == 0)
            f |= HS_FEAT_SWIM;
    }
    return f;
}

void hs_peers_free(hs_peers *p)
{
    for (size_t i = 0; i < p->n; i++)
        free_peer(p->v[i]);
    free(p->v);
    hs_peers_init(p);
}

hs_peer *hs_peers_find(const hs_peers *p, const char *id)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->v[i]->id, id) == 0)
            return p->v[i];
    return NULL;
}

hs_peer *hs_peers_find_url(const hs_peers *p, const char *url)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->v[i]->url, url) == 0)
            return p->v[i];
    return NULL;
}

static int printable(const char *s, size_t max, const char *forbidden)
{
    size_t n = 0;
    for (; *s; s++, n++) {
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f || strchr(forbidden, *s))
            return 0;
    }
    return n > 0 && n <= max;
}

int hs_peers_valid_id(const char *id)
{
    return id && printable(id, HS_PEER_ID_MAX, "\"\\");
}

int hs_peers_valid_url(const char *url)
{
    if (!url || !printable(url, HS_URL_MAX, "\"\\"))
        return 0;
    return strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0;
}

hs_err hs_peers_add(hs_peers *p, const char *id, const char *url, hs_peer **out)
{
    hs_peer *peer;

    if (!hs_peers_valid_id(id) || !hs_peers_valid_url(url))
        return HS_EINVAL;
    if (hs_peers_find(p, id))
        return HS_EDUP;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        hs_peer **v = realloc(p->v, cap * sizeof *v);
        if (!v)
            return HS_ENOMEM;
        p->v = v;
        p->cap = cap;
    }
    peer = calloc(1, sizeof *peer);
    if (!peer)
        return HS_ENOMEM;
    strcpy(peer->id, id);
    strcpy(peer->url, url);
    /* A trailing slash would double up in "url/gossip". */
    size_t len = strlen(peer->url);
    while (len > 0 && peer->url[len - 1] == '/')
        peer->url[--len] = '\0';
    peer->latency_ms = -1;
    peer->state = HS_PEER_ALIVE;
    p->v[p->n++] = peer;
    p->live++;
    if (out)
        *out = peer;
    return HS_OK;
}

void hs_peers_remove(hs_peers *p, hs_peer *peer)
{
    for (size_t i = 0; i < p->n; i++) {
        if (p->v[i] == peer) {
            if (peer->state != HS_PEER_DEAD)
                p->live--;
            p->v[i] = p->v[--p->n];
            free_peer(peer);
            return;
        }
    }
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

void hs_peer_info_of(const hs_peer *peer, hs_peer_info *out)
{
    out->id = peer->id;
    out->url = peer->url;
    out->merkle_root = peer->merkle_root;
    out->last_seen = peer->last_seen;
    out->latency_ms = peer->latency_ms;
    out->state = peer->state;
    out->failures = peer->failures;
    out->tags = peer->tags;
}

int hs_peers_valid_tags(const json_t *tags)
{
    const char *k;
    json_t *v;

    if (!json_is_object(tags) || json_object_size(tags) > HS_TAGS_MAX)
        return 0;
    json_object_foreach((json_t *)tags, k, v) {
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
