/*
 * left.c -- nodes that left the cluster on purpose (Serf's leave and
 * force-leave; README, Operations: Commands). A leaving node gossips "hs.leave"
 * {node_id, incarnation}, signed with its key: every node that takes it
 * forgets the node at once -- not failed, not suspected, not probed -- and
 * keeps its id in a short list, so that announces still in flight do not
 * bring it back; only the node's own signed word newer than its leave (a
 * restart) or the operator's (bootstrap, add_peer, join) does. An operator
 * may force out a member that failed ("hs.forceleave" {node_id}): a node
 * takes that only about a peer it holds dead itself, so nobody can remove
 * a live node by saying so.
 */
#include <stdlib.h>
#include <string.h>

#include "left.h"

static hs_left *find(const hs_node *n, const char *id)
{
    for (size_t i = 0; i < n->n_left; i++)
        if (strcmp(n->left[i].id, id) == 0)
            return &n->left[i];
    return NULL;
}

/* Remembers id as left at `at` (epoch s); the oldest goes when full. */
static void remember(hs_node *n, const char *id, double at)
{
    hs_left *e = find(n, id);
    char *copy;

    if (e) {
        if (at > e->at)
            e->at = at;
        return;
    }
    if (!(copy = strdup(id)))
        return;
    if (n->n_left == HS_LEFT_MAX) {
        free(n->left[0].id);
        memmove(n->left, n->left + 1, (HS_LEFT_MAX - 1) * sizeof *n->left);
        n->n_left--;
    } else if (n->n_left == n->cap_left) {
        size_t cap = n->cap_left ? n->cap_left * 2 : 8;
        hs_left *v = realloc(n->left, cap * sizeof *v);
        if (!v) {
            free(copy);
            return;
        }
        n->left = v;
        n->cap_left = cap;
    }
    n->left[n->n_left++] = (hs_left){copy, at};
}

int hs_left_blocks(hs_node *n, const char *id, const hs_claim *c, double seen_at)
{
    hs_left *e = find(n, id);

    if (!e)
        return 0;
    /* The operator's word, or the node's own signed word newer than its
     * leave: it is back. */
    if (!c || (c->signed_by_id && seen_at > e->at)) {
        size_t i = (size_t)(e - n->left);
        free(e->id);
        memmove(e, e + 1, (n->n_left - i - 1) * sizeof *e); /* (oldest first, still) */
        n->n_left--;
        return 0;
    }
    return 1;
}

/* Forgets p: it left; tells the hooks it is down. */
static void depart(hs_node *n, const char *id, double at, const char *why)
{
    hs_peer *p = hs_peers_find(&n->peers, id);

    /* (Never later than now: a time in the future would outrank the
     * node's own next announce for good.) */
    remember(n, id, at < hs_node_now(n) ? at : hs_node_now(n));
    if (!p)
        return;
    n->m.peers_left++;
    hs_node_log(n, HS_LOG_INFO, "peer %s (%s) left the cluster%s", p->id, p->url, why);
    if (n->hooks.on_peer) {
        hs_peer_info info;
        hs_peer_info_of(p, &info);
        n->hooks.on_peer(n->hooks.ud, n, &info, 0);
    }
    /* (The hook may have changed the table.) */
    if ((p = hs_peers_find(&n->peers, id)))
        hs_peers_remove(&n->peers, p);
}

void hs_left_receive(hs_node *n, hs_envelope *env, int authentic)
{
    const char *id = json_string_value(json_object_get(hs_envelope_payload(env), "node_id"));
    const hs_peer *p;

    if (!id || !hs_peers_valid_id(id) || strcmp(id, n->id) == 0)
        return;
    if (strcmp(env->type, "hs.leave") == 0) {
        /* Only the node's own signed word, and a fresh one: not older than
         * the seen cache's memory (a replay after it would count anew),
         * nor than a signed claim of its own we took since (it came back). */
        double memory = n->cfg.seen_ttl > n->cfg.auth_window ? n->cfg.seen_ttl : n->cfg.auth_window;
        const hs_peer *q = hs_peers_find(&n->peers, id);
        if (authentic && (env->timestamp < hs_node_now(n) - memory ||
                          (q && env->timestamp < (double)q->claim_s))) {
            hs_node_log(n, HS_LOG_DEBUG, "not believed: an old hs.leave of %s", id);
            n->m.claims_refused++;
            return;
        }
        if (!authentic || strcmp(id, env->origin) != 0) {
            hs_node_log(n, HS_LOG_DEBUG, "not believed: hs.leave of %s from %s, %s", id,
                        env->origin, authentic ? "another origin" : "not signed by it");
            n->m.claims_refused++;
            return;
        }
        depart(n, id, env->timestamp, "");
        return;
    }
    /* hs.forceleave: believed only about a peer we hold dead ourselves
     * (not one we do not know: it may be joining). */
    p = hs_peers_find(&n->peers, id);
    if (!p || p->state != HS_PEER_DEAD) {
        hs_node_log(n, HS_LOG_DEBUG, "not believed: hs.forceleave of %s, %s here", id,
                    p ? "alive" : "unknown");
        n->m.claims_refused++;
        return;
    }
    depart(n, id, env->timestamp, " (forced out: it had failed)");
}

void hs_left_free(hs_node *n)
{
    for (size_t i = 0; i < n->n_left; i++)
        free(n->left[i].id);
    free(n->left);
    n->left = NULL;
    n->n_left = n->cap_left = 0;
}

hs_err hs_node_leave(hs_node *n)
{
    json_t *payload;
    hs_err err;

    if (!n->started || n->closing)
        return HS_ESTATE;
    if (!(payload =
              json_pack("{s:s, s:I}", "node_id", n->id, "incarnation", (json_int_t)n->incarnation)))
        return HS_ENOMEM;
    err = n->up.broadcast(n, "hs.leave", payload, n->cfg.ttl, 0, NULL);
    json_decref(payload);
    if (err == HS_OK) {
        n->leaving = 1;
        hs_node_log(n, HS_LOG_INFO, "leaving the cluster");
    }
    return err;
}

hs_err hs_node_force_leave(hs_node *n, const char *id)
{
    const hs_peer *p;
    json_t *payload;
    hs_err err;

    if (!n->started || n->closing)
        return HS_ESTATE;
    if (!id || !hs_peers_valid_id(id) || strcmp(id, n->id) == 0)
        return HS_EINVAL;
    if (!(p = hs_peers_find(&n->peers, id)))
        return HS_ENOENT;
    if (p->state != HS_PEER_DEAD)
        return HS_ESTATE; /* only a failed member is forced out */
    if (!(payload = json_pack("{s:s}", "node_id", id)))
        return HS_ENOMEM;
    err = n->up.broadcast(n, "hs.forceleave", payload, n->cfg.ttl, 0, NULL);
    json_decref(payload);
    if (err == HS_OK)
        depart(n, id, hs_node_now(n), " (forced out by the operator)");
    return err;
}

size_t hs_node_left_count(const hs_node *n)
{
    return n->n_left;
}

const char *hs_node_left_get(const hs_node *n, size_t i, double *at)
{
    if (i >= n->n_left)
        return NULL;
    if (at)
        *at = n->left[i].at;
    return n->left[i].id;
}

int hs_node_is_leaving(const hs_node *n)
{
    return n->leaving;
}
