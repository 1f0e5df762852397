/*
 * gossip.c -- push gossip: accept an envelope, hand it to its handler, and
 * forward it with ttl-1 to peers that have not seen it: along the eager
 * links of the tree (Plumtree: duplicates prune a link, lazy misses graft
 * it, see choose_tree), or with `tree` off to `fanout` random peers.
 *
 * Cost per new message: one seen-cache insert, a hash set of seen_by
 * (O(s)), one pass over the peer table with a lookup in it each (O(p)),
 * three peer-index lookups (origin, sender, us), one JSON
 * serialisation shared by every target (seen_by copied as the text it
 * came in, idlist.h), and one HTTP request per target on kept-alive
 * connections (about one per node with the tree, `fanout` without).
 */
#include <stdlib.h>
#include <string.h>

#include "jsonout.h"
#include "left.h"
#include "node.h"
#include "score.h"
#include "sign.h"
#include "query.h"
#include "tags.h"

const char *hs_message_id(const hs_message *m)
{
    return m->id;
}

const char *hs_message_type(const hs_message *m)
{
    return m->type;
}

const json_t *hs_message_payload(const hs_message *m)
{
    /* Every hs_message is a node's own (mutable) envelope, lent to a hook;
     * a scanned payload is parsed on this first use and cached there. */
    return hs_envelope_payload((hs_message *)m);
}

const char *hs_message_payload_text(const hs_message *m, size_t *len)
{
    if (m->payload || !m->payload_raw)
        return NULL;
    *len = m->payload_len;
    return m->payload_raw;
}

const char *hs_message_origin(const hs_message *m)
{
    return m->origin;
}

const char *hs_message_sender(const hs_message *m)
{
    return m->sender ? m->sender : "";
}

unsigned hs_message_ttl(const hs_message *m)
{
    return m->ttl;
}

unsigned hs_message_hops(const hs_message *m)
{
    return m->hops;
}

double hs_message_timestamp(const hs_message *m)
{
    return m->timestamp;
}

/* Counts a new message of `type` among the recent types (the dashboard's). */
static void count_type(hs_node *n, const char *type)
{
    hs_type_count *t, *oldest;

    if (!n->recent_types && !(n->recent_types = calloc(HS_RECENT_TYPES, sizeof *t)))
        return;
    oldest = &n->recent_types[0];
    for (size_t i = 0; i < HS_RECENT_TYPES; i++) {
        t = &n->recent_types[i];
        if (t->count && strcmp(t->type, type) == 0) {
            t->count++;
            t->last = hs_node_mono(n);
            return;
        }
        if (!t->count || t->last < oldest->last)
            oldest = t;
        if (!t->count)
            break;
    }
    snprintf(oldest->type, sizeof oldest->type, "%s", type);
    oldest->count = 1;
    oldest->last = hs_node_mono(n);
}

size_t hs_gossip_recent_types(const hs_node *n, int order[HS_RECENT_TYPES])
{
    int used[HS_RECENT_TYPES] = {0};
    size_t k = 0;

    for (; n->recent_types && k < HS_RECENT_TYPES; k++) {
        int best = -1;
        for (int i = 0; i < HS_RECENT_TYPES; i++)
            if (n->recent_types[i].count && !used[i] &&
                (best < 0 || n->recent_types[i].last > n->recent_types[best].last))
                best = i;
        if (best < 0)
            break;
        used[best] = 1;
        order[k] = best;
    }
    return k;
}

/* Marks the peer with the id `id`, if we know one, as having the message
 * already: skip[its index in the table]. */
static void exclude(hs_node *n, unsigned char *skip, const char *id)
{
    hs_peer *p = hs_peers_find(&n->peers, id);

    if (p)
        skip[p->pos] = 1;
}

/* Moves a uniform sample of `want` of v[from..to) to v[from..from+want)
 * (partial Fisher-Yates) and appends it to out; returns how many. */
static size_t sample(hs_node *n, hs_peer **v, size_t from, size_t to, size_t want, hs_peer **out)
{
    size_t k = 0;

    for (size_t i = from; i < to && k < want; i++, k++) {
        size_t j = i + (size_t)hs_rng_below(&n->rng, to - i);
        hs_peer *t = v[i];
        v[i] = v[j];
        v[j] = t;
        out[k] = v[i];
    }
    return k;
}

/* A message's word for each peer, by its index in the table, from the
 * slot of the message's origin (origins.h): nothing (the shared link
 * decides: no slot for the origin), the link is open for that origin, or
 * pruned for it, or the origin has a slot and no word for this link (the
 * shared link decides, but for a grafted one: link_open). */
enum { WORD_NONE, WORD_OPEN, WORD_PRUNED, WORD_UNSAID };

/* Moves the entries of v[from..to) that `is` holds for (given each one's
 * word) to the front of that range; returns how many. */
static size_t partition(hs_peer **v, size_t from, size_t to,
                        int (*is)(const hs_peer *, unsigned char), const unsigned char *word)
{
    size_t k = from;

    for (size_t i = from; i < to; i++)
        if (is(v[i], word[v[i]->pos])) {
            hs_peer *t = v[k];
            v[k++] = v[i];
            v[i] = t;
        }
    return k - from;
}

/* A peer outside the tree (no "ae"), whatever the word. */
static int is_foreign(const hs_peer *p, unsigned char w)
{
    (void)w;
    return !(p->features & HS_FEAT_AE);
}

/* Whether the message takes the link to p (its word for p is w): eager
 * for the message's origin, and p a hearsay peer doing anti-entropy (see
 * hs_peer_eager_link). */
static int link_open(const hs_peer *p, unsigned char w)
{
    if (!(p->features & HS_FEAT_AE))
        return 0;
    switch (w) {
    case WORD_OPEN:
        return 1;
    case WORD_PRUNED:
        return 0;
    case WORD_UNSAID:
        return p->eager != 0 && p->eager != HS_EAGER_GRAFTED;
    default:
        return p->eager != 0;
    }
}

/* Who may be offered an id lazily: live hearsay peers doing anti-entropy. */
static int is_lazy_target(const hs_peer *p)
{
    return p->state == HS_PEER_ALIVE && (p->features & HS_FEAT_AE);
}

/*
 * Tree mode (Plumtree's eager push): the targets are the candidates cands[0..nc)
 * on links open for the message's origin (word, link_open), plus up to
 * `fanout` random ones among peers that cannot take part (no "ae": they
 * get no lazy offers, so they are never pruned either). A message of our
 * own that would go nowhere (every link of ours pruned) goes to `fanout`
 * random peers, which become eager: that is how a node gets back into the
 * tree (when cands is the `whole` view; else the caller looks again with
 * it). The rest are left in cands[*rest..nc) for the lazy offers.
 */
static size_t choose_tree(hs_node *n, const hs_envelope *env, size_t fanout, hs_peer **cands,
                          size_t nc, const unsigned char *word, hs_peer **out, size_t cap,
                          size_t *rest, int whole)
{
    size_t ne = partition(cands, 0, nc, link_open, word), chosen = 0;
    size_t nf = partition(cands, ne, nc, is_foreign, word);

    for (size_t i = 0; i < ne && chosen < cap; i++)
        out[chosen++] = cands[i];
    size_t picked =
        sample(n, cands, ne, ne + nf, fanout < cap - chosen ? fanout : cap - chosen, out + chosen);
    chosen += picked;
    *rest = ne + nf;
    if (chosen == 0 && whole && strcmp(env->origin, n->id) == 0) {
        picked = sample(n, cands, ne + nf, nc, fanout < cap ? fanout : cap, out);
        for (size_t i = 0; i < picked; i++)
            hs_peers_set_eager(&n->peers, out[i], 1);
        chosen = picked;
        *rest = ne + nf + picked;
    }
    return chosen;
}

/* A peer-selection policy decides where messages go now. The hook alone
 * is not enough: the Lua shell installs it whenever plugins are loaded,
 * and a node with plugins but no policy must keep its tree and lazy offers
 * (without them a 100-node cluster spread a message in 6 s, not 4 ms). */
static int policy_active(hs_node *n)
{
    return n->hooks.select_peers && (!n->hooks.has_policy || n->hooks.has_policy(n->hooks.ud, n));
}

/* Whether env names p as pushed to already: in its seen_by (the hash set
 * `seen` of it) or its seen_by_hash. */
static int named(const hs_envelope *env, const hs_idset *seen, const hs_peer *p)
{
    size_t len = strlen(p->id);

    return hs_idset_has(seen, p->id, len) ||
           (env->seen_hash.n &&
            hs_seenhash_has(&env->seen_hash, hs_seenhash_of(env->bin, p->id, len)));
}

/*
 * The peers a message may go to into cands (returns how many): not those
 * `skip` marks or env names (named(); `seen` is a hash set of its
 * seen_by), healthy ones first, unhealthy or suspect ones only when no
 * healthy one is left. With *narrow, only links open for the message's
 * origin (word), peers outside the tree and lazy links; when none of those
 * is healthy, the whole view as without narrowing (its healthy peers come
 * before any other), and *narrow is cleared.
 */
static size_t candidates(hs_node *n, const hs_envelope *env, const unsigned char *skip,
                         const unsigned char *word, const hs_idset *seen, hs_peer **cands,
                         int *narrow)
{
    size_t nc = 0;

    for (int pass = 0; pass < 2 && nc == 0; pass++) {
        if (pass == 1 && *narrow) {
            *narrow = 0;
            return candidates(n, env, skip, word, seen, cands, narrow);
        }
        for (size_t i = 0; i < n->peers.n; i++) {
            hs_peer *p = n->peers.v[i];
            if (*narrow && !link_open(p, word[i]) && !is_foreign(p, word[i]) && !p->lazy_link)
                continue;
            int ok = hs_peer_usable(p) && hs_score_forwardable(n, p) &&
                     (pass == 0 ? p->state == HS_PEER_ALIVE : p->state != HS_PEER_DEAD);
            if (ok && !skip[i] && !named(env, seen, p))
                cands[nc++] = p;
        }
    }
    return nc;
}

/* Peers one forward offers an id to, at most. */
#define LAZY_MAX 64

/* Picks the targets into out (at most cap) and up to lazy_want peers to
 * offer the id to into lazy (*n_lazy); returns the number of targets.
 * Without `tree`, the targets are `fanout` random candidates; with fanout
 * 0 and the tree on, eager links are offered the id too. */
static size_t choose_targets(hs_node *n, const hs_envelope *env, size_t fanout, int tree,
                             hs_peer **out, size_t cap, size_t lazy_want, hs_peer **lazy,
                             size_t *n_lazy)
{
    size_t np = n->peers.n, nc = 0, chosen = 0;
    /* One allocation: the candidates, then a byte a peer, set for the
     * origin, the sender and us (looked up in the peer index), then the
     * message's word for each peer; the peers in seen_by are found in a
     * hash set of it. */
    hs_peer **cands = malloc((np + 1) * (sizeof *cands + 2));
    unsigned char *skip, *word;
    int slot;
    hs_idset seen;

    if (!cands || hs_idset_init(&seen, &env->seen_by, n->idset_key) != HS_OK) {
        free(cands);
        return 0;
    }
    skip = (unsigned char *)(cands + np + 1);
    word = skip + np + 1;
    memset(skip, 0, 2 * (np + 1));
    if (tree && (slot = hs_origins_find(n->peers.origins, env->origin, strlen(env->origin))) >= 0)
        for (size_t i = 0; i < np; i++) {
            int w = hs_peer_origin_link(n->peers.v[i], slot);
            word[i] = w < 0 ? WORD_UNSAID : w ? WORD_OPEN : WORD_PRUNED;
        }
    exclude(n, skip, env->origin);
    exclude(n, skip, n->id);
    if (env->sender && env->sender[0])
        exclude(n, skip, env->sender);

    /* With the tree (and no policy) only eager links, peers outside the
     * tree and lazy links can be chosen, unless a message of our own finds
     * none of its links open (choose_tree): the others are left out of the
     * first look, which spares a lookup in seen_by for most of a big view
     * at every forward. */
    int policy = policy_active(n), narrow = tree && !policy;
    size_t want;

    nc = candidates(n, env, skip, word, &seen, cands, &narrow);
    want = fanout < nc ? fanout : nc;
    if (nc && want && policy) {
        hs_peer_info *infos = malloc(nc * sizeof *infos);
        size_t *idx = malloc(want * sizeof *idx);
        int got = -1;
        if (infos && idx) {
            for (size_t i = 0; i < nc; i++)
                hs_peer_info_of(cands[i], &infos[i]);
            got = n->hooks.select_peers(n->hooks.ud, n, env, infos, nc, want, idx);
        }
        if (got >= 0) {
            /* Trust nothing: keep in-range indices, each at most once. */
            for (int k = 0; k < got && (size_t)k < want; k++) {
                if (idx[k] >= nc || !cands[idx[k]])
                    continue;
                out[chosen++] = cands[idx[k]];
                cands[idx[k]] = NULL;
            }
            /* A policy alone decides where a message goes: no lazy
             * offers to peers it did not pick. */
            free(infos);
            free(idx);
            goto done;
        }
        free(infos);
        free(idx);
    }
    size_t rest;
    if (tree) {
        chosen = choose_tree(n, env, fanout, cands, nc, word, out, cap, &rest, !narrow);
        if (chosen == 0 && narrow && strcmp(env->origin, n->id) == 0) {
            /* Ours, and no link open: the whole view, for choose_tree's
             * random few. */
            narrow = 0;
            nc = candidates(n, env, skip, word, &seen, cands, &narrow);
            chosen = choose_tree(n, env, fanout, cands, nc, word, out, cap, &rest, 1);
        }
    } else {
        chosen = sample(n, cands, 0, nc, want, out);
        rest = chosen;
    }
    /* Offers go to lazy links only (lazypush.c): a random lazy_want of
     * them, in seen_by or not. seen_by names the peers a copy was pushed
     * to, not those it reached: a push lost on the way left its target
     * in the seen_by of every copy after it, so that no holder pushed or
     * offered it the message, and it waited for anti-entropy (1000
     * simulated nodes at 1% loss: a node 230 others held, 21 of them
     * eager links, took a broadcast 2.3 s late, by its news round). An
     * offer to a peer that has it costs an id. */
    if (lazy_want) {
        size_t npool = 0;
        hs_peer *pool[128]; /* 2 x lazy_fanout, at most 64 (config.c) */
        for (size_t k = 0; k < chosen; k++)
            skip[out[k]->pos] = 1; /* (pushed to: no offer) */
        for (size_t i = 0; i < n->peers.n && npool < 128; i++) {
            hs_peer *p = n->peers.v[i];
            if (p->lazy_link && !skip[i] && is_lazy_target(p) && hs_peer_usable(p) &&
                hs_score_forwardable(n, p))
                pool[npool++] = p;
        }
        *n_lazy = sample(n, pool, 0, npool, lazy_want, lazy);
        /* A copy we pass on with no ttl left (fanout 0: a repair, or the
         * push's end) goes to no eager link either, and an eager link is
         * never a lazy one: a node whose only feeder got the message by
         * a repair had no way to it but its own anti-entropy (100,000
         * simulated nodes: a feeder that fetched a broadcast 7-11 s late
         * never passed it on, and its child still lacked it 17 s on). So
         * those are offered it too. */
        if (fanout == 0 && n->cfg.tree)
            for (size_t i = rest; i < nc && *n_lazy < LAZY_MAX; i++)
                if (is_lazy_target(cands[i]) && hs_peer_eager_link(cands[i]))
                    lazy[(*n_lazy)++] = cands[i];
    }
done:
    hs_idset_free(&seen);
    free(cands);
    return chosen;
}

/*
 * The text env is forwarded as, to a peer that reads seen_by_hash
 * (HS_FEAT_SEENH; `hashed`): seen_by as it came, and a seen_by_hash of its
 * own names, then ours (once) and the targets' (seenhash.h); to any other
 * peer (a reference node): seen_by grown by our id (once) and the targets'
 * ids, and no seen_by_hash. Either way siblings don't send back; either
 * list is trimmed to max_seen_by by dropping its oldest entries. ttl_out,
 * one hop more. Written from the struct (envwrite.c), without a JSON tree.
 * A `tree` push carries the message's id, ttl and birth (push.c turns a
 * late one into an offer).
 */
static hs_body *forward_body(hs_node *n, const hs_envelope *env, hs_peer **targets, size_t nt,
                             unsigned ttl_out, int hashed, int tree)
{
    size_t total, k = 0, len, skip = 0, id_len = strlen(n->id);
    const char *small[65], **more = small;
    uint32_t hsmall[65], *hashes = hsmall;
    hs_body *body = NULL;
    char *text = NULL;
    int ours = hs_idlist_has(&env->seen_by, n->id, id_len);
    unsigned hops = env->hops < HS_MAX_HOPS ? env->hops + 1 : HS_MAX_HOPS;

    if (hashed) {
        uint32_t self = hs_seenhash_of(env->bin, n->id, id_len);
        total = env->seen_hash.n + 1 + nt;
        if (total > sizeof hsmall / sizeof *hsmall && !(hashes = malloc(total * sizeof *hashes)))
            return NULL;
        if (env->seen_hash.n)
            memcpy(hashes, env->seen_hash.v, env->seen_hash.n * sizeof *hashes);
        k = env->seen_hash.n;
        if (!ours && !hs_seenhash_has(&env->seen_hash, self))
            hashes[k++] = self;
        for (size_t i = 0; i < nt; i++)
            hashes[k++] = hs_seenhash_of(env->bin, targets[i]->id, strlen(targets[i]->id));
        skip = k > n->cfg.max_seen_by ? k - n->cfg.max_seen_by : 0;
        text = hs_envelope_write(env, 0, NULL, 0, hashes + skip, k - skip, ttl_out, hops, &len);
        if (hashes != hsmall)
            free(hashes);
    } else {
        if (1 + nt > sizeof small / sizeof *small && !(more = malloc((1 + nt) * sizeof *more)))
            return NULL;
        if (!ours)
            more[k++] = n->id;
        for (size_t i = 0; i < nt; i++)
            more[k++] = targets[i]->id;
        total = env->seen_by.n + k;
        /* hops stays within what parsing takes, or the next node refuses it. */
        text = hs_envelope_write(env, total > n->cfg.max_seen_by ? total - n->cfg.max_seen_by : 0,
                                 more, k, NULL, 0, ttl_out, hops, &len);
        if (more != small)
            free(more);
    }
    if (text)
        body = hs_body_new(text, len);
    free(text);
    if (body && tree) {
        body->tree = 1;
        hs_body_known(body, env->bin, ttl_out);
        body->born = hs_node_mono(n);
    }
    return body;
}

/* Sends env to chosen peers with the given ttl (see forward_body). */
static hs_err forward(hs_node *n, hs_envelope *env, unsigned ttl_out, size_t fanout)
{
    hs_peer *targets[64], *lazy[LAZY_MAX];
    size_t n_lazy = 0, lazy_want = 0;
    size_t nt;
    int tree = 0;

    if (n->peers.n == 0)
        return HS_OK; /* nowhere to go: skip building the candidates */
    /* Lazily only what is retained (a peer that asks is sent that copy),
     * while the ttl lets it spread or, at its end (fanout 0), to close the
     * gaps the push leaves at its frontier; never under a policy. The tree
     * needs those offers to heal, so it carries only such messages, and
     * only with the usual fanout (not an announce's wider one). */
    if ((ttl_out > 0 || fanout == 0) && !policy_active(n) && n->cfg.retain_bytes > 0 &&
        hs_ae_retained_type(env->type) && hs_seen_body(n->seen, env->bin, &(size_t){0})) {
        lazy_want = n->cfg.lazy_fanout;
        tree = n->cfg.tree && ttl_out > 0 && fanout == n->cfg.fanout;
        hs_lazy_links(n);
    }
    nt = choose_targets(n, env, fanout, tree, targets, sizeof targets / sizeof *targets, lazy_want,
                        lazy, &n_lazy);
    for (size_t i = 0; i < n_lazy; i++)
        hs_lazy_offer(n, lazy[i], env->bin, ttl_out);
    hs_body *body[2] = {NULL, NULL}; /* [1]: with seen_by_hash, for the peers that read it */
    hs_err err = HS_OK;

    if (nt == 0)
        return HS_OK;
    for (size_t i = 0; i < nt; i++) {
        int hashed = (targets[i]->features & HS_FEAT_SEENH) != 0;
        if (!body[hashed] &&
            !(body[hashed] = forward_body(n, env, targets, nt, ttl_out, hashed, tree))) {
            err = HS_ENOMEM;
            break;
        }
        hs_push_enqueue(n, targets[i], body[hashed]);
    }
    hs_body_unref(body[0]);
    hs_body_unref(body[1]);
    return err;
}

static int is_builtin(const char *type)
{
    return strcmp(type, "peer_announce") == 0 || strncmp(type, "hs.", 3) == 0 ||
           strcmp(type, "state_update") == 0;
}

/* Whether v, when a number, is an integer from 0 to HS_COUNTER_MAX (any
 * other shape is ignored where it is used, as the reference does). */
static int counter_ok(const json_t *v)
{
    return !json_is_number(v) || (json_is_integer(v) && json_integer_value(v) >= 0 &&
                                  (uint64_t)json_integer_value(v) <= HS_COUNTER_MAX);
}

/* Why a built-in message is refused before it is even marked seen, or
 * NULL: a version or incarnation beyond 2^53 would be adopted by every
 * node and wrap the next one (JSON readers hold 2^53 exactly, and a
 * counter that passed it split the cluster for good). */
static const char *builtin_refusal(hs_envelope *env)
{
    const json_t *p;

    if (!is_builtin(env->type))
        return NULL; /* not ours: the payload need not even be parsed */
    p = hs_envelope_payload(env);
    if (strcmp(env->type, "state_update") == 0 && !counter_ok(json_object_get(p, "state_version")))
        return "state_version must be an integer from 0 to 2^53";
    if (strncmp(env->type, "hs.", 3) == 0 && !counter_ok(json_object_get(p, "incarnation")))
        return "incarnation must be an integer from 0 to 2^53";
    return NULL;
}

/* What the core itself does with the built-in types. Returns 0 when the
 * message must not go further: an announce of a peer we would not take
 * (over its sender's rate, or refused) is not passed on for a stranger.
 * One a full view could only keep as a candidate goes on: views with room
 * are further on. (Until 2026-12-07 it stopped there too, and a node that
 * joined a formed cluster announced itself to its bootstrap node's
 * peers, all full, and no further: 10 s late into 10,000 nodes, half of
 * those were in one view or none 20 s on; bench/RESULTS.md, "Late
 * joiners".) authentic: env's origin signed it (and, for state,
 * is a writer). */
static int builtin(hs_node *n, hs_envelope *env, int authentic)
{
    static const uint8_t unknown[16];
    const json_t *p;

    if (!is_builtin(env->type))
        return 1;
    p = hs_envelope_payload(env);
    if (strcmp(env->type, "peer_announce") == 0) {
        const char *id = json_string_value(json_object_get(p, "node_id"));
        const char *url = json_string_value(json_object_get(p, "url"));
        const char *root = json_string_value(json_object_get(p, "merkle_root"));
        /* An announce is a claim of whoever sent it to us (relays pass
         * them on), paced per that source; it is worth a candidate's
         * place in a full table half of the time. */
        hs_claim c = {n->rx_src_ok ? n->rx_src : unknown, 0, 0.5,
                      authentic && strcmp(id ? id : "", env->origin) == 0, 0};
        if (!id || !url || strcmp(id, n->id) == 0 || !hs_peers_valid_id(id) ||
            !hs_peers_valid_url(url))
            return 1;
        hs_err err = hs_membership_learn(n, id, url, root, env->timestamp, &c, NULL);
        return err == HS_OK || err == HS_ETOOBIG;
    }
    if (strcmp(env->type, "hs.tags") == 0) {
        hs_tags_receive(n, env, authentic);
    } else if (strcmp(env->type, "hs.query") == 0) {
        hs_query_receive(n, env, authentic);
    } else if (strcmp(env->type, "hs.leave") == 0 || strcmp(env->type, "hs.forceleave") == 0) {
        hs_left_receive(n, env, authentic);
    } else if (strncmp(env->type, "hs.", 3) == 0) {
        hs_membership_swim(n, env->type, p, authentic ? env->origin : NULL, env->origin);
    } else {
        const json_t *root = json_object_get(p, "merkle_root");
        const json_t *ver = json_object_get(p, "state_version");
        if (json_is_string(root) && json_string_length(root) <= HS_ROOT_MAX &&
            json_is_integer(ver) && counter_ok(ver))
            hs_node_apply_state(n, json_string_value(root), (uint64_t)json_integer_value(ver),
                                env->origin, authentic);
    }
    return 1;
}

/* What became of one envelope of a POST /gossip. */
typedef enum rx_outcome {
    RX_ACCEPTED,
    RX_DUPLICATE,
    RX_INVALID,  /* 400 */
    RX_UNSIGNED, /* 401: signed mode, and it carries no signature */
    RX_FORGED    /* 403: a signature that does not hold, or not a writer */
} rx_outcome;

static unsigned rx_status(rx_outcome rx)
{
    return rx == RX_UNSIGNED ? 401 : rx == RX_FORGED ? 403 : rx == RX_INVALID ? 400 : 200;
}

/*
 * What the answer to a push tells its sender of each origin (origins.h):
 * the origins with a message new to us ("new_from": the sender is our
 * path for them) and those whose messages were all duplicates
 * ("dup_from": it need not push us theirs). Only tree messages (kept
 * types) from a hearsay sender count; at most TALLY_MAX origins an
 * answer, the rest are left to the shared links.
 */
#define TALLY_MAX 16

typedef struct tally {
    size_t n;
    struct {
        char id[HS_PEER_ID_MAX + 1];
        unsigned char fresh;
    } v[TALLY_MAX];
} tally;

/* Counts env (its origin and type outlive hs_envelope_clear). */
static void tally_add(tally *t, const hs_envelope *env, rx_outcome rx)
{
    size_t i;

    if (!t || (rx != RX_ACCEPTED && rx != RX_DUPLICATE) || !env->origin[0] ||
        !hs_ae_retained_type(env->type))
        return;
    for (i = 0; i < t->n && strcmp(t->v[i].id, env->origin) != 0; i++)
        ;
    if (i == t->n) {
        if (t->n == TALLY_MAX)
            return;
        strcpy(t->v[t->n].id, env->origin);
        t->v[t->n++].fresh = 0;
    }
    t->v[i].fresh |= rx == RX_ACCEPTED;
}

/* Writes the tally's members (",\"new_from\":[...],\"dup_from\":[...]",
 * each only when not empty) into buf (TALLY_TEXT bytes). */
#define TALLY_TEXT (2 * 16 + TALLY_MAX * (HS_PEER_ID_MAX + 3) + 1)

static void tally_text(const tally *t, char *buf)
{
    static const char *const member[2] = {",\"dup_from\":[", ",\"new_from\":["};
    size_t off = 0;

    buf[0] = 0;
    for (int fresh = 1; t && fresh >= 0; fresh--) {
        size_t k = 0;
        for (size_t i = 0; i < t->n; i++) {
            if (t->v[i].fresh != fresh)
                continue;
            off += (size_t)sprintf(buf + off, "%s\"%s\"", k++ ? "," : member[fresh], t->v[i].id);
        }
        if (k)
            buf[off++] = ']';
    }
    buf[off] = 0;
}

/* A claim a node makes about itself (its URL, that it is alive): worth
 * checking its signature in every mode, since it may change what we
 * believe of that node. */
static int self_claim(hs_envelope *env)
{
    const char *id;

    if (strcmp(env->type, "peer_announce") != 0 && strcmp(env->type, "hs.alive") != 0 &&
        strcmp(env->type, "hs.tags") != 0 && strcmp(env->type, "hs.query") != 0 &&
        strcmp(env->type, "hs.leave") != 0)
        return 0;
    id = json_string_value(json_object_get(hs_envelope_payload(env), "node_id"));
    return id && strcmp(id, env->origin) == 0;
}

static int is_writer(const hs_node *n, const char *id)
{
    for (size_t i = 0; i < n->cfg.n_writers; i++)
        if (strcmp(n->cfg.writers[i], id) == 0)
            return 1;
    return 0;
}

/*
 * Whether a new envelope may in: in signed mode only one its origin
 * signed (and a state_update only from a writer, when writers are named);
 * in any mode a signed claim of a node about itself is checked, and
 * *authentic says it held. Refusals are counted; *why says what failed.
 */
static rx_outcome admit(hs_node *n, hs_envelope *env, const char **why, int *authentic)
{
    hs_sig sig;

    *authentic = 0;
    if (n->cfg.security < HS_SECURITY_SIGNED) {
        *authentic =
            env->signature[0] && self_claim(env) && hs_sign_check(n->keys, env, why) == HS_SIG_OK;
        return RX_ACCEPTED;
    }
    sig = hs_sign_check(n->keys, env, why);
    if (sig == HS_SIG_NONE) {
        n->m.messages_unsigned++;
        *why = "unsigned: this node takes only messages signed by their origin";
        return RX_UNSIGNED;
    }
    if (sig == HS_SIG_BAD) {
        n->m.messages_forged++;
        return RX_FORGED;
    }
    if (n->cfg.n_writers && strcmp(env->type, "state_update") == 0 && !is_writer(n, env->origin)) {
        n->m.messages_forged++;
        *why = "a state_update from a node that is not one of the writers";
        return RX_FORGED;
    }
    *authentic = 1;
    return RX_ACCEPTED;
}

/*
 * Handles one valid envelope (and clears it). `raw` (may be NULL) is its
 * bytes as they arrived, kept for anti-entropy unless a plugin rewrites the
 * payload. `pushed`: the sender pushed it (its ttl and hops say how deep in
 * the tree we are), not we fetched it.
 */
static rx_outcome receive_env(hs_node *n, hs_envelope *env, const hs_slice *raw, const char *sender,
                              int pushed, const char **why)
{
    hs_verdict verdict = HS_ACCEPT;
    int rewrote = 0, authentic = 0;
    hs_peer *from = NULL, *held;
    rx_outcome rx;

    /* Checked before it is marked seen: a forged copy must not make the
     * real one a "duplicate". */
    if (!hs_seen_contains(n->seen, env->bin) &&
        (rx = admit(n, env, why, &authentic)) != RX_ACCEPTED) {
        hs_envelope_clear(env);
        return rx;
    }
    env->sender = sender ? sender : "";
    /* X-Hearsay-From is the sender's word: it says who to spare in
     * seen_by and which tree link this is, but proves life only coming
     * from that peer's own address. */
    if (sender && (from = hs_peers_find(&n->peers, sender)) && hs_membership_from_matches(n, from))
        hs_membership_saw(n, from);
    held = hs_score_sender(n, sender);
    hs_err err = hs_seen_insert(n->seen, env->bin, hs_node_now(n), &n->m.seen_evicted);
    if (err == HS_EDUP) {
        n->m.messages_duplicate++;
        hs_lazy_copy(n, env->bin, 0);
        hs_seen_copy(n->seen, env->bin);
        if (from && pushed)
            hs_shortcut_offer(n, env->bin, env->ttl, from);
        hs_envelope_clear(env);
        return RX_DUPLICATE;
    }
    n->m.messages_received++;
    hs_lazy_copy(n, env->bin, 1);
    count_type(n, env->type);
    if (hs_ae_retained_type(env->type)) {
        n->last_news = hs_node_now(n);
        memcpy(n->last_news_id, env->bin, 32);
    }
    /* The peer a new message came from first is on the tree's shortest
     * path: our link to it carries messages the other way too. */
    if (from && n->cfg.tree && hs_ae_retained_type(env->type)) {
        hs_peers_set_eager(&n->peers, from, from->eager ? from->eager : 1);
        if (pushed) {
            hs_shortcut_note(n, env->bin, env->ttl, env->hops, from);
            /* Taken as new, it makes us its tree branch (on_sent): it
             * feeds us. (Not an announce or an hs.* message: those go by
             * random pushes, and their sender holds no link to us.) */
            from->feeds_us = 1;
            from->feeds_through = 0; /* (it had the message from elsewhere) */
        }
    }
    if (n->hooks.on_message) {
        json_t *rewritten = NULL;
        verdict = n->hooks.on_message(n->hooks.ud, n, env, &rewritten);
        if (rewritten) {
            json_decref(env->payload);
            env->payload = rewritten;
            env->payload_raw = NULL; /* no longer its text */
            env->payload_len = 0;
            rewrote = 1;
        }
    }
    /* A useful first delivery earns its sender score, an invalid one
     * costs it (score.h); a hook may have changed the table meanwhile. */
    if (n->hooks.on_message)
        held = hs_score_sender(n, sender);
    if (verdict == HS_REJECT) {
        n->m.messages_rejected++;
        if (held)
            hs_score_add(n, held, -n->cfg.score_reject);
    } else if (verdict == HS_IGNORE) {
        n->m.messages_ignored++;
    } else if (verdict == HS_DROP) {
        n->m.messages_dropped++;
    } else {
        if (held)
            hs_score_add(n, held, n->cfg.score_delivery);
        /* Kept only to be passed on: what a handler stopped here must not
         * reach other nodes through anti-entropy either. */
        if (verdict == HS_ACCEPT)
            hs_ae_retain(n, env, rewrote ? NULL : raw);
        if (!builtin(n, env, authentic))
            verdict = HS_STOP;
        if (verdict == HS_ACCEPT && env->ttl > 0) {
            forward(n, env, env->ttl - 1, n->cfg.fanout);
        } else if (env->ttl == 0) {
            n->m.messages_expired++;
            /* Not pushed on, but still offered: where the ttl runs out is
             * where the push leaves nodes behind. */
            if (verdict == HS_ACCEPT)
                forward(n, env, 0, 0);
        }
    }
    hs_envelope_clear(env);
    return RX_ACCEPTED;
}

/* Handles one parsed envelope; on RX_INVALID *reason names the problem,
 * otherwise id (65 bytes) gets the message id. */
static rx_outcome receive_one(hs_node *n, const json_t *j, const hs_slice *raw, const char *sender,
                              int pushed, const char **reason, char *id, tally *t)
{
    rx_outcome rx;
    hs_envelope_limits lim = {n->cfg.max_ttl, n->cfg.max_seen_by};
    hs_envelope env;

    if (hs_envelope_parse(j, &lim, &env, reason) != HS_OK) {
        n->m.messages_invalid++;
        return RX_INVALID;
    }
    if ((*reason = builtin_refusal(&env))) {
        n->m.messages_invalid++;
        hs_envelope_clear(&env);
        return RX_INVALID;
    }
    memcpy(id, env.id, sizeof env.id);
    rx = receive_env(n, &env, raw, sender, pushed, reason);
    tally_add(t, &env, rx);
    return rx;
}

static const char *const shortcut_member[] = {"", ",\"prune\":true", ",\"keep\":true"};

/* The reference's answer to one envelope, byte for byte what jansson
 * would write for {"status", "message_id"}, a shortcut's word and the
 * tally's members (a hearsay sender's; NULL: none). */
static char *single_answer(rx_outcome rx, const char *id, hs_shortcut_word w, const tally *t,
                           size_t *len)
{
    char extra[TALLY_TEXT];
    const char *status = rx == RX_ACCEPTED ? "accepted" : "duplicate";
    hs_jsonout o = {0};

    tally_text(t, extra);
    /* (Pieces joined, not printf: one of these a push.) */
    HS_JSONOUT_LIT(&o, "{\"status\":\"");
    hs_jsonout_put(&o, status, strlen(status));
    HS_JSONOUT_LIT(&o, "\",\"message_id\":\"");
    hs_jsonout_put(&o, id, strlen(id));
    HS_JSONOUT_LIT(&o, "\"");
    hs_jsonout_put(&o, shortcut_member[w], strlen(shortcut_member[w]));
    hs_jsonout_put(&o, extra, strlen(extra));
    HS_JSONOUT_LIT(&o, "}");
    return hs_jsonout_finish(&o, len);
}

static char *batch_answer(size_t accepted, size_t duplicate, json_t *errors, hs_shortcut_word w,
                          const tally *t, size_t *len)
{
    char extra[TALLY_TEXT];
    hs_jsonout o = {0};

    /* What jansson would write for {"accepted", "duplicate", "errors"},
     * a shortcut's word and the tally's members; pieces joined (one of
     * these a batched push). */
    tally_text(t, extra);
    HS_JSONOUT_LIT(&o, "{\"accepted\":");
    hs_jsonout_uint(&o, accepted);
    HS_JSONOUT_LIT(&o, ",\"duplicate\":");
    hs_jsonout_uint(&o, duplicate);
    HS_JSONOUT_LIT(&o, ",\"errors\":");
    if (!errors)
        HS_JSONOUT_LIT(&o, "[]");
    else if (hs_jsonout_json(&o, errors) != 0)
        o.failed = 1; /* (reasons are ours: never) */
    json_decref(errors);
    hs_jsonout_put(&o, shortcut_member[w], strlen(shortcut_member[w]));
    hs_jsonout_put(&o, extra, strlen(extra));
    HS_JSONOUT_LIT(&o, "}");
    return hs_jsonout_finish(&o, len); /* (NULL when o failed) */
}

/* Lists a refused envelope of a batch (errors made on first use). */
static json_t *add_error(json_t *errors, size_t index, const char *reason)
{
    if (!errors)
        errors = json_array();
    json_array_append_new(errors,
                          json_pack("{s:I, s:s}", "index", (json_int_t)index, "error", reason));
    return errors;
}

char *hs_gossip_receive_body(hs_node *n, const json_t *body, const char *raw, size_t rawlen,
                             const char *sender, int pushed, unsigned *status, size_t *len)
{
    const char *reason = NULL;
    char id[65];
    hs_slice one, *slices = NULL;
    size_t count, accepted = 0, duplicate = 0;
    json_t *errors = NULL;
    tally t, *tp;

    if (sender && !hs_peers_valid_id(sender))
        sender = NULL;
    t.n = 0;
    tp = pushed && sender ? &t : NULL;
    if (!json_is_array(body)) {
        rx_outcome rx =
            receive_one(n, body, raw && hs_json_trim(raw, rawlen, &one) == 0 ? &one : NULL, sender,
                        pushed, &reason, id, tp);
        if (rx != RX_ACCEPTED && rx != RX_DUPLICATE) {
            *status = rx_status(rx);
            return hs_http_error_text(reason, len);
        }
        *status = 200;
        return single_answer(
            rx, id,
            pushed ? hs_shortcut_answer(n, sender, rx == RX_ACCEPTED, rx == RX_DUPLICATE)
                   : HS_SHORTCUT_NONE,
            tp, len);
    }
    /* A batch: each envelope is judged on its own; the answer counts them
     * and lists the refused ones by index. */
    count = json_array_size(body);
    if (count == 0 || count > n->cfg.max_batch) {
        *status = 400;
        n->m.messages_invalid++;
        return hs_http_error_text("a batch holds 1 to max_batch envelopes", len);
    }
    /* Without the slices (no raw text, or out of memory) envelopes are
     * serialised again when kept: slower, never wrong. */
    if (raw && (slices = malloc(count * sizeof *slices)) &&
        hs_json_split_array(raw, rawlen, slices, count) != 0) {
        free(slices);
        slices = NULL;
    }
    for (size_t i = 0; i < count; i++) {
        switch (receive_one(n, json_array_get(body, i), slices ? &slices[i] : NULL, sender, pushed,
                            &reason, id, tp)) {
        case RX_ACCEPTED:
            accepted++;
            break;
        case RX_DUPLICATE:
            duplicate++;
            break;
        default:
            errors = add_error(errors, i, reason);
            break;
        }
    }
    free(slices);
    *status = 200;
    return batch_answer(accepted, duplicate, errors,
                        pushed && accepted + duplicate
                            ? hs_shortcut_answer(n, sender, accepted, duplicate)
                            : HS_SHORTCUT_NONE,
                        tp, len);
}

char *hs_gossip_receive_text(hs_node *n, const char *text, size_t len, const char *sender,
                             unsigned *status, size_t *alen)
{
    hs_envelope_limits lim = {n->cfg.max_ttl, n->cfg.max_seen_by};
    hs_envelope one, *envs = NULL;
    hs_slice *raw = NULL;
    size_t i = hs_json_ws(text, 0, len), count = 0, cap = 0, accepted = 0, duplicate = 0;
    tally t, *tp;

    *status = 0;
    if (sender && !hs_peers_valid_id(sender))
        sender = NULL;
    t.n = 0;
    tp = sender ? &t : NULL;
    if (i < len && text[i] == '{') {
        size_t start = i;
        if (hs_envelope_scan(text, len, &i, &lim, &one) != 0)
            return NULL;
        if (hs_json_ws(text, i, len) != len || builtin_refusal(&one)) {
            hs_envelope_clear(&one); /* the jansson path says why */
            return NULL;
        }
        hs_slice r = {text + start, i - start};
        char id[65];
        const char *why = NULL;
        memcpy(id, one.id, sizeof id);
        rx_outcome rx = receive_env(n, &one, &r, sender, 1, &why);
        *status = rx_status(rx);
        if (*status != 200)
            return hs_http_error_text(why, alen);
        tally_add(tp, &one, rx);
        return single_answer(
            rx, id, hs_shortcut_answer(n, sender, rx == RX_ACCEPTED, rx == RX_DUPLICATE), tp, alen);
    }
    /* A batch: scanned whole before any of it is handled, so a decline
     * leaves nothing done and the jansson path starts from scratch. Not
     * an array, or an empty one: the jansson path says why it is refused. */
    int more = hs_json_array_open(text, len, &i);
    if (more <= 0)
        return NULL;
    while (more > 0) {
        if (count >= n->cfg.max_batch)
            goto decline; /* too many: the jansson path refuses it */
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            hs_envelope *ne;
            hs_slice *nr;
            ne = realloc(envs, ncap * sizeof *envs);
            if (ne)
                envs = ne;
            nr = ne ? realloc(raw, ncap * sizeof *raw) : NULL;
            if (!nr)
                goto decline;
            raw = nr;
            cap = ncap;
        }
        size_t start = i;
        if (hs_envelope_scan(text, len, &i, &lim, &envs[count]) != 0)
            goto decline;
        if (builtin_refusal(&envs[count])) {
            hs_envelope_clear(&envs[count]);
            goto decline; /* the jansson path lists it by index */
        }
        raw[count].p = text + start;
        raw[count].len = i - start;
        count++;
        more = hs_json_array_next(text, len, &i);
    }
    if (more < 0)
        goto decline;
    json_t *errors = NULL;
    for (size_t k = 0; k < count; k++) {
        const char *why = NULL;
        rx_outcome rx = receive_env(n, &envs[k], &raw[k], sender, 1, &why);
        tally_add(tp, &envs[k], rx);
        if (rx == RX_ACCEPTED)
            accepted++;
        else if (rx == RX_DUPLICATE)
            duplicate++;
        else
            errors = add_error(errors, k, why);
    }
    free(envs);
    free(raw);
    *status = 200;
    return batch_answer(accepted, duplicate, errors,
                        hs_shortcut_answer(n, sender, accepted, duplicate), tp, alen);
decline:
    for (size_t k = 0; k < count; k++)
        hs_envelope_clear(&envs[k]);
    free(envs);
    free(raw);
    return NULL;
}

hs_err hs_node_broadcast(hs_node *n, const char *type, json_t *payload, char *id_out)
{
    unsigned ttl = type && strcmp(type, "peer_announce") == 0 ? n->cfg.announce_ttl : n->cfg.ttl;
    hs_err err;

    hs_node_event_begin(n);
    err = hs_gossip_broadcast(n, type, payload, ttl, 0, id_out);
    hs_node_event_end(n);
    return err;
}

hs_err hs_gossip_broadcast(hs_node *n, const char *type, json_t *payload, unsigned ttl,
                           size_t fanout, char *id_out)
{
    hs_envelope env;
    json_t *empty = NULL;
    hs_err err;
    int keep = 0; /* a handler stopped it: marked seen here, not sent */

    if (!n->started || n->closing)
        return HS_ESTATE;
    if (!type || !hs_envelope_valid_type(type))
        return HS_EINVAL;
    if (!payload)
        payload = empty = json_object();
    /* Strictly rising timestamps keep ids distinct for identical payloads. */
    double ts = hs_node_now(n);
    if (ts <= n->last_timestamp)
        ts = n->last_timestamp + 1e-6;
    n->last_timestamp = ts;
    err = hs_envelope_make(&env, type, payload, ts, ttl, n->id);
    json_decref(empty);
    /* (A broadcast made by that hook itself is not judged again.) */
    if (err == HS_OK && n->hooks.on_own && !n->in_own && !is_builtin(type)) {
        json_t *rewritten = NULL;
        hs_verdict v;
        env.sender = "";
        n->in_own = 1;
        v = n->hooks.on_own(n->hooks.ud, n, &env, &rewritten);
        n->in_own = 0;
        if (v != HS_ACCEPT && v != HS_STOP) {
            json_decref(rewritten);
            hs_envelope_clear(&env);
            n->m.messages_dropped++;
            return HS_EREFUSED;
        }
        if (rewritten) {
            hs_envelope_clear(&env);
            err = hs_envelope_make(&env, type, rewritten, ts, ttl, n->id);
            json_decref(rewritten);
        }
        keep = v == HS_STOP;
    }
    if (err == HS_OK && (err = hs_sign_envelope(n->ident, &env)) != HS_OK)
        hs_envelope_clear(&env); /* what we originate is signed by us */
    if (err != HS_OK)
        return err;
    err = hs_seen_insert(n->seen, env.bin, hs_node_now(n), &n->m.seen_evicted);
    if (err == HS_OK && !keep) {
        env.hops = 0;
        if (hs_ae_retained_type(env.type)) {
            n->last_news = hs_node_now(n);
            memcpy(n->last_news_id, env.bin, 32);
        }
        hs_ae_retain(n, &env, NULL);
        err = forward(n, &env, env.ttl, fanout ? fanout : n->cfg.fanout);
    }
    if (id_out)
        strcpy(id_out, env.id);
    hs_envelope_clear(&env);
    return err;
}
