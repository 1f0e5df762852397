/*
 * membership.c -- who our peers are, and whether they are alive.
 *
 * A peer is ALIVE, UNHEALTHY (a send or probe failed), SUSPECT or DEAD.
 * Failure detection follows SWIM: a probe (GET /health) that fails is
 * retried indirectly through up to indirect_probes other hearsay peers
 * (POST /probe); only when they cannot reach it either does it count as a
 * failure; a failed round that took a probe_interval or more is followed
 * by the next at once. After dead_after failures the peer is suspected and
 * the suspicion is gossiped (hs.suspect); a live node that hears it is
 * suspected refutes it by gossiping hs.alive with a higher incarnation.
 * Every node that hears it probes the peer too, and one whose own probes
 * fail suspects it as well and says so (up to suspicion_confirmations of
 * them): Lifeguard's independent suspicions, each of which shortens the
 * suspicion from suspicion_timeout towards suspicion_min (suspicions.h).
 * Unrefuted for that long, the suspect is declared dead and the death is
 * gossiped (hs.dead), so every node drops it. A peer not seen for
 * dead_timeout is dead too. Dead peers leave /peers and gossip, but stay in
 * the table and are probed again with exponential backoff (retry_min
 * doubling to retry_max) until they answer or forget_after passes. A node
 * with fewer than min_peers live peers bootstraps again, which heals
 * partitions once the network is reachable.
 *
 * Every request is an entry of the node's pending table (pending.h) naming
 * its peer by id; completions look the peer up again, so a peer forgotten
 * meanwhile is simply skipped.
 *
 * Direct probes in flight are bounded by max_probes_in_flight (each holds
 * a curl handle, ~20 KiB). Only first probes of newly learned peers,
 * re-probes of unhealthy ones and retries of dead peers wait for a slot:
 * the first in FIFO order (the peer table's wait list; periodic rounds
 * leave them there), the others until the next maintenance tick. Periodic probes of live peers and
 * SWIM's indirect probes never wait, so failure detection keeps its pace;
 * they only take slots away from the waiting ones.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cidr.h"
#include "hash.h"
#include "http_url.h"
#include "jsonpick.h"
#include "discovery.h"
#include "left.h"
#include "node.h"
#include "score.h"

static double clip_wall(const hs_node *n, double t)
{
    double now = hs_node_now(n);
    return t > now ? now : t;
}

static void notify(hs_node *n, hs_peer *p, int up)
{
    hs_peer_info info;

    if (!n->hooks.on_peer)
        return;
    hs_peer_info_of(p, &info);
    n->hooks.on_peer(n->hooks.ud, n, &info, up);
}

/* Starts a GET of base + path about peer_id (NULL: a bootstrap URL),
 * its timeout kept in the entry's `at` and `flag` given; 1 when it is
 * under way (its answer will come to kind). */
static int request_t(hs_node *n, const hs_pending_kind *kind, int flag, const char *peer_id,
                     const char *base, const char *path, double timeout)
{
    hs_pending *e = hs_pending_new(n, kind, peer_id, base);

    if (!e)
        return 0;
    e->at = timeout;
    e->flag = flag;
    /* (A probe's failure may be ours: failed_on_us.) */
    e->waited = kind->slot == HS_REQ_PROBE ? hs_node_waited(n) : -1;
    return hs_pending_send(e, "GET", path, NULL, 0, timeout) == HS_OK;
}

static void request(hs_node *n, const hs_pending_kind *kind, int flag, const char *peer_id,
                    const char *base, const char *path)
{
    request_t(n, kind, flag, peer_id, base, path, n->cfg.request_timeout);
}

static void swim_broadcast(hs_node *n, const char *type, const char *id, uint64_t incarnation,
                           const char *url)
{
    json_t *p = json_pack("{s:s, s:I, s:s}", "node_id", id, "incarnation", (json_int_t)incarnation,
                          "by", n->id);
    if (p && url)
        json_object_set_new(p, "url", json_string(url));
    if (p)
        n->up.broadcast(n, type, p, n->cfg.ttl, 0, NULL);
    json_decref(p);
}

int hs_node_url_allowed(hs_node *n, const char *url)
{
    if (!n->cfg.tls_cert || strncmp(url, "https://", 8) == 0)
        return 1;
    n->m.tls_plain_refused++;
    return 0;
}

void hs_node_exchange_soon(hs_node *n)
{
    double in = hs_node_due_in(n, HS_DUE_EXCHANGE);

    if (!n->started || n->closing || !n->cfg.join_exchanges || n->cfg.peer_exchange_interval <= 1)
        return;
    n->join_exchanges = n->cfg.join_exchanges;
    n->fast_exchanges = 0;
    n->exchange_next = 1;
    if (in == HS_NEVER || in > 1)
        hs_node_after(n, HS_DUE_EXCHANGE, 1);
}

const double hs_probe_bounds[HS_PROBE_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025,
                                                  0.05,  0.1,    0.25,  0.5,  1};

void hs_stats_probe(hs_node *n, int answered, int late, double ms)
{
    size_t k = 0;

    if (!answered) {
        if (late)
            n->stats.probes_late++;
        else
            n->stats.probes_failed++;
        return;
    }
    n->stats.probes_ok++;
    n->stats.probe_seconds += ms / 1000;
    while (k < HS_PROBE_BUCKETS - 1 && ms / 1000 > hs_probe_bounds[k])
        k++;
    if (ms / 1000 <= hs_probe_bounds[k])
        n->stats.probe_le[k]++;
}

/* Parses a JSON object answer; NULL unless HTTP 200 with a JSON body.
 * (hs_json_load: json_loadb's tree, a /peers list at a third of its
 * cost.) */
static json_t *answer_json(const hs_http_result *res)
{
    if (res->err != HS_OK || res->status != 200)
        return NULL;
    return hs_json_load(res->body, res->len);
}

/* The members of a probe answer (/ping or /health) that on_probe,
 * on_candidate, on_boot_health and absorb() read: a /health's others (its
 * metrics above all) are only validated, not built (jsonpick.h). */
static json_t *probe_answer_json(const hs_http_result *res)
{
    static const char *const keys[] = {"node_id",     "incarnation", "tags",   "features", "feeds",
                                       "room",        "spare",       "news",   "try",      "held",
                                       "through_you", "up",          "news_id"};

    if (res->err != HS_OK || res->status != 200)
        return NULL;
    return hs_json_pick(res->body, res->len, keys, sizeof keys / sizeof *keys);
}

/* Why a peer is declared dead, for the log. */
enum dead_cause { DEAD_CLAIM, DEAD_SUSPICION, DEAD_SILENT };

static double suspicion_length(const hs_node *n, const hs_peer *p);
/* probe()'s `feed`: a plain probe, an ask to be fed, or a check of a
 * feeder's yes (a /ping, which says whether it feeds us). */
enum { PROBE_PLAIN, PROBE_ASK, PROBE_CHECK, PROBE_UP };
static void probe(hs_node *n, hs_peer *p, int feed);
static void tell_below(hs_node *n);
static int slot_free(const hs_node *n);

static void declare_dead(hs_node *n, hs_peer *p, enum dead_cause cause)
{
    double now = hs_node_mono(n);
    double length = cause == DEAD_SUSPICION ? suspicion_length(n, p) : 0;
    unsigned others = hs_suspicions_count(n->suspicions, p->id, p->incarnation);

    hs_suspicions_drop(n->suspicions, p->id);
    hs_peers_set_state(&n->peers, p, HS_PEER_DEAD);
    hs_peers_set_eager(&n->peers, p, 0); /* a dead link carries nothing */
    hs_peers_sendq_free(p);
    hs_peers_wait_unlink(&n->peers, p);
    p->dead_since = now;
    p->backoff = n->cfg.retry_min;
    p->next_probe = now + p->backoff;
    n->m.peers_removed++;
    if (cause == DEAD_CLAIM)
        hs_node_log(n, HS_LOG_INFO, "peer %s (%s) is dead: gossiped so, and our probe failed too",
                    p->id, p->url);
    else if (cause == DEAD_SUSPICION)
        hs_node_log(n, HS_LOG_INFO,
                    "peer %s (%s) is dead: suspect for %gs (%u other nodes suspect it too) "
                    "without refuting it (%u failed probes, direct and indirect)",
                    p->id, p->url, length, others, p->failures);
    else
        hs_node_log(n, HS_LOG_INFO, "peer %s (%s) is dead: not heard from in dead_timeout (%gs)",
                    p->id, p->url, n->cfg.dead_timeout);
    notify(n, p, 0);
}

static void probe_first(hs_node *n, hs_peer *p);

void hs_membership_saw(hs_node *n, hs_peer *p)
{
    p->last_seen = hs_node_now(n);
    p->failures = 0;
    p->claim = 0; /* whatever was said of it, it is there */
    /* Its first probe went unanswered, yet it is there: ask again now
     * (see hs_membership_probe_next). */
    if (!p->known && !p->probing && !p->waiting && p->state != HS_PEER_DEAD)
        probe_first(n, p);
    if (p->state == HS_PEER_ALIVE)
        return;
    /* It answered: who suspected it so far no longer counts. */
    hs_suspicions_reset(n->suspicions, p->id);
    if (p->state == HS_PEER_DEAD) {
        if (n->peers.live >= n->cfg.max_peers) {
            /* Alive after all, but the table has no room for it. Its next
             * retry keeps its backoff: left due, it was probed at every
             * maintenance tick for as long as the table stayed full (6
             * probes a second per node after a 1000-node warm-up). A
             * probe that finds it so forgets it (on_probe). */
            p->next_probe = hs_node_mono(n) + p->backoff;
            return;
        }
        hs_peers_set_state(&n->peers, p, HS_PEER_ALIVE);
        n->m.peers_recovered++;
        hs_node_log(n, HS_LOG_INFO, "peer %s (%s) is back", p->id, p->url);
        /* What either side said while they were apart crosses now (before
         * the hook: a plugin may drop the peer). */
        n->up.ae_catchup(n, p, hs_node_mono(n) - p->dead_since);
        notify(n, p, 1);
        return;
    }
    hs_peers_set_state(&n->peers, p, HS_PEER_ALIVE);
}

void hs_membership_heard_from(hs_node *n, const char *id)
{
    double mono = hs_node_mono(n);
    hs_peer *p;

    if (!id || !(p = hs_peers_find(&n->peers, id)))
        return;

    /* A peer held dead that speaks to us (a partition healed) is probed
     * at the next tick rather than at the end of its backoff; the header
     * is only a hint (anyone may send it): the probe decides. */
    if (p->state == HS_PEER_DEAD && p->next_probe > mono)
        p->next_probe = mono;
}

/*
 * Lifeguard's dynamic suspicion: a suspicion that our own probes alone
 * bear out runs suspicion_timeout; every other node that suspects the
 * peer too (its own hs.suspect, sent when its own probes failed) shortens
 * it, down to suspicion_min once suspicion_confirmations (k) have:
 * max - (max - min) * log(c + 1) / log(k + 1). A crashed node is failed
 * by every prober at once, a paused or cut-off one by few: at 1000
 * simulated nodes the first kind was dead everywhere 15-19 s after the
 * crash, most of it the full suspicion_timeout after every holder had
 * suspected it (bench/RESULTS.md, Simulator, Detection).
 */
static double suspicion_length(const hs_node *n, const hs_peer *p)
{
    double max = n->cfg.suspicion_timeout, t;
    double min = n->cfg.suspicion_min < max ? n->cfg.suspicion_min : max;
    unsigned k = n->cfg.suspicion_confirmations, c;

    if (k == 0)
        return max;
    c = hs_suspicions_count(n->suspicions, p->id, p->incarnation);
    if (c >= k)
        return min;
    t = max - (max - min) * log(c + 1.0) / log(k + 1.0);
    return t > min ? t : min;
}

/* Whether p's suspicion has run out (1 µs of slack: the deadline is the
 * sum, read back). */
static int suspicion_over(const hs_node *n, const hs_peer *p)
{
    return hs_node_mono(n) - p->suspect_since >= suspicion_length(n, p) - 1e-6;
}

/* Sets HS_DUE_SUSPECT to the end of the suspicion that runs out first. */
static void schedule_suspicions(hs_node *n)
{
    double soonest = HS_NEVER;

    for (size_t i = 0; i < n->peers.n; i++) {
        hs_peer *p = n->peers.v[i];
        /* (One past its end with a round under way ends with the round.) */
        if (p->state == HS_PEER_SUSPECT && !(p->probing && suspicion_over(n, p))) {
            double at = p->suspect_since + suspicion_length(n, p);
            if (soonest == HS_NEVER || at < soonest)
                soonest = at;
        }
    }
    hs_node_after(n, HS_DUE_SUSPECT, soonest == HS_NEVER ? HS_NEVER : soonest - hs_node_mono(n));
}

/* Declares a suspect dead. Every node that heard the suspicion times out
 * about then; the death is gossiped by those who suspected it on their
 * own probes alone, not by all of them. */
static void end_suspicion(hs_node *n, hs_peer *p)
{
    int ours = p->suspected_here;

    declare_dead(n, p, DEAD_SUSPICION);
    if (ours)
        swim_broadcast(n, "hs.dead", p->id, p->incarnation, NULL);
}

static void suspect(hs_node *n, hs_peer *p, int ours)
{
    p->suspected_here = (unsigned char)ours;
    hs_peers_set_state(&n->peers, p, HS_PEER_SUSPECT);
    p->suspect_since = hs_node_mono(n);
    n->m.suspicions++;
    hs_node_log(n, HS_LOG_INFO, "peer %s (%s) is suspect", p->id, p->url);
    schedule_suspicions(n);
}

/* Records that `by` suspects p at incarnation inc, not older than p's
 * (its hs.suspect): one confirmation more if it is another node, and not
 * yet k of them. */
static void confirmed_by(hs_node *n, hs_peer *p, uint64_t inc, const char *by)
{
    unsigned k = n->cfg.suspicion_confirmations;

    if (!k || !by || strcmp(by, n->id) == 0)
        return;
    if (!n->suspicions) {
        uint64_t key[2] = {hs_rng_next(&n->rng), hs_rng_next(&n->rng)};
        if (!(n->suspicions = hs_suspicions_new(key)))
            return; /* out of memory: the suspicion runs in full */
    }
    unsigned before = hs_suspicions_count(n->suspicions, p->id, p->incarnation);
    if (hs_suspicions_add(n->suspicions, p->id, inc, by, k, hs_node_mono(n)) == before)
        return;
    n->m.confirmations++;
    if (p->state == HS_PEER_SUSPECT)
        schedule_suspicions(n);
}

/*
 * Local health (Lifeguard's local health multiplier). A node too busy to
 * answer in time -- its loop stalled, its cores taken by others -- sees
 * its own probes fail, suspects healthy peers, and the gossip of those
 * suspicions, the indirect probes and the refutations load everyone more:
 * a 1000-node cluster on 2 cores turned that into a storm (3,700 probes,
 * 2,100 indirect probes and 35 suspicions a second, both cores busy, with
 * no message of ours in flight). So a node keeps a score of how much its
 * own failures are likely its own doing: up one when a probe of ours came
 * back late, when neither the peer nor any helper answered (no one could
 * say the peer was gone: we may be the one cut off), or when it had to
 * refute a suspicion of itself; down one for each probe answered in time.
 * With score k it probes (1 + k) times less often and gives each probe
 * (1 + k) times longer. A node in trouble backs off until it is not.
 */
static void local_health_worse(hs_node *n)
{
    if (n->local_health < HS_LOCAL_HEALTH_MAX)
        n->local_health++;
}

static double probe_timeout(const hs_node *n)
{
    return n->cfg.probe_timeout * (1 + n->local_health);
}

void hs_membership_failed(hs_node *n, hs_peer *p)
{
    int claim = p->claim;

    p->claim = 0;
    if (hs_node_stalled(n)) {
        n->m.probes_late++; /* we, not the peer, were too slow */
        local_health_worse(n);
        return;
    }
    p->failures++;
    if (p->state == HS_PEER_DEAD) {
        p->backoff = p->backoff * 2 > n->cfg.retry_max ? n->cfg.retry_max : p->backoff * 2;
        p->next_probe = hs_node_mono(n) + p->backoff;
        return;
    }
    /* A gossiped claim of its death or suspicion that our own probe (and
     * the helpers') now bears out: believed, as SWIM would have at once. */
    if (claim == HS_CLAIM_DEAD) {
        declare_dead(n, p, DEAD_CLAIM);
        return;
    }
    if (p->state == HS_PEER_SUSPECT) {
        /* Its suspicion ran out while this round was under way. */
        if (suspicion_over(n, p))
            end_suspicion(n, p);
        return;
    }
    hs_peers_set_state(&n->peers, p, HS_PEER_UNHEALTHY);
    if (claim == HS_CLAIM_SUSPECT) {
        /* Another node's suspicion, and ours now: said too, while fewer
         * than k others have (each one shortens everyone's). */
        suspect(n, p, 0);
        if (hs_suspicions_count(n->suspicions, p->id, p->incarnation) <
            n->cfg.suspicion_confirmations)
            swim_broadcast(n, "hs.suspect", p->id, p->incarnation, NULL);
    } else if (p->failures >= n->cfg.dead_after) {
        suspect(n, p, 1);
        swim_broadcast(n, "hs.suspect", p->id, p->incarnation, NULL);
    } else if (hs_node_mono(n) >= p->next_probe && !p->probing && slot_free(n)) {
        /* A round that ran into its timeouts took a probe_interval or
         * more: the next goes at once, not at the next tick (a crashed
         * peer's rounds came 3 s apart, 2 s of probing and 1 s of
         * waiting). A round that failed sooner (refused at once) waits
         * for the tick: dead_after stays a span of time. */
        probe(n, p, 0);
    }
}

/*
 * SWIM's rule: only the probe protocol suspects a peer. A push that timed
 * out says the peer was slow, or we were; a probe that failed, and then
 * failed again through indirect_probes other peers, says it is gone.
 * Counting failed pushes towards dead_after let a 1000-node cluster on 2
 * cores suspect its busiest nodes by the dozen each second, and every
 * suspicion is a broadcast (hs.suspect, then hs.alive): a storm.
 */
void hs_membership_send_failed(hs_node *n, hs_peer *p)
{
    if (hs_node_stalled(n))
        return; /* we, not the peer, were too slow */
    if (p->state != HS_PEER_DEAD)
        hs_score_add(n, p, -n->cfg.score_failure);
    if (p->state == HS_PEER_ALIVE)
        hs_peers_set_state(&n->peers, p, HS_PEER_UNHEALTHY);
}

/* A failed request whose failure came well after its timeout: the loop
 * that should have read the answer was busy (Lifeguard's insight: a slow
 * node must not take others for dead). */
static int late(const hs_http_result *res, double timeout_s)
{
    return res->err != HS_OK && res->total_ms > 1500.0 * timeout_s;
}

/*
 * A request that ran into its timeout while our own thread waited, ready
 * to run, for a CPU for half that timeout or more (the kernel's run-queue
 * delay since it went out, `waited0`): other processes had the cores, and
 * the answer may have come while we could not read it. The loop's own
 * stalls (hs_node_stalled) show a thread that ran too long, not one that
 * was not let run: on a 2-core machine with two other busy processes a
 * node probing with a 0.1 s timeout took a peer on its own loop for dead
 * (membership_spec, "a node whose own loop stalls", 1 run in 10), and
 * 1000 loopback nodes past the cores' capacity sent 193,244 indirect
 * probes and 80 suspicions in a 25 s step (9,885 and none with this:
 * bench/RESULTS.md, Load). Like a late answer, it counts against us
 * (probes_late, local health), not the peer.
 */
#define STARVED_SHARE 0.5
static int starved(const hs_node *n, double waited0, const hs_http_result *res, double timeout_s)
{
    double now;

    if (res->err == HS_OK || waited0 < 0 || res->total_ms < 900.0 * timeout_s)
        return 0; /* an answer, no measure, or a failure well before the timeout */
    now = hs_node_waited(n);
    return now >= 0 && now - waited0 >= STARVED_SHARE * timeout_s;
}

/* A request's failure that says something of us, not the peer: read too
 * late, or while we waited for a CPU. */
static int failed_on_us(const hs_node *n, double waited0, const hs_http_result *res,
                        double timeout_s)
{
    return late(res, timeout_s) || starved(n, waited0, res, timeout_s);
}

/* An indirect probe: which peer we asked about, and how the helpers answer. */
typedef struct indirect {
    hs_node *node;
    char target[HS_PEER_ID_MAX + 1];
    unsigned pending, ok, late, nack; /* nack: a helper answered "cannot reach it" */
    double timeout;                   /* s, of each request to a helper */
    double waited;                    /* hs_node_waited when they went out */
} indirect;

static void indirect_done(indirect *ind)
{
    hs_node *n = ind->node;
    hs_peer *p = n->closing ? NULL : hs_peers_find(&n->peers, ind->target);

    if (p) {
        p->probing = 0;
        if (ind->ok) {
            hs_membership_saw(n, p);
        } else if (ind->late) {
            n->m.probes_late++; /* we, not the peer, were too slow */
            local_health_worse(n);
        } else {
            /* Nobody answered at all: maybe it is us. */
            if (!ind->nack)
                local_health_worse(n);
            hs_membership_failed(n, p);
        }
    }
    free(ind);
}

/* A helper's answer to our POST /probe (e->data: the indirect probe it
 * is one of, which the entry holds a count of). */
static void on_indirect(hs_node *n, hs_pending *e, const hs_http_result *res)
{
    indirect *ind = e->data;
    json_t *j = NULL;

    if (res->err == HS_OK && res->status == 200 && (j = json_loadb(res->body, res->len, 0, NULL)) &&
        json_is_true(json_object_get(j, "ok")))
        ind->ok++;
    else if (j && json_is_false(json_object_get(j, "ok")) && !json_object_get(j, "error"))
        ind->nack++; /* (a refusal says why: no word on the peer) */
    else if (failed_on_us(n, ind->waited, res, ind->timeout))
        ind->late++;
    json_decref(j);
}

/* One request fewer holds ind: the last ends the indirect probe. */
static void indirect_release(hs_node *n, void *data)
{
    indirect *ind = data;

    (void)n;
    if (--ind->pending == 0)
        indirect_done(ind);
}

static const hs_pending_kind indirect_kind = {HS_REQ_INDIRECT, on_indirect, NULL, indirect_release};

/* Asks up to indirect_probes other hearsay peers to probe p; returns 1 when
 * at least one was asked (the answer comes later), 0 otherwise. */
static int probe_indirectly(hs_node *n, hs_peer *p)
{
    hs_peer *helpers[16];
    size_t nh = 0, eligible = 0, want = n->cfg.indirect_probes;
    indirect *ind;
    json_t *req;
    char *body;

    for (size_t i = 0; i < n->peers.n; i++) {
        hs_peer *h = n->peers.v[i];
        if (h == p || h->state != HS_PEER_ALIVE || !(h->features & HS_FEAT_SWIM))
            continue;
        /* Reservoir sampling: a uniform choice of `want` helpers. */
        eligible++;
        if (nh < want) {
            helpers[nh++] = h;
        } else {
            size_t k = (size_t)hs_rng_below(&n->rng, eligible);
            if (k < want)
                helpers[k] = h;
        }
    }
    if (nh == 0)
        return 0;
    ind = calloc(1, sizeof *ind);
    req = json_pack("{s:s, s:s, s:b}", "node_id", p->id, "url", p->url, "ping",
                    (p->features & HS_FEAT_SWIM) != 0);
    body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (!ind || !body) {
        free(ind);
        free(body);
        return 0;
    }
    ind->node = n;
    ind->timeout = probe_timeout(n) * 2 + 1;
    ind->waited = hs_node_waited(n);
    strcpy(ind->target, p->id);
    ind->pending = 1; /* held by us until every request is out */
    for (size_t i = 0; i < nh; i++) {
        hs_pending *e = hs_pending_new(n, &indirect_kind, helpers[i]->id, helpers[i]->url);
        if (!e)
            continue;
        e->data = ind;
        ind->pending++;
        n->m.indirect_probes++;
        /* (A failure releases e: one hold fewer.) */
        hs_pending_send(e, "POST", "/probe", body, strlen(body), ind->timeout);
    }
    free(body);
    if (--ind->pending == 0)
        indirect_done(ind);
    return 1;
}

static const hs_pending_kind probe_kind;
static void url_encode(const char *s, char *out, size_t cap);

/*
 * Feeding. Push reaches a node only through the eager links that point
 * at it, and nothing made sure every node had one: links are made eager
 * by the sender (its first peer, the path a message first came by, a
 * graft after a lazy offer), so right after a cluster forms, or
 * after a node joins, most nodes are in views but on nobody's eager
 * links (every joiner's first peers are the same early nodes), and the
 * first broadcasts reached them by lazy offers and anti-entropy, seconds
 * late. So a node counts who feeds it (hs_peer.feeds_us: a peer that
 * took a new push of its from us, "keep"s us, grafted us after an offer,
 * or said yes here), and while nobody does it asks one peer a
 * probe_interval (GET /ping?feed=1, a probe of its own); the peer makes
 * it an eager link at once if it holds it, or else keeps it as a
 * candidate its next take prefers and names a peer of its own whose view
 * had room ("try", hs_peer.full), which the asker learns and asks in its
 * turn. Duplicates prune the extra links as usual: the tree keeps its
 * shape, and every node has a way in from the start. A feeder that we
 * alone feed says so ("through_you", on_probe) and counts as no way in.
 */
/* A uniformly random peer of those `ok` holds for (hs_peers_random). */
static hs_peer *random_peer(hs_node *n, hs_peer_pred ok, const void *arg)
{
    return hs_peers_random(&n->peers, &n->rng, ok, arg);
}

/* (Not a feeder fed only through us: it feeds us already.) */
static int can_ask(const hs_peer *p, const void *unused)
{
    (void)unused;
    return p->state == HS_PEER_ALIVE && !p->hearsay && !p->probing &&
           !(p->feeds_us && p->feeds_through) && (p->features & HS_FEAT_SWIM) &&
           (p->features & HS_FEAT_AE);
}

/* ...and not past its feeding bound, as far as we know. */
static int can_ask_spare(const hs_peer *p, const void *unused)
{
    return can_ask(p, unused) && !p->at_bound;
}

/* A peer that can feed us, or could be asked to: alive, verified, a
 * hearsay node with the tree's features. */
static int could_feed(const hs_peer *p)
{
    return p->state == HS_PEER_ALIVE && !p->hearsay && (p->features & HS_FEAT_AE);
}

/* A way in: a peer that feeds us, and not only through us (its
 * "through_you", or our tag on the chain above it: feedpath.h). */
static int a_way_in(const hs_peer *p)
{
    return could_feed(p) && p->feeds_us && !p->feeds_through;
}

/* Whether the feeder `id` is no way in any more (feedpath.h's entries
 * that may go). */
static int not_a_way_in(const char *id, void *arg)
{
    const hs_peer *p = hs_peers_find(&((hs_node *)arg)->peers, id);

    return !p || !a_way_in(p);
}

/*
 * The chain above p as its /ping (or its answer) said it ("up", text;
 * NULL: none said). Our own tag on it: p is fed through us, no way in (a
 * feeding cycle; counted as it turns so). To our ask (`asked`), our tag
 * says the peer is below us: our next ask waits twice as long, and after
 * HS_FEED_TOP such answers in a row we are on top of the feeding (every
 * peer we ask is below us), where a feeder through us will do. Kept for
 * the chains we say while p is a way in.
 */
static void took_up(hs_node *n, hs_peer *p, const char *text, int asked)
{
    uint32_t up[HS_FEEDPATH_UP], me = hs_feedpath_tag(n->id);
    int k = text ? hs_feedpath_parse(text, up, HS_FEEDPATH_UP) : -1, ours = 0, least = 0;

    /* On the cycle: us, p and the chain above p up to us. Its node of
     * the least tag breaks it, the others keep their feeders: a cycle
     * every node of which asked elsewhere left nobody fed, and 12
     * simulated nodes went on asking one another every few seconds. */
    for (int i = 0; i < k && !ours; i++)
        ours = up[i] == me;
    if (ours) {
        least = me < hs_feedpath_tag(p->id);
        for (int i = 0; i < k && up[i] != me && least; i++)
            least = me < up[i];
    }
    if (least && p->feeds_us && !p->feeds_through) {
        p->feeds_through = 1;
        n->m.feed_cycles++;
    }
    /* (A no to an ask on top, for its bound or its full view, leaves us
     * on top: we ask it again.) */
    if (asked && p->feeds_us && !p->feeds_through)
        n->feed_loops = 0;
    else if (asked && ours)
        n->feed_loops++;
    else if (asked && n->feed_loops < HS_FEED_TOP)
        n->feed_loops = 0;
    if (p->feeds_us && !p->feeds_through)
        hs_feedpath_set(&n->feedpath, p->id, up, k > 0 ? (size_t)k : 0, k >= 0, n->via,
                        not_a_way_in, n);
    else
        hs_feedpath_drop(&n->feedpath, p->id);
}

void hs_membership_told_up(hs_node *n, const char *from, const char *text)
{
    hs_peer *p = hs_peers_find(&n->peers, from);

    if (!n->cfg.feed_chains || !p || !p->feeds_us || p->state != HS_PEER_ALIVE ||
        !hs_membership_from_matches(n, p))
        return;
    took_up(n, p, text, 0);
    tell_below(n);
}

/* Whether our way in p goes through the peer of tag t: p is it, or t is
 * on the chain p said. */
static int way_through(const hs_node *n, const hs_peer *p, uint32_t t)
{
    const hs_feedway *w = hs_feedpath_find(&n->feedpath, p->id);

    return hs_feedpath_tag(p->id) == t || (w && hs_feedpath_has(w->up, w->n, t));
}

/*
 * The feeder our chain goes through: the one it went through while that
 * is still a way in (a chain that changed whenever another way in came
 * first in the table was told down every subtree again and again: 1000
 * simulated nodes probed 5-100 times a second instead of once), else
 * the first way in whose chain we know, else the first way in; NULL: we
 * have none. Having one, we are not on top (HS_FEED_TOP). On top, a
 * feeder below us (our tag on its chain: the one our ask on top found)
 * is none: our chain is empty, as the top's is, and nobody below us
 * takes itself for being above us. (Else, on 6 loopback nodes around a
 * hub, the leaf that fed the hub on top was refused by the hub as above
 * it, and fed by another leaf: the path of a message was no longer the
 * hub's plugin policy's alone, plugins_spec, 5 runs of 12.)
 */
static const hs_peer *chain_via(hs_node *n)
{
    hs_peer *p = n->via[0] ? hs_peers_find(&n->peers, n->via) : NULL;
    const hs_peer *known = NULL, *any = NULL;
    int top = n->feed_loops >= HS_FEED_TOP;
    uint32_t me = top ? hs_feedpath_tag(n->id) : 0;

    if (p && a_way_in(p) && !(top && way_through(n, p, me)))
        return p;
    for (size_t i = 0; i < n->peers.n && !known; i++) {
        const hs_peer *q = n->peers.v[i];
        if (!a_way_in(q) || (top && way_through(n, q, me)))
            continue;
        const hs_feedway *w = hs_feedpath_find(&n->feedpath, q->id);
        if (w && w->said)
            known = q;
        else if (!any)
            any = q;
    }
    p = (hs_peer *)(known ? known : any);
    if (p)
        n->feed_loops = 0; /* a way in: not on top after all */
    snprintf(n->via, sizeof n->via, "%s", p ? p->id : "");
    return p;
}

int hs_membership_up(hs_node *n, const char *for_id, char out[HS_FEEDPATH_TEXT])
{
    const hs_peer *via = n->cfg.feed_chains ? chain_via(n) : NULL;
    uint32_t t = for_id ? hs_feedpath_tag(for_id) : 0;

    if (!via)
        return 0;
    /* To a peer our chain goes through, the chain through another way in
     * of ours if one does not (as "through_you" says it of the one
     * before us): node 1, fed by node 0 and node 2 and going through
     * node 0, is a way in for node 0 all the same (c_proto
     * a_feeder_fed_only_by_us_is_no_way_in). */
    if (for_id && way_through(n, via, t)) {
        for (size_t i = 0; i < n->peers.n; i++) {
            const hs_peer *p = n->peers.v[i];
            if (p != via && a_way_in(p) && !way_through(n, p, t)) {
                via = p;
                break;
            }
        }
    }
    hs_feedpath_write(via->id, hs_feedpath_find(&n->feedpath, via->id), out);
    return for_id && way_through(n, via, t) ? 2 : 1;
}

/* Nobody feeds the node, but for feeders fed only through it, and it
 * has another peer to ask (two nodes alone feed each other). */
static int hungry(hs_node *n)
{
    int any = 0, fed = 0;

    if (!n->cfg.tree || n->leaving)
        return 0;
    for (size_t i = 0; i < n->peers.n; i++) {
        const hs_peer *p = n->peers.v[i];
        if (!could_feed(p))
            continue;
        if (a_way_in(p))
            return 0;
        any |= !p->feeds_us;
        fed |= p->feeds_us;
    }
    /* On top (feedpath.h): our asks came back from peers below us; a
     * feeder through us will do. */
    return any && !(fed && n->feed_loops >= HS_FEED_TOP);
}

/* The live hearsay peer whose last answer said the most nodes hold it
 * (hs_peer.held8), not one we probe already; NULL: none. */
static hs_peer *most_held(hs_node *n)
{
    hs_peer *best = NULL;

    for (size_t i = 0; i < n->peers.n; i++) {
        hs_peer *p = n->peers.v[i];
        if (p->state == HS_PEER_ALIVE && !p->hearsay && !p->probing && p->known &&
            (p->features & HS_FEAT_SWIM) && (p->features & HS_FEAT_AE) &&
            (!best || p->held8 > best->held8))
            best = p;
    }
    return best;
}

/* A hungry node's ask, one a probe_interval, to a random live peer it
 * has probed. (Preferring peers whose view had room took the ask away
 * from the early nodes that hold the asker and could feed it: the first
 * broadcast after forming went deeper and slower.) */
static void ask_to_be_fed(hs_node *n)
{
    double now = hs_node_mono(n);
    hs_peer *p = NULL;

    unsigned loops = n->feed_loops < HS_FEED_TOP ? n->feed_loops : HS_FEED_TOP;

    if (now - n->feed_asked < n->cfg.probe_interval * (double)(1u << loops) || !hungry(n))
        return;
    /* The peer a refusal named first: its view had room, or it was below
     * its bound. (Not probed yet, it is asked by /ping all the same: only
     * a hearsay node names one, and only one that answered its /ping.) */
    if (n->feed_try[0]) {
        p = hs_peers_find(&n->peers, n->feed_try);
        n->feed_try[0] = '\0';
        if (p && (p->state != HS_PEER_ALIVE || p->probing || p->feeds_us ||
                  (!p->hearsay && !(p->features & HS_FEAT_SWIM))))
            p = NULL;
    }
    /* On top (our asks came back from peers below us), the peer the most
     * nodes hold: the one most others push to (every joiner's first
     * eager link is its first peer, a bootstrap node), so that what they
     * send comes up to us and down the rest. (Fed on top by a random
     * node below it, a node on top of 1000 simulated ones and 36 below
     * it got a new origin's first message by lazy offers only.) */
    if (!p && n->feed_loops >= HS_FEED_TOP)
        p = most_held(n);
    /* Else one not past its bound: right after forming, the early nodes
     * in every view are. */
    if (!p && !(p = random_peer(n, can_ask_spare, NULL)) && !(p = random_peer(n, can_ask, NULL)))
        return;
    n->feed_asked = now;
    n->m.feed_asks++;
    probe(n, p, PROBE_ASK);
}

/*
 * A yes to our ask may be a promise: a peer with a full view keeps us as
 * a candidate it takes in on its next tick, and that can still fail (its
 * probe of us lost, the candidate put aside). The asker then counted on
 * a peer that never pushed to it, and asked nobody else: a node of 1000
 * that one peer held lazily, and then nobody, took five broadcasts only
 * 12 s after the first (sim_spec). So two probe_intervals after a yes we
 * ask that peer again, by a /ping, whose "feeds" says whether it does.
 */
static void check_feeder(hs_node *n)
{
    hs_peer *p;

    if (!n->feed_check[0] || hs_node_mono(n) < n->feed_check_at)
        return;
    p = hs_peers_find(&n->peers, n->feed_check);
    if (p && p->state == HS_PEER_ALIVE && p->feeds_us && !p->probing && slot_free(n)) {
        n->feed_check[0] = '\0';
        probe(n, p, PROBE_CHECK);
    } else if (!p || p->state != HS_PEER_ALIVE || !p->feeds_us) {
        n->feed_check[0] = '\0';
    }
}

/*
 * The chain above us took in a feeder it did not have (a feeder came, or
 * said a longer or another chain): our branches hear it at once, by a
 * /ping that carries it ("&up="), not at their next probe of us (a
 * minute at 50 peers). A cycle closes when a node on top of its part
 * asks one below it whose chain is old (it was fed before the node on
 * top joined the part): the node that closed it hears the new chain a
 * round trip later, finds itself on it, and asks elsewhere. A chain that
 * comes round a cycle again brings nothing new: the telling stops. A
 * chain that only lost feeders is not told (its branches' longer one
 * costs them an ask at most): a chain that shrank and grew back as
 * answers came was told down every subtree again and again, and 1000
 * simulated nodes probed 1.3-1.9 times a second instead of 1.03-1.15.
 */
static void tell_below(hs_node *n)
{
    char up[HS_FEEDPATH_TEXT];
    uint32_t tags[HS_FEEDPATH_UP], owed[HS_TELL_OWED];
    int k = 0, fresh = 0;
    unsigned o = 0;

    if (!n->cfg.tree || !n->cfg.feed_chains)
        return;
    if (hs_membership_up(n, NULL, up))
        k = hs_feedpath_parse(up, tags, HS_FEEDPATH_UP);
    for (int i = 0; i < k && !fresh; i++)
        fresh = !hs_feedpath_has(n->told, n->n_told, tags[i]);
    if (!fresh && !n->n_owed)
        return;
    if (fresh) {
        memcpy(n->told, tags, (size_t)k * sizeof *tags);
        n->n_told = (unsigned)k;
        n->told_at = hs_node_mono(n);
    }
    for (size_t i = 0; i < n->peers.n; i++) {
        hs_peer *p = n->peers.v[i];
        if (!p->known || !(p->features & HS_FEAT_SWIM) || !hs_membership_feeds(n, p->id) ||
            !hs_peer_branch(p))
            continue;
        uint32_t t = hs_feedpath_tag(p->id);
        if (!fresh && !hs_feedpath_has(n->owed, n->n_owed, t))
            continue;
        /* One with a probe in flight, or while every probe slot is
         * taken, is told at a later tick (a few such; past them, at its
         * next probe by us, or ours by it). */
        if (!p->probing && slot_free(n))
            probe(n, p, PROBE_UP);
        else if (o < HS_TELL_OWED)
            owed[o++] = t;
    }
    memcpy(n->owed, owed, o * sizeof *owed);
    n->n_owed = o;
}

/* Starts a direct probe now, taking a slot. A hearsay peer is probed with
 * the small GET /ping (which carries its features, and our URL, so that a
 * peer with room takes us into its view: views become mutual), and with
 * the full /health (tags) the first time and every HS_FULL_HEALTH_EVERY-th;
 * any other node with /health. An ask to be fed is always a /ping. */
#define HS_FULL_HEALTH_EVERY 50

/* The fewest live peers with which a node says few hold it. */
#define FEW_FROM 8

/* Whether we are held by fewer than half as many as we hold (or
 * max_peers, if less); *held: how many. Views are mutual when they mix
 * well: a node holds about as many as hold it. Not with fewer than
 * FEW_FROM peers: a small cluster's counts are a few probes, and a view
 * of that size has no one to spare. */
static int held_by_few(hs_node *n, unsigned *held)
{
    size_t want = n->peers.live < n->cfg.max_peers ? n->peers.live : n->cfg.max_peers;

    *held = hs_holders_estimate(&n->holders_ids, hs_node_mono(n));
    return want >= FEW_FROM && *held * 2 < want;
}

static void probe(hs_node *n, hs_peer *p, int feed)
{
    int light = feed != PROBE_PLAIN ||
                ((p->features & HS_FEAT_SWIM) && p->probes % HS_FULL_HEALTH_EVERY != 0);
    char path[24 + 3 * HS_URL_MAX + 4 + HS_FEEDPATH_TEXT] = "/health";
    char up[HS_FEEDPATH_TEXT];

    if (light) {
        strcpy(path, "/ping?url=");
        url_encode(n->url, path + 10, sizeof path - 10);
        if (feed == PROBE_ASK)
            strcat(path, n->feed_loops >= HS_FEED_TOP ? "&feed=1&top=1" : "&feed=1");
        /* A tell (tell_below), or a probe of a peer we push to within
         * HS_TELL_FRESH of our chain's last tell: the chain above us
         * (feedpath.h). (Without the probes, 24 of 100 seeds of 1000
         * simulated nodes formed for 20 s waited for a lazy offer,
         * against 4; in every probe of such a peer, 100 loopback nodes
         * sent 2-11% more bytes idle.) */
        if ((feed == PROBE_UP ||
             (feed != PROBE_ASK && hs_node_mono(n) - n->told_at < HS_TELL_FRESH &&
              hs_membership_feeds(n, p->id))) &&
            hs_membership_up(n, p->id, up)) {
            strcat(path, "&up=");
            strcat(path, up);
        }
        /* A full view may take us in place of a peer many hold (routes.c,
         * /ping; make_room). */
        unsigned held;
        if (held_by_few(n, &held))
            snprintf(path + strlen(path), sizeof path - strlen(path), "&few=%u", held);
    }
    hs_peers_wait_unlink(&n->peers, p);
    /* A round that fails goes on with the next no sooner than this
     * (hs_membership_failed); a dead peer's retry keeps its backoff. */
    if (p->state != HS_PEER_DEAD)
        p->next_probe = hs_node_mono(n) + n->cfg.probe_interval;
    if (!request_t(n, &probe_kind, feed, p->id, p->url, path, probe_timeout(n)))
        return; /* the next periodic probe tries again */
    p->probing = 1;
    p->probes++;
    n->m.health_checks++;
}

static int slot_free(const hs_node *n)
{
    return hs_pending_inflight(&n->pending, HS_REQ_PROBE) < n->cfg.max_probes_in_flight;
}

/* Gives free slots to waiting first probes, oldest first. A peer only a
 * stranger vouches for also needs a token of probe_new_rate: learning
 * 10,000 made-up peers must not send 10,000 requests to addresses of a
 * stranger's choosing (the maintenance tick tries again). */
static void probe_waiting(hs_node *n)
{
    hs_peer *p;

    while (slot_free(n) && n->peers.wait_head) {
        p = n->peers.wait_head;
        if (p->hearsay && !hs_tokens_take(&n->probe_new, hs_node_mono(n)))
            return;
        hs_peers_wait_pop(&n->peers);
        if (p->state != HS_PEER_DEAD && !p->probing)
            probe(n, p, 0);
    }
}

/* A new peer's first probe, to measure it and confirm it: at once when a
 * slot is free and nobody waits, else in its turn. */
static void probe_first(hs_node *n, hs_peer *p)
{
    hs_peers_wait_push(&n->peers, p);
    probe_waiting(n);
}

/* What a probe answer (/ping or /health, from the peer itself) tells of
 * p: its incarnation (only from the peer: never a third party's), latency,
 * tags and features. It has answered: it is a peer, not a stranger's
 * claim. */
static void absorb(hs_node *n, hs_peer *p, const json_t *j, double ms)
{
    const json_t *inc = json_object_get(j, "incarnation");

    if (json_is_integer(inc) && json_integer_value(inc) > 0 &&
        (uint64_t)json_integer_value(inc) <= HS_COUNTER_MAX &&
        (uint64_t)json_integer_value(inc) > p->incarnation)
        p->incarnation = (uint64_t)json_integer_value(inc);
    p->latency_ms = hs_peers_latency_avg(p->latency_ms, ms);
    /* A /ping answer has no features or tags: keep what /health said. */
    const json_t *tags = json_object_get(j, "tags");
    if (hs_peers_valid_tags(tags))
        hs_peers_set_tags(p, tags);
    if (json_object_get(j, "features"))
        p->features = hs_peers_features(json_object_get(j, "features"));
    p->known = 1;
    p->hearsay = 0;
    (void)n;
}

/* A peer that could not feed us named a peer of its own whose view had
 * room ("try"): its word about another node, as an entry of its /peers
 * list is (paced per source, probed before it is used). */
static void refer(hs_node *n, const hs_peer *by, const json_t *t)
{
    const char *id = json_string_value(json_object_get(t, "node_id"));
    const char *url = json_string_value(json_object_get(t, "url"));
    uint8_t src[16];
    hs_claim c = {src, 0, 0.0, 0, 0};

    if (!hs_peers_valid_id(id) || !hs_peers_valid_url(url))
        return;
    if (!hs_peers_find(&n->peers, id)) {
        hs_membership_url_source(by->url, src);
        (void)hs_membership_learn(n, id, url, NULL, hs_node_now(n), &c, NULL);
    }
    /* Our next ask goes to it (ask_to_be_fed): a random one of our peers
     * is most likely full too. */
    if (hs_peers_find(&n->peers, id))
        snprintf(n->feed_try, sizeof n->feed_try, "%s", id);
}

/*
 * Direct probes went unanswered: two of the last four. If many peers died
 * at once (a rack, a zone, most of the cluster), probing one a round finds
 * them a minute later, and until then every push, lazy offer and
 * anti-entropy round that picks one of them is lost: after 80% of 1000
 * simulated nodes crashed, a broadcast 10 s later still took 6-15 s to
 * reach 90% of the rest, and 1 node in 200 never had it. So every live
 * peer we have not heard from in the last SWEEP_QUIET s is probed at once,
 * one sweep a SWEEP_EVERY s at most; within a probe timeout the peers that
 * are gone are unhealthy, and nothing is sent to them. Two failures, not
 * one: at 1% loss a probe or its answer is lost about one time in fifty,
 * and a sweep after each (a ping to every quiet peer) doubled the probes;
 * two in four come about once in 400 probes.
 */
#define SWEEP_EVERY 10.0
#define SWEEP_QUIET 2.0

static void sweep(hs_node *n)
{
    double mono = hs_node_mono(n), wall = hs_node_now(n);
    unsigned r = n->probe_record;

    if ((r & 1) + ((r >> 1) & 1) + ((r >> 2) & 1) + ((r >> 3) & 1) < 2 ||
        (n->last_sweep > 0 && mono - n->last_sweep < SWEEP_EVERY))
        return;
    n->last_sweep = mono;
    n->m.probe_sweeps++;
    for (size_t i = 0; i < n->peers.n && slot_free(n); i++) {
        hs_peer *p = n->peers.v[i];
        if (p->state == HS_PEER_ALIVE && !p->probing && !p->waiting && !p->hearsay && p->known &&
            wall - p->last_seen > SWEEP_QUIET)
            probe(n, p, 0);
    }
}

/*
 * Views are partial, and which nodes they hold is not even: every node
 * joins through the same few and learns of others from views that hold
 * those few already, so the early nodes stay in nearly every view (10,000
 * simulated nodes after 30 s: node 1 in 9,898 views, half of all nodes in
 * 8 or fewer, a tenth in 3). A node few hold gets few lazy offers, so a
 * lost push reaches it only by anti-entropy (99% of 10,000 nodes at 1%
 * loss took 2.25 s, the median 127 ms), few probe it, and one held by
 * thousands is probed hundreds of times a second. So a probe answer says
 * about how many nodes probe the peer ("held", holders.h), and a peer
 * held by more than twice max_peers nodes (`crowded`: left out of the
 * samples we give) is let go with half the chance of its excess: the
 * room it leaves takes the next prober we do not know (GET /ping?url=),
 * so views become mutual. Not a link the tree or feeding goes through,
 * not while our own view is less than half full, one peer a
 * SHED_EVERY at most, and not taken back on a stranger's word for two
 * health_intervals. Those bounds keep it from feeding on itself: the
 * count looks back one or two health_intervals, so holders that let a
 * peer go still count for that long, and at the whole chance, with no
 * pace, the room left took the busiest probers, held by too many in
 * their turn (1000 simulated nodes at 10% loss, from 240 to 400 s: 182
 * peers let go and 245 learned a second, and no end to it; with these
 * bounds 96 and 123; without shedding, 35 learned).
 */
#define SHED_DAMPING 2
#define SHED_EVERY(n) ((n)->cfg.health_interval / 12)

/* (Unkeyed: a made-up match only lets a peer back early.) */
static uint64_t shed_key(const char *id)
{
    static const uint64_t key[2] = {0, 0};

    return hs_hash_siphash(key, id, strlen(id));
}

/* When we last let a peer go (shed()), or 0: the ring's newest entry. */
static double last_shed(const hs_node *n)
{
    return n->shed_at[(n->shed_next + HS_SHED_RECENT - 1) % HS_SHED_RECENT];
}

/* Whether we let id go as held by too many within 2 health_intervals. */
static int shed_lately(const hs_node *n, const char *id)
{
    uint64_t k = shed_key(id);
    double since = hs_node_mono(n) - 2 * n->cfg.health_interval;

    for (unsigned i = 0; i < HS_SHED_RECENT; i++)
        if (n->shed_ids[i] == k && n->shed_at[i] > 0 && n->shed_at[i] > since)
            return 1;
    return 0;
}

static int shed(hs_node *n, hs_peer *p, const json_t *held)
{
    double h = json_is_integer(held) ? (double)json_integer_value(held) : 0;
    double bound = 2.0 * n->cfg.max_peers;

    p->crowded = h > bound;
    p->held8 = h / 8 < 31 ? (unsigned char)(h / 8) : 31;
    if (h <= bound || n->peers.live * 2 < n->cfg.max_peers || p->eager || p->feeds_us || p->keep ||
        p->hearsay || (last_shed(n) > 0 && hs_node_mono(n) - last_shed(n) < SHED_EVERY(n)))
        return 0;
    if ((double)(hs_rng_next(&n->rng) >> 11) / 9007199254740992.0 >= (1 - bound / h) / SHED_DAMPING)
        return 0;
    hs_node_log(n, HS_LOG_DEBUG, "letting %s go: about %.0f nodes hold it", p->id, h);
    n->m.peers_shed++;
    n->shed_ids[n->shed_next] = shed_key(p->id);
    n->shed_at[n->shed_next] = hs_node_mono(n);
    n->shed_next = (n->shed_next + 1) % HS_SHED_RECENT;
    hs_peers_remove(&n->peers, p);
    return 1;
}

/* The answer to a direct probe of e->peer at e->url (timeout e->at). */
static void on_probe(hs_node *n, hs_pending *e, const hs_http_result *res)
{
    hs_peer *p;
    json_t *j;

    if (!(p = hs_peers_find(&n->peers, e->peer))) {
        probe_waiting(n);
        return;
    }
    p->probing = 0;
    j = probe_answer_json(res);
    const char *id = json_string_value(json_object_get(j, "node_id"));
    /* A tell of our chain (tell_below) or an ask to be fed that went
     * unanswered is not held against the peer: the round's probes judge
     * it. (Held, a node paused for 10 s was declared dead by the nodes
     * that kept telling it, and 20% loss brought 7 false deaths where 5
     * is the bound: sim_spec.) */
    if ((e->flag == PROBE_UP || (e->flag == PROBE_ASK && n->cfg.feed_chains)) &&
        !(id && strcmp(id, p->id) == 0)) {
        json_decref(j);
        probe_waiting(n);
        return;
    }
    int ours = failed_on_us(n, e->waited, res, e->at);
    hs_stats_probe(n, id && strcmp(id, p->id) == 0, !id && ours, res->total_ms);
    if (!ours)
        n->probe_record = ((n->probe_record << 1) | !(id && strcmp(id, p->id) == 0)) & 0xf;
    if (id && strcmp(id, p->id) == 0) {
        absorb(n, p, j, res->total_ms);
        /* A /ping answer ("spare" is in no other) says whether it pushes
         * to us: it may have let us go since it said yes, or pruned us.
         * One that we are the only way in for ("through_you") is no way
         * in for us while another peer can be asked (hungry): two nodes
         * that asked each other at once, each with nobody else feeding
         * it, fed only each other and their children, and the first
         * broadcast after forming reached them by lazy offers only (300
         * simulated nodes: 10 and 22 nodes, 650 ms late, in 2 seeds of
         * 6; none now). */
        if (json_object_get(j, "spare")) {
            p->feeds_us = json_is_true(json_object_get(j, "feeds"));
            p->feeds_through = p->feeds_us && json_is_true(json_object_get(j, "through_you"));
            if (n->cfg.feed_chains) {
                took_up(n, p, json_string_value(json_object_get(j, "up")), e->flag == PROBE_ASK);
                tell_below(n);
            }
        } else if (json_is_true(json_object_get(j, "feeds")))
            p->feeds_us = 1;
        if (e->flag == PROBE_ASK && p->feeds_us) {
            snprintf(n->feed_check, sizeof n->feed_check, "%s", p->id);
            n->feed_check_at = hs_node_mono(n) + 2 * n->cfg.probe_interval;
        }
        /* (/ping says whether its view has room; /health does not.) */
        if (json_object_get(j, "room"))
            p->full = !json_is_true(json_object_get(j, "room"));
        if (json_object_get(j, "spare"))
            p->at_bound = !json_is_true(json_object_get(j, "spare"));
        if (json_is_number(json_object_get(j, "news"))) {
            uint8_t id[32];
            const char *hex = json_string_value(json_object_get(j, "news_id"));
            int named = hex && hs_hash_from_hex(hex, id) == HS_OK;
            n->up.ae_news(n, p, json_number_value(json_object_get(j, "news")), named ? id : NULL);
        }
        refer(n, p, json_object_get(j, "try"));
        if (n->local_health)
            n->local_health--;
        hs_membership_saw(n, p);
        /* A dead peer that answers while our table is full is not dead,
         * only out of our view: forgotten, like a peer a full table let
         * go, rather than retried until forget_after. */
        if (p->state == HS_PEER_DEAD) {
            hs_node_log(n, HS_LOG_DEBUG, "forgetting %s: it answers, but the table is full", p->id);
            hs_peers_remove(&n->peers, p);
        } else {
            (void)shed(n, p, json_object_get(j, "held"));
        }
    } else if (!id && ours) {
        /* Our own loop was stalled past the timeout, or our thread was
         * not let run (starved): the answer may be waiting unread. That
         * says nothing about the peer, and something about us. A
         * stranger's peer gets its first probe again, in turn: no other
         * probe would come to it (probe_next), and it sat in the view
         * unchecked until dead_timeout (1000 simulated nodes at 10% loss,
         * 1% of them pausing: a false death every minute or so, the
         * prober paused while its probe was out). */
        n->m.probes_late++;
        local_health_worse(n);
        if (p->hearsay)
            probe_first(n, p);
    } else if (p->hearsay) {
        /* Only a stranger said it exists, and it does not answer as it:
         * nothing to retry, nobody to ask to probe it. */
        hs_node_log(n, HS_LOG_DEBUG, "forgetting %s (%s): never answered", p->id, p->url);
        n->m.peers_unverified++;
        hs_peers_remove(&n->peers, p);
    } else if (!id && p->state != HS_PEER_DEAD && probe_indirectly(n, p)) {
        p->probing = 1; /* until the helpers answer */
        /* Not used until they say it is there (as after a failed push),
         * and its neighbours are looked at: many may be gone. */
        if (p->state == HS_PEER_ALIVE)
            hs_peers_set_state(&n->peers, p, HS_PEER_UNHEALTHY);
        if (p->state != HS_PEER_SUSPECT)
            sweep(n);
    } else {
        hs_membership_failed(n, p);
        /* Another node answers at that URL now: it replaced this one. Last,
         * since learning it may forget p. */
        if (id && hs_peers_valid_id(id) && strcmp(id, n->id) != 0)
            (void)hs_membership_learn(n, id, e->url, NULL, hs_node_now(n), NULL, NULL);
    }
    json_decref(j);
    probe_waiting(n);
}

static const hs_pending_kind probe_kind = {HS_REQ_PROBE, on_probe, NULL, NULL};

/* Forgets a random live peer to make room in a full table; 1 if one went.
 * Not one the tree goes through from us (hs_peer_branch) unless all are:
 * every branch cut there waits for a graft. Merely eager links are not
 * spared: everyone's first peer, the bootstrap node, would never leave
 * anyone's view. */
static int alive_stranger(const hs_peer *p, const void *unused)
{
    (void)unused;
    return p->state == HS_PEER_ALIVE && p->hearsay;
}

static int alive_not_fed(const hs_peer *p, const void *unused)
{
    (void)unused;
    return p->state == HS_PEER_ALIVE && !hs_peer_branch(p);
}

static int alive(const hs_peer *p, const void *unused)
{
    (void)unused;
    return p->state == HS_PEER_ALIVE;
}

/* Of MAKE_ROOM_DRAWS peers drawn from those `ok` holds for, the one that
 * said it is held by the most nodes (the first drawn on a tie), or NULL.
 * A view that lets a random peer go keeps the skew views are built with:
 * 1000 simulated nodes, 30 s after forming, had 17 nodes held by fewer
 * than 5 others and 54 by 100 or more; a node few hold gets few lazy
 * offers and has few holders to confirm its death. The most held of a
 * few draws goes instead (the power of d choices): room is made where
 * there is plenty. */
#define MAKE_ROOM_DRAWS 3
static hs_peer *most_held_of_draws(hs_node *n, hs_peer_pred ok)
{
    hs_peer *best = NULL;

    for (unsigned k = 0; k < MAKE_ROOM_DRAWS; k++) {
        hs_peer *p = random_peer(n, ok, NULL);
        if (p && (!best || p->held8 > best->held8))
            best = p;
    }
    return best;
}

static int make_room(hs_node *n)
{
    /* Peers only a stranger vouches for go first: they have not answered;
     * then any we do not feed; then any. */
    hs_peer *p = random_peer(n, alive_stranger, NULL);

    if (!p && !(p = most_held_of_draws(n, alive_not_fed)) && !(p = random_peer(n, alive, NULL)))
        return 0;
    /* Not dead, only out of our view: no peer-down hook. */
    hs_peers_remove(&n->peers, p);
    n->m.peers_swapped++;
    return 1;
}

/* host:port of a URL in out ("" when it does not parse). */
static void endpoint_of(const char *url, char *out, size_t cap)
{
    hs_http_url u;

    if (hs_http_url_parse(url, &u) != HS_OK)
        out[0] = '\0';
    else
        snprintf(out, cap, "%s:%u", u.host, (unsigned)u.port);
}

/* Whether url's host may be `host` (hlen bytes): its text after the
 * scheme (and a '[') starts with it. hs_http_url_parse takes the host's
 * bytes as they are, so a URL whose host is `host` passes. */
static int host_may_be(const char *url, const char *host, size_t hlen)
{
    const char *a;

    if (strncasecmp(url, "http://", 7) == 0)
        a = url + 7;
    else if (strncasecmp(url, "https://", 8) == 0)
        a = url + 8;
    else
        return 0;
    a += *a == '[';
    return strncmp(a, host, hlen) == 0;
}

/* The peer (not `except`) at the same host and port as url, or NULL: a
 * node is one endpoint, so one id per host:port (a stranger cannot make
 * us hold 10,000 ids at one address, nor one victim's address under many
 * paths). O(peers): only for ids we did not know; a peer's URL is parsed
 * (~450 instructions) only when its text may hold the same host, and the
 * host and port are compared as parsed. */
static hs_peer *same_endpoint(hs_node *n, const char *url, const hs_peer *except)
{
    hs_http_url want, have;
    size_t hlen;

    if (hs_http_url_parse(url, &want) != HS_OK)
        return NULL;
    hlen = strlen(want.host);
    for (size_t i = 0; i < n->peers.n; i++) {
        hs_peer *p = n->peers.v[i];
        if (p != except && host_may_be(p->url, want.host, hlen) &&
            hs_http_url_parse(p->url, &have) == HS_OK && have.port == want.port &&
            strcmp(have.host, want.host) == 0)
            return p;
    }
    return NULL;
}

void hs_membership_url_source(const char *url, uint8_t out[16])
{
    hs_http_url u;
    uint8_t md[32];
    char hex[65];

    if (hs_http_url_parse(url, &u) == HS_OK && hs_addr_parse(u.host, out) == 0)
        return;
    /* A name (or no host): its own source, by the hash of the text. */
    hs_hash_sha256_hex(url, strlen(url), hex);
    hs_hash_from_hex(hex, md);
    memcpy(out, md, 16);
}

int hs_membership_from_matches(const hs_node *n, const hs_peer *p)
{
    uint8_t addr[16];
    hs_http_url u;

    if (!n->rx_src_ok || n->cfg.security >= HS_SECURITY_CLUSTER)
        return 1; /* not a request (we asked), or members only */
    return hs_http_url_parse(p->url, &u) == HS_OK && hs_addr_parse(u.host, addr) == 0 &&
           memcmp(addr, n->rx_src, 16) == 0;
}

void hs_membership_unfed(hs_node *n)
{
    for (size_t i = 0; i < n->peers.n; i++)
        n->peers.v[i]->feeds_us = 0;
    memset(&n->feedpath, 0, sizeof n->feedpath);
}

static int host_is(const char *url, const uint8_t src[16]);
static struct hs_candidate *candidate_add(hs_node *n, const char *id, const char *url,
                                          const uint8_t src[16], int rank);
static int promised(const hs_node *n);

/* Eager links beyond which we feed nobody new: the asker tries another
 * peer (GossipSub's D_hi). Without a bound every node's first peer, the
 * bootstrap node, took everyone as a child: a star that pushed to all,
 * with nothing left to offer lazily, so a lost push stayed lost. */
static size_t feed_max(const hs_node *n)
{
    size_t half = n->peers.live / 2, twice = 2 * (size_t)n->cfg.fanout;
    return half > twice ? half : twice;
}

/* A live hearsay peer we have probed (its /ping answers say room and
 * bound), but `not` (an id). */
static int probed_other(const hs_peer *p, const void * not )
{
    return p->state == HS_PEER_ALIVE && !p->hearsay && p->known && (p->features & HS_FEAT_SWIM) &&
           strcmp(p->id, (const char *)not ) != 0;
}

/* ...whose view had room. */
static int has_room(const hs_peer *p, const void * not )
{
    return probed_other(p, not ) && !p->full;
}

/* ...or whose view was full but its eager links below its bound: it keeps
 * an asker as a candidate and takes it in on its next tick. */
static int has_spare(const hs_peer *p, const void * not )
{
    return probed_other(p, not ) && !p->at_bound;
}

/* The peer a refusal names ("try"). */
static const hs_peer *referral(hs_node *n, const char *asker)
{
    const hs_peer *p = random_peer(n, has_room, asker);
    return p ? p : random_peer(n, has_spare, asker);
}

int hs_membership_can_feed(const hs_node *n)
{
    return n->cfg.tree && !n->leaving && n->peers.eager < feed_max(n);
}

/* Whether an asker we do not hold may come into our full view at once (a
 * yes, or its candidate taken on the next tick): below the feeding bound,
 * and while fewer than half of our peers are eager links, so that askers,
 * strangers among them, hold at most half of a view before it mixes at
 * its own pace (2 x fanout may be all of a small view). */
static int feed_now(const hs_node *n)
{
    return hs_membership_can_feed(n) && 2 * n->peers.eager < n->peers.live;
}

int hs_membership_fed_through(hs_node *n, const char *id)
{
    const hs_peer *p = hs_peers_find(&n->peers, id);

    if (!p || !p->feeds_us)
        return 0;
    /* Another way in, as hungry() counts them (a suspect or unhealthy
     * feeder is none: we would be asking for one). */
    for (size_t i = 0; i < n->peers.n; i++) {
        const hs_peer *q = n->peers.v[i];
        if (q != p && a_way_in(q))
            return 0;
    }
    return 1;
}

/* Whether the asker on top `from` may be fed past our bound: it has one
 * of the HS_FEED_TOP_PAST places (taken now if one is free: its peer
 * gone, or no eager link of ours any more). */
static int top_slot(hs_node *n, const char *from)
{
    uint32_t t = hs_feedpath_tag(from);
    int free = -1;

    for (int i = 0; i < HS_FEED_TOP_PAST; i++) {
        if (n->top_fed[i] == t)
            return 1;
        int held = 0;
        for (size_t k = 0; k < n->peers.n && n->top_fed[i] && !held; k++)
            held = n->peers.v[k]->eager && hs_feedpath_tag(n->peers.v[k]->id) == n->top_fed[i];
        if (!held && free < 0)
            free = i;
    }
    if (free < 0)
        return 0;
    n->top_fed[free] = t;
    return 1;
}

int hs_membership_feeds(hs_node *n, const char *id)
{
    const hs_peer *p = hs_peers_find(&n->peers, id);

    return p && p->state == HS_PEER_ALIVE && !p->hearsay && hs_peer_eager_link(p);
}

int hs_membership_feed(hs_node *n, const char *from, const char *url, int top,
                       const hs_peer **refer_to)
{
    hs_peer *p = hs_peers_find(&n->peers, from);
    struct hs_candidate *c;

    *refer_to = NULL;
    if (!n->cfg.tree || n->leaving)
        return 0;
    top = top && n->cfg.feed_chains;
    /* The asker is on every chain above us (feedpath.h), past the feeder
     * before us: fed by us, it would close a cycle that nobody outside
     * feeds. (The feeder before us, we feed as before, and say
     * "through_you" if it is our only way in: refused, a leaf that fed
     * its hub first was fed by another leaf, and a message took a path
     * the hub's plugin policy had not chosen, plugins_spec.) */
    char up[HS_FEEDPATH_TEXT];
    uint32_t tags[HS_FEEDPATH_UP];
    if (!top && hs_membership_up(n, from, up) == 2 &&
        hs_feedpath_parse(up, tags, HS_FEEDPATH_UP) > 0 && tags[0] != hs_feedpath_tag(from)) {
        n->m.feed_refused++;
        n->m.feed_cycles++;
        *refer_to = referral(n, from);
        return 0;
    }
    if (p) {
        /* (Its X-Hearsay-From is believed from its own address only.) */
        if (p->state == HS_PEER_DEAD || !hs_membership_from_matches(n, p)) {
            n->m.feed_refused++;
            return 0;
        }
        /* (Past our bound too for the node on top: one such in a
         * cluster, and it asks the peer most nodes push to; HS_FEED_TOP_PAST
         * such at most, whoever says he is on top.) */
        if (!p->eager && n->peers.eager >= feed_max(n) && !(top && top_slot(n, from))) {
            n->m.feed_refused++;
            *refer_to = referral(n, from);
            return 0;
        }
        if (p->eager != HS_EAGER_CHILD) {
            hs_peers_set_eager(&n->peers, p, HS_EAGER_CHILD);
            n->m.feeds++;
        }
        /* One not probed yet gets pushes once it answers as itself: it is
         * probed now, ahead of the strangers' claims waiting for a token
         * (this one is its own word, from its own address: a probe back
         * amplifies nothing). If that probe fails, it was told yes in
         * vain: its next miss, fetched by anti-entropy, makes it ask
         * again (hs_membership_unfed). */
        if (p->hearsay && !p->probing && p->state != HS_PEER_DEAD && slot_free(n))
            probe(n, p, 0);
        return p->hearsay ? p->probing : hs_peer_eager_link(p);
    }
    /* A full table (the ping took it in otherwise): a candidate that must
     * answer as itself, at the address it asks from, before it is taken.
     * Below our bound, with fewer than half our peers eager links
     * (feed_now), and nobody else promised, it is taken on our next tick
     * (take_candidates), and the answer is yes at once, as for a peer not
     * probed yet above (right after forming, every joiner's view is the
     * same early nodes, all past their bound: those say no, and the rest
     * have full views). Otherwise it waits with the other candidates. */
    if (n->rx_src_ok && hs_peers_valid_url(url) && host_is(url, n->rx_src) &&
        hs_node_url_allowed(n, url)) {
        int promise = (feed_now(n) || top) && !promised(n);
        if ((c = candidate_add(n, from, url, n->rx_src,
                               promise ? HS_CAND_PROMISED : HS_CAND_ASK)) &&
            c->rank == HS_CAND_PROMISED)
            return 1;
        *refer_to = referral(n, from);
    }
    n->m.feed_refused++;
    return 0;
}

/* Whether a candidate we said yes to waits (one at a time: it is taken on
 * our next tick, and nothing replaces it). */
static int promised(const hs_node *n)
{
    for (unsigned i = 0; i < n->n_candidates; i++)
        if (n->candidates[i].rank == HS_CAND_PROMISED)
            return 1;
    return 0;
}

/* Keeps {id, url} in mind: a full table probes one candidate per peer
 * exchange and takes it in if it answers as that id (take_candidates). A
 * known id replaces its entry (and keeps the higher rank). One source
 * holds at most HS_CANDIDATES_PER_SOURCE entries (a new one replaces one
 * of its own), so a single address cannot fill the list; a full list
 * replaces a random entry. `rank`: HS_CAND_*. An entry is replaced only by
 * one of the same rank or higher (else the new one is dropped, and NULL
 * returned): a claim never replaces a node that spoke for itself (on
 * loopback, or behind one NAT, every peer is the same source). */
#define HS_CANDIDATES_PER_SOURCE 8

/* An ask to be fed, or a word that few hold a node, is a moment's need:
 * the node says it again while it lasts (each probe of a peer, each ask).
 * Past this it ranks as a claim, so that it neither goes first nor keeps
 * a newer one out. Without it, the asks of the first seconds after a
 * cluster formed held every place of the list (64 of 64 at a node of a
 * 10,000-node cluster 20 s later, taken one per 5 s past the feeding
 * bound), and a node that joined late was taken by nobody. */
#define HS_CANDIDATE_FRESH 10.0 /* s: two of the mixing's paces (take_candidates) */

static int cand_rank(const struct hs_candidate *c, double now)
{
    return c->rank == HS_CAND_PROMISED || now - c->at <= HS_CANDIDATE_FRESH ? c->rank
                                                                            : HS_CAND_CLAIM;
}

static struct hs_candidate *candidate_add(hs_node *n, const char *id, const char *url,
                                          const uint8_t src[16], int rank)
{
    size_t ilen = strlen(id), ulen = strlen(url);
    unsigned at = n->n_candidates, mine = 0, last_mine = HS_CANDIDATES;
    double now = hs_node_mono(n);
    char *e;

    for (unsigned i = 0; i < n->n_candidates; i++) {
        if (strcmp(n->candidates[i].id, id) == 0)
            at = i;
        if (memcmp(n->candidates[i].src, src, 16) == 0) {
            mine++;
            if (cand_rank(&n->candidates[i], now) <= rank || last_mine == HS_CANDIDATES)
                last_mine = i;
        }
    }
    if (at < n->n_candidates) {
        int had = cand_rank(&n->candidates[at], now);
        rank = rank > had ? rank : had;
    } else if (mine >= HS_CANDIDATES_PER_SOURCE) {
        at = last_mine;
    } else if (at == HS_CANDIDATES) {
        at = (unsigned)hs_rng_below(&n->rng, HS_CANDIDATES);
        for (unsigned k = 0; k < HS_CANDIDATES && cand_rank(&n->candidates[at], now) > rank; k++)
            at = (at + 1) % HS_CANDIDATES;
    }
    if (at < n->n_candidates && cand_rank(&n->candidates[at], now) > rank &&
        strcmp(n->candidates[at].id, id))
        return NULL;
    if (!(e = malloc(ilen + 1 + ulen + 1)))
        return NULL;
    memcpy(e, id, ilen + 1);
    memcpy(e + ilen + 1, url, ulen + 1);
    if (at < n->n_candidates)
        free(n->candidates[at].id);
    else
        n->n_candidates++;
    n->candidates[at].id = e;
    n->candidates[at].url = e + ilen + 1;
    n->candidates[at].rank = rank;
    n->candidates[at].held = 0;
    n->candidates[at].at = now;
    memcpy(n->candidates[at].src, src, 16);
    return &n->candidates[at];
}

static void drop_candidates_at(hs_node *n, const char *url)
{
    char want[HS_HTTP_HOST_MAX + 8], have[HS_HTTP_HOST_MAX + 8];

    endpoint_of(url, want, sizeof want);
    for (unsigned i = 0; i < n->n_candidates;) {
        endpoint_of(n->candidates[i].url, have, sizeof have);
        if (strcmp(want, have) == 0) {
            free(n->candidates[i].id);
            n->candidates[i] = n->candidates[--n->n_candidates];
        } else {
            i++;
        }
    }
}

void hs_membership_free_candidates(hs_node *n)
{
    for (unsigned i = 0; i < n->n_candidates; i++)
        free(n->candidates[i].id);
    n->n_candidates = 0;
}

/* Whether the URL's host may be contacted at all (peer_allow). A name
 * passes here: the client checks the address it resolves to. */
static int url_allowed(const hs_node *n, const char *url)
{
    hs_http_url u;
    uint8_t addr[16];
    hs_cidr r;

    if (!n->cfg.n_peer_allow)
        return 1;
    if (hs_http_url_parse(url, &u) != HS_OK)
        return 0;
    if (hs_addr_parse(u.host, addr) != 0)
        return 1;
    for (size_t i = 0; i < n->cfg.n_peer_allow; i++)
        if (hs_cidr_parse(n->cfg.peer_allow[i], &r) == HS_OK && hs_cidr_contains(&r, addr))
            return 1;
    return 0;
}

/* Whether the URL's host is the address a direct claim came from. */
static int host_is(const char *url, const uint8_t src[16])
{
    hs_http_url u;
    uint8_t addr[16];

    return hs_http_url_parse(url, &u) == HS_OK && hs_addr_parse(u.host, addr) == 0 &&
           memcmp(addr, src, 16) == 0;
}

static void refused(hs_node *n, const char *what, const char *id, const char *url)
{
    n->m.claims_refused++;
    hs_node_log(n, HS_LOG_DEBUG, "not believed: %s (%s at %s)", what, id, url);
}

/* Whether a peer just learned becomes an eager link: with the tree, only
 * while the node has none, so that its own messages have a way out. Each
 * link beyond that is a cycle, which the tree prunes only when a
 * duplicate comes by it, and seen_by hides most of those: with an eager
 * link for each of the first `fanout` peers learned (and again whenever
 * fewer were; until 2026-12-06), 1000 simulated nodes held 4,133 eager
 * links when the first broadcast left (2,183 now), and a broadcast from
 * a node that had sent none before cost 1.22 copies a node on average,
 * up to 2.04 (1.06, up to 1.17, now; bench/RESULTS.md, Simulator,
 * "Copies from new origins"). The ways in come from feeding (a node
 * asks to be fed), the first copy's link and grafts. */
static unsigned char learned_eager(const hs_node *n)
{
    return n->cfg.tree && n->peers.eager == 0;
}

/* A claim's timestamp as hs_peer.claim_s keeps it (whole seconds: a
 * newer claim must be at least a second newer). */
static uint32_t claim_seconds(double ts)
{
    return ts <= 0 ? 0 : ts >= 4294967295.0 ? UINT32_MAX : (uint32_t)ts;
}

hs_err hs_membership_learn(hs_node *n, const char *id, const char *url, const char *root,
                           double seen_at, const hs_claim *c, hs_peer **out)
{
    hs_peer *p, *same;
    hs_err err;

    if (out)
        *out = NULL;
    if (strcmp(id, n->id) == 0 || strcmp(url, n->url) == 0)
        return HS_EINVAL; /* ourselves */
    /* A TLS node takes https:// URLs only (node.c, counted there). */
    if (!hs_node_url_allowed(n, url))
        return HS_EPERM;
    if (!url_allowed(n, url)) {
        refused(n, "outside peer_allow", id, url);
        return HS_EPERM;
    }
    if (hs_left_blocks(n, id, c, seen_at)) {
        refused(n, "a node that left", id, url);
        return HS_EPERM;
    }
    if (c && shed_lately(n, id) && !hs_peers_find(&n->peers, id))
        return HS_ESTATE; /* held by too many a moment ago (shed()) */
    p = hs_peers_find(&n->peers, id);
    /* Its own signed word counts if newer than the last we took and not
     * older than the seen cache's memory (at least auth_window: clocks
     * differ): a recorded claim replayed later, the node having moved
     * since, is a stranger's word. */
    double memory = n->cfg.seen_ttl > n->cfg.auth_window ? n->cfg.seen_ttl : n->cfg.auth_window;
    int fresh = c && c->signed_by_id && seen_at > hs_node_now(n) - memory &&
                (!p || seen_at >= (double)p->claim_s + 1);
    if (c && c->signed_by_id && !fresh)
        refused(n, "an old signed claim", id, url);
    if (p) {
        if (fresh)
            p->claim_s = claim_seconds(seen_at);
        if (strcmp(p->url, url) != 0) {
            if (!c || fresh) {
                hs_peers_set_url(&n->peers, p, url); /* a bad URL: keep the old */
            } else if (p->state == HS_PEER_DEAD || p->hearsay) {
                /* It may have moved: the new URL must answer as it. */
                candidate_add(n, id, url, c->src, HS_CAND_CLAIM);
            } else {
                /* A live peer's URL is what answers our probes at it. */
                refused(n, "a live peer's new URL", id, url);
                goto known;
            }
        }
        if (root)
            hs_peers_set_root(p, root);
        if (!c) {
            if (p->state == HS_PEER_DEAD)
                p->next_probe = hs_node_mono(n); /* word of life: check it soon */
            else if (clip_wall(n, seen_at) > p->last_seen)
                p->last_seen = clip_wall(n, seen_at);
        }
        goto known;
    }
    if (c && c->direct && !host_is(url, c->src)) {
        refused(n, "a URL that is not its sender's address", id, url);
        return HS_EPERM;
    }
    /* A new id at a known endpoint: the node there restarted under a new
     * id, or someone claims an endpoint already taken. A stranger gets one
     * id per host:port (not 10,000 made-up ids at one victim's address);
     * the operator may name several (a node behind a path-routing proxy). */
    if (c && (same = same_endpoint(n, url, NULL))) {
        if (same->state == HS_PEER_ALIVE && !same->hearsay) {
            refused(n, "a second id at a live peer's host:port", id, url);
            return HS_EDUP;
        }
        candidate_add(n, id, url, c->src, HS_CAND_CLAIM); /* taken if it answers as id */
        return HS_ESTATE;
    }
    if (!c && (same = hs_peers_find_url(&n->peers, url)) && same->state != HS_PEER_ALIVE)
        hs_peers_remove(&n->peers, same);
    if (c && !hs_ratelimit_take(&n->learn_limit, c->src, hs_node_mono(n))) {
        n->m.learn_limited++;
        return HS_EPERM;
    }
    if (n->peers.live >= n->cfg.max_peers) {
        /* A stranger's word never evicts a peer: a candidate, at most. */
        if (c) {
            if (c->swap > 0 && (double)hs_rng_next(&n->rng) / 18446744073709551616.0 < c->swap) {
                struct hs_candidate *k = candidate_add(
                    n, id, url, c->src, c->few && c->direct ? HS_CAND_FEW : HS_CAND_CLAIM);
                if (k && k->rank == HS_CAND_FEW && c->few && c->direct)
                    k->held = c->few - 1;
            }
            return HS_ETOOBIG;
        }
        if (!make_room(n))
            return HS_ETOOBIG;
    }
    if ((err = hs_peers_add(&n->peers, id, url, &p)) != HS_OK)
        return err;
    if (root)
        hs_peers_set_root(p, root);
    if (fresh)
        p->claim_s = claim_seconds(seen_at);
    p->hearsay = c != NULL;
    hs_peers_set_eager(&n->peers, p, learned_eager(n));
    p->last_seen = clip_wall(n, seen_at);
    n->m.peers_discovered++;
    hs_node_log(n, HS_LOG_INFO, "new peer %s at %s", p->id, p->url);
    notify(n, p, 1);
    probe_first(n, p);
known:
    if (out)
        *out = p;
    return HS_OK;
}

/* The answer to a candidate's probe (e->flag: it asked to be fed): if it
 * is the node it was said to be, a dead or unverified entry of that id
 * moves to this URL, or a full table takes it in place of a random peer
 * (CYCLON's mixing, paced to one verified peer per tick). */
static void on_candidate(hs_node *n, hs_pending *e, const hs_http_result *res)
{
    json_t *j = probe_answer_json(res);
    hs_peer *p;

    const char *id = json_string_value(json_object_get(j, "node_id"));
    if (!id || strcmp(id, e->peer) != 0 || !url_allowed(n, e->url)) {
        /* Nothing there answers as that id: the other candidates at the
         * same host:port would fare no better (a stranger's 10,000 ids at
         * one victim's address cost that address one probe). */
        drop_candidates_at(n, e->url);
        json_decref(j);
        return;
    }
    if ((p = hs_peers_find(&n->peers, id))) {
        if ((p->state == HS_PEER_DEAD || p->hearsay) && !same_endpoint(n, e->url, p) &&
            hs_peers_set_url(&n->peers, p, e->url) == HS_OK) {
            hs_node_log(n, HS_LOG_INFO, "peer %s moved to %s", p->id, p->url);
            absorb(n, p, j, res->total_ms);
            hs_membership_saw(n, p);
        }
    } else if (!same_endpoint(n, e->url, NULL) &&
               (n->peers.live < n->cfg.max_peers || make_room(n)) &&
               hs_peers_add(&n->peers, id, e->url, &p) == HS_OK) {
        /* As any new peer: eager while the node has no eager link (the
         * one it replaced may have been its last; without this a view
         * that mixes loses its tree); one that asked to be fed, a branch. */
        if (e->flag && n->cfg.tree) {
            hs_peers_set_eager(&n->peers, p, HS_EAGER_CHILD);
            n->m.feeds++;
        } else {
            hs_peers_set_eager(&n->peers, p, learned_eager(n));
        }
        absorb(n, p, j, res->total_ms);
        p->last_seen = hs_node_now(n);
        n->m.peers_discovered++;
        n->m.candidates_taken++;
        hs_node_log(n, HS_LOG_INFO, "new peer %s at %s (a candidate that answered)", p->id, p->url);
        notify(n, p, 1);
    }
    json_decref(j);
}

static const hs_pending_kind candidate_kind = {HS_REQ_PROBE, on_candidate, NULL, NULL};

/* A candidate probed at most every CANDIDATE_EVERY seconds, or every
 * peer exchange if those come sooner (from the probe tick and each
 * exchange; one that asked to be fed, every tick below the feeding
 * bound), while probes may go to strangers'
 * addresses: the pace at which views mix, and at which a stranger with
 * many answering addresses could move into ours (a 50-peer view in no
 * less than about 4 minutes). Once per 60 s exchange was too slow: a
 * 1000-node cluster kept for many minutes the views its members took
 * from the bootstrap node, ~50 nodes in every view and half the nodes in
 * nobody's, so the tree reached those only by anti-entropy. */
#define CANDIDATE_EVERY 5.0
static void take_candidates(hs_node *n)
{
    unsigned i;
    double now = hs_node_mono(n);

    double every =
        n->cfg.peer_exchange_interval > 0 && n->cfg.peer_exchange_interval < CANDIDATE_EVERY
            ? n->cfg.peer_exchange_interval
            : CANDIDATE_EVERY;

    if (!n->n_candidates || !slot_free(n))
        return;
    i = (unsigned)hs_rng_below(&n->rng, n->n_candidates);
    /* The asker we said yes to goes first, then one that asked to be fed,
     * at once (one a tick, the new-peer tokens still bounding it): nobody
     * may push to it. The rest keep the mixing's pace, and so do askers
     * once half our peers are eager links or we reach the feeding bound
     * (feed_now: askers, strangers among them, hold at most half of the
     * view before it mixes). At that pace an asker goes first, then the
     * node that said the fewest hold it, then any: a node that said few
     * hold it ranked as any stranger's claim, and one that joined 10 s
     * late into 10,000 nodes was in one view or none at 30 s
     * (bench/RESULTS.md, "Late joiners"). */
    int rank = HS_CAND_CLAIM;
    for (unsigned k = 0; k < n->n_candidates && rank < HS_CAND_PROMISED; k++) {
        unsigned at = (i + k) % n->n_candidates;
        const struct hs_candidate *c = &n->candidates[at];
        int r = cand_rank(c, now);
        if (r > rank ||
            (r == HS_CAND_FEW && rank == HS_CAND_FEW && c->held < n->candidates[i].held)) {
            i = at;
            rank = r;
        }
    }
    int paced = rank < HS_CAND_PROMISED && (rank < HS_CAND_ASK || !feed_now(n));
    if ((paced && now - n->last_candidate < every) || !hs_tokens_take(&n->probe_new, now))
        return;
    if (paced)
        n->last_candidate = now;
    struct hs_candidate c = n->candidates[i];
    n->candidates[i] = n->candidates[--n->n_candidates];
    /* (One whose ask lapsed is taken as any other: it asks again if it
     * is still unfed.) */
    if (request_t(n, &candidate_kind, cand_rank(&c, now) >= HS_CAND_ASK, c.id, c.url, "/health",
                  probe_timeout(n)))
        n->m.health_checks++;
    free(c.id);
}

/* Unknown peers a full table takes from one /peers list, each in place of
 * a random live one (CYCLON-style shuffling keeps partial views random). */
#define EXCHANGE_SWAPS 2
/* Peers a hearsay peer sends per exchange (GET /peers?sample=). */
#define EXCHANGE_SAMPLE 8

/* Percent-encodes s for a query string into out (cap bytes, NUL-ended). */
static void url_encode(const char *s, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;

    for (; *s && o + 4 <= cap; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
}

/* A /peers list from the peer at `from` (its base URL): every entry is
 * its word about others, a stranger's claim as far as those go. */
static void merge_peer_list(hs_node *n, const json_t *list, const char *from)
{
    size_t swaps = 0;
    uint8_t src[16];
    hs_claim c = {src, 0, 0, 0, 0};

    if (!json_is_array(list))
        return;
    hs_membership_url_source(from, src);
    for (size_t i = 0; i < json_array_size(list); i++) {
        const json_t *e = json_array_get(list, i);
        const char *id = json_string_value(json_object_get(e, "peer_id"));
        const char *url = json_string_value(json_object_get(e, "url"));
        const char *root = json_string_value(json_object_get(e, "merkle_root"));
        const json_t *ls = json_object_get(e, "last_seen");
        if (!hs_peers_valid_id(id) || !hs_peers_valid_url(url))
            continue;
        /* A full table considers up to EXCHANGE_SWAPS unknown entries,
         * each with a one-in-four chance, as candidates. */
        int swapping = swaps < EXCHANGE_SWAPS && !hs_peers_find(&n->peers, id) &&
                       n->peers.live >= n->cfg.max_peers && hs_rng_below(&n->rng, 4) == 0;
        c.swap = swapping ? 1.0 : 0.0;
        (void)hs_membership_learn(n, id, url, root, json_is_number(ls) ? json_number_value(ls) : 0,
                                  &c, NULL);
        swaps += swapping;
    }
}

/* A joining node announces itself to the peers it just learned that
 * answered already (up to 64: at once, the bootstrap node), which pass it
 * on once: the nodes it knows get to know it, so late joiners are in as
 * many views as early ones (push reaches a node only through the views
 * it is in). The periodic announces only refresh a few neighbours. */
#define JOIN_ANNOUNCE_TTL 1
#define JOIN_ANNOUNCE_FANOUT 64
/* The join's announce again (join_announce_due) goes to this many: to
 * all 64 (each passing it on), 200 simulated nodes that had all joined
 * at once carried 1.11 copies a node of broadcasts from new origins
 * against 1.02 (sim_spec), and 1.04 with 8; why the wider one costs
 * copies was not found (bench/RESULTS.md, "Late joiners"). */
#define JOIN_AGAIN_FANOUT 8

/* How long after a join's /peers list the join's announce goes again.
 * The peers on that list are its node's word: each gets a first probe
 * (probe_new_rate a second) and no other traffic until it answers as
 * itself, so the announce sent at once reaches the bootstrap node alone,
 * whose view is full in a formed cluster. Until 2026-12-07 that was all:
 * a node that joined 10,000 simulated nodes 10 s late was in no view at
 * all 3 s later, and half of those were in one or none at 30 s
 * (bench/RESULTS.md, "Late joiners"). Only if few hold us by then (as
 * our probes would say): in a cluster that fits in one view, every node
 * learns of us from the bootstrap node's pass-on and probes us at once,
 * and 20 nodes sharing one slow host (10 ms a request) that each
 * announced to all the others again lost their views to the load (4.8
 * live peers a node instead of 19, sim_spec). */
static double join_announce_due(const hs_node *n)
{
    double probes = n->cfg.probe_new_rate > 0 ? JOIN_ANNOUNCE_FANOUT / n->cfg.probe_new_rate : 0;
    return n->cfg.probe_timeout + (probes < 10 ? probes : 10);
}

/* A /peers list from e->peer at e->url (e->flag: we are joining). */
static void on_peer_list(hs_node *n, hs_pending *e, const hs_http_result *res)
{
    hs_peer *p = e->peer[0] ? hs_peers_find(&n->peers, e->peer) : NULL;
    json_t *j = answer_json(res);

    if (json_is_array(j)) {
        if (p)
            hs_membership_saw(n, p);
        merge_peer_list(n, j, e->url);
    } else if (p && res->err != HS_OK) {
        hs_membership_send_failed(n, p);
    }
    /* Joined: tell the peers we now know (and, if the list failed, at
     * least the bootstrap node) about us now rather than a round later,
     * and, if few hold us by then, again once they could answer their
     * first probes (join_announce_due). */
    if (e->flag && hs_node_mono(n) - n->last_announce > 0.2)
        hs_membership_announce(n, 1);
    if (e->flag)
        n->join_announce = hs_node_mono(n) + join_announce_due(n);
    json_decref(j);
}

static const hs_pending_kind list_kind = {HS_REQ_PEERS, on_peer_list, NULL, NULL};

/* A bootstrap URL's /health (e->url). */
static void on_boot_health(hs_node *n, hs_pending *e, const hs_http_result *res)
{
    json_t *j = probe_answer_json(res);

    const char *id = json_string_value(json_object_get(j, "node_id"));
    if (id && hs_peers_valid_id(id) && strcmp(id, n->id) != 0) {
        hs_peer *p;
        if (hs_membership_learn(n, id, e->url, NULL, hs_node_now(n), NULL, &p) == HS_OK &&
            strcmp(p->url, e->url) == 0) {
            absorb(n, p, j, res->total_ms); /* its /health is a probe answer */
            hs_membership_saw(n, p);
        }
        request(n, &list_kind, 1, id, e->url, "/peers");
    } else if (!j) {
        /* Warned of at the first try and the first retry; while it goes on
         * failing (a retry every rebootstrap_interval, each URL), at debug:
         * a node whose seeds are all down logs one line per seed, not one
         * a round for ever. */
        hs_node_log(n, n->rebootstraps <= 1 ? HS_LOG_WARN : HS_LOG_DEBUG,
                    "bootstrap from %s failed: %s%s", e->url,
                    res->error ? res->error : "bad /health answer",
                    n->rebootstraps == 1 ? " (while it goes on failing: at debug level)" : "");
    }
    json_decref(j);
}

static const hs_pending_kind boot_kind = {HS_REQ_PEERS, on_boot_health, NULL, NULL};

void hs_membership_bootstrap(hs_node *n)
{
    if (n->leaving)
        return; /* (left.c: it says nothing that would bring it back) */
    n->last_bootstrap = hs_node_mono(n);
    if (n->cfg.n_bootstrap)
        hs_node_exchange_soon(n);
    for (size_t i = 0; i < n->cfg.n_bootstrap; i++)
        if (strcmp(n->bootstrap[i], n->url) != 0 && !hs_discovery_entry(n->bootstrap[i]))
            request(n, &boot_kind, 0, NULL, n->bootstrap[i], "/health");
    hs_discovery_run(n); /* the DNS entries, off the loop */
}

hs_err hs_node_join(hs_node *n, const char *url)
{
    if (!n->started || n->closing)
        return HS_ESTATE;
    if (!url || !hs_peers_valid_url(url))
        return HS_EINVAL;
    if (!hs_node_url_allowed(n, url))
        return HS_EPERM;
    if (strcmp(url, n->url) == 0)
        return HS_OK; /* (ourselves) */
    /* As a bootstrap entry: its /health names it, then an exchange. */
    hs_node_exchange_soon(n);
    request(n, &boot_kind, 0, NULL, url, "/health");
    return HS_OK;
}

void hs_membership_start(hs_node *n)
{
    hs_membership_bootstrap(n);
}

double hs_membership_probe_next(hs_node *n)
{
    size_t count = n->peers.n;
    double tick;

    /* (First: a probe of the round would leave the peer busy.) */
    ask_to_be_fed(n);
    check_feeder(n);
    tell_below(n);

    /* A peer waiting for its first probe keeps its turn: probing it here
     * would bypass the bound. One whose first probe went unanswered (a
     * busy moment at its end or ours) goes before the round: until it
     * answers, its features are unknown, and the tree can neither count
     * on it nor prune it (a message goes to it as to a foreign node, at
     * random, and a random copy that arrives first cuts a tree branch). */
    hs_peer *pick = NULL;
    size_t at = 0;
    for (size_t k = 0; k < count; k++) {
        size_t i = (n->probe_cursor + k) % count;
        hs_peer *p = n->peers.v[i];
        /* (A stranger's unverified claim gets its first probe, paced, and
         * no other.) */
        if (p->state != HS_PEER_DEAD && !p->probing && !p->waiting && !p->hearsay) {
            if (!pick) {
                pick = p;
                at = i + 1;
            }
            if (!p->known) {
                pick = p;
                at = n->probe_cursor; /* the round keeps its place */
                break;
            }
        }
    }
    if (pick) {
        probe(n, pick, 0);
        n->probe_cursor = at;
    }
    take_candidates(n);
    /* Without peers, look again soon: the first ones may come any time. */
    tick = n->peers.live ? n->cfg.health_interval / (double)n->peers.live : 0.1;
    return (tick < n->cfg.probe_interval ? tick : n->cfg.probe_interval) * (1 + n->local_health);
}

/*
 * The early exchanges after a join come 1, 2, 4, 8, 16 s apart. A node
 * whose view is still short of a sample's worth of live peers goes on at
 * the same pace instead, up to FAST_EXCHANGES_MAX times a join: 20-30
 * nodes joining together through one had 8 live peers each within 10 s on
 * all but a few seeds in a thousand; on those, one node sat at 4 (or 7)
 * peers for 4 s, waiting for its exchange of 7 s or 15 s (c_proto_random,
 * seeds 1830375887 and 5083). A small cluster, where every view stays
 * short, pays FAST_EXCHANGES_MAX exchanges a join, then backs off.
 */
#define FAST_EXCHANGES_MAX 8

int hs_membership_exchange_fruitful(hs_node *n)
{
    int again = n->peers.live < EXCHANGE_SAMPLE && n->fast_exchanges < FAST_EXCHANGES_MAX;

    n->fast_exchanges += (unsigned)again;
    return again;
}

static int live_usable(const hs_peer *p, const void *unused)
{
    (void)unused;
    return p->state == HS_PEER_ALIVE && hs_peer_usable(p);
}

void hs_membership_exchange(hs_node *n)
{
    hs_peer *p;

    if (n->leaving)
        return;
    take_candidates(n);
    if (!(p = random_peer(n, live_usable, NULL)))
        return;
    /* A hearsay peer sends a sample, not its whole table, and takes us
     * into its view (a CYCLON shuffle). */
    if (p->features & HS_FEAT_SWIM) {
        char path[16 + 3 * HS_URL_MAX + 1];
        int off = snprintf(path, sizeof path, "/peers?sample=%d&url=", EXCHANGE_SAMPLE);
        url_encode(n->url, path + off, sizeof path - (size_t)off);
        request(n, &list_kind, 0, p->id, p->url, path);
    } else {
        request(n, &list_kind, 0, p->id, p->url, "/peers");
    }
}

/* Our peer_announce to `fanout` random peers, with a ttl of at least
 * JOIN_ANNOUNCE_TTL (fanout 0: the usual fanout and announce_ttl). */
static void announce(hs_node *n, size_t fanout)
{
    json_t *payload;

    if (n->leaving)
        return;
    n->m.gossip_rounds++;
    n->last_announce = hs_node_mono(n);
    payload = json_pack("{s:s, s:s, s:s, s:f}", "node_id", n->id, "url", n->url, "merkle_root",
                        n->merkle_root, "timestamp", hs_node_now(n));
    if (!payload)
        return;
    unsigned ttl = n->cfg.announce_ttl;
    if (fanout && ttl < JOIN_ANNOUNCE_TTL)
        ttl = JOIN_ANNOUNCE_TTL > n->cfg.max_ttl ? n->cfg.max_ttl : JOIN_ANNOUNCE_TTL;
    n->up.broadcast(n, "peer_announce", payload, ttl, fanout, NULL);
    json_decref(payload);
}

void hs_membership_announce(hs_node *n, int joining)
{
    announce(n, joining ? JOIN_ANNOUNCE_FANOUT : 0);
}

#define REBOOTSTRAP_FIRST 2.0

static double rebootstrap_wait(const hs_node *n)
{
    double wait = REBOOTSTRAP_FIRST;
    for (unsigned k = 0; k < n->rebootstraps && wait < n->cfg.rebootstrap_interval; k++)
        wait *= 2;
    return wait < n->cfg.rebootstrap_interval ? wait : n->cfg.rebootstrap_interval;
}

/* Declares dead the suspects whose suspicion ran out, but not one with
 * a probe round under way: its answer may yet come (a failure ends it,
 * hs_membership_failed). */
static void expire_suspicions(hs_node *n)
{
    for (size_t i = 0; i < n->peers.n; i++) {
        hs_peer *p = n->peers.v[i];
        if (p->state == HS_PEER_SUSPECT && !p->probing && suspicion_over(n, p))
            end_suspicion(n, p);
    }
}

void hs_membership_suspicions_due(hs_node *n)
{
    expire_suspicions(n);
    schedule_suspicions(n);
}

static int is_dead(const hs_peer *p, const void *unused)
{
    (void)unused;
    return p->state == HS_PEER_DEAD;
}

void hs_membership_maintain(hs_node *n)
{
    double mono = hs_node_mono(n), wall = hs_node_now(n);
    size_t dead = 0;

    hs_seen_expire(n->seen, wall);
    hs_score_tick(n);
    if (mono - n->last_discovery >= n->cfg.discovery_interval)
        hs_discovery_run(n); /* a node added to DNS later is found */
    /* HS_DUE_SUSPECT ends suspicions on time; this catches one whose round
     * was out at its end and came back without a failure (late: nothing
     * to end it then). */
    expire_suspicions(n);
    for (size_t i = 0; i < n->peers.n; i++) {
        hs_peer *p = n->peers.v[i];
        if (p->state != HS_PEER_DEAD) {
            /* (Not while a probe of ours is out: its answer decides.) */
            if (wall - p->last_seen > n->cfg.dead_timeout && !p->probing)
                declare_dead(n, p, DEAD_SILENT);
            else if ((p->state == HS_PEER_UNHEALTHY || p->state == HS_PEER_SUSPECT || p->claim) &&
                     !p->probing && !p->waiting && slot_free(n))
                /* Confirm a failure (or a claim) now, not a round later;
                 * and a suspect once a tick until it answers or its time
                 * runs out (directly only: on_probe). */
                probe(n, p, 0);
            continue;
        }
        if (mono - p->dead_since > n->cfg.forget_after) {
            hs_node_log(n, HS_LOG_INFO, "forgetting dead peer %s", p->id);
            hs_peers_remove(&n->peers, p);
            i--;
            continue;
        }
        dead++;
        if (mono >= p->next_probe && !p->probing && slot_free(n))
            probe(n, p, 0);
    }
    /* And one dead peer at random every retry_max / 6 s, whatever its
     * backoff: peers declared dead together retry together, so after a
     * partition every backoff could still have most of retry_max to run
     * when it heals. So some node finds the other side within seconds and,
     * through the requests that then flow (hs_membership_heard_from) and
     * the catch-up digests (hs_ae_catchup), the rest follows. */
    if (dead && slot_free(n) && mono >= n->next_dead_probe) {
        n->next_dead_probe = mono + n->cfg.retry_max / 6;
        /* (One of the `dead` counted above: the peers declared dead in
         * this tick come after them in the draw's range.) */
        hs_peer *p = hs_peers_nth(&n->peers, is_dead, NULL, (size_t)hs_rng_below(&n->rng, dead));
        if (p && !p->probing)
            probe(n, p, 0);
    }
    /* Bound the dead entries too: forget the longest-dead beyond max_peers. */
    while (dead > n->cfg.max_peers) {
        hs_peer *oldest = NULL;
        for (size_t i = 0; i < n->peers.n; i++) {
            hs_peer *p = n->peers.v[i];
            if (p->state == HS_PEER_DEAD && (!oldest || p->dead_since < oldest->dead_since))
                oldest = p;
        }
        hs_peers_remove(&n->peers, oldest);
        dead--;
    }
    /* Serf's retry_join: again while too few peers, at most
     * rebootstrap_max times in a row (0: for ever), the first retry
     * REBOOTSTRAP_FIRST s after the try and each wait twice the last, up
     * to rebootstrap_interval. A join whose request a lost packet ended
     * is made again 2 s later, not 10 (at 1% loss, 2% of the nodes
     * starting at once: 10 s late, they joined views already full). */
    if (n->peers.live >= n->cfg.min_peers) {
        n->rebootstraps = 0;
    } else if (mono - n->last_bootstrap >= rebootstrap_wait(n) &&
               (!n->cfg.rebootstrap_max || n->rebootstraps < n->cfg.rebootstrap_max)) {
        if (++n->rebootstraps == n->cfg.rebootstrap_max)
            hs_node_log(n, HS_LOG_ERROR,
                        "joining again failed %u times (rebootstrap_max): the node stops "
                        "trying until it has peers; add one (join, add_peer) or restart it",
                        n->cfg.rebootstrap_max);
        hs_membership_bootstrap(n);
    }
    unsigned held;
    if (n->join_announce > 0 && mono >= n->join_announce) {
        n->join_announce = 0;
        if (held_by_few(n, &held))
            announce(n, JOIN_AGAIN_FANOUT);
    }
    probe_waiting(n); /* first probes the rate held back */
}

/* The answer to recheck(): alive, or no word. */
static void on_recheck(hs_node *n, hs_pending *e, const hs_http_result *res)
{
    hs_peer *p = hs_peers_find(&n->peers, e->peer);
    json_t *j;

    if (!p)
        return;
    p->rechecking = 0;
    j = probe_answer_json(res);
    const char *id = json_string_value(json_object_get(j, "node_id"));
    if (id && strcmp(id, p->id) == 0 && p->state != HS_PEER_DEAD) {
        absorb(n, p, j, res->total_ms);
        hs_membership_saw(n, p);
    }
    json_decref(j);
}

static const hs_pending_kind recheck_kind = {HS_REQ_PROBE, on_recheck, NULL, NULL};

/*
 * A refutation we cannot take on its word (an unsigned hs.alive: the
 * node's id is no key, or anyone's in open mode) that comes while a probe
 * round of ours is under way: that round may have begun while the peer
 * was away (paused, cut off), and its failure would count. So a direct
 * probe of its own, one at a time: its answer brings the peer back, its
 * failure counts for nothing (the rounds decide). 200 simulated nodes at
 * 20% loss with nodes pausing 3 s (sim_spec): a refutation waited for
 * the round's failure and the suspicion ended a moment later.
 */
static void recheck(hs_node *n, hs_peer *p)
{
    if (p->rechecking || !slot_free(n))
        return;
    if (request_t(n, &recheck_kind, 0, p->id, p->url, "/ping", probe_timeout(n)))
        p->rechecking = 1;
}

/* Someone says p is suspect or dead (claim), or alive again (0): we
 * believe none of it without our own probe. A claim stays on p until that
 * probe ends: an answer clears it, a failure (direct and indirect) makes
 * it so (hs_membership_failed). A peer that answered within the last
 * probe timeout is probed at the next maintenance tick instead of now:
 * claims repeated by the thousand cost a probe a tick, not a thousand. */
static void verify(hs_node *n, hs_peer *p, int claim)
{
    double fresh =
        n->cfg.probe_timeout < n->cfg.probe_interval ? n->cfg.probe_timeout : n->cfg.probe_interval;

    if (claim > p->claim)
        p->claim = (unsigned char)claim;
    if (!p->probing && hs_node_now(n) - p->last_seen >= fresh)
        probe(n, p, 0);
}

void hs_membership_swim(hs_node *n, const char *type, const json_t *payload, const char *signer,
                        const char *origin)
{
    const char *id = json_string_value(json_object_get(payload, "node_id"));
    const json_t *jinc = json_object_get(payload, "incarnation");
    uint64_t inc;
    hs_peer *p;

    if (!id || !json_is_integer(jinc) || json_integer_value(jinc) < 0)
        return;
    inc = (uint64_t)json_integer_value(jinc);
    if (strcmp(id, n->id) == 0) {
        /* About us: whoever says we are suspect or dead is wrong. Only we
         * issue our incarnations: one newer than ours is made up (it would
         * push ours out of range, and every refutation after it). */
        if (strcmp(type, "hs.suspect") == 0 || strcmp(type, "hs.dead") == 0) {
            if (inc > n->incarnation) {
                n->m.claims_refused++;
                hs_node_log(n, HS_LOG_INFO,
                            "ignoring a suspicion of us with incarnation %llu "
                            "(ours is %llu)",
                            (unsigned long long)inc, (unsigned long long)n->incarnation);
                return;
            }
            if (inc < n->incarnation) {
                /* Refuted already (several nodes' suspicions of one
                 * incarnation come in a burst, Lifeguard's confirmations):
                 * our current incarnation said again, at most once a
                 * probe_interval, for a node that missed it. Refuting each
                 * anew made a storm at 20% loss (716 suspicions and 661
                 * refutations in a minute on 200 simulated nodes, 106 and
                 * 23 without confirmations). */
                if (n->refuted_at > 0 && hs_node_mono(n) - n->refuted_at < n->cfg.probe_interval)
                    return;
            } else {
                n->incarnation++;
                n->m.refutations++;
                local_health_worse(n);
                hs_node_log(n, HS_LOG_INFO, "refuting a suspicion of us (incarnation %llu)",
                            (unsigned long long)n->incarnation);
            }
            n->refuted_at = hs_node_mono(n);
            swim_broadcast(n, "hs.alive", n->id, n->incarnation, n->url);
        }
        return;
    }
    if (!(p = hs_peers_find(&n->peers, id)) || p->hearsay)
        return;
    /* Incarnations are taken from the peer itself (its probe answers),
     * never from a third party's word. */
    if (strcmp(type, "hs.alive") == 0) {
        if (signer && strcmp(signer, id) == 0 && inc > p->incarnation) {
            /* Its own signed word: it is there, at this incarnation. */
            p->incarnation = inc;
            hs_membership_saw(n, p);
        } else if (p->state != HS_PEER_ALIVE) {
            /* A refutation: see for ourselves, now, even while a round
             * of ours is under way. Until then the suspicions we counted
             * (of the incarnation it says it has left) shorten ours no
             * more: a forged one only gives the peer its full time. At
             * 20% loss a node back from a 3 s pause was dead 1 s into a
             * suspicion that 3 suspicions of its old incarnation had cut
             * short. */
            if (inc > p->incarnation) {
                hs_suspicions_reset(n->suspicions, p->id);
                if (p->state == HS_PEER_SUSPECT)
                    schedule_suspicions(n);
            }
            if (p->probing)
                recheck(n, p);
            else
                verify(n, p, 0);
        }
    } else if (strcmp(type, "hs.suspect") == 0) {
        /* Its origin's own probes failed: a confirmation (the origin is
         * checked in signed mode; open mode takes it on trust, as it takes
         * an hs.dead, which our one failed probe then believes). It only
         * shortens a suspicion that our own probes bear out. */
        /* Of an incarnation older than its own word to us: answered. */
        if (inc < p->incarnation)
            return;
        int heard = hs_suspicions_heard(n->suspicions, p->id, inc);
        if (p->state != HS_PEER_DEAD)
            confirmed_by(n, p, inc, origin);
        /* Checked once a suspicion: a peer that answered us after the
         * first word of it is not probed again for every node that
         * suspects it too (each probe a chance to fail by itself: at 20%
         * loss, a node held by 200 was suspected over and over). */
        if (p->state == HS_PEER_UNHEALTHY || (p->state == HS_PEER_ALIVE && !heard))
            verify(n, p, HS_CLAIM_SUSPECT);
    } else if (strcmp(type, "hs.dead") == 0) {
        if (p->state == HS_PEER_SUSPECT)
            /* Our own probes made it suspect already, and have not heard
             * from it since: another node's suspicion ran out first. */
            declare_dead(n, p, DEAD_CLAIM);
        else if (p->state != HS_PEER_DEAD)
            verify(n, p, HS_CLAIM_DEAD);
    }
}

/* A probe for a helper's POST /probe (its token e->word) of e->peer. */
static void on_probe_for(hs_node *n, hs_pending *e, const hs_http_result *res)
{
    json_t *j = answer_json(res), *ans;
    char *body;

    const char *id = json_string_value(json_object_get(j, "node_id"));
    int ok = id && strcmp(id, e->peer) == 0;
    ans = json_pack("{s:b, s:s}", "ok", ok, "node_id", e->peer);
    body = ans ? json_dumps(ans, JSON_COMPACT) : NULL;
    hs_http_server_answer(n->server, e->word, body ? 200 : 500, body, body ? strlen(body) : 0);
    json_decref(ans);
    json_decref(j);
}

static const hs_pending_kind probe_for_kind = {HS_REQ_PROBE_FOR, on_probe_for, NULL, NULL};

/* Whether we probe url for a helper that asked about a node we do not
 * know (at that URL): a well-formed http(s) URL that is not ours, inside
 * peer_allow, and a token of probe_for_new (probe_new_rate a second). */
static int may_probe_stranger(hs_node *n, const char *id, const char *url, const char **why)
{
    hs_http_url u;

    *why = NULL;
    if (!hs_peers_valid_id(id) || strlen(url) > HS_URL_MAX || hs_http_url_parse(url, &u) != HS_OK ||
        strcmp(url, n->url) == 0 || strcmp(id, n->id) == 0)
        *why = "not a node we can probe";
    else if (!hs_node_url_allowed(n, url) || !url_allowed(n, url))
        *why = "outside peer_allow";
    else if (!hs_tokens_take(&n->probe_for_new, hs_node_mono(n)))
        *why = "too many probes for others: try another helper";
    return *why == NULL;
}

/*
 * POST /probe: SWIM's ping-req. The asker could not reach the node, and
 * asks us to try. A node we know is probed at the URL we know it by.
 * One we do not know is probed too, at the URL given: views are partial
 * (50 of 1000 nodes), so a helper that only probed its own peers said
 * "cannot reach it" nineteen times in twenty, and the indirect probe, a
 * lost packet's second chance, was no chance at all (1000 nodes at 10%
 * loss: thousands of false deaths a minute). Strangers cost a token of
 * their own (probe_new_rate a second) and must be inside peer_allow, so
 * /probe is no open proxy; a refusal says why, and the asker does not
 * count it as "cannot reach it".
 */
void hs_membership_probe_for(hs_node *n, const json_t *req, uint64_t token, hs_http_response *resp)
{
    const char *id = json_string_value(json_object_get(req, "node_id"));
    const char *url = json_string_value(json_object_get(req, "url"));
    hs_peer *p = id ? hs_peers_find(&n->peers, id) : NULL;
    const char *why, *path = "/ping";
    hs_pending *e;

    if (!id || !url) {
        resp->status = 400;
        resp->body = strdup("{\"ok\":false,\"error\":\"expected node_id and url\"}");
        resp->len = resp->body ? strlen(resp->body) : 0;
        return;
    }
    if (p && strcmp(url, p->url) == 0) {
        if (!(p->features & HS_FEAT_SWIM))
            path = "/health";
    } else if (!may_probe_stranger(n, id, url, &why)) {
        char buf[128];
        n->m.probes_for_refused++;
        snprintf(buf, sizeof buf, "{\"ok\":false,\"error\":\"%s\"}", why);
        resp->status = 200;
        resp->body = strdup(buf);
        resp->len = resp->body ? strlen(resp->body) : 0;
        return;
    } else if (!json_is_true(json_object_get(req, "ping"))) {
        path = "/health"; /* (the asker did not say it is a hearsay node) */
    }
    if (!(e = hs_pending_new(n, &probe_for_kind, id, url))) {
        resp->status = 500;
        resp->body = NULL;
        return;
    }
    e->word = token;
    n->m.probes_for++;
    if (hs_pending_send(e, "GET", path, NULL, 0, n->cfg.probe_timeout) != HS_OK) {
        resp->status = 500;
        resp->body = NULL;
        return;
    }
    resp->defer = 1; /* status 0 until on_probe_for answers */
}
