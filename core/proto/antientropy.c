/*
 * antientropy.c -- push-pull repair of what push gossip missed.
 *
 * Every ae_interval a node sends a random hearsay peer (one advertising
 * "ae") a digest: the ids of the messages it has retained from the last
 * ae_window seconds (at most max_digest, newest first) and its state. The
 * peer answers with the ids from the digest it lacks ("missing") and the
 * ids it retains that the digest did not list ("extra"), and its state.
 * The initiator then pushes the missing envelopes (batched) and fetches
 * the extra ones it has not seen with POST /fetch. Repaired envelopes
 * travel with ttl 0 (they are kept that way: the bytes that arrived, ttl
 * rewritten, so a repair costs no JSON work on the sending side): every node runs these rounds, so
 * a repair spreads by anti-entropy, without a second flood. Each side adopts the other's state when
 * it is newer.
 *
 * Cost per round: one digest of up to max_digest ids (67 bytes each), one
 * answer of the same bound, and only the envelopes that were missing.
 *
 * A catch-up: when a peer held dead comes back (a partition healed, a
 * node resumed), the node sends it a digest at once whose "window"
 * covers the time it was away plus ae_window (at most retain_ttl), and the
 * peer answers with the ids of that window: what was said on either side
 * while they were apart crosses over, however long ago (within
 * retain_ttl), where a round covers only ae_window.
 *
 * A round looks back ae_window, or to the last round of ours that came
 * through (answer and fetch) when that is further back (at most
 * retain_ttl): a round lost, or rounds backed off, leave no gap.
 */
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "hash.h"
#include "jsonout.h"
#include "node.h"

/* Message types that are not retained: membership chatter is periodic, so
 * repairing it is pointless. */
int hs_ae_retained_type(const char *type)
{
    /* SWIM's suspicions, refutations and announces are news only while
     * fresh; a query and a node's tags must reach every node, as any
     * message must, and so must a death: a holder that lost its pushes
     * found the crash only in its own probe round, 40 s late under 10%
     * loss (sim_spec). It is still checked by a probe before it is
     * believed, so a stale one costs a probe. */
    if (strcmp(type, "hs.query") == 0 || strcmp(type, "hs.tags") == 0 ||
        strcmp(type, "hs.leave") == 0 || strcmp(type, "hs.forceleave") == 0 ||
        strcmp(type, "hs.dead") == 0)
        return 1;
    return strcmp(type, "peer_announce") != 0 && strncmp(type, "hs.", 3) != 0;
}

/* Rounds come at most this many ae_intervals apart while new messages
 * arrive and the rounds find nothing to repair. */
#define AE_FLOW_INTERVALS 4

/* Rounds at most `every` s apart from now on: sooner than the backed-off
 * round already planned. The next one comes after a spread of that
 * (hs_node_spread): the first message of a stream reaches every node
 * within milliseconds and set all their rounds off together, 8 s later
 * and every 8 s from then on, each with a digest of up to max_digest ids
 * (on 100 loopback nodes at 200 broadcasts a second all 100 rounds came
 * in the same second, and the tree's copies stalled there;
 * bench/RESULTS.md, Load). */
static void rounds_within(hs_node *n, double every)
{
    if (n->cfg.ae_interval <= 0 || n->ae_next <= every || !n->started || n->closing)
        return;
    n->ae_next = every;
    /* Sooner than the backed-off round already planned. */
    double in = hs_node_due_in(n, HS_DUE_AE), at = hs_node_spread(n, n->ae_next);
    if (in == HS_NEVER || in > at)
        hs_node_after(n, HS_DUE_AE, at < 0.001 ? 0.001 : at);
}

void hs_ae_activity(hs_node *n)
{
    rounds_within(n, n->cfg.ae_interval);
}

/*
 * A new message came: something may need repair, at some node, if the
 * tree and the lazy offers both miss it. Rounds come back from their
 * backed-off pace to AE_FLOW_INTERVALS ae_intervals (8 s), and to
 * ae_interval only once a round finds something (hs_ae_activity): under a
 * steady stream every round had gone out every ae_interval with up to
 * max_digest ids, and found nothing (at 150 broadcasts/s on 100 loopback
 * nodes, 9% of the CPU, for no repair).
 */
static void flow(hs_node *n)
{
    rounds_within(n, AE_FLOW_INTERVALS * n->cfg.ae_interval);
}

void hs_ae_retain(hs_node *n, hs_envelope *env, const hs_slice *raw)
{
    char *text = NULL;
    size_t len = 0;

    if (n->cfg.retain_bytes == 0 || !hs_ae_retained_type(env->type))
        return;
    flow(n);
    /* Kept as sent: ttl 0. The bytes that arrived, when we have them, cost
     * a copy (straight into the cache, the ttl spliced on the way: a copy
     * of its own first cost a malloc, a memcpy and a free a delivery);
     * rebuilding the JSON costs ~40k instructions. */
    size_t vs, ve;
    if (raw && env->ttl_raw &&
        hs_envelope_ttl_cut(raw->p, raw->len, env->ttl_raw, env->ttl_len, &vs, &ve) == 0) {
        hs_arena_part parts[3] = {{raw->p, vs}, {"0", 1}, {raw->p + ve, raw->len - ve}};
        hs_seen_attach_parts(n->seen, env->bin, parts, 3);
        return;
    }
    if (raw)
        text = hs_envelope_raw_ttl0(raw->p, raw->len, &len);
    if (!text && hs_envelope_payload(env)) {
        hs_envelope e0 = *env;
        json_t *j;
        e0.ttl = 0;
        j = hs_envelope_to_json(&e0);
        text = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        len = text ? strlen(text) : 0;
    }
    if (text)
        hs_seen_attach(n->seen, env->bin, text, len);
}

typedef struct digest_ctx {
    hs_jsonout *o;
    size_t count, max;
    const uint8_t (*skip)[32]; /* sorted ids to leave out, or NULL */
    size_t nskip;
} digest_ctx;

static int cmp_id(const void *a, const void *b)
{
    return memcmp(a, b, 32);
}

static int add_id(void *ud, const uint8_t id[32])
{
    digest_ctx *d = ud;

    if (d->skip && bsearch(id, d->skip, d->nskip, 32, cmp_id))
        return 0;
    if (d->count++)
        HS_JSONOUT_LIT(d->o, ",");
    hs_jsonout_hex(d->o, id, 32);
    return d->count >= d->max;
}

/* Our recent retained ids, newest first, minus `skip`, as a JSON list
 * written to o (as text: a digest's 1024 ids as jansson strings cost
 * more than the rest of a round). Not the newest ones: a message that
 * arrived less than two lazy_delays ago may still be on its way to the
 * peer through the tree or a lazy offer, and repairing it early is a
 * copy too many, and a pruned tree link (its own copy then arrives as a
 * duplicate). */
static void recent_ids(hs_node *n, hs_jsonout *o, double window, const uint8_t (*skip)[32],
                       size_t nskip)
{
    digest_ctx d = {o, 0, n->cfg.max_digest, skip, nskip};
    double now = hs_node_now(n);

    HS_JSONOUT_LIT(o, "[");
    hs_seen_recent(n->seen, now - window, now - 2 * n->cfg.lazy_delay, add_id, &d);
    HS_JSONOUT_LIT(o, "]");
}

/* A window within [ae_window, retain_ttl] (ae_window when shorter); the
 * one a digest asks for is its "window" (a catch-up, below). */
static double window_within(const hs_node *n, double v)
{
    double hi = n->cfg.retain_ttl > n->cfg.ae_window ? n->cfg.retain_ttl : n->cfg.ae_window;

    return v > n->cfg.ae_window ? (v < hi ? v : hi) : n->cfg.ae_window;
}

static double window_of(const hs_node *n, const json_t *req)
{
    const json_t *w = json_object_get(req, "window");

    return window_within(n, json_is_number(w) ? json_number_value(w) : 0);
}

/* Our state, {"merkle_root", "state_version"}, written to o. */
static void state_of(hs_node *n, hs_jsonout *o)
{
    HS_JSONOUT_LIT(o, "{\"merkle_root\":");
    hs_jsonout_string(o, n->merkle_root, strlen(n->merkle_root));
    HS_JSONOUT_LIT(o, ",\"state_version\":");
    hs_jsonout_int(o, (long long)n->state_version);
    HS_JSONOUT_LIT(o, "}");
}

/* A digest's state is nobody's signed word: in signed mode state comes
 * only in state_update messages its writers signed (a member, or anyone
 * who answers a digest, would otherwise set the cluster's root). */
static void adopt_state(hs_node *n, const json_t *st, const char *from)
{
    const json_t *root = json_object_get(st, "merkle_root");
    const json_t *ver = json_object_get(st, "state_version");

    if (n->cfg.security >= HS_SECURITY_SIGNED)
        return;
    if (json_is_string(root) && json_string_length(root) <= HS_ROOT_MAX && json_is_integer(ver) &&
        json_integer_value(ver) >= 0)
        hs_node_apply_state(n, json_string_value(root), (uint64_t)json_integer_value(ver), from, 0);
}

/* The answer to a digest of the sorted ids (count of them) whose other
 * members (state, window) are in req. */
static char *digest_answer(hs_node *n, const uint8_t (*ids)[32], size_t count, const json_t *req,
                           const char *sender, size_t *len)
{
    hs_jsonout o = {0};
    size_t nmissing, mark;

    adopt_state(n, json_object_get(req, "state"), sender);
    HS_JSONOUT_LIT(&o, "{\"missing\":");
    nmissing = hs_digest_unseen(n->seen, ids, count, &o);
    HS_JSONOUT_LIT(&o, ",\"extra\":");
    mark = o.len;
    recent_ids(n, &o, window_of(n, req), ids, count);
    n->m.ae_answered++;
    if (nmissing || o.len > mark + 2)
        hs_ae_activity(n);
    HS_JSONOUT_LIT(&o, ",\"state\":");
    state_of(n, &o);
    HS_JSONOUT_LIT(&o, "}");
    return hs_jsonout_finish(&o, len);
}

char *hs_ae_digest_answer(hs_node *n, const json_t *req, const char *sender, unsigned *status,
                          size_t *len)
{
    size_t count = 0;
    uint8_t(*ids)[32] = hs_digest_parse_ids(json_object_get(req, "ids"), n->cfg.max_digest, &count);
    char *text;

    if (!ids) {
        *status = 400;
        return hs_http_error_text(
            "a digest is {\"ids\": [at most max_digest hex ids], \"state\": {...}}", len);
    }
    text = digest_answer(n, (const uint8_t(*)[32])ids, count, req, sender, len);
    free(ids);
    *status = text ? 200 : 500;
    return text;
}

int hs_ae_digest_answer_text(hs_node *n, const char *body, size_t blen, const char *sender,
                             unsigned *status, char **text, size_t *len)
{
    hs_digest_text d;
    int got = hs_digest_scan(body, blen, n->cfg.max_digest, 0, &d);

    if (got != 1)
        return got;
    *text = digest_answer(n, (const uint8_t(*)[32])d.a, d.na, d.rest, sender, len);
    *status = *text ? 200 : 500;
    hs_digest_text_free(&d);
    return 1;
}

/* The answer to POST /fetch: the retained envelopes asked for, ttl 0. */
char *hs_ae_fetch_answer(hs_node *n, const json_t *req, unsigned *status, size_t *len)
{
    size_t count = 0;
    uint8_t(*ids)[32] = hs_digest_parse_ids(json_object_get(req, "ids"), n->cfg.max_digest, &count);
    char *text;

    if (!ids) {
        *status = 400;
        return hs_http_error_text("a fetch is {\"ids\": [at most max_digest hex ids]}", len);
    }
    /* The kept bodies are already the envelopes to send (ttl 0): join them. */
    size_t total = 2;
    for (size_t i = 0; i < count; i++) {
        size_t blen = 0;
        if (hs_seen_body(n->seen, ids[i], &blen))
            total += blen + 1;
    }
    text = malloc(total + 1);
    if (!text) {
        free(ids);
        *status = 500;
        *len = 0;
        return NULL;
    }
    size_t at = 0;
    text[at++] = '[';
    for (size_t i = 0; i < count; i++) {
        size_t blen;
        const char *body = hs_seen_body(n->seen, ids[i], &blen);
        if (!body)
            continue;
        if (at > 1)
            text[at++] = ',';
        memcpy(text + at, body, blen);
        at += blen;
    }
    text[at++] = ']';
    text[at] = '\0';
    free(ids);
    *status = 200;
    *len = at;
    return text;
}

/* POSTs text (NULL: out of memory, nothing sent) to p's path for the
 * round sent at `sent` (wall s); its answer goes to kind. */
static void post(hs_node *n, const hs_pending_kind *kind, const hs_peer *p, double sent,
                 const char *path, const char *text)
{
    hs_pending *e = text ? hs_pending_new(n, kind, p->id, p->url) : NULL;

    if (e) {
        e->at = sent;
        hs_pending_send(e, "POST", path, text, strlen(text), n->cfg.request_timeout);
    }
}

/* A round sent at `sent` came through, fetches and all: the round after
 * the next need look back only to it (hs_ae_round). Not the next: the
 * peer answered from what it had, and under loss it may have lacked what
 * the others had long before (it got it moments before our round, which
 * then lists it neither way: a digest leaves out what is under two
 * lazy_delays old). Looking back to the one round before, two peers must
 * both have lacked it (sim_spec, seed 11: a node never had a message a
 * lossy network cost it). */
static void covered(hs_node *n, double sent)
{
    if (sent > n->ae_covered) {
        n->ae_covered_prev = n->ae_covered;
        n->ae_covered = sent;
    }
}

long hs_ae_take_fetched(hs_node *n, const char *peer, const hs_http_result *res)
{
    json_t *arr = res->err == HS_OK && res->status == 200
                      ? json_loadb(res->body, res->len, JSON_REJECT_DUPLICATES, NULL)
                      : NULL;
    long got = -1;

    if (json_is_array(arr)) {
        unsigned status;
        size_t before = n->m.messages_received;
        size_t alen;
        free(n->up.receive(n, arr, res->body, res->len, peer, 0, &status, &alen));
        got = (long)(n->m.messages_received - before);
    }
    json_decref(arr);
    return got;
}

/* The envelopes e->peer sent for our POST /fetch of round e->at. */
static void on_fetched(hs_node *n, hs_pending *e, const hs_http_result *res)
{
    long got = hs_ae_take_fetched(n, e->peer, res);

    if (got < 0)
        return;
    n->m.ae_fetched += (size_t)got;
    if (got > 0)
        hs_membership_unfed(n);
    covered(n, e->at);
}

static const hs_pending_kind fetch_kind = {HS_REQ_FETCH, on_fetched, NULL, NULL};

/* e->peer's answer to the digest of round e->at. */
static void on_digest_answer(hs_node *n, hs_pending *e, const hs_http_result *res)
{
    hs_peer *p = hs_peers_find(&n->peers, e->peer);
    hs_digest_text d = {0};
    json_t *ans = NULL;
    int got = 0;

    if (res->err != HS_OK || res->status != 200 || !p)
        return;
    /* Straight from the text as we write it; otherwise jansson's tree. */
    if ((got = hs_digest_scan(res->body, res->len, n->cfg.max_digest, 1, &d)) == 1)
        ans = d.rest;
    else if (got == 0)
        ans = json_loadb(res->body, res->len, 0, NULL);
    /* (Not inside json_is_object(): a macro, its argument read twice.) */
    if (got == 0 && json_is_object(ans)) {
        d.a = hs_digest_parse_ids(json_object_get(ans, "missing"), n->cfg.max_digest, &d.na);
        d.b = hs_digest_parse_ids(json_object_get(ans, "extra"), n->cfg.max_digest, &d.nb);
        d.rest = ans;
    } else if (got != 1) {
        json_decref(ans);
        return;
    }
    hs_membership_saw(n, p);
    adopt_state(n, json_object_get(ans, "state"), p->id);

    /* Push what the peer lacks. */
    for (size_t i = 0; d.a && i < d.na; i++) {
        size_t blen;
        const char *body = hs_seen_body(n->seen, d.a[i], &blen);
        hs_body *b = body ? hs_body_new(body, blen) : NULL;
        if (b) {
            hs_body_known(b, d.a[i], 0); /* (kept with ttl 0) */
            hs_push_enqueue(n, p, b);
            hs_body_unref(b);
            n->m.ae_pushed++;
            hs_ae_activity(n);
        }
    }

    /* Fetch what we lack. */
    hs_jsonout o = {0};
    size_t len;
    HS_JSONOUT_LIT(&o, "{\"ids\":");
    size_t want = hs_digest_unseen(n->seen, (const uint8_t(*)[32])d.b, d.nb, &o);
    HS_JSONOUT_LIT(&o, "}");
    char *text = hs_jsonout_finish(&o, &len);
    if (want > 0)
        post(n, &fetch_kind, p, e->at, "/fetch", text);
    else
        covered(n, e->at);
    free(text);
    hs_digest_text_free(&d);
}

static const hs_pending_kind digest_kind = {HS_REQ_DIGEST, on_digest_answer, NULL, NULL};

/* Sends p a digest of the last `window` s (0: ae_window). */
static void send_digest(hs_node *n, hs_peer *p, double window)
{
    hs_jsonout o = {0};

    HS_JSONOUT_LIT(&o, "{\"node_id\":");
    hs_jsonout_string(&o, n->id, strlen(n->id));
    HS_JSONOUT_LIT(&o, ",\"ids\":");
    recent_ids(n, &o, window > 0 ? window : n->cfg.ae_window, NULL, 0);
    HS_JSONOUT_LIT(&o, ",\"state\":");
    state_of(n, &o);
    if (window > 0) {
        HS_JSONOUT_LIT(&o, ",\"window\":");
        hs_jsonout_real(&o, window);
    }
    HS_JSONOUT_LIT(&o, "}");
    size_t len;
    char *text = hs_jsonout_finish(&o, &len);
    n->m.ae_rounds++;
    post(n, &digest_kind, p, hs_node_now(n), "/digest", text);
    free(text);
}

static int alive_ae(const hs_peer *p, const void *unused)
{
    (void)unused;
    return p->state == HS_PEER_ALIVE && (p->features & HS_FEAT_AE);
}

static void round_with(hs_node *n, hs_peer *p);

void hs_ae_round(hs_node *n)
{
    hs_peer *p = hs_peers_random(&n->peers, &n->rng, alive_ae, NULL);

    if (p)
        round_with(n, p);
}

/*
 * A peer's /ping said when it last took news (`news`, its wall clock) and
 * which message that was (`id`). If we lack it, we may lack what it has:
 * a node that nobody pushes to (in nobody's view, or cut off from the
 * tree) learns of it within a probe or two, where its rounds, backed off
 * to ae_max_interval while nothing came, would wait up to that long. Not
 * at once: its copy may be on its way to us. The earliest such news we
 * have not matched since (news_owed) is what counts: once it is a spread
 * old (as long as an offer of it would have taken to come, lazy_delay
 * and its slack, and to be answered: hs_push_answer_wait; 1.5 s until
 * 2026-12-07, when the nodes 100,000 left in few views had their
 * broadcasts by the news round at a median of 2.3 s) and we still lack
 * it, a round. (Counting the peer's latest news
 * alone, a node cut off under a steady stream never ran one: every peer's
 * latest was always under a spread old. sim_spec: one node in 1000 took 5
 * broadcasts 2 s apart only when they stopped, 12 s after the first.)
 * Matched means we have that message: taking a later one is no sign of
 * it (a node of 100,000 that broadcast 1 never reached had broadcast 2
 * pushed to it before the spread passed, counted the news matched, and
 * lacked broadcast 1 for good). A peer that names no id (an older
 * hearsay) is matched by time: news of ours since. The round goes to a
 * peer whose latest news is no older than what we owe; one an ae_interval
 * at most, until we have it or it is ae_window old (a round lost, or
 * answered before the peer had it, is not the end of it).
 */
int hs_ae_news_named(const hs_node *n)
{
    return n->last_news > 0 && hs_node_now(n) - n->last_news <= n->cfg.ae_window;
}

static int news_matched(const hs_node *n, double news, const uint8_t *id)
{
    return id ? hs_seen_contains(n->seen, id) : news <= n->last_news;
}

void hs_ae_news(hs_node *n, hs_peer *p, double news, const uint8_t *id)
{
    double now = hs_node_now(n), mono = hs_node_mono(n);
    double spread = 2 * n->cfg.lazy_delay + hs_push_answer_wait(n);

    if (n->cfg.ae_interval <= 0 || !alive_ae(p, NULL))
        return;
    if (n->news_owed > 0 &&
        (news_matched(n, n->news_owed, n->news_owed_named ? n->news_owed_id : NULL) ||
         now - n->news_owed > n->cfg.ae_window))
        n->news_owed = 0; /* matched since, or too old to fetch */
    if (!news_matched(n, news, id) && now - news <= n->cfg.ae_window &&
        (n->news_owed == 0 || news < n->news_owed)) {
        n->news_owed = news;
        n->news_owed_named = id != NULL;
        if (id)
            memcpy(n->news_owed_id, id, 32);
    }
    /* (With a peer that took news since: it is likely to have it.) */
    if (n->news_owed == 0 || news < n->news_owed || now - n->news_owed < spread ||
        (n->news_round > 0 && mono - n->news_round < n->cfg.ae_interval))
        return;
    n->news_round = mono; /* (owed still: again if this one brings nothing) */
    n->m.ae_news++;
    hs_ae_activity(n); /* (and our own rounds back to ae_interval) */
    round_with(n, p);
}

static void round_with(hs_node *n, hs_peer *p)
{
    /* Back to the round before the last that came through (covered()),
     * if that is further back than ae_window: rounds that back off to
     * ae_max_interval, or get lost, leave no message between them (a
     * node that missed one while its rounds were backed off never had
     * it: 1 in 12 seeds of 20 simulated nodes, 30% loss for 10 s). A
     * digest lists ids up to 2 x lazy_delay old, and rounds wander by up
     * to an ae_interval. */
    double back = hs_node_now(n) - n->ae_covered_prev + 2 * n->cfg.lazy_delay + n->cfg.ae_interval;
    send_digest(n, p, back > n->cfg.ae_window ? window_within(n, back) : 0);
}

void hs_ae_catchup(hs_node *n, hs_peer *p, double away)
{
    if (n->cfg.ae_interval <= 0 || !(p->features & HS_FEAT_AE))
        return;
    n->m.ae_catchups++;
    send_digest(n, p, window_within(n, away + n->cfg.ae_window));
}
