/*
 * lazypush.c -- lazy push, Plumtree's IHAVE.
 *
 * Push gossip with fanout f reaches a share of about 1 - e^-f of the nodes
 * (95% at f = 3; 89% measured on 100 nodes with 50-peer views), and until
 * now the rest waited for an anti-entropy round. So besides the `fanout`
 * peers a new message is pushed to, `lazy_fanout` more hearsay peers are
 * offered only its id, `lazy_delay` later (so that most pushed copies
 * arrive first). Ids for one peer wait together and go as POST /digest {"node_id", "ids": [...],
 * "lazy": true}; the peer answers {"missing": [the ids it lacks]} and gets those envelopes at once,
 * with the ttl a pushed copy would have had, so it forwards them on. A miss costs one round trip
 * instead of an anti-entropy period, and a peer that already has the message pays for an id, not a
 * payload, nor is it counted as a copy.
 *
 * With the tree (gossip.c) these offers are what heals it: a peer that
 * answers "missing" becomes an eager link (GRAFT). They wait lazy_delay
 * (0.25 s) so that they do not race the tree's own copies, and a node asks
 * only the first of the peers offering it an id at once (each "missing"
 * would be a copy and a graft).
 *
 * Only retained types travel lazily (what a peer asks for is sent from the
 * retained copy), only to peers advertising "ae". A node that receives a
 * message with ttl 0 does not push it on but still offers it, with ttl 0:
 * where the ttl runs out is where the push leaves nodes behind. Cost per
 * new message: lazy_fanout ids of 67 bytes, sharing requests with every
 * other id for the same peer.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "hash.h"
#include "jsonout.h"
#include "node.h"

/* Ids per lazy request; well under any receiver's max_digest default. */
#define LAZY_CHUNK 256
/* Ids that may wait to be offered to one peer: as many as the envelopes
 * that may wait to be pushed to it (push.c). Beyond it an offer is
 * dropped and counted (send_errors): anti-entropy covers it. Without it a
 * flood of new messages grew the queue by rate x lazy_delay. */
#define LAZY_QUEUE_MAX 4096

/* How long the peers drawn for lazy offers stay drawn (s). */
#define LAZY_ROTATE 1.0

/*
 * Lazy links: the peers a message is offered to are not drawn afresh for
 * every message but once a LAZY_ROTATE: twice lazy_fanout of the live
 * hearsay peers that are not eager links (Plumtree's lazy links, drawn
 * from a big view), and each message is offered to lazy_fanout of them,
 * in its seen_by or not (gossip.c, choose_targets). Under load that is
 * what makes offers batch: with a draw per message, 60 messages a second
 * over 50 peers gave each peer one or two ids per lazy_delay, a request
 * each, 85% of all requests in the cluster; with lazy links the ids of a
 * rotation go to at most 2 x lazy_fanout peers, a request per link per
 * lazy_delay at most (hs_lazy_due) whatever the rate. The draw moves on
 * every rotation, so every node keeps being offered what it might have
 * missed. A view of at most 2 x lazy_fanout such peers is all links:
 * offers go as they did before.
 */
static int lazy_eligible(const hs_peer *p)
{
    return p->state == HS_PEER_ALIVE && (p->features & HS_FEAT_AE) && !hs_peer_eager_link(p);
}

void hs_lazy_links(hs_node *n)
{
    double now = hs_node_mono(n);
    size_t want = 2 * (size_t)n->cfg.lazy_fanout, have = 0, seen = 0;
    int redraw = n->lazy_drawn <= 0 || now - n->lazy_drawn >= LAZY_ROTATE;
    hs_peer *pick[128]; /* 2 x lazy_fanout, at most 64 (config.c) */

    if (redraw)
        n->lazy_drawn = now > 0 ? now : 1e-9;
    /* Links kept: those still eligible (between draws a link can turn
     * eager, or die); then the rest drawn from the others, so that a peer
     * that just turned lazy (pruned) can be offered at once. */
    for (size_t i = 0; i < n->peers.n; i++) {
        hs_peer *p = n->peers.v[i];
        if (redraw || !lazy_eligible(p))
            p->lazy_link = 0;
        have += p->lazy_link;
    }
    if (have >= want)
        return;
    want -= have;
    /* Reservoir sampling over the eligible others: one pass, want draws. */
    for (size_t i = 0; i < n->peers.n; i++) {
        hs_peer *p = n->peers.v[i];
        if (p->lazy_link || !lazy_eligible(p))
            continue;
        if (seen < want)
            pick[seen] = p;
        else {
            uint64_t j = hs_rng_below(&n->rng, seen + 1);
            if (j < want)
                pick[j] = p;
        }
        seen++;
    }
    for (size_t i = 0; i < seen && i < want; i++)
        pick[i]->lazy_link = 1;
}

/* Sets HS_DUE_LAZY `in` s from now unless it is due sooner. */
static void lazy_due_within(hs_node *n, double in)
{
    n->lazy_pending = 1;
    hs_node_due_within(n, HS_DUE_LAZY, in);
}

/* Queues id for p, offered from `due` (monotonic s) on. */
static void offer_at(hs_node *n, hs_peer *p, const uint8_t id[32], unsigned ttl, double due)
{
    hs_sendq *q = hs_peers_sendq(p);

    if (!q || q->lazy.n >= LAZY_QUEUE_MAX || hs_idq_push(&q->lazy, id, ttl, due) != 0) {
        n->m.send_errors++;
        return;
    }
    n->m.lazy_offered++;
    lazy_due_within(n, due - hs_node_mono(n));
}

void hs_lazy_offer(hs_node *n, hs_peer *p, const uint8_t id[32], unsigned ttl)
{
    offer_at(n, p, id, ttl, hs_node_mono(n) + hs_push_offer_wait(n));
}

void hs_lazy_offer_now(hs_node *n, hs_peer *p, const uint8_t id[32], unsigned ttl)
{
    hs_sendq *q = hs_peers_sendq(p);
    double due = hs_node_mono(n);

    /* After the ids queued before it: those due form a prefix. */
    if (q && q->lazy.n && q->lazy.v[q->lazy.n - 1].due > due)
        due = q->lazy.v[q->lazy.n - 1].due;
    offer_at(n, p, id, ttl, due);
}

static int cmp_entry(const void *a, const void *b)
{
    return memcmp(((const hs_idq_entry *)a)->id, ((const hs_idq_entry *)b)->id, 32);
}

/* The answer to an offer to e->peer of the e->word ids in e->data (what
 * we offered, hs_idq_entry in the order offered), sent at e->at. */
static void on_answer(hs_node *n, hs_pending *e, const hs_http_result *res)
{
    hs_idq_entry *ents = e->data;
    hs_peer *p = hs_peers_find(&n->peers, e->peer);
    json_t *ans;
    size_t count = 0;
    uint8_t(*ids)[32];

    if (res->err != HS_OK || res->status != 200) {
        /* Like a failed push: the peer may be going away. (Not a check
         * on a push: the push's own failure counts, or does not.) */
        if (p && !e->flag && (res->err != HS_OK || res->status >= 500))
            hs_membership_send_failed(n, p);
        return;
    }
    /* Most answers lack nothing: no JSON tree for those. */
    static const char none[] = "{\"missing\":[]}";
    if (res->len == sizeof none - 1 && memcmp(res->body, none, sizeof none - 1) == 0) {
        if (p) {
            hs_membership_saw(n, p);
            hs_push_answered(n, p, e->at, NULL, 0);
        }
        return;
    }
    ans = json_loadb(res->body, res->len, 0, NULL);
    ids = p ? hs_digest_parse_ids(json_object_get(ans, "missing"), LAZY_CHUNK, &count) : NULL;
    /* (Before what it lacks is pushed: that goes past a push it never
     * took.) */
    if (p)
        hs_push_answered(n, p, e->at, (const uint8_t(*)[32])ids, ids ? count : 0);
    /* What we offered, sorted by id for the lookups below (only now: most
     * answers lack nothing). */
    if (ids && count > 0)
        qsort(ents, (size_t)e->word, sizeof *ents, cmp_entry);
    if (p)
        hs_membership_saw(n, p);
    /* Plumtree's GRAFT: the tree did not bring it what we had, or we are a
     * shorter path than the one it came by (shortcut.c); from now on we
     * push to it, and it counts on us: a branch of the tree, which a full
     * table does not let go of (the peer may have no other). A miss opens
     * the link for the missed messages' origins (their answers give
     * them words) and for new ones, not for every origin we keep words
     * for (HS_EAGER_GRAFTED); a shorter path, and a link already eager,
     * for all. */
    int shorter = json_is_true(json_object_get(ans, "graft"));
    if (p && ((ids && count > 0) || shorter) && n->cfg.tree && p->eager != HS_EAGER_CHILD) {
        if (!p->eager)
            n->m.grafts++;
        hs_peers_set_eager(&n->peers, p,
                           shorter || p->eager == 1 ? HS_EAGER_CHILD : HS_EAGER_GRAFTED);
    }
    for (size_t i = 0; ids && i < count; i++) {
        hs_idq_entry key;
        const hs_idq_entry *offered;
        size_t blen, tlen;
        const char *kept;
        char *text;
        hs_body *b;

        memcpy(key.id, ids[i], 32);
        offered = bsearch(&key, ents, (size_t)e->word, sizeof key, cmp_entry);
        kept = offered ? hs_seen_body(n->seen, ids[i], &blen) : NULL;
        /* Kept with ttl 0 for repairs (and the hops it came to us with);
         * it goes on with the ttl a pushed copy would have had, one hop
         * further. */
        text = kept ? hs_envelope_raw_relay(kept, blen, offered->ttl, &tlen) : NULL;
        b = text ? hs_body_new(text, tlen) : NULL;
        free(text);
        if (b) {
            hs_body_known(b, ids[i], offered->ttl);
            hs_push_enqueue(n, p, b);
            hs_body_unref(b);
            n->m.lazy_pushed++;
        }
    }
    free(ids);
    json_decref(ans);
}

static const hs_pending_kind offer_kind = {HS_REQ_LAZY, on_answer, NULL, NULL};

/* The lazy digest of q->v[from..from+count) as text: {"node_id", "ids":
 * [...], "ttls": [...], "lazy": true}, written straight into one buffer
 * (with jansson, a string per id, a number per ttl and a dump: 12% of a
 * loaded process's CPU samples at 80 broadcasts/s were under send_chunk);
 * NULL out of memory. */
static char *lazy_text(hs_node *n, const hs_idq *q, size_t from, size_t count, size_t *len)
{
    hs_jsonout o = {0};

    /* "ids" 67 bytes an id, "ttls" at most 6 (a ttl and a comma). */
    hs_jsonout_reserve(&o, strlen(n->id) + 64 + count * (67 + 6));
    HS_JSONOUT_LIT(&o, "{\"node_id\":");
    hs_jsonout_string(&o, n->id, strlen(n->id));
    HS_JSONOUT_LIT(&o, ",\"ids\":[");
    for (size_t i = 0; i < count; i++) {
        if (i)
            HS_JSONOUT_LIT(&o, ",");
        hs_jsonout_hex(&o, q->v[from + i].id, 32);
    }
    /* "ttls": the ttl each copy would carry, so that a node deep in the
     * tree sees a shorter path (shortcut.c). */
    HS_JSONOUT_LIT(&o, "],\"ttls\":[");
    for (size_t i = 0; i < count; i++) {
        if (i)
            HS_JSONOUT_LIT(&o, ",");
        hs_jsonout_uint(&o, q->v[from + i].ttl);
    }
    HS_JSONOUT_LIT(&o, "],\"lazy\":true}");
    return hs_jsonout_finish(&o, len);
}

static void send_chunk(hs_node *n, hs_peer *p, const hs_idq *q, size_t from, size_t count,
                       int check)
{
    size_t len = 0;
    char *text = lazy_text(n, q, from, count, &len);
    hs_idq_entry *ents = text ? malloc(count * sizeof *ents) : NULL;
    hs_pending *e = ents ? hs_pending_new(n, &offer_kind, p->id, p->url) : NULL;

    if (!e) {
        free(ents);
        free(text);
        n->m.send_errors++;
        return;
    }
    memcpy(ents, q->v + from, count * sizeof *ents);
    e->data = ents;
    e->word = count;
    e->flag = check;
    e->at = hs_node_mono(n);
    if (hs_pending_send(e, "POST", "/digest", text, len, n->cfg.request_timeout) != HS_OK)
        n->m.send_errors++;
    free(text);
}

void hs_lazy_offer_ids(hs_node *n, hs_peer *p, const hs_idq *q)
{
    for (size_t i = 0; i < q->n; i += LAZY_CHUNK) {
        size_t count = q->n - i < LAZY_CHUNK ? q->n - i : LAZY_CHUNK;
        n->m.lazy_offered += count;
        send_chunk(n, p, q, i, count, 1);
    }
}

/* Sends the ids of every peer whose oldest id has waited twice lazy_delay,
 * every id of its that has waited lazy_delay with it, and comes back when
 * the next peer's has. Under a steady stream of messages each id would
 * otherwise be due alone, a request per id (measured: 85% of a loaded
 * cluster's requests); so an id waits between one and two lazy_delay
 * (never less: an offer that races the tree's own copy is answered
 * "missing" and becomes a copy and a graft), and a peer gets at most one
 * lazy request per lazy_delay whatever the rate. */
#define LAZY_SLACK(n) ((n)->cfg.lazy_delay)

static double refetch(hs_node *n, double now);

void hs_lazy_due(hs_node *n)
{
    /* Deadlines have millisecond steps: what is due within one goes now. */
    double now = hs_node_mono(n), next = -1;

    n->lazy_pending = 0;
    if (n->closing)
        return;
    next = refetch(n, now + 0.001);
    for (size_t k = 0; k < n->peers.n; k++) {
        hs_peer *p = n->peers.v[k];
        hs_idq *q = p->q ? &p->q->lazy : NULL;
        size_t due = q && q->n && q->v[0].due + LAZY_SLACK(n) <= now + 0.001
                         ? hs_idq_due(q, now + 0.001)
                         : 0;
        for (size_t i = 0; i < due; i += LAZY_CHUNK)
            send_chunk(n, p, q, i, due - i < LAZY_CHUNK ? due - i : LAZY_CHUNK, 0);
        if (!q)
            continue;
        hs_idq_shift(q, due);
        if (q->n && (next < 0 || q->v[0].due + LAZY_SLACK(n) < next))
            next = q->v[0].due + LAZY_SLACK(n);
    }
    if (next >= 0) {
        n->lazy_pending = 1;
        hs_node_after(n, HS_DUE_LAZY, next - now);
    }
}

/* How long an id we asked one offerer for is not asked of the others: its
 * copy is on the way, and every peer that has the message offers it within
 * about the same lazy_delay. */
#define ASK_AGAIN_AFTER 0.5

/*
 * Asks that bring a second copy. Under load, or after a stall, the tree's
 * copies come late: an offer overtakes one, is answered "missing", and
 * the copy it brings is one more, and a graft, and the tree's own copy a
 * duplicate and a prune: more work for nodes already behind, and the tree
 * did not settle (simulated, half of 100 nodes stopped 0.5 s under 200
 * broadcasts a second, envelopes costed: 1.18-1.31 copies per node from
 * 3 s after; bench/RESULTS.md, Load). So a node keeps count of what its
 * asks bring: ask_waste moves 1/8 of the way to 1 when an asked id's
 * second copy comes, or a deferred one's copy comes unasked, and to 0 when
 * an asked id brought one copy or a deferred one had to be fetched; it
 * decays to 0 with a time constant of ASK_WASTE_DECAY. Above
 * ASK_WASTE_DEFER (two asks of the last few gone to waste) the node does
 * not ask at once: it notes the offerer and fetches the id from it a
 * lazy_delay later if it still lacks it (POST /fetch: no graft; the copy
 * comes with ttl 0 and goes on by offers), as Plumtree's receiver waits
 * on a timer before it grafts (the pause above: 1.02-1.07). A node whose
 * asks bring one copy each (a push lost, not late) asks at once as
 * before: the same runs, event for event, at 1000 simulated nodes and 1%
 * loss. Then from a second offerer if that copy does not come either
 * (fetch_from), as for an id asked at once.
 */
#define ASK_WASTE_DEFER 0.15
#define ASK_WASTE_DECAY 2.0

static double waste_now(const hs_node *n, double now)
{
    if (n->ask_waste_at > 0 && now > n->ask_waste_at)
        return n->ask_waste * exp(-(now - n->ask_waste_at) / ASK_WASTE_DECAY);
    return n->ask_waste;
}

static void waste_add(hs_node *n, int wasted, double now)
{
    double w = waste_now(n, now);

    n->ask_waste = w + ((wasted ? 1.0 : 0.0) - w) / 8;
    n->ask_waste_at = now;
}

static void fetch_from(hs_node *n, size_t k);

/* The slot for a new record: the oldest, whose account is settled first
 * (an asked id that brought one copy; a deferred one still due is
 * fetched now rather than forgotten). */
static size_t take_slot(hs_node *n, double now)
{
    size_t k = n->lazy_asked_next++ % HS_LAZY_ASKED;

    if (n->lazy_asked[k].asked && n->lazy_asked[k].copies == 1)
        waste_add(n, 0, now);
    if (n->lazy_asked[k].deferred && n->lazy_asked[k].alt)
        fetch_from(n, k);
    memset(&n->lazy_asked[k], 0, sizeof n->lazy_asked[k]);
    return k;
}

void hs_lazy_copy(hs_node *n, const uint8_t id[32], int first)
{
    for (size_t k = 0; k < HS_LAZY_ASKED; k++) {
        /* (Every copy taken looks here: the first byte spares most calls.) */
        if ((!n->lazy_asked[k].asked && !n->lazy_asked[k].deferred) ||
            n->lazy_asked[k].id[0] != id[0] || memcmp(n->lazy_asked[k].id, id, 32) != 0)
            continue;
        double now = hs_node_mono(n);
        if (n->lazy_asked[k].deferred) {
            /* It came unasked: asking would have brought a second. */
            if (first)
                waste_add(n, 1, now);
            n->lazy_asked[k].deferred = 0;
            n->lazy_asked[k].alt = 0;
        } else if (first) {
            n->lazy_asked[k].copies = 1;
        } else if (n->lazy_asked[k].copies == 1) {
            n->lazy_asked[k].copies = 2;
            waste_add(n, 1, now);
        }
        return;
    }
}

/* Whether we ask for id now: we lack it, have not just asked another
 * offerer for it, and our asks lately did not bring second copies.
 * Remembers it as asked; or, when another offerer was asked already or
 * the ask is deferred, `via` as the one to fetch it from should no copy
 * come. */
static int unasked(hs_node *n, const uint8_t id[32], double now, const hs_peer *via, int defer)
{
    size_t k;

    for (k = 0; k < HS_LAZY_ASKED; k++)
        if (memcmp(n->lazy_asked[k].id, id, 32) == 0 &&
            now - n->lazy_asked[k].at < ASK_AGAIN_AFTER) {
            /* (A peer's name is a hash: made only when it is kept.) */
            if ((!n->lazy_asked[k].alt || n->lazy_asked[k].again) && via) {
                uint64_t name = hs_peers_name(&n->peers, via);
                if (name != n->lazy_asked[k].alt) {
                    if (!n->lazy_asked[k].alt)
                        n->lazy_asked[k].due = n->lazy_asked[k].at + hs_push_answer_wait(n);
                    n->lazy_asked[k].alt = name;
                    n->lazy_asked[k].again = 0;
                    lazy_due_within(n, n->lazy_asked[k].due - now);
                }
            } else if (n->lazy_asked[k].deferred && via && !n->lazy_asked[k].second) {
                uint64_t name = hs_peers_name(&n->peers, via);
                if (n->lazy_asked[k].alt != name)
                    n->lazy_asked[k].second = name;
            }
            return 0; /* asked already; that copy is on its way */
        }
    k = take_slot(n, now);
    memcpy(n->lazy_asked[k].id, id, 32);
    if (defer && via) {
        /* Fetched from via a lazy_delay from now (refetch), unless a copy
         * comes first. */
        n->lazy_asked[k].at = now - ASK_AGAIN_AFTER + n->cfg.lazy_delay;
        n->lazy_asked[k].due = now + n->cfg.lazy_delay;
        n->lazy_asked[k].alt = hs_peers_name(&n->peers, via);
        n->lazy_asked[k].deferred = 1;
        n->m.lazy_deferred++;
        lazy_due_within(n, n->cfg.lazy_delay);
        return 0;
    }
    n->lazy_asked[k].at = now;
    n->lazy_asked[k].asked = 1;
    if (via) {
        /* Should its copy not come, nor another offer, it is fetched from
         * via again (the answer or the push was lost): at 1% loss a node
         * offered a first broadcast once waited 4.4 s for anti-entropy. */
        n->lazy_asked[k].alt = hs_peers_name(&n->peers, via);
        n->lazy_asked[k].again = 1;
        n->lazy_asked[k].due = now + hs_push_answer_wait(n);
        lazy_due_within(n, n->lazy_asked[k].due - now);
    }
    return 1;
}

/* The envelopes a second offerer sent for our POST /fetch (ttl 0). */
static void on_refetched(hs_node *n, hs_pending *e, const hs_http_result *res)
{
    (void)hs_ae_take_fetched(n, e->peer, res);
}

static const hs_pending_kind refetch_kind = {HS_REQ_FETCH, on_refetched, NULL, NULL};

/* POST /fetch of record k's id from its alt, unless that peer is gone or
 * the id came meanwhile; a deferred id fetched is an ask that was needed. */
static void fetch_from(hs_node *n, size_t k)
{
    uint64_t alt = n->lazy_asked[k].alt;
    char hex[65], body[96];

    n->lazy_asked[k].alt = 0;
    hs_peer *p = hs_peers_named(&n->peers, alt);
    if ((!p || p->state != HS_PEER_ALIVE) && n->lazy_asked[k].deferred && n->lazy_asked[k].second) {
        p = hs_peers_named(&n->peers, n->lazy_asked[k].second);
        n->lazy_asked[k].second = 0;
    }
    if (!p || p->state != HS_PEER_ALIVE || hs_seen_contains(n->seen, n->lazy_asked[k].id))
        return;
    int deferred = n->lazy_asked[k].deferred;
    if (deferred) {
        /* Asked now: if this copy does not come either, the second
         * offerer's is fetched, as for an id asked at once. */
        double now = hs_node_mono(n);
        n->lazy_asked[k].deferred = 0;
        n->lazy_asked[k].asked = 1;
        n->lazy_asked[k].at = now;
        n->lazy_asked[k].alt = n->lazy_asked[k].second;
        n->lazy_asked[k].second = 0;
        n->lazy_asked[k].due = now + hs_push_answer_wait(n);
        if (n->lazy_asked[k].alt)
            lazy_due_within(n, n->lazy_asked[k].due - now);
        waste_add(n, 0, now);
    }
    hs_hash_to_hex(n->lazy_asked[k].id, 32, hex);
    snprintf(body, sizeof body, "{\"ids\":[\"%s\"]}", hex);
    hs_pending *e = hs_pending_new(n, &refetch_kind, p->id, p->url);
    if (e &&
        hs_pending_send(e, "POST", "/fetch", body, strlen(body), n->cfg.request_timeout) == HS_OK &&
        !deferred)
        n->m.lazy_refetched++;
}

/*
 * Ids asked of one offerer whose copy has not come ASK_AGAIN_AFTER later
 * are fetched from a second offerer, once (Plumtree's GRAFT to the next
 * announcer): the answer or the push may have been lost, and the other
 * offers came meanwhile and were not asked, so the message waited for
 * anti-entropy, 8-10 s (1000 simulated nodes at 1% loss: one node in
 * three broadcasts). Returns when the next such id is due (monotonic s),
 * or -1.
 */
static double refetch(hs_node *n, double now)
{
    double next = -1;

    for (size_t k = 0; k < HS_LAZY_ASKED; k++) {
        double due = n->lazy_asked[k].due;
        if (!n->lazy_asked[k].alt)
            continue;
        if (due > now) {
            next = next < 0 || due < next ? due : next;
            continue;
        }
        fetch_from(n, k);
    }
    return next;
}

/*
 * The answer to a lazy offer: {"missing": [the ids we lack and have not
 * just asked another peer for]}, and "graft": true when an id we have
 * comes with a ttl that shows a shorter path through the offerer (its
 * "ttls", paired with the ids by position: shortcut.c), which then pushes
 * to us.
 */
json_t *hs_lazy_answer(hs_node *n, const hs_offer *o, unsigned *status)
{
    hs_peer *via = o->node_id[0] ? hs_peers_find(&n->peers, o->node_id) : NULL;
    json_t *missing = json_array(), *ans;
    double now = hs_node_mono(n);
    int graft = 0, defer = waste_now(n, now) > ASK_WASTE_DEFER;
    char hex[65];

    for (size_t i = 0; missing && i < o->count; i++) {
        if (hs_seen_contains(n->seen, o->ids[i])) {
            if (!graft && via && o->ttls[i] != HS_OFFER_NO_TTL && o->ttls[i] <= n->cfg.max_ttl)
                graft = hs_shortcut_offer(n, o->ids[i], o->ttls[i], via);
        } else if (unasked(n, o->ids[i], now, via, defer)) {
            hs_hash_to_hex(o->ids[i], 32, hex);
            json_array_append_new(missing, json_string(hex));
        }
    }
    n->m.lazy_answered++;
    /* A "missing" or "graft" makes the offerer push to us from now on. */
    if (via && n->cfg.tree && (graft || json_array_size(missing) > 0)) {
        via->feeds_us = 1;
        via->feeds_through = 0; /* (it has what we lack) */
    }
    ans = missing ? json_pack("{s:o}", "missing", missing) : NULL;
    if (ans && graft)
        json_object_set_new(ans, "graft", json_true());
    *status = ans ? 200 : 500;
    return ans;
}
