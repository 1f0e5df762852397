/*
 * push.c -- the envelopes a node pushes: each peer's send queue (sendq.h),
 * flushed batch_window after the first envelope waits (or at once when a
 * batch is full) as POST /gossip, one envelope or a JSON array of them,
 * at most peer_connections in flight per peer and one per batch_interval
 * to a batch peer; and what the answers say:
 * the peer is alive, or failed; a duplicate, or its word, prunes an eager
 * link of the tree, a new copy makes one (Plumtree's PRUNE and GRAFT).
 * gossip.c forwards through it, lazy push and anti-entropy send what a
 * peer asked for through it. Cost: one request per batch.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "node.h"

/* The count after `key` (`"name":`) in a 2xx answer's body, or -1. */
static long count_of(const hs_http_result *res, const char *key)
{
    size_t k = strlen(key);
    const char *at = memmem(res->body, res->len, key, k), *end = res->body + res->len;
    long v = 0;

    if (!at || (at += k) >= end || *at < '0' || *at > '9')
        return -1;
    for (; at < end && *at >= '0' && *at <= '9' && v < 1000000; at++)
        v = v * 10 + (*at - '0');
    return v;
}

/* Whether a 2xx answer to POST /gossip says the envelopes were duplicates:
 * {"status":"duplicate",...} for one; for a batch ({"accepted": a,
 * "duplicate": d, ...}, the forms routes.c writes; other answers never
 * prune) at least as many duplicates as new ones. Not only all of them:
 * under load a link's pushes go in batches, and a link that brings one
 * new message in each batch of mostly copies others brought first was
 * never pruned (a loaded 100-node cluster went to 5 copies a message,
 * 100,000 duplicates a second, and stayed there). A link that was the
 * only path for some origins' messages and is pruned for the others' is
 * grafted again by the lazy offers of the next message it misses. */
static int all_duplicate(const hs_http_result *res)
{
    long accepted, duplicate;

    if (!res->body)
        return 0;
    if (memmem(res->body, res->len, "\"status\":\"duplicate\"", 20))
        return 1;
    accepted = count_of(res, "\"accepted\":");
    duplicate = count_of(res, "\"duplicate\":");
    return accepted >= 0 && duplicate >= 0 && hs_gossip_prunes((size_t)accepted, (size_t)duplicate);
}

/* Whether the answer carries `member`, as `"prune":true` (shortcut.c's
 * prune and keep). */
static int says(const hs_http_result *res, const char *member)
{
    return res->body && memmem(res->body, res->len, member, strlen(member)) != NULL;
}

/*
 * The answer's word per origin (gossip.c's tally): the origins named in
 * `member` ("new_from" or "dup_from", a list of ids) get the link to p
 * open (eager) or pruned for them (origins.h); at most 16 an answer. A
 * member that is not such a list ends the reading. Only a hearsay
 * node's answer has them; the shared link is judged on the counts as
 * before, and decides for every origin not named.
 */
static void per_origin(hs_node *n, hs_peer *p, const hs_http_result *res, const char *member,
                       int eager)
{
    size_t k = strlen(member);
    const char *at = memmem(res->body, res->len, member, k), *end = res->body + res->len;

    if (!at)
        return;
    at += k;
    for (int i = 0; i < 16 && at < end && *at == '"'; i++) {
        const char *id = ++at;
        while (at < end && *at != '"')
            at++;
        if (at >= end || !hs_peers_valid_idn(id, (size_t)(at - id)))
            return;
        hs_peers_set_origin(&n->peers, &n->rng, id, (size_t)(at - id), p, eager);
        if (++at < end && *at == ',')
            at++;
    }
}

/*
 * A push in flight (its pending entry's data): when it went and, to a peer
 * that takes offers, the ids and ttls of the envelopes in it whose ids we
 * know (tree pushes, repairs: hs_body_known). Listed in the node's
 * pushes_head..tail, oldest first, until it is answered or past its time
 * (hs_push_overdue).
 */
typedef struct hs_push_out {
    struct hs_push_out *prev, *next;
    hs_pending *e;
    double sent;     /* monotonic s */
    double check_at; /* ...or when its ids were last offered (its place in the list) */
    double taken_at; /* when an offer's answer showed the peer took it */
    unsigned char listed, stuck, taken, checks;
    size_t n;
    hs_idq_entry ids[];
} hs_push_out;

static void unlist(hs_node *n, hs_push_out *po)
{
    if (po->prev)
        po->prev->next = po->next;
    else
        n->pushes_head = po->next;
    if (po->next)
        po->next->prev = po->prev;
    else
        n->pushes_tail = po->prev;
    po->prev = po->next = NULL;
    po->listed = 0;
}

/* po at the list's end: its time comes after every other's (each is
 * check_at + hs_push_answer_wait, and check_at is now). */
static void list_last(hs_node *n, hs_push_out *po)
{
    po->listed = 1;
    po->prev = n->pushes_tail;
    if (n->pushes_tail)
        n->pushes_tail->next = po;
    else
        n->pushes_head = po;
    n->pushes_tail = po;
    if (n->pushes_head == po)
        hs_node_due_within(n, HS_DUE_STUCK, hs_push_answer_wait(n));
}

/* po's check is over: its peer's queue checks it no more. */
static void settled(hs_node *n, hs_push_out *po)
{
    hs_peer *p = hs_peers_find(&n->peers, po->e->peer);

    if (p && p->q && p->q->checking == po)
        p->q->checking = NULL;
    if (po->taken) {
        po->taken = 0;
        n->pushes_taken--;
    }
}

static void push_release(hs_node *n, void *data)
{
    hs_push_out *po = data;

    if (po && po->listed)
        unlist(n, po);
    if (po && po->e)
        settled(n, po);
    free(po);
}

/* e->flag of a push (on_sent). */
enum { PUSH_TREE = 1, PUSH_LOOSE = 2 };

/* The answer to a POST /gossip of e->word envelopes to e->peer; e->flag:
 * PUSH_TREE, one of them went along an eager link; PUSH_LOOSE, it held no
 * slot of the peer's (post()). */
static void on_sent(hs_node *n, hs_pending *e, const hs_http_result *res)
{
    hs_peer *p = hs_peers_find(&n->peers, e->peer);
    hs_push_out *po = e->data; /* (settled by push_release, after) */

    if (p && p->q) {
        /* (A stuck push's slot was given up already: stuck().) */
        if (e->flag & PUSH_LOOSE) {
            p->q->loose = 0;
        } else if (po && po->stuck) {
            if (p->q->stuck)
                p->q->stuck--;
        } else if (p->q->inflight) {
            p->q->inflight--;
        }
        /* What queued up meanwhile goes at the next flush, batched. */
        if (p->q->n)
            hs_push_schedule_flush(n);
    }
    if (res->err == HS_OK && res->status >= 200 && res->status < 300) {
        double rtt = hs_node_mono(n) - e->at;
        n->m.messages_sent += e->word;
        /* (hs_push_offer_wait, hs_push_answer_wait: Jacobson's mean and mean
         * deviation) */
        n->push_rttvar = n->push_rtt > 0
                             ? n->push_rttvar + (fabs(rtt - n->push_rtt) - n->push_rttvar) / 4
                             : rtt / 2;
        n->push_rtt = n->push_rtt > 0 ? n->push_rtt + (rtt - n->push_rtt) / 8 : rtt;
        if (p)
            hs_membership_saw(n, p);
        /* Plumtree's PRUNE: the peer had it already, from a faster path
         * (unless it keeps us as its shorter one), or it asks us to: it
         * took a shorter one (shortcut.c). From now on it is only offered
         * ids. */
        /* Per origin: a new message, whatever made us push it, makes us
         * its path for that origin; duplicates alone prune the link for
         * it, where an eager link took it. */
        if (p && res->body && n->cfg.tree && (!p->known || (p->features & HS_FEAT_AE))) {
            per_origin(n, p, res, "\"new_from\":[", 1);
            if ((e->flag & PUSH_TREE) && !says(res, "\"keep\":true"))
                per_origin(n, p, res, "\"dup_from\":[", 0);
        }
        if (p && (e->flag & PUSH_TREE)) {
            int dup = all_duplicate(res), keep = dup && says(res, "\"keep\":true");
            /* Duplicates prune the shared link (what origins without a
             * word of their own go by) unless it is open for more of
             * the origins that have one: a link that was the only way
             * into a group of nodes for the origins outside it was
             * pruned by the first duplicate of an origin inside (whose
             * message reached the group first from within), and every
             * new origin's messages then reached the group by lazy
             * offers, 500 ms late (c_proto
             * a_link_open_for_most_origins_stays_shared). */
            if (hs_peer_eager_link(p) &&
                (says(res, "\"prune\":true") || (dup && !keep && !hs_peer_open_for_most(p)))) {
                hs_peers_set_eager(&n->peers, p, 0);
                n->m.prunes++;
            } else if ((!dup || keep) && (!p->known || (p->features & HS_FEAT_AE))) {
                /* New to it, or kept as its shorter path: it now counts on
                 * us, whatever made us push, an eager link or a random
                 * push to a peer whose features we did not know yet (its
                 * copy from us may have pruned the branch it had). Once it
                 * is known, the tree goes on through this link, and a
                 * full table does not let go of it. */
                hs_peers_set_eager(&n->peers, p, HS_EAGER_CHILD);
            }
        }
    } else {
        n->m.send_errors += e->word;
        hs_node_log(n, HS_LOG_DEBUG, "gossip to %s failed: %s (HTTP %ld)", e->peer,
                    res->error ? res->error : res->body, res->status);
        /* A 4xx means the peer is alive and disliked the message; a
         * stuck push's peer answered a later request of ours (made
         * unhealthy when the push timed out, the peer was left out of
         * the next message's push and offers alike: at 1% loss a node
         * whose only feeder we were took it 8.3 s late); a loose one
         * went alone, beside the link's pushes, which (and the probes)
         * tell of the peer: counted, each lost announce set off a probe
         * round of its own, and at 20% loss with nodes pausing 3 s
         * (sim_spec's pausing(), seeds 1-12) 68 live nodes were declared
         * dead against 54 (seed 10: 25 against 1). */
        if (p && (res->err != HS_OK || res->status >= 500) && !(po && po->stuck) &&
            !(e->flag & PUSH_LOOSE))
            hs_membership_send_failed(n, p);
    }
}

static const hs_pending_kind push_kind = {HS_REQ_GOSSIP, on_sent, NULL, push_release};

/* How many of the bodies we know the ids of (hs_body_known). */
static size_t known_count(hs_body *const *bodies, size_t count)
{
    size_t k = 0;

    for (size_t i = 0; i < count; i++)
        k += bodies[i]->known;
    return k;
}

/* The record of a push of `count` bodies to p, when p takes offers and
 * we know the ids of k > 0 of them (NULL otherwise, or out of memory: it
 * holds its slot until answered). Only those are listed: with every push
 * listed, a deadline for each, 100 simulated nodes on two loaded hosts at
 * 700 broadcasts a second tore the tree in 2 seeds of 6 even with the
 * checks turned off (1.13-1.14 copies a node against 1.01-1.03). */
static hs_push_out *push_out_new(const hs_peer *p, hs_body *const *bodies, size_t count, size_t k)
{
    hs_push_out *po;

    if (!k || !(p->features & HS_FEAT_AE) || !(po = calloc(1, sizeof *po + k * sizeof po->ids[0])))
        return NULL;
    for (size_t i = 0; i < count; i++)
        if (bodies[i]->known) {
            memcpy(po->ids[po->n].id, bodies[i]->bin, 32);
            po->ids[po->n++].ttl = bodies[i]->ttl;
        }
    return po;
}

/*
 * How long a push may go unanswered before its ids are offered to check
 * on it (hs_push_overdue): as long as an offer waits (hs_push_offer_wait:
 * lazy_delay, or twice the pushes' moving round trip when that is
 * longer), or TCP's retransmission timeout from the pushes' round trips
 * (their mean plus four times their mean deviation) if that is longer:
 * where round trips vary, a slow answer is no sign of a lost request.
 */
double hs_push_answer_wait(const hs_node *n)
{
    double rto = n->push_rtt + 4 * n->push_rttvar, wait = hs_push_offer_wait(n);

    return rto > wait ? rto : wait;
}

/* POSTs `count` bodies to p, whose send queue exists: `body` (len bytes)
 * is their text. A push of nothing whose id we could offer (announces,
 * SWIM's news, leaves: messages nobody keeps, so no check can tell
 * whether they came) to a peer that takes offers holds none of its
 * peer_connections slots, one such at a time (q->loose): lost, it held
 * the link until its timeout, 5 s, and the tree pushes queued behind it
 * with it, which no check covers while they wait (1000 simulated nodes
 * at 1% loss: a node whose feeder's announce to it was lost as a
 * broadcast began had the broadcast 2.3-4.9 s late, by anti-entropy). */
static void post(hs_node *n, hs_peer *p, const char *body, size_t len, size_t count, int tree,
                 hs_body *const *bodies)
{
    hs_pending *e = hs_pending_new(n, &push_kind, p->id, p->url);
    hs_push_out *po;
    size_t known = known_count(bodies, count);

    if (!e) {
        n->m.send_errors += count;
        return;
    }
    e->word = count;
    e->flag = tree ? PUSH_TREE : 0;
    e->at = hs_node_mono(n);
    e->data = po = push_out_new(p, bodies, count, known);
    if (!known && !p->q->loose && (p->features & HS_FEAT_AE))
        e->flag |= PUSH_LOOSE;
    /* (before: a completion must find it counted) */
    if (e->flag & PUSH_LOOSE)
        p->q->loose = 1;
    else
        p->q->inflight++;
    if (hs_pending_send(e, "POST", "/gossip", body, len, n->cfg.request_timeout) != HS_OK) {
        if (e->flag & PUSH_LOOSE)
            p->q->loose = 0;
        else
            p->q->inflight--;
        n->m.send_errors += count;
        return;
    }
    if (!po)
        return;
    po->e = e;
    po->sent = po->check_at = e->at;
    list_last(n, po);
}

/*
 * A fixed lazy_delay holds only while the tree's copies come within it.
 * When a node's pushes wait (their peers slow to answer, or the node slow
 * to send), offers race copies still on their way; each is answered
 * "missing" and becomes one more copy, a graft and a prune, more work on
 * nodes already behind: on 100 loopback nodes at 200 broadcasts a second
 * a stall of a few hundred ms brought tens of thousands of repairs a
 * second and never settled (bench/RESULTS.md, Load). So offers wait twice
 * the pushes' moving round trip when that is longer, as TCP's timeout
 * follows its round trip.
 */
double hs_push_offer_wait(const hs_node *n)
{
    double wait = 2 * n->push_rtt, most = 8 * n->cfg.lazy_delay;

    return wait < n->cfg.lazy_delay ? n->cfg.lazy_delay : wait > most ? most : wait;
}

/* Outgoing batches stay well inside what any receiver takes (its max_batch
 * and max_body may be smaller than ours; the defaults are 1000 and 1 MiB). */
#define SEND_BATCH_MAX 64
#define SEND_BATCH_BYTES (256 * 1024)

/* What may wait for one peer while its requests are all in flight; beyond
 * that new envelopes are dropped (send_errors) and left to anti-entropy. */
#define SEND_QUEUE_MAX 4096
#define SEND_QUEUE_BYTES (4 * 1024 * 1024)

/* Sets HS_DUE_FLUSH at `at` (monotonic s) unless it is due sooner. */
static void flush_at(hs_node *n, double at)
{
    hs_node_due_within(n, HS_DUE_FLUSH, at - hs_node_mono(n));
}

/*
 * Sends what is queued for p: arrays of up to SEND_BATCH_MAX to a batch
 * peer, else one envelope per POST, while fewer than peer_connections
 * POSTs to it are in flight. The rest waits: for the flush after an answer,
 * in bigger batches. Without this bound a node that takes envelopes faster
 * than a peer does hands curl a request per batch without limit, and curl
 * then spends its time walking its own queue (O(n) per completion).
 *
 * And to a batch peer, while POSTs follow each other closely, at most one
 * per batch_interval: a link that carries a message every few
 * milliseconds would otherwise cost a request per message at both ends.
 * A credit of HOLD_BURST POSTs, earned back at one per batch_interval,
 * lets a few go at once (a broadcast right after an unrelated push is not
 * held); once it is spent what comes waits for the next credit and goes
 * with it in one batch. A whole batch waiting goes at once.
 */
#define HOLD_BURST 2.0

static void send_queue(hs_node *n, hs_peer *p)
{
    hs_sendq *q = p->q;
    int batch = (p->features & HS_FEAT_BATCH) != 0;
    double every = n->cfg.batch_interval, wait = hs_push_offer_wait(n);
    double late = wait > n->cfg.lazy_delay ? hs_node_mono(n) - wait : -1;

    /*
     * A tree push that has waited here as long as an offer waits
     * (hs_push_offer_wait; the peer slow to answer, or we slow to send)
     * is no sooner than the lazy offers its other holders have made
     * meanwhile: it goes as an offer of its id, due at once (it rides
     * the peer's next lazy request, within the slack that batches them),
     * and the peer asks for it if it still lacks it. Pushed late, it came as a
     * duplicate and pruned the link: after a stall of a few hundred ms on
     * 100 loopback nodes at 200 broadcasts a second the queues kept
     * bringing 40,000-60,000 duplicates a second for 15 s, long after the
     * repairs (bench/RESULTS.md, Load). Only while pushes are slow across
     * the board (their round trip over half a lazy_delay): a queue held up
     * by one lost request waits for its timeout as before (converted, the
     * first broadcast on 1000 simulated nodes at 1% loss took up to 11.8 s
     * to its last node, against 5.3 s). And only to a peer that takes
     * offers: a reference node would never get the message.
     */
    while ((p->features & HS_FEAT_AE) && q->n && q->v[0]->tree && q->v[0]->born > 0 &&
           q->v[0]->born < late) {
        hs_body *b = hs_sendq_pop(q);
        n->up.offer_now(n, p, b->bin, b->ttl);
        n->m.pushes_late++;
        hs_body_unref(b);
    }

    while (q->n && q->inflight < n->cfg.peer_connections) {
        if (batch && every > 0) {
            double now = hs_node_mono(n);
            q->credit += (now - q->credit_at) / every;
            if (q->credit > HOLD_BURST || q->credit_at <= 0)
                q->credit = HOLD_BURST;
            q->credit_at = now;
            if (q->credit < 1 - 1e-6 && q->n < SEND_BATCH_MAX && q->bytes < SEND_BATCH_BYTES) {
                flush_at(n, now + (1 - q->credit) * every);
                return;
            }
            q->credit = q->credit >= 1 ? q->credit - 1 : 0;
        }
        if (q->n > 1 && batch) {
            size_t len, count;
            int tree;
            hs_body *taken[SEND_BATCH_MAX];
            char *joined =
                hs_sendq_join(q, SEND_BATCH_MAX, SEND_BATCH_BYTES, &len, &count, &tree, taken);
            if (!joined)
                return; /* out of memory: kept, tried again at the next flush */
            n->m.batches_sent++;
            post(n, p, joined, len, count, tree, taken);
            free(joined);
            for (size_t i = 0; i < count; i++)
                hs_body_unref(taken[i]);
        } else {
            hs_body *b = hs_sendq_pop(q);
            post(n, p, b->data, b->len, 1, b->tree, &b);
            hs_body_unref(b);
        }
    }
}

void hs_push_flush(hs_node *n)
{
    for (size_t i = 0; i < n->peers.n; i++)
        if (n->peers.v[i]->q && n->peers.v[i]->q->n)
            send_queue(n, n->peers.v[i]);
}

void hs_push_schedule_flush(hs_node *n)
{
    flush_at(n, hs_node_mono(n) + n->cfg.batch_window);
}

void hs_push_enqueue(hs_node *n, hs_peer *p, hs_body *body)
{
    hs_sendq *q = hs_peers_sendq(p);

    if (!q || q->n >= SEND_QUEUE_MAX || q->bytes + body->len > SEND_QUEUE_BYTES ||
        hs_sendq_push(q, body) != 0) {
        n->m.send_errors++;
        return;
    }
    /* A full batch goes now; the rest waits for the window. */
    if (q->n >= SEND_BATCH_MAX || q->bytes >= SEND_BATCH_BYTES) {
        send_queue(n, p);
        return;
    }
    hs_push_schedule_flush(n);
}

/* Stuck pushes a peer's queue may go on past at once, beyond
 * peer_connections: a push is stuck only once its peer answered a later
 * request, so a peer gone never has one; two, as the push of what a
 * stuck one's peer lacked may be lost too (at 1% loss it was, and the
 * link waited 5 s again). */
#define STUCK_MAX 2

/* Offers of a push's ids at most: one lost too leaves the push to its
 * timeout, and what it carried to other holders' offers or anti-entropy
 * (1000 simulated nodes at 1% loss: a node pushed a broadcast by one
 * holder and offered it by none had it 1.46 s late, by a /ping's news).
 * A peer gone answers none: three requests more before the push's
 * timeout. */
#define CHECKS_MAX 3

/* How long the answer to a push its peer took may come behind the answer
 * to the offer that showed it (they travel apart). */
static double taken_grace(const hs_node *n)
{
    return hs_push_answer_wait(n) / 4;
}

/* p's push po is stuck: its queue goes on past it. */
static void stuck(hs_node *n, hs_peer *p, hs_push_out *po)
{
    hs_sendq *q = p->q;

    settled(n, po);
    if (!q || !q->inflight || q->stuck >= STUCK_MAX)
        return;
    q->inflight--;
    q->stuck++;
    po->stuck = 1;
    n->m.pushes_stuck++;
    if (q->n)
        send_queue(n, p);
}

/*
 * A push lost on the way (the request or its answer) held its peer's
 * queue until request_timeout (5 s): with peer_connections 1 every message
 * for that link, and the subtree behind it, waited or came by other
 * holders' offers, 500 ms late, and a message in the lost request that no
 * other holder offered waited for anti-entropy (1000 simulated nodes at 1%
 * loss: half the lazy repairs, and 10 of 30 broadcasts' last node over
 * 1 s). A push unanswered for hs_push_answer_wait has its ids offered to the
 * peer at once (one such push a peer at a time), and the offer's answer
 * tells (hs_push_answered): the peer lacks some of them, and the push is
 * stuck (the request was lost): the queue goes on past it (at most
 * STUCK_MAX a peer) and what the peer lacks is pushed at once; or it has
 * them all, and the push is stuck if its own answer has not come
 * taken_grace later (lost). A peer that is only slow takes the push
 * first, as it came first, and answers it about when it answers the
 * offer: the offer cost it a request with nothing missing, and its queue
 * stays as it was (taken for stuck at once, simulated hosts under 700
 * broadcasts a second got a second request from 125 slow pushes each
 * and the tree tore: 1.13 copies a node against 1.01). A peer gone holds
 * its requests until they time out, as before.
 */
void hs_push_overdue(hs_node *n)
{
    /* Deadlines have millisecond steps: what is due within one goes now. */
    double now = hs_node_mono(n), after = hs_push_answer_wait(n), grace = taken_grace(n), next = -1;
    hs_push_out *po;

    while ((po = n->pushes_head) && po->check_at + after <= now + 0.001) {
        hs_peer *p = hs_peers_find(&n->peers, po->e->peer);
        unlist(n, po);
        if (!p || !p->q || po->stuck || po->taken || p->q->stuck >= STUCK_MAX ||
            (p->q->checking && p->q->checking != po) || po->checks >= CHECKS_MAX)
            continue; /* it holds its slot until answered, as before */
        hs_idq ids = {po->ids, po->n, po->n};
        p->q->checking = po;
        po->checks++;
        po->check_at = now;
        list_last(n, po); /* (offered again if this offer goes unanswered) */
        n->up.offer_ids(n, p, &ids);
    }
    if (po)
        next = po->check_at + after;
    /* Taken pushes whose answers did not come (rare: a scan of the view). */
    for (size_t i = 0; n->pushes_taken && i < n->peers.n; i++) {
        hs_peer *p = n->peers.v[i];
        hs_push_out *c = p->q ? p->q->checking : NULL;
        if (!c || !c->taken)
            continue;
        if (c->taken_at + grace <= now + 0.001)
            stuck(n, p, c);
        else if (next < 0 || c->taken_at + grace < next)
            next = c->taken_at + grace;
    }
    if (next >= 0)
        hs_node_after(n, HS_DUE_STUCK, next - now);
}

void hs_push_answered(hs_node *n, hs_peer *p, double sent, const uint8_t (*missing)[32],
                      size_t count)
{
    hs_push_out *po = p->q ? p->q->checking : NULL;

    if (!po || po->sent >= sent || po->taken)
        return;
    for (size_t i = 0; i < count; i++)
        for (size_t k = 0; k < po->n; k++)
            if (memcmp(missing[i], po->ids[k].id, 32) == 0) {
                stuck(n, p, po);
                return;
            }
    po->taken = 1;
    po->taken_at = hs_node_mono(n);
    n->pushes_taken++;
    hs_node_due_within(n, HS_DUE_STUCK, taken_grace(n));
}
