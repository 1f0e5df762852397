/*
 * shortcut.c -- Plumtree's optimisation: a node deep in the tree moves up.
 *
 * The tree grows from first arrivals, so it follows the fastest paths, and
 * where some hops cost much less than others (nodes sharing a host or a
 * rack) it runs deep: at 1000 nodes in the benchmark, 30 to a process, up
 * to 29 hops. The ttl bounds that depth: a node that gets a message with
 * ttl 0 pushes it to none of its children, each of which then waits for a
 * lazy offer. So a node past half of a message's ttl (its hops at least
 * the ttl it has left) takes a path HS_SHORTCUT_HOPS or more hops shorter
 * when one shows up: a duplicate push of a recent message, or a lazy offer
 * of one, with that much more ttl. It keeps that link (the duplicate is
 * answered "keep" instead of pruning it, the offer "graft") and asks the
 * parent its copy came from to let go of it: that parent's next push is
 * answered "prune". The fields are extra members of the answers, which
 * nodes that do not know them ignore.
 *
 * State: the last HS_RECENT new messages that came from a hearsay peer,
 * with their ttl, hops and sender, by id (166 bytes each: a record held
 * by pointer could be freed, and its memory taken by another peer's, when
 * the peer is forgotten), and two bits per peer.
 */
#include <string.h>

#include "node.h"

/* How many hops shorter a path must be to be taken. */
#define HS_SHORTCUT_HOPS 3

/* Records are found through a list a bucket (ids are hashes: their first
 * byte will do; a sender that picks its ids to share one costs the scan
 * of all HS_RECENT records there was before, no more); that scan was most
 * of the cost of a lazy offer's ids. The lowest slot holding the id, as
 * that scan found. */
#define BUCKET(id) ((id)[0] % HS_RECENT)
_Static_assert(HS_RECENT < 256, "slots + 1 are kept in bytes");

static struct hs_recent *find(hs_node *n, const uint8_t id[32])
{
    struct hs_recent *best = NULL;

    for (unsigned s = n->recent_head[BUCKET(id)]; s; s = n->recent_link[s - 1]) {
        struct hs_recent *r = &n->recent[s - 1];
        if (r->from && memcmp(r->id, id, 32) == 0 && (!best || r < best))
            best = r;
    }
    return best;
}

/* Slot i leaves its bucket's list, if it is in one. */
static void unlink_slot(hs_node *n, unsigned i)
{
    for (uint8_t *at = &n->recent_head[BUCKET(n->recent[i].id)]; *at; at = &n->recent_link[*at - 1])
        if (*at == i + 1) {
            *at = n->recent_link[i];
            n->recent_link[i] = 0;
            return;
        }
}

static void set_from(hs_node *n, struct hs_recent *r, const hs_peer *p)
{
    r->from = hs_peers_name(&n->peers, p);
}

void hs_shortcut_note(hs_node *n, const uint8_t id[32], unsigned ttl, unsigned hops, hs_peer *from)
{
    struct hs_recent *r;

    /* Repairs (anti-entropy's pushes) come with ttl 0, whatever the depth:
     * a ttl-0 copy says nothing of the tree. */
    if (!n->cfg.tree || !from || ttl == 0 || !(from->features & HS_FEAT_AE))
        return;
    /* A parent we asked to let go of whose copy now comes first, and not
     * past half of the ttl, is a good parent again: the depth that made
     * us leave it is gone. Pruning it anyway (its link may have come back
     * long after the shortcut, by the reverse rule) left nodes whose other
     * links had gone with no way into the tree. */
    if (from->prune_asked && hops < ttl)
        from->prune_asked = 0;
    unsigned i = n->recent_next++ % HS_RECENT;
    unlink_slot(n, i);
    r = &n->recent[i];
    memcpy(r->id, id, 32);
    n->recent_link[i] = n->recent_head[BUCKET(id)];
    n->recent_head[BUCKET(id)] = (uint8_t)(i + 1);
    r->ttl = (uint16_t)(ttl > 0xffff ? 0xffff : ttl);
    r->hops = (uint16_t)(hops > 0xffff ? 0xffff : hops);
    set_from(n, r, from);
}

int hs_shortcut_offer(hs_node *n, const uint8_t id[32], unsigned ttl, hs_peer *via)
{
    struct hs_recent *r = n->cfg.tree && via ? find(n, id) : NULL;
    hs_peer *parent;

    /* (The sender's name is hashed last: every duplicate pushed to us
     * comes here, and most fail the cheap tests first.) */
    if (!r || r->hops < r->ttl || ttl < (unsigned)r->ttl + HS_SHORTCUT_HOPS ||
        via->state != HS_PEER_ALIVE || !(via->features & HS_FEAT_AE) ||
        r->from == hs_peers_name(&n->peers, via))
        return 0;
    parent = hs_peers_named(&n->peers, r->from); /* O(peers): only a shortcut about to be taken */
    if (!parent)
        return 0;
    parent->prune_asked = 1;
    parent->keep = 0;
    via->keep = 1;
    via->prune_asked = 0;
    /* Later copies and offers are judged against the path taken. */
    r->hops = (uint16_t)(r->hops + r->ttl > ttl ? r->hops + r->ttl - ttl : 0);
    r->ttl = (uint16_t)(ttl > 0xffff ? 0xffff : ttl);
    set_from(n, r, via);
    n->m.shortcuts++;
    return 1;
}

hs_shortcut_word hs_shortcut_answer(hs_node *n, const char *sender, size_t accepted,
                                    size_t duplicate)
{
    hs_peer *p = n->cfg.tree && sender ? hs_peers_find(&n->peers, sender) : NULL;

    if (!p)
        return HS_SHORTCUT_NONE;
    /* What we answer decides whether it goes on pushing to us
     * (hs_peer.feeds_us, set by a new message it pushed: gossip.c; its
     * on_sent is the other side). */
    if (accepted) {
        /* Its copy came first: it is our parent now, keep or not. */
        p->keep = 0;
        if (p->prune_asked) {
            p->prune_asked = 0;
            p->feeds_us = 0;
            return HS_SHORTCUT_PRUNE;
        }
        if (!hs_gossip_prunes(accepted, duplicate))
            return HS_SHORTCUT_NONE;
    }
    /* Mostly duplicates (at least as many as new ones; a batch's answer),
     * or only: that prunes it (push.c), unless we keep it. */
    p->prune_asked = 0;
    p->feeds_us = p->keep;
    return p->keep ? HS_SHORTCUT_KEEP : HS_SHORTCUT_NONE;
}
