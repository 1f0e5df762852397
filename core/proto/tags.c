/*
 * tags.c -- see tags.h.
 */
#include <string.h>

#include "tags.h"

hs_err hs_node_set_tags(hs_node *n, const json_t *tags)
{
    json_t *copy, *payload;
    hs_err err;

    if (!tags || !hs_peers_valid_tags(tags))
        return HS_EINVAL;
    if (n->tags && json_equal(n->tags, tags))
        return HS_OK; /* nothing changes, nothing is said */
    if (!(copy = json_deep_copy(tags)))
        return HS_ENOMEM;
    json_decref(n->tags);
    n->tags = copy;
    n->cfg.tags = copy;
    if (!n->started || n->closing)
        return HS_OK; /* /health shows them from the start */
    if (!(payload = json_pack("{s:s, s:O}", "node_id", n->id, "tags", copy)))
        return HS_ENOMEM;
    err = hs_gossip_broadcast(n, "hs.tags", payload, n->cfg.ttl, 0, NULL);
    json_decref(payload);
    return err;
}

const json_t *hs_node_tags(const hs_node *n)
{
    return n->tags;
}

int hs_tags_receive(hs_node *n, hs_envelope *env, int authentic)
{
    const json_t *p = hs_envelope_payload(env), *tags = json_object_get(p, "tags");
    const char *id = json_string_value(json_object_get(p, "node_id"));
    hs_peer *peer;

    if (!id || !hs_peers_valid_tags(tags))
        return 0;
    if (!(env->timestamp >= 0 && env->timestamp < 4294967296.0))
        return 1; /* (not a time tags_s can order) */
    /* Only the node's own signed word, and only newer than the last. */
    if (!authentic || strcmp(id, env->origin) != 0 || !(peer = hs_peers_find(&n->peers, id)) ||
        env->timestamp < peer->tags_s)
        return 1;
    peer->tags_s = (uint32_t)env->timestamp;
    hs_peers_set_tags(peer, tags);
    return 1;
}
