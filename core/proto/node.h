/*
 * node.h -- the inside of a hs_node, shared by the files that make it up:
 * node.c (life cycle, accessors), gossip.c (receive, forward, broadcast),
 * push.c (the send queues), membership.c (bootstrap, probes, death and
 * return of peers), lazypush.c, antientropy.c and shortcut.c (the tree and
 * its repair), pending.c (the requests in flight), clock.c (the node's
 * time and deadlines), routes.c (the HTTP endpoints) and the smaller files
 * that declare their part in a header of their own (query.h, view.h,
 * left.h, ...). Nothing outside core/ includes this.
 */
#ifndef HS_NODE_H
#define HS_NODE_H

#include "clock.h"
#include "deadlines.h"
#include "digest.h"
#include "envelope.h"
#include "feedpath.h"
#include "hearsay.h"
#include "holders.h"
#include "io.h"
#include "peers.h"
#include "pending.h"
#include "ratelimit.h"
#include "rng.h"
#include "seen.h"
#include "suspicions.h"

/* Peers let go as held by too many, remembered (membership.c). */
#define HS_SHED_RECENT 16
/* Peers we feed that are owed the chain above us, their probes in flight
 * when it changed (membership.c, tell_below). */
#define HS_TELL_OWED 8
/* Seconds after a new chain was told in which every probe of a peer we
 * feed carries it too (membership.c, probe). */
#define HS_TELL_FRESH 60
/* Asks in a row answered from below us after which a node takes itself
 * for the top of the feeding (membership.c, feeding): it asks the peer
 * most nodes hold, with &top=1, which no peer refuses for being below,
 * and a feeder through it will do. Its asks wait 2^this probe_intervals
 * at most. */
#define HS_FEED_TOP 3
/* Askers on top a node feeds past its feeding bound, at most. */
#define HS_FEED_TOP_PAST 2

/* This build's version (/health, /metrics). */
#define HS_VERSION "0.1.0"
/* Lazy offers answered "missing" that a node remembers (lazypush.c). */
#define HS_LAZY_ASKED 64
/* New messages whose first copy a node remembers (shortcut.c). */
#define HS_RECENT 128
/* GET /metrics' breakdowns (prometheus.c): HTTP requests by route and
 * status, probes by result and their durations. */
#define HS_ROUTE_SLOTS 17 /* the routes of routes.c, and one for the rest */
#define HS_CODE_SLOTS 11  /* the statuses a node gives (routes.c), the rest, deferred */
#define HS_PROBE_BUCKETS 10
typedef struct hs_stats {
    uint64_t http[HS_ROUTE_SLOTS][HS_CODE_SLOTS];
    uint64_t probes_ok, probes_failed, probes_late;
    uint64_t probe_le[HS_PROBE_BUCKETS]; /* answered probes by duration (not cumulative) */
    double probe_seconds;                /* their sum */
} hs_stats;

typedef struct hs_view_gather hs_view_gather;

/* Message types a node remembers the counts of, the latest (the
 * dashboard's "recent message types"; allocated on the first message). */
#define HS_RECENT_TYPES 8
typedef struct hs_type_count {
    char type[65];
    uint64_t count;
    double last; /* monotonic s */
} hs_type_count;

/* Nodes that left whose ids a node remembers (left.c). */
#define HS_LEFT_MAX 256
typedef struct hs_left {
    char *id;
    double at; /* epoch s of its leave */
} hs_left;
/* Ended queries of ours whose ids a node remembers, to tell a late
 * response from a stray one (query.c). */
#define HS_QUERY_DONE 64
/* The highest local health multiplier (membership.c). */
#define HS_LOCAL_HEALTH_MAX 8
/* Peers a full table keeps in mind to probe, one per maintenance tick,
 * and take in if they answer (membership.c). */
#define HS_CANDIDATES 64
/* A candidate's rank: what a stranger said of it (an announce, a shuffle's
 * sample, a peer list), it said itself that few hold it (/ping &few=N),
 * it asked to be fed, and we said yes. A higher rank goes first and is
 * never replaced by a lower one. */
enum { HS_CAND_CLAIM, HS_CAND_FEW, HS_CAND_ASK, HS_CAND_PROMISED };
/* The largest version or incarnation taken from the wire: 2^53, the
 * integers a double holds exactly (what JSON readers promise). */
#define HS_COUNTER_MAX 9007199254740992ull

/* Who says a peer exists, and how far to believe it (hs_membership_learn). */
typedef struct hs_claim {
    const uint8_t *src; /* the address it came from (16 bytes): a stranger's
                           claim, rate-limited per address and verified by a
                           probe before the peer gets traffic */
    int direct;         /* the claimant speaks of itself (a shuffle's asker):
                           its URL's host must be that address */
    double swap;        /* the chance a full table considers it */
    int signed_by_id;   /* signed by the key of the id it is about: its URL
                           may change at its word */
    unsigned few;       /* direct: the claimant says few nodes hold it (1 +
                           how many), and is kept ahead of mere claims */
} hs_claim;

/*
 * What the lower layers of the protocol ask of the higher ones. The
 * modules depend one way (README, Architecture; ctest's proto_layers
 * checks it): a module calls only those of its own layer or below, and
 * reaches above through these, which node.c fills in when it makes the
 * node.
 */
typedef struct hs_upcalls {
    /* Gossips a message of ours (gossip.c's hs_gossip_broadcast): SWIM's
     * messages and announces (membership.c), leaves (left.c). */
    hs_err (*broadcast)(hs_node *n, const char *type, json_t *payload, unsigned ttl, size_t fanout,
                        char *id_out);
    /* Takes envelopes anti-entropy fetched (gossip.c's
     * hs_gossip_receive_body, with pushed 0). */
    char *(*receive)(hs_node *n, const json_t *body, const char *raw, size_t rawlen,
                     const char *sender, int pushed, unsigned *status, size_t *len);
    /* A peer's /ping said it took news, and a peer held dead is back:
     * anti-entropy rounds with it (antientropy.c's hs_ae_news and
     * hs_ae_catchup; membership.c). */
    void (*ae_news)(hs_node *n, hs_peer *p, double news, const uint8_t *id);
    void (*ae_catchup)(hs_node *n, hs_peer *p, double away);
    /* A tree push that waited too long in p's queue goes as an offer of
     * its id, due at once (lazypush.c's hs_lazy_offer_now; push.c). */
    void (*offer_now)(hs_node *n, hs_peer *p, const uint8_t id[32], unsigned ttl);
    /* The ids of a push to p past its time, offered at once
     * (lazypush.c's hs_lazy_offer_ids; push.c). */
    void (*offer_ids)(hs_node *n, hs_peer *p, const hs_idq *ids);
    /* One of the node's parts (a DNS lookup, discovery.c) is done: a
     * closing node is freed once every part is (node.c). */
    void (*part_done)(hs_node *n);
} hs_upcalls;

struct hs_node {
    hs_io *io;               /* its timer, its loop's stalls, DNS (io.h) */
    hs_upcalls up;           /* the higher layers, for the lower (node.c fills it) */
    hs_clock clock;          /* what hs_node_now and hs_node_mono read: the io's */
    double ev_mono, ev_wall; /* the time the event under way began */
    unsigned ev_depth;       /* events under way (hs_node_event_begin) */
    int own_clock;           /* hs_node_set_clock gave another */
    hs_config cfg;           /* string members point into the fields below */
    char id[HS_PEER_ID_MAX + 1];
    char url[HS_URL_MAX + 1];
    char host[64];
    char **bootstrap;
    struct {
        char **cluster_keys, **writers, **peer_allow, **trust_forwarded;
        char *tls;                         /* the TLS file names and node_key, one allocation */
    } lists;                               /* owned copies behind cfg's pointers */
    char from_header[HS_PEER_ID_MAX + 32]; /* "X-Hearsay-From: <id>" */
    char label[65];                        /* cfg.cluster_label's copy, or "" */
    char label_header[96];                 /* "X-Hearsay-Cluster: <label>" */
    char lua_version[32];                  /* cfg.lua_version's copy, or "" */
    json_t *tags;                          /* owned copy of cfg.tags, or NULL */
    char **blocked;                        /* banned node ids (hs_node_block) */
    size_t n_blocked;

    struct hs_identity *ident; /* our Ed25519 key pair (identity.h) */
    struct hs_keycache *keys;  /* keys we check signatures with, built (or NULL) */
    hs_http_server *server;
    hs_http_client *client;
    hs_seen *seen;
    struct hs_auth *auth; /* the cluster keyring and replay cache (auth.c);
                             cfg.cluster_keys only seeded it */
    hs_peers peers;
    hs_rng rng;
    uint64_t idset_key; /* keys the seen_by sets of forwarding (idlist.h): a
                           secret from RAND_bytes, not drawn from rng */
    hs_metrics m;
    hs_stats stats;              /* /metrics' breakdowns */
    hs_type_count *recent_types; /* HS_RECENT_TYPES of them, or NULL */
    hs_hooks hooks;

    char merkle_root[HS_ROOT_MAX + 1];
    uint64_t state_version;
    uint64_t incarnation; /* SWIM: raised to refute a suspicion of us */

    double started_wall, started_mono;
    double last_timestamp;  /* our broadcasts get strictly rising timestamps */
    double last_bootstrap;  /* monotonic s */
    double next_dead_probe; /* mono s: the next dead peer probed at random */
    double last_candidate;  /* monotonic s: the last candidate probed (take_candidates) */
    double feed_asked;      /* monotonic s: we last asked a peer to push to us */
    double last_announce;   /* monotonic s */
    double join_announce;   /* monotonic s: the join's announce again, to the
                                  peers that answered by then (0: none due) */
    double last_discovery;  /* monotonic s: DNS bootstrap entries last resolved */
    double last_news;       /* wall s: we last took (or said) a message new to
                               us of a type anti-entropy keeps (/ping "news") */
    double news_round;      /* monotonic s: our last round for a peer's news */
    double news_owed;       /* wall s: the earliest news a peer had that we have
                               not matched since (hs_ae_news), or 0 */
    double last_sweep;      /* monotonic s: our last sweep (membership.c), or 0 */
    unsigned probe_record;  /* the last 4 direct probes, newest lowest: 1 unanswered */
    unsigned rebootstraps;  /* re-bootstraps in a row without enough peers */
    unsigned discovering;   /* DNS lookups under way (discovery.c) */
    double score_tick;      /* monotonic s: the scores' last decay (score.c) */
    /* The ids of last_news and of news_owed (/ping "news_id"; hs_ae_news);
     * news_owed_named: the peer named the one owed. */
    uint8_t last_news_id[32], news_owed_id[32];
    int news_owed_named;
    /* A peer a refusal to feed us named: our next ask goes to it, or "". */
    char feed_try[HS_PEER_ID_MAX + 1];
    /* A peer that said yes to our ask, asked again at feed_check_at
     * whether it does feed us (membership.c, check_feeder), or "". */
    char feed_check[HS_PEER_ID_MAX + 1];
    double feed_check_at; /* monotonic s */
    /* The chains above our feeders (membership.c, feeding), and our asks
     * in a row answered by a peer below us (each doubles the wait for
     * the next, up to 8 probe_intervals). */
    hs_feedpath feedpath;
    char via[HS_PEER_ID_MAX + 1]; /* the feeder our chain goes through, or "" */
    unsigned feed_loops;
    uint32_t told[HS_FEEDPATH_UP]; /* the chain the peers we feed last heard */
    unsigned n_told;
    uint32_t owed[HS_TELL_OWED]; /* ...but these (tags) are still to hear it */
    unsigned n_owed;
    double told_at;                     /* monotonic s: they were last told a new chain */
    uint32_t top_fed[HS_FEED_TOP_PAST]; /* tags of askers on top fed past
                                           our bound (membership.c) */

    hs_deadlines due;         /* the rounds and delayed work (deadlines.h) */
    double timer_at;          /* monotonic s io's timer is set for, HS_NEVER */
    unsigned due_busy;        /* in hs_node_run_due: rearm at its end */
    hs_pending_table pending; /* requests in flight (pending.h) */
    unsigned local_health;    /* Lifeguard's local health multiplier, 0 (well)
                                 to HS_LOCAL_HEALTH_MAX: probes wait and
                                 time out (1 + it) times longer */
    size_t probe_cursor;      /* the next peer to probe is at or after this index */
    double stalled_until;     /* monotonic s: until then failures are ours */
    struct {
        double at, busy; /* monotonic s and the io's busy s when last read */
        double share;    /* the thread's busy share, smoothed */
    } load;              /* hs_node_load (clock.c) */
    int lazy_pending;
    int in_own;                         /* in hooks.on_own (gossip.c) */
    int leaving;                        /* hs_node_leave was called */
    hs_left *left;                      /* nodes that left (left.c) */
    json_t *rejoin;                     /* a restored snapshot's peers, until start */
    struct hs_view_gather *view_gather; /* GET /ui/cluster under way (view.c) */
    char *view_text;                    /* ...its last answer, and when */
    double view_at;
    size_t n_left, cap_left;
    struct hs_query *queries; /* ours, pending (query.c) */
    hs_tokens query_tokens;   /* responses we may send to others' queries */
    char query_done[HS_QUERY_DONE][33];
    unsigned query_done_next;
    /* Ids we answered "missing" to a lazy offer for, and when (monotonic
     * s): the first offerer sends it, the others are not asked; `alt`
     * names one of them (shortcut.c's name of a peer, 0: none), asked by
     * POST /fetch if the first one's copy does not come, or the first one
     * itself while no other offered it (`again`; lazypush.c).
     * Or ids not asked at once (`deferred`), fetched from `alt` a
     * lazy_delay later if still lacked, and from `second` (another
     * offerer) ASK_AGAIN_AFTER after that; `copies` of an asked id counts
     * what came of it (lazypush.c, ask_waste). */
    struct {
        uint8_t id[32];
        double at, due; /* asked; when alt is asked (monotonic s) */
        uint64_t alt, second;
        unsigned char asked, deferred, copies, again;
    } lazy_asked[HS_LAZY_ASKED];
    /* How many of our recent asks brought a second copy, 0-1, as of
     * ask_waste_at (monotonic s); it decays (lazypush.c). */
    double ask_waste, ask_waste_at;
    unsigned lazy_asked_next;
    double lazy_drawn;  /* monotonic s the lazy links were last drawn (lazypush.c) */
    double push_rtt;    /* s: moving average of our pushes' round trips (push.c) */
    double push_rttvar; /* s: ...and of their deviation from it (push.c) */
    /* Our pushes in flight not yet past their time, oldest first; how
     * many past it were taken by their peer, their answers not come
     * (push.c). */
    struct hs_push_out *pushes_head, *pushes_tail;
    size_t pushes_taken;
    uint64_t spreads; /* hs_node_spread's draws so far */
    /* The last new messages from hearsay peers: with what ttl and hops, and
     * from whom, by id (shortcut.c; an entry with from 0 is empty). */
    struct hs_recent {
        uint8_t id[32];
        uint64_t from; /* a hash of the sender's id (shortcut.c; 0: a free slot) */
        uint16_t ttl, hops;
    } recent[HS_RECENT];
    unsigned recent_next;
    /* Those records by their id's first byte: the slot + 1 of a bucket's
     * newest, and of the next older one in its bucket (0 ends a list). */
    uint8_t recent_head[HS_RECENT], recent_link[HS_RECENT];
    double ae_next;          /* s until the next anti-entropy round (backs off) */
    double ae_covered;       /* wall s: our last round that came through was sent */
    double ae_covered_prev;  /* ...and the one before it (antientropy.c) */
    double exchange_next;    /* s between this peer exchange and the next */
    unsigned join_exchanges; /* early exchanges still to come (hs_node_exchange_soon) */
    unsigned fast_exchanges; /* early exchanges kept at the same pace (membership.c) */
    /* Strangers: what each source address may make us learn, what we
     * probe of newly learned peers, and the candidates a full table
     * verifies before it takes them (membership.c). */
    hs_ratelimit learn_limit;
    hs_tokens probe_new;
    hs_tokens probe_for_new; /* POST /probe of nodes we do not know */
    hs_holders holders;      /* who probes us: about how many hold us */
    /* ...counted by the ids they claim (X-Hearsay-From): only for whether
     * we say few hold us (membership.c, probe()). A made-up id can only
     * raise it, and make us say that less; nodes behind one address
     * (loopback) count as the nodes they are. */
    hs_holders holders_ids;
    /* Who else suspects our suspects (NULL until the first is heard), and
     * when we last said hs.alive (membership.c). */
    hs_suspicions *suspicions;
    double refuted_at;
    /* Peers we let go as held by too many (membership.c, shed()): a
     * stranger's word does not bring them back for 2 health_intervals. */
    uint64_t shed_ids[HS_SHED_RECENT];
    double shed_at[HS_SHED_RECENT];
    unsigned shed_next;
    struct hs_candidate {
        char *id, *url;  /* one allocation: id, then url */
        uint8_t src[16]; /* who told us */
        int rank;        /* HS_CAND_*: who comes first, and who may replace
                            whom (membership.c, candidate_add) */
        unsigned held;   /* HS_CAND_FEW: how many it said hold it (the
                            fewest goes first) */
        double at;       /* monotonic s: when it was said (a rank below
                            HS_CAND_PROMISED lapses: membership.c) */
    } candidates[HS_CANDIDATES];
    unsigned n_candidates;
    /* The request being served: its source address (routes.c sets it
     * for the handler's duration; rx_src_ok 0 outside requests). */
    uint8_t rx_src[16];
    int rx_src_ok;
    int open_handles;
    int started, closing;
    void (*done)(void *ud);
    void *done_ud;
};

/* push.c */

/* Queues an envelope body for a peer (takes a reference of its own); it
 * goes out at the next flush. */
void hs_push_enqueue(hs_node *n, hs_peer *p, hs_body *body);
/* Sends every queued envelope now (HS_DUE_FLUSH calls it), as far as
 * each peer's in-flight bound allows. */
void hs_push_flush(hs_node *n);
/* Sets HS_DUE_FLUSH (batch_window from now) unless it is set. */
void hs_push_schedule_flush(hs_node *n);
/* How long a new message waits before it is offered lazily: lazy_delay,
 * or twice the pushes' moving round trip when that is longer (at most 8
 * lazy_delays). */
double hs_push_offer_wait(const hs_node *n);
/* How long an answer may take before its request is taken for lost: as
 * long as an offer waits, or TCP's retransmission timeout from the
 * pushes' round trips (their mean plus four mean deviations) if longer
 * (push.c). */
double hs_push_answer_wait(const hs_node *n);
/* HS_DUE_STUCK: the ids of pushes in flight past their time are
 * offered to their peer, one push a peer at a time. */
void hs_push_overdue(hs_node *n);
/* p answered an offer of ours sent at `sent` (monotonic s), lacking the
 * `count` ids in `missing` (lazypush.c): a push to it past its time, sent
 * before, is stuck (hs_push_overdue). */
void hs_push_answered(hs_node *n, hs_peer *p, double sent, const uint8_t (*missing)[32],
                      size_t count);

/* gossip.c */

/* The recent types (n->recent_types) seen, the latest first, as indices
 * into it (what the dashboard lists); returns how many. */
size_t hs_gossip_recent_types(const hs_node *n, int order[HS_RECENT_TYPES]);

/* hs_node_broadcast with the ttl given, to `fanout` peers (0: the
 * configured fanout; at most 64). */
hs_err hs_gossip_broadcast(hs_node *n, const char *type, json_t *payload, unsigned ttl,
                           size_t fanout, char *id_out);

/*
 * Handles the body of a POST /gossip: `body` parsed, `raw` (may be NULL)
 * the text it was parsed from (borrowed; kept envelopes are copied from
 * it). Returns the answer (malloc'd, its length in *len; NULL out of
 * memory) and sets its status. One envelope is answered as the reference
 * does; a batch with {"accepted": n, "duplicate": n, "errors": [{"index",
 * "error"}...]}. `pushed`: the sender pushed the body (a POST /gossip),
 * not we fetched it (anti-entropy): only then may the answer carry a
 * shortcut's word (shortcut.c).
 */
char *hs_gossip_receive_body(hs_node *n, const json_t *body, const char *raw, size_t rawlen,
                             const char *sender, int pushed, unsigned *status, size_t *len);

/*
 * The fast path for a POST /gossip body: the same answers, from the text
 * without a jansson tree (envscan.c). Returns NULL with *status 0 when it
 * declines (the text is invalid, or unusual): nothing was done, and the
 * caller takes the jansson path (hs_gossip_receive_body). NULL with a
 * status set means out of memory.
 */
char *hs_gossip_receive_text(hs_node *n, const char *text, size_t len, const char *sender,
                             unsigned *status, size_t *alen);

/* membership.c */

void hs_membership_start(hs_node *n);
void hs_membership_bootstrap(hs_node *n);
/* Probes the next peer in turn (SWIM's protocol period); returns the s
 * until the next one: health_interval spread over the live peers, at
 * most probe_interval. */
double hs_membership_probe_next(hs_node *n);
void hs_membership_exchange(hs_node *n);
/* Whether the next early exchange comes as soon as the last one did (see
 * membership.c); called as one is due, counts it. */
int hs_membership_exchange_fruitful(hs_node *n);
void hs_membership_maintain(hs_node *n);
/* HS_DUE_SUSPECT: declares dead the suspects whose time ran out. */
void hs_membership_suspicions_due(hs_node *n);
/* Broadcasts our peer_announce: with announce_ttl, or, joining, at least 3. */
void hs_membership_announce(hs_node *n, int joining);

/* A message from or a successful request to this peer: it is alive. */
void hs_membership_saw(hs_node *n, hs_peer *p);
/* A request came with X-Hearsay-From `id` (NULL: none): a peer held dead
 * is probed at the next tick. */
void hs_membership_heard_from(hs_node *n, const char *id);
/* A failed probe of this peer (direct, then indirect): counts towards
 * dead_after, so towards suspicion. */
void hs_membership_failed(hs_node *n, hs_peer *p);
/* Any other request to this peer failed (a push, a lazy offer, a peer
 * list): it becomes unhealthy, so it is avoided and probed at the next
 * tick, but only the probe decides whether it is suspect. */
void hs_membership_send_failed(hs_node *n, hs_peer *p);
/* Learned of a peer (announce, /peers, bootstrap): add, or refresh. A
 * known id's URL changes only on the operator's word or once the new URL
 * answers a probe as that id while the old one is dead; one peer per
 * host:port. `claim` NULL: the operator's (bootstrap, add_peer) or our
 * own observation; else a stranger's, rate-limited per source, and a
 * full table only keeps it as a candidate (swap: the chance it does).
 * HS_OK when the peer is in the table (*out, if out is not NULL, gets it;
 * NULL on an error); else why not: HS_EINVAL (ourselves), HS_EPERM (the
 * URL, peer_allow, a node that left, a claim about another's address, the
 * per-source pace), HS_EDUP (a second id at a live peer's host:port),
 * HS_ESTATE (kept as a candidate, or not at all, until it answers: its
 * endpoint is another id's, or we let it go a moment ago), HS_ETOOBIG (a
 * full table: a stranger's claim kept as a candidate, or not at all; the
 * operator's, nobody to let go), HS_ENOMEM. */
hs_err hs_membership_learn(hs_node *n, const char *id, const char *url, const char *root,
                           double seen_at, const hs_claim *claim, hs_peer **out);
/* Frees the candidates a full table kept (node.c, at the end). */
void hs_membership_free_candidates(hs_node *n);
/* The 16-byte source of what we heard from the peer at url (its host's
 * address, or a hash of its name). */
void hs_membership_url_source(const char *url, uint8_t out[16]);
/* Whether the request being served came from the address of p's URL (an
 * X-Hearsay-From claim we may believe for liveness). */
int hs_membership_from_matches(const hs_node *n, const hs_peer *p);
/* GET /ping?feed=1 from `from` (its URL: url): a node nobody pushes new
 * messages to asks us to. 1: we do now, or will (a peer just taken in is
 * pushed to once it answers its first probe; a full table below its bound
 * takes one asker at a time in on its next tick); 0: we cannot (past our
 * bound; a full table keeps it as a candidate, taken first). *refer_to:
 * then a peer of ours whose view had room, or that was below its bound,
 * for it to ask instead (or NULL). */
int hs_membership_feed(hs_node *n, const char *from, const char *url, int top,
                       const hs_peer **refer_to);
/* The chain of feeders above us (feedpath.h), as /ping says it ("up") to
 * the peer `for_id` (NULL: the chain itself), into out: through a way in
 * of ours not through that peer if we have one (1), else through it (2);
 * 0: we have no way in (nothing written). */
int hs_membership_up(hs_node *n, const char *for_id, char out[HS_FEEDPATH_TEXT]);
/* A /ping from `from` said the chain above it ("up", text): taken as its
 * /ping answer's would be when it feeds us (from its own address). */
void hs_membership_told_up(hs_node *n, const char *from, const char *text);
/* Whether we push new messages to the peer `id` (/ping "feeds"). */
int hs_membership_feeds(hs_node *n, const char *id);
/* Whether the peer `id` feeds us and nobody else does: our /ping answer
 * to it says "through_you", and it does not count us as a way in. */
int hs_membership_fed_through(hs_node *n, const char *id);
/* Whether we would make one more peer an eager link on its ask ("spare"
 * in /ping answers). */
int hs_membership_can_feed(const hs_node *n);
/* A new message came by anti-entropy: whoever we thought pushed to us did
 * not; we ask again. */
void hs_membership_unfed(hs_node *n);

/* SWIM messages (hs.suspect, hs.alive, hs.dead) about a node; signer: the
 * origin whose signature the message carries, checked (NULL: none);
 * origin: its origin (the signer's id in signed mode, where every message
 * is checked; anyone's word in open mode). */
void hs_membership_swim(hs_node *n, const char *type, const json_t *payload, const char *signer,
                        const char *origin);
/* POST /probe: probe a peer for someone who cannot reach it (deferred). */
void hs_membership_probe_for(hs_node *n, const json_t *req, uint64_t token, hs_http_response *resp);
/* Whether the node may learn or ask a peer at url: a TLS node takes
 * https:// URLs only (a refusal is counted in tls_plain_refused). */
int hs_node_url_allowed(hs_node *n, const char *url);
/* After a (re)join: join_exchanges peer exchanges, the first a second
 * from now and then 2, 4, ... s apart up to peer_exchange_interval, so
 * that a node that just joined fills its view from its peers' views in
 * seconds, not in a minute. */
void hs_node_exchange_soon(hs_node *n);
/* The upper bounds of the probe duration buckets, s (prometheus.c reads
 * them). */
extern const double hs_probe_bounds[HS_PROBE_BUCKETS];
/* Counts one probe's outcome: answered in `ms`, or failed, or late. */
void hs_stats_probe(hs_node *n, int answered, int late, double ms);

/* state.c */

/* A state (root, version) heard from `from` (NULL: local); authenticated:
 * signed by a writer (only then does a tie of versions move the root).
 * Returns 1 when adopted. */
int hs_node_apply_state(hs_node *n, const char *root, uint64_t version, const char *from,
                        int authenticated);

/* antientropy.c */

/* Keeps env for repair (unless its type is membership chatter), as the
 * bytes it will be sent as: ttl 0. `raw` (may be NULL) is the envelope as
 * received, copied with its ttl replaced; without it env is serialised. */
void hs_ae_retain(hs_node *n, hs_envelope *env, const hs_slice *raw);
int hs_ae_retained_type(const char *type);
/* The answers to POST /digest (but a lazy one's: hs_lazy_answer; routes.c
 * tells them apart) and POST /fetch, as text (NULL: out of memory). */
char *hs_ae_digest_answer(hs_node *n, const json_t *req, const char *sender, unsigned *status,
                          size_t *len);
/* The same straight from a digest's text written as ours are
 * (hs_digest_scan): 1 and *text (NULL: out of memory, *status 500); 0 when
 * only its JSON tree can say (hs_ae_digest_answer); -1 out of memory. */
int hs_ae_digest_answer_text(hs_node *n, const char *body, size_t blen, const char *sender,
                             unsigned *status, char **text, size_t *len);
char *hs_ae_fetch_answer(hs_node *n, const json_t *req, unsigned *status, size_t *len);
/* One round: a digest to a random peer, then push and fetch. */
void hs_ae_round(hs_node *n);
/* A peer's /ping answer said it last took news at wall s `news`, the
 * message `id` (NULL when it named none): a round with it if we lack that
 * message (or, named by time alone, have had none since) a spread later
 * (antientropy.c). */
void hs_ae_news(hs_node *n, hs_peer *p, double news, const uint8_t *id);
/* 1: our /ping names our last news by id (news_id): it is under ae_window
 * old, so a prober could still fetch it. */
int hs_ae_news_named(const hs_node *n);
/* p was held dead for `away` s and is back: a digest covering that time
 * (antientropy.c). */
void hs_ae_catchup(hs_node *n, hs_peer *p, double away);
/* Takes the envelopes of an answer to our POST /fetch from `peer` (ttl 0,
 * as anti-entropy takes them): how many were new to us, or -1 when the
 * answer holds none (an error, or not a JSON array). */
long hs_ae_take_fetched(hs_node *n, const char *peer, const hs_http_result *res);
/* Something needed repair (a round found it, or a peer had news we lack):
 * rounds resume at ae_interval. (A new message alone brings them to 4
 * ae_intervals: antientropy.c.) */
void hs_ae_activity(hs_node *n);

/* lazypush.c */

/* Queues id to be offered to p a hs_push_offer_wait from now. */
void hs_lazy_offer(hs_node *n, hs_peer *p, const uint8_t id[32], unsigned ttl);
/* The same, due at once (or with the last id queued for p, those due
 * being a prefix); it goes with p's next lazy request, within the slack
 * that batches them (hs_lazy_due): a tree push that waited too long
 * (push.c). */
void hs_lazy_offer_now(hs_node *n, hs_peer *p, const uint8_t id[32], unsigned ttl);
/* Offers p the ids in q now, past the wait and the slack, in requests of
 * at most LAZY_CHUNK ids. */
void hs_lazy_offer_ids(hs_node *n, hs_peer *p, const hs_idq *q);
/* Draws the peers new lazy offers go to (hs_peer.lazy_link) when the last
 * draw is a rotation old. */
void hs_lazy_links(hs_node *n);
/* Sends the offers that have waited lazy_delay (HS_DUE_LAZY). */
void hs_lazy_due(hs_node *n);
/* The answer to a lazy POST /digest ({"lazy": true}, read by digest.c):
 * {"missing": [...]}, and "graft": true for a shorter path. */
json_t *hs_lazy_answer(hs_node *n, const hs_offer *o, unsigned *status);

/* A copy of id came (first: the first one, else a duplicate): what an
 * ask of ours for it brought, or that a deferred one needs no fetch. */
void hs_lazy_copy(hs_node *n, const uint8_t id[32], int first);

/* shortcut.c */

/* A new message arrived from `from` with this ttl and hops. */
void hs_shortcut_note(hs_node *n, const uint8_t id[32], unsigned ttl, unsigned hops, hs_peer *from);
/* A duplicate or a lazy offer of id, with this ttl, came from `via`: 1 if
 * that is a path short enough to take (our parent is asked to prune, via
 * is kept). */
int hs_shortcut_offer(hs_node *n, const uint8_t id[32], unsigned ttl, hs_peer *via);

typedef enum hs_shortcut_word {
    HS_SHORTCUT_NONE,
    HS_SHORTCUT_PRUNE, /* "prune": true: stop pushing to us */
    HS_SHORTCUT_KEEP   /* "keep": true: a duplicate that must not prune */
} hs_shortcut_word;

/* Whether an answer to a POST /gossip of ours, `accepted` of its envelopes
 * new to the peer and `duplicate` seen before, prunes the link: at least as
 * many duplicates as new ones (push.c reads it off the answer; the peer's
 * hs_shortcut_answer keeps its own books by the same rule). */
static inline int hs_gossip_prunes(size_t accepted, size_t duplicate)
{
    return duplicate > 0 && duplicate >= accepted;
}

/* What the answer to sender's POST /gossip adds, `accepted` of its
 * envelopes new to us and `duplicate` seen before. */
hs_shortcut_word hs_shortcut_answer(hs_node *n, const char *sender, size_t accepted,
                                    size_t duplicate);

/* routes.c */

void hs_routes_handle(void *ud, const hs_http_request *req, hs_http_response *resp);

/* node.c */

/* About how many nodes hold us in their views now (holders.h): what /ping
 * and /health say as "held". */
unsigned hs_node_held(hs_node *n);

int hs_node_is_blocked(const hs_node *n, const char *id);
/* GET /metrics' labels for the slots of hs_stats.http (routes.c). */
const char *hs_route_name(size_t i);
const char *hs_code_name(size_t i);

/* A valid cluster_label (config.c). */
int hs_valid_label(const char *s);

/* clock.c: the node's time, and its deadlines on it */

/* Whether our own loop is stalled now (this turn has run longer than
 * HS_STALL_LAG) or was lately: a failure seen now says little about the
 * peer. */
int hs_node_stalled(const hs_node *n);

/* Seconds the node's thread has waited, ready to run, for a CPU so far
 * (hs_io_ops.waited), or -1 where it is not known (a harness's clock, a
 * simulator without a CPU model). Only differences mean anything. */
double hs_node_waited(const hs_node *n);

/* Wall-clock epoch seconds and monotonic seconds, from the node's clock.
 * The loop's own health (hs_node_stalled) is measured on the real one,
 * and only with it. */
double hs_node_now(const hs_node *n);
double hs_node_mono(const hs_node *n);
/* An event (a request served, an answer taken, deadlines run) begins and
 * ends: in between hs_node_now and hs_node_mono give the time it began,
 * read once, as the simulator's virtual time stands still within an
 * event. They were read 29 times a delivery in a loaded stream, 3% of a
 * loaded node's CPU (bench/RESULTS.md, Load, "Kept envelopes in
 * chunks"). Nested events keep the outer one's time; hs_node_stalled and
 * the timer's arming read the clock itself. */
void hs_node_event_begin(hs_node *n);
void hs_node_event_end(hs_node *n);
/* Replaces the real clock; before hs_node_start only. */
void hs_node_set_clock(hs_node *n, const hs_clock *clock);
/* The share of its time the thread running the node spends working
 * rather than waiting for events (0 to 1), smoothed over about
 * HS_LOAD_TAU s and read at most every HS_LOAD_STEP s (GET /metrics:
 * hearsay_loop_busy_ratio). 0 where the io cannot tell (a simulator
 * without a CPU model) or on a clock of its own (a harness). */
#define HS_LOAD_TAU 0.5
#define HS_LOAD_STEP 0.05
double hs_node_load(hs_node *n);

/* w is due in s seconds on the node's clock (0: at the loop's next turn;
 * HS_NEVER or 1e15 s and more: never). */
void hs_node_after(hs_node *n, hs_deadline w, double s);
/* Seconds until w is due (0 if it is), or HS_NEVER. */
double hs_node_due_in(const hs_node *n, hs_deadline w);
/* w is due in s seconds (0 if less), unless it is due sooner already. */
void hs_node_due_within(hs_node *n, hs_deadline w, double s);
/* s spread over [s/2, 3s/2) by a hash of the node's id and a count: for
 * rounds that every node may start at once (clock.c). */
double hs_node_spread(hs_node *n, double s);
/* Sets the io's timer for the earliest deadline, unless it is set for it
 * (or hs_node_run_due runs: it does at its end). */
void hs_node_rearm(hs_node *n);
/* Runs every deadline due now on the node's clock, each at most once
 * (what one schedules for now waits for the next call). The node's timer
 * calls it; a harness with a clock of its own may too (node.c). */
void hs_node_run_due(hs_node *n);

#endif
