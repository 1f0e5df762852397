/*
 * hearsay.h -- the public API of the hearsay core.
 *
 * A hs_node is one gossip node: an HTTP server (libmicrohttpd), an HTTP client
 * (its own HTTP/1.1 client for http://, libcurl for https://), a peer table,
 * a seen-cache and replicated state, all driven by a libuv loop that the
 * caller owns. Many nodes may share one loop; nothing here keeps global
 * mutable state. Every function must be called from the loop's thread.
 *
 * The program must ignore SIGPIPE (signal(SIGPIPE, SIG_IGN)), as for any
 * libuv program that writes to sockets: a peer may close its end while a
 * long request is being written. The Lua module does it when loaded, unless
 * the program installed a handler of its own.
 *
 * Ownership is stated at each declaration. Strings passed in are copied unless
 * said otherwise; pointers returned as "borrowed" stay valid until control
 * returns to the loop.
 */
#ifndef HEARSAY_H
#define HEARSAY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* libuv's loop (uv.h), which hs_node_new takes: named, not included, so
 * that the protocol's own files compile without libuv (core/proto/io.h). */
typedef struct uv_loop_s uv_loop_t;

#ifdef __cplusplus
extern "C" {
#endif

/* One error type for the whole core. */
typedef enum hs_err {
    HS_OK = 0,
    HS_ENOMEM = -1,    /* an allocation failed */
    HS_EINVAL = -2,    /* a bad argument or configuration value */
    HS_EPROTO = -3,    /* a peer spoke something that is not our protocol */
    HS_EIO = -4,       /* a socket, bind or transfer failed */
    HS_ESTATE = -5,    /* the call does not fit the object's state */
    HS_ENOENT = -6,    /* no such peer, message or file */
    HS_ETOOBIG = -7,   /* an input exceeded its size cap */
    HS_EDUP = -8,      /* already there (a seen message id, a known peer) */
    HS_EPERM = -9,     /* refused by the security settings (a key, a signature,
                          protected mode) */
    HS_EREFUSED = -10, /* refused by a handler (hs_hooks.on_own) */
} hs_err;

/* Returns a static string describing err; never NULL. */
const char *hs_strerror(hs_err err);

typedef enum hs_log_level {
    HS_LOG_ERROR = 0,
    HS_LOG_WARN = 1,
    HS_LOG_INFO = 2,
    HS_LOG_DEBUG = 3,
} hs_log_level;

/* How the default (stderr) sink writes a line: "TIME hearsay[NODE] LEVEL:
 * MESSAGE", or one JSON object {"time", "level", "node", "message"}. */
typedef enum hs_log_format {
    HS_LOG_TEXT = 0,
    HS_LOG_JSON = 1,
} hs_log_format;

/* Log sink. `msg` is borrowed for the duration of the call. */
typedef void (*hs_log_fn)(void *ud, hs_log_level level, const char *node_id, const char *msg);

/* The default sinks (ud unused): "TIME hearsay[NODE] LEVEL: MESSAGE" on
 * stderr, or one JSON object a line (log_format). A sink of one's own may
 * call them too. */
void hs_log_stderr(void *ud, hs_log_level level, const char *node_id, const char *msg);
void hs_log_stderr_json(void *ud, hs_log_level level, const char *node_id, const char *msg);

/* Now, as the default log lines begin: "2026-12-05T06:48:01.123Z" (UTC,
 * ms); out holds at least HS_LOG_STAMP_MAX bytes. */
#define HS_LOG_STAMP_MAX 32
void hs_log_stamp(char *out);

/* What a node demands of the requests and messages it takes (README,
 * Security). Every level has the keyless hardening; each adds to the one
 * before it. */
typedef enum hs_security {
    HS_SECURITY_PROTECTED = 0, /* open, but the node refuses to listen beyond
                                  loopback addresses: the default, so that
                                  nobody runs an open node by accident */
    HS_SECURITY_OPEN = 1,      /* no keys: anyone who reaches the port may
                                  talk to it (reference nodes can join) */
    HS_SECURITY_CLUSTER = 2,   /* every request carries a valid HMAC of a
                                  cluster key (the keyring), replays refused */
    HS_SECURITY_SIGNED = 3,    /* and every message is signed by its origin's
                                  Ed25519 key; state only from `writers` */
} hs_security;

/*
 * Node configuration: a plain value, filled by hs_config_init() with the
 * defaults below and then overridden. hs_node_new() copies every string and
 * array, so the caller may free them after the call.
 */
typedef struct hs_config {
    const char *node_id;          /* NULL: a fresh uuid4 */
    const char *host;             /* listen address, default "127.0.0.1" */
    uint16_t port;                /* 0: an ephemeral port, default 8080 */
    const char *public_url;       /* NULL: "http://host:port" */
    const char *const *bootstrap; /* base URLs of peers to join through, or
                                     "dns+NAME:PORT" (every A/AAAA address of
                                     NAME) or "dnssrv+_SVC._tcp.NAME" (its SRV
                                     targets), resolved at start, at every
                                     re-bootstrap, every discovery_interval */
    size_t n_bootstrap;
    json_t *tags; /* NULL or an object of short strings this
                     node advertises on /health (borrowed,
                     copied); peers see them in hs_peer_info */

    unsigned fanout;       /* peers each new message is pushed to, 3
                              (with `tree`: those of a message of our
                              own when none of our links is eager) */
    int tree;              /* 1 (default): push along eager links that
                              duplicates prune and lazy misses graft
                              (Plumtree), so copies tend to 1 per node;
                              0: `fanout` random peers per message */
    int feed_chains;       /* 1: the chain of feeders travels with /ping,
                              and rings of feeders are found and broken
                              (feedpath.h); 0 (default): not yet */
    unsigned lazy_fanout;  /* more hearsay peers offered only its id
                              (lazy push; those lacking it ask), 6 */
    double lazy_delay;     /* s ids wait before they are offered, so
                              that the tree's copies arrive first, 0.25 */
    unsigned ttl;          /* ttl of messages we originate, 32 (in tree
                              mode it bounds the depth of the tree) */
    unsigned max_ttl;      /* larger incoming ttl is refused, 64 */
    unsigned announce_ttl; /* ttl of our periodic peer_announce, 0 (the
                              one after joining: at least 3) */
    unsigned max_peers;    /* live peers kept, 50 */
    unsigned min_peers;    /* below this we bootstrap again, 1 */

    double gossip_interval;        /* s between peer_announce rounds, 30 */
    double health_interval;        /* s between health checks of a peer, 60 */
    double probe_interval;         /* s between two of our health checks, 1:
                                      one peer per check, in turn, so a
                                      node sends at most one per
                                      probe_interval unless health_interval
                                      over the live peers is shorter */
    double peer_exchange_interval; /* s between GET /peers of a random peer, 60 */
    unsigned join_exchanges;       /* after joining through `bootstrap` (and
                                      again after a re-bootstrap), this
                                      many exchanges come first, 1, 2, 4,
                                      ... s apart (while that is shorter
                                      than peer_exchange_interval), 5;
                                      0: none */
    double rebootstrap_interval;   /* s: the longest wait between joins
                                      again while too few peers (2 s, then
                                      twice the last wait), 10 */
    unsigned rebootstrap_max;      /* re-bootstraps in a row while too few
                                      peers, then it stops trying (until it
                                      has peers again); 0: for ever (default) */
    double discovery_interval;     /* s between resolutions of the DNS
                                      bootstrap entries, 60 */
    double request_timeout;        /* s before an outgoing request fails, 5 */
    unsigned dead_after;           /* failed probes before suspect, 3 */
    double dead_timeout;           /* s not seen before dead, 300 */
    double retry_min;              /* first retry of a dead peer after s, 1 */
    double retry_max;              /* backoff ceiling for dead peers, s, 30 */
    double forget_after;           /* dead peers are forgotten after s, 3600 */
    double probe_timeout;          /* s a health probe may take, 1 */
    unsigned indirect_probes;      /* peers asked to probe one we cannot reach, 3 */
    double suspicion_timeout;      /* s a suspect has to refute before dead, 5 */
    unsigned max_probes_in_flight; /* direct probes at once, 64; first
                                      probes of new peers (and retries of
                                      dead ones) beyond it wait their turn */
    /* Lifeguard's independent suspicions: suspicion_timeout shortens, down
     * to suspicion_min (at most suspicion_timeout, 1 s), as other nodes
     * suspect the peer too, reached once suspicion_confirmations (k, 3)
     * have; 0: the suspicion always runs in full. */
    double suspicion_min;
    unsigned suspicion_confirmations;

    double seen_ttl;         /* s a message id is remembered, 300 */
    size_t seen_cap;         /* ids remembered at most (oldest evicted), 100000 */
    size_t max_body;         /* bytes of a request body, 1 MiB (413 above) */
    size_t max_seen_by;      /* entries in an incoming seen_by, 256 */
    size_t max_batch;        /* envelopes in one batch body, 1000 */
    size_t max_connections;  /* concurrent inbound connections, 1024 */
    size_t peer_connections; /* outbound connections per peer, 1; more
                                requests queue for a kept-alive one */
    int curl_for_http;       /* 0 (default): http:// peers through
                                hearsay's own HTTP/1.1 client; 1: through
                                libcurl, as https:// always goes */
    double batch_window;     /* s envelopes for one peer wait to share a
                                POST (batch peers only), 0: until the
                                loop's next turn */
    double batch_interval;   /* s at least between two POSTs of envelopes
                                to one peer, 0: none; what comes meanwhile
                                waits and shares the next */
    double ae_interval;      /* s between anti-entropy rounds, 2; 0: off.
                                Rounds that find nothing to repair back
                                off, doubling up to ae_max_interval; a
                                new message brings them back */
    double ae_max_interval;  /* 30 */
    double ae_window;        /* s of recent messages a digest lists, 30 */
    size_t max_digest;       /* ids in one digest or fetch, 1024 */
    double retain_ttl;       /* s envelopes are kept for repair, 120 */
    size_t retain_bytes;     /* bytes of kept envelopes, 16 MiB */

    /* Trust (README, Security). Lists are copied by hs_node_new(). */
    hs_security security;            /* HS_SECURITY_PROTECTED */
    const char *node_key;            /* the node's Ed25519 private key, 64 hex
                                        chars (its seed); NULL: a fresh one.
                                        With node_id NULL the id is the
                                        public key's 64 hex chars */
    const char *const *cluster_keys; /* the keyring: base64 of 32 random bytes
                                        each; the first signs, all verify */
    size_t n_cluster_keys;
    const char *const *writers; /* public keys (64 hex) whose state_update a
                                   signed node takes; none: any member's */
    size_t n_writers;
    const char *const *peer_allow; /* CIDRs ("10.0.0.0/8", "::1/128") this node
                                      connects to and accepts from; none: any */
    size_t n_peer_allow;
    const char *const *trust_forwarded; /* CIDRs of proxies whose
                                           X-Forwarded-For names the client */
    size_t n_trust_forwarded;
    double auth_window;    /* s a request's timestamp may be off; a nonce
                              seen within it is a replay, 30 */
    double learn_rate;     /* new peers learned per s from one source
                              address (announces, shuffles, lists), 5 */
    unsigned learn_burst;  /* ...and at once, 64 */
    double probe_new_rate; /* first probes of newly learned peers per s,
                              20 (a node is no amplifier) */
    /* Peer scores (README, Write a plugin: Verdicts and scores). */
    double score_delivery;  /* + per new message a peer brought first, 1 */
    double score_reject;    /* - per message of its a handler rejected, 10 */
    double score_invalid;   /* - per invalid, forged or unsigned envelope
                               it sent, 10 */
    double score_failure;   /* - per request to it that failed (not
                               probes: SWIM judges those), 1 */
    double score_max;       /* the highest score, 10 */
    double score_half_life; /* s in which a score decays halfway to 0, 60 */
    double score_forward;   /* below it a peer is not forwarded to, -20 */
    double score_graylist;  /* at or below it its requests are refused, -50 */
    double graylist_time;   /* s that lasts; then its score starts at 0, 60 */
    /* A cluster's name (memberlist's Label): every request carries it
     * (X-Hearsay-Cluster) and a node refuses, 403, requests without its
     * own (GET /health without any excepted), so two clusters sharing
     * addresses never merge. 1-64 of [A-Za-z0-9._-]; NULL: none, and then
     * requests that carry one are refused. */
    const char *cluster_label;
    /* Queries (hs_node_query). */
    double query_timeout;     /* s a query waits at most by default, 5 */
    size_t query_answer_max;  /* bytes of one answer (JSON), 8192 */
    double query_answer_rate; /* query responses this node sends per s, 100
                                 (twice that at once) */
    const char *tls_cert;     /* PEM files: serve HTTPS with this certificate */
    const char *tls_key;      /* and key (public_url then starts https://);
                                 shown to every peer that asks for a client
                                 certificate. Then every peer URL (bootstrap,
                                 learned, fetched) must be https:// */
    const char *tls_ca;       /* PEM file: the CAs peers' certificates must
                                 chain to; NULL: the system's */
    int tls_client_auth;      /* 1: inbound connections must present a
                                 certificate signed by tls_ca (mutual TLS;
                                 403 otherwise); needs tls_ca */

    /* How the node serves and asks (core/proto/io.h): NULL, HTTP over
     * sockets; the simulator gives its own. Borrowed: it outlives the node. */
    const struct hs_transport *transport;

    const char *lua_version; /* the embedding shell's Lua ("Lua 5.4.4"), for
                                /metrics' hearsay_build_info; NULL: none */

    hs_log_fn log; /* NULL: log to stderr, as log_format says */
    void *log_ud;
    hs_log_level log_level;   /* HS_LOG_WARN */
    hs_log_format log_format; /* the stderr sink's: HS_LOG_TEXT (default) or HS_LOG_JSON */
} hs_config;

/* Fills cfg with the defaults documented above. */
void hs_config_init(hs_config *cfg);

/*
 * Checks cfg as hs_node_new() does. HS_OK, or HS_EINVAL with a sentence
 * naming the setting and what is wrong with it written to why (cut at
 * cap bytes; why may be NULL).
 */
hs_err hs_config_check(const hs_config *cfg, char *why, size_t cap);

/* Counters; all monotonically increasing over a node's life. */
typedef struct hs_metrics {
    uint64_t messages_sent;         /* envelopes delivered to a peer (2xx) */
    uint64_t messages_received;     /* new envelopes accepted */
    uint64_t messages_dropped;      /* refused by a handler or invalid */
    uint64_t messages_duplicate;    /* envelopes whose id was already seen */
    uint64_t messages_invalid;      /* envelopes refused as malformed */
    uint64_t messages_expired;      /* accepted with ttl 0: not forwarded */
    uint64_t send_errors;           /* outgoing envelopes that failed */
    uint64_t gossip_rounds;         /* announce rounds run */
    uint64_t peers_discovered;      /* peers added to the table */
    uint64_t peers_removed;         /* peers declared dead */
    uint64_t peers_recovered;       /* dead peers that came back */
    uint64_t health_checks;         /* health probes sent */
    uint64_t state_adopted;         /* newer state versions taken from peers */
    uint64_t http_requests;         /* requests served */
    uint64_t http_bad_request;      /* 400 answers */
    uint64_t http_too_large;        /* 413 answers */
    uint64_t http_not_found;        /* 404 answers */
    uint64_t http_bad_method;       /* 405 answers */
    uint64_t seen_evicted;          /* ids evicted by the cap before expiry */
    uint64_t batches_sent;          /* POSTs that carried more than one envelope */
    uint64_t ae_rounds;             /* digests we sent */
    uint64_t ae_catchups;           /* ...of them, catch-ups to a peer back from dead */
    uint64_t ae_news;               /* ...of them, to a peer whose /ping told of
                                       news we never had */
    uint64_t ae_answered;           /* digests we answered */
    uint64_t ae_pushed;             /* envelopes we pushed to a peer that lacked them */
    uint64_t ae_fetched;            /* envelopes we got by fetching what we lacked */
    uint64_t indirect_probes;       /* probes we asked other peers to make */
    uint64_t probes_for;            /* probes we made for a peer that asked (POST /probe) */
    uint64_t probes_for_refused;    /* ...and those we declined: a node we do not
                                       know outside peer_allow, or over
                                       probe_new_rate */
    uint64_t suspicions;            /* peers we suspected */
    uint64_t refutations;           /* suspicions of us we refuted */
    uint64_t confirmations;         /* other nodes' suspicions of a peer
                                       counted towards shortening ours */
    uint64_t http_blocked;          /* requests refused from banned nodes */
    uint64_t peers_swapped;         /* live peers a full table let go for new ones */
    uint64_t peers_shed;            /* live peers let go because more than twice
                                       max_peers nodes hold them */
    uint64_t lazy_offered;          /* ids we offered a peer lazily */
    uint64_t lazy_answered;         /* lazy offers we answered */
    uint64_t lazy_pushed;           /* envelopes sent because a lazy offer was missing */
    uint64_t lazy_refetched;        /* ids fetched from a second offerer, or the
                                       only one again: an asked copy did
                                       not come */
    uint64_t lazy_deferred;         /* ids lacked and not asked at once: our asks
                                       lately brought second copies (lazypush.c) */
    uint64_t pushes_late;           /* tree pushes that, while pushes were slow,
                                       waited in a peer's queue as long as an
                                       offer waits and went as offers */
    uint64_t pushes_stuck;          /* pushes a peer left unanswered while it
                                       answered an offer of their ids sent
                                       later: its queue went on past them */
    uint64_t prunes;                /* eager links dropped: a push found a duplicate */
    uint64_t grafts;                /* lazy links made eager: a lazy offer was missing,
                                       or its peer took it as a shortcut */
    uint64_t shortcuts;             /* paths at least 3 hops shorter we moved to */
    uint64_t feeds;                 /* peers we made eager links because nobody
                                       pushed new messages to them */
    uint64_t feed_asks;             /* asks to be fed we sent: nobody pushed
                                       new messages to us */
    uint64_t feed_refused;          /* asks to be fed we answered no (past our
                                       bound, or a full view: then the asker
                                       is a candidate) */
    uint64_t feed_cycles;           /* feeding cycles broken: a feeder's chain
                                       came back to us, the ring's least node, or
                                       an asker was on every chain above us
                                       (feedpath.h) */
    uint64_t probe_sweeps;          /* sweeps: a direct probe went unanswered, and
                                       every live peer not heard from lately was
                                       probed at once (many may have died) */
    uint64_t probes_late;           /* failed probes not held against the peer:
                                       they failed long past their timeout, so
                                       our own loop was stalled */
    uint64_t tls_refused;           /* inbound connections without a client
                                       certificate that verifies (tls_client_auth) */
    uint64_t tls_verify_failed;     /* outbound requests whose server's
                                       certificate did not verify */
    uint64_t tls_plain_refused;     /* http:// peer URLs a TLS node refused to
                                       learn or to ask */
    uint64_t peer_allow_refused;    /* connections refused by peer_allow, both
                                       ways */
    uint64_t auth_failed;           /* requests refused by cluster auth (401, and
                                       403 for a bad MAC; 503 when the replay
                                       cache is full); replays are not counted */
    uint64_t auth_replayed;         /* requests refused as replays (403) */
    uint64_t claims_refused;        /* what a stranger said that we did not
                                       believe: a live peer's new URL, a second
                                       id at one host:port, a host that is not
                                       its sender's, a suspicion of us newer
                                       than our incarnation, a state tie */
    uint64_t learn_limited;         /* new peers a source was over its rate for */
    uint64_t peers_unverified;      /* strangers' peers dropped: their first
                                       probe failed */
    uint64_t candidates_taken;      /* peers a full table took once they answered */
    uint64_t messages_unsigned;     /* refused in signed mode: no signature (401) */
    uint64_t messages_forged;       /* refused: a signature that does not hold, a
                                       message_id that is not its content's, or
                                       state from a node not among the writers (403) */
    uint64_t messages_rejected;     /* judged invalid by a handler ("reject"):
                                       not processed or forwarded, the sender's
                                       score lowered */
    uint64_t messages_ignored;      /* not for us, says a handler ("ignore"):
                                       not processed or forwarded, no penalty */
    uint64_t peers_graylisted;      /* times a peer's score fell to score_graylist */
    uint64_t http_graylisted;       /* requests refused from graylisted peers */
    uint64_t http_wrong_cluster;    /* requests refused: another cluster_label */
    uint64_t peers_left;            /* peers forgotten because they left (or were forced out) */
    uint64_t discovered_addresses;  /* addresses the DNS bootstrap entries gave */
    uint64_t bytes_in;              /* bytes of request and answer bodies taken */
    uint64_t bytes_out;             /* ...and sent (headers not counted) */
    uint64_t queries_sent;          /* queries we asked */
    uint64_t query_responses;       /* responses to them (acks and answers) */
    uint64_t query_duplicates;      /* ...from a node that had responded already */
    uint64_t query_late;            /* ...after the query had ended */
    uint64_t query_answers;         /* answers we sent to other nodes' queries */
    uint64_t query_answers_refused; /* answers over query_answer_max, ours or theirs */
    uint64_t queries_refused;       /* queries we did not respond to: the asker
                                       not vouched for at its reply URL, or over
                                       query_answer_rate */
    uint64_t fd_exhausted_accepts;  /* episodes of accept() failing for want of
                                       file descriptors (paused, idle shut) */
    uint64_t fd_exhausted_connects; /* outbound connections that could not be
                                       opened for want of file descriptors */
} hs_metrics;

typedef struct hs_node hs_node;

/*
 * A message as handlers see it; borrowed for the duration of a hook call.
 */
typedef struct hs_message hs_message;

const char *hs_message_id(const hs_message *m); /* 64 lowercase hex */
const char *hs_message_type(const hs_message *m);
const json_t *hs_message_payload(const hs_message *m); /* borrowed */
/* The payload as the JSON text it arrived in (borrowed, not NUL-terminated;
 * its length in *len) while it has been neither parsed nor replaced, else
 * NULL. Such text is valid JSON whose strings hold no \u escapes: a
 * binding may convert it directly instead of through hs_message_payload(). */
const char *hs_message_payload_text(const hs_message *m, size_t *len);
const char *hs_message_origin(const hs_message *m);
const char *hs_message_sender(const hs_message *m); /* "" when unknown */
unsigned hs_message_ttl(const hs_message *m);
unsigned hs_message_hops(const hs_message *m);
double hs_message_timestamp(const hs_message *m);

typedef enum hs_peer_state {
    HS_PEER_ALIVE = 0,
    HS_PEER_UNHEALTHY = 1, /* a recent send or probe failed */
    HS_PEER_DEAD = 2,      /* removed; retried with backoff */
    HS_PEER_SUSPECT = 3,   /* failed direct and indirect probes; dead after
                              suspicion_timeout unless it refutes */
} hs_peer_state;

/* "alive", "unhealthy", "suspect" or "dead". */
const char *hs_peer_state_name(hs_peer_state s);

/* A peer as the API shows it. Strings are borrowed. */
typedef struct hs_peer_info {
    const char *id;
    const char *url;
    const char *merkle_root;
    double last_seen;  /* epoch seconds */
    double latency_ms; /* moving average; negative when never measured */
    hs_peer_state state;
    unsigned failures;  /* consecutive */
    int eager;          /* new messages are pushed to it (see hs_config.tree) */
    int feeds_us;       /* it pushes new messages to us, as far as we know
                           (README, How it works: Feeding) */
    const json_t *tags; /* the peer's advertised tags, or NULL; borrowed */
    double score;       /* how far its traffic is trusted (hs_config.score_*) */
    int graylisted;     /* its requests are refused for now */
} hs_peer_info;

typedef enum hs_verdict {
    HS_ACCEPT = 0, /* process and forward */
    HS_DROP = 1,   /* neither process nor forward */
    HS_STOP = 2,   /* process, do not forward */
    HS_REJECT = 3, /* invalid: neither process nor forward, and the peer
                      that sent it loses score (score_reject) */
    HS_IGNORE = 4, /* not for us: neither process nor forward, no penalty */
} hs_verdict;

/*
 * Hooks let an embedder (the Lua shell) decide policy. Every member may be
 * NULL. They run on the loop, synchronously, and must not free the node.
 */
typedef struct hs_hooks {
    void *ud;
    /* A new (not duplicate) message arrived. To rewrite the payload that is
     * processed and forwarded, store a new reference in *payload_out. */
    hs_verdict (*on_message)(void *ud, hs_node *node, const hs_message *m, json_t **payload_out);
    /* Choose up to `want` of the n candidates; write their indices to out and
     * return how many, or return -1 to fall back to random choice. */
    int (*select_peers)(void *ud, hs_node *node, const hs_message *m, const hs_peer_info *cands,
                        size_t n, size_t want, size_t *out);
    /* Whether select_peers chooses at all now (a policy is set). While it
     * returns 0 the node forwards as without select_peers: its tree and
     * lazy offers. NULL: select_peers is asked for every message. */
    int (*has_policy)(void *ud, hs_node *node);
    /* A peer was added or came back (up = 1) or was declared dead (up = 0). */
    void (*on_peer)(void *ud, hs_node *node, const hs_peer_info *peer, int up);
    /* The node's state changed; `from` is the peer id it came from, or NULL
     * when set locally. */
    void (*on_state)(void *ud, hs_node *node, const char *old_root, uint64_t old_version,
                     const char *new_root, uint64_t new_version, const char *from);
    /* /health is being built: add fields to `health` (borrowed). */
    void (*on_health)(void *ud, hs_node *node, json_t *health);
    /* The node is about to originate a message (hs_node_broadcast; not
     * its own protocol messages): HS_ACCEPT sends it, HS_STOP keeps it
     * here (its id is marked seen, nothing is sent), any other verdict
     * refuses it (hs_node_broadcast returns HS_EREFUSED). A new payload
     * stored in *payload_out replaces it (the id is made from it). */
    hs_verdict (*on_own)(void *ud, hs_node *node, const hs_message *m, json_t **payload_out);
    /* A query `name` from node `from` reached us (hs_node_query): return 1
     * and store an answer (a new reference) in *answer to answer it, 0 to
     * only acknowledge it. */
    int (*on_query)(void *ud, hs_node *node, const char *name, const json_t *payload,
                    const char *from, json_t **answer);
} hs_hooks;

/*
 * Creates a node on `loop` from `cfg`. Nothing is bound or sent until
 * hs_node_start(). On success *out is a new node the caller releases with
 * hs_node_close().
 */
hs_err hs_node_new(uv_loop_t *loop, const hs_config *cfg, hs_node **out);

/* Binds the listener, starts timers and bootstrapping. */
hs_err hs_node_start(hs_node *node);

/*
 * Stops serving, cancels outgoing requests and closes every handle. The node
 * is freed once the loop has run the close callbacks; `done` (may be NULL) is
 * then called. The node must not be used after this call.
 */
void hs_node_close(hs_node *node, void (*done)(void *ud), void *ud);

/* Replaces the hooks (copied). NULL removes them all. */
void hs_node_set_hooks(hs_node *node, const hs_hooks *hooks);

/*
 * Originates a message of `type` carrying `payload` (borrowed; NULL means
 * {}). Writes its id (65 bytes with the NUL) to id_out when not NULL.
 * HS_EINVAL for a type hs_message_type_check() refuses.
 */
hs_err hs_node_broadcast(hs_node *node, const char *type, json_t *payload, char *id_out);
/* NULL when the len bytes at `type` are a message type (1..64 bytes of
 * UTF-8 without control characters), else why not, a static text. */
const char *hs_message_type_check(const char *type, size_t len);

/*
 * Asks the cluster (README, Write a plugin: Queries): gossips an
 * "hs.query"; each node that gets it responds to us directly, with an
 * answer when a plugin's on.query answers. cb runs once, on the loop and
 * never before this returns, with the result (borrowed for the call):
 * {id, name, answers = {node: answer}, errors = {node: why}, answered,
 * acks (nodes that responded), expected, duplicates, timed_out, elapsed,
 * last_response (s from asking to the last response), responded (the
 * ids of every node that responded)}
 * -- or with NULL when the node closes first. id_out (33 bytes) gets the
 * query's id. HS_EINVAL for a bad name, filter or timeout.
 */
typedef struct hs_query_opts {
    const char *name;         /* 1..64 bytes, as a message type */
    const json_t *payload;    /* borrowed; NULL: null */
    double timeout;           /* s, at most 3600; 0: query_timeout */
    const json_t *tags;       /* only nodes with all these tags answer; NULL: any */
    const char *const *nodes; /* only these node ids answer (at most 1024); NULL: any */
    size_t n_nodes;
    size_t want; /* return once this many answered; 0: wait for all */
} hs_query_opts;
typedef void (*hs_query_cb)(void *ud, const json_t *result);
hs_err hs_node_query(hs_node *node, const hs_query_opts *opts, hs_query_cb cb, void *ud,
                     char *id_out);

/*
 * Sets the local state root. When it differs from the current one the
 * version goes up by one and a state_update is broadcast.
 */
hs_err hs_node_update_state(hs_node *node, const char *merkle_root);

/*
 * Bans (blocked = 1) or readmits a node by id: while banned, its requests
 * are refused with 403, so to both sides it is as if the network between
 * them were cut. At most 1024 bans.
 */
hs_err hs_node_block(hs_node *node, const char *id, int blocked);

/* Replaces the node's tags (an object of at most 16 short strings:
 * HS_EINVAL otherwise), shown in /health and gossiped to every node as a
 * signed "hs.tags" message; peers take them into their hs_peer_info.tags.
 * Borrowed, copied. */
hs_err hs_node_set_tags(hs_node *node, const json_t *tags);
/* The node's tags, or NULL; borrowed until they next change. */
const json_t *hs_node_tags(const hs_node *node);

/* Joins the cluster of the node at `url` (its base URL), as a bootstrap
 * entry does: its /health names it, it becomes a peer, and peer exchanges
 * follow. Once: not kept for re-bootstrapping. HS_EINVAL for a URL that
 * is not http(s), HS_EPERM for http:// on a TLS node, HS_ESTATE before
 * hs_node_start(). */
hs_err hs_node_join(hs_node *node, const char *url);

/*
 * Leaves the cluster gracefully (README, Operations: Commands): gossips a signed
 * "hs.leave", so that the others forget this node at once instead of
 * failing it; close the node a moment later (the message must go out).
 * hs_node_force_leave does it for a peer this node holds dead (HS_ESTATE
 * if it is not, HS_ENOENT if unknown): the others take it only about a
 * peer they hold dead too. Nodes that left are remembered (at most 256):
 * hs_node_left_get(i) gives the id and when (epoch s).
 */
hs_err hs_node_leave(hs_node *node);
hs_err hs_node_force_leave(hs_node *node, const char *id);
int hs_node_is_leaving(const hs_node *node);
size_t hs_node_left_count(const hs_node *node);
const char *hs_node_left_get(const hs_node *node, size_t i, double *at);

/*
 * Snapshots (README, Operations: Discovery and snapshots): hs_node_snapshot() writes what the
 * node would want after a restart -- its peers, incarnation, tags, state
 * and the ids of the messages it saw within seen_ttl -- as JSON text with
 * a SHA-256 over it (malloc'd; its length in *len; NULL out of memory).
 * hs_node_restore() takes such a text before hs_node_start(): the state
 * and incarnation only move forward, node.lua's tags win, the ids become
 * duplicates, and the peers are added at start. HS_EINVAL (with why) for
 * a torn, edited or foreign snapshot: nothing is taken from it.
 */
char *hs_node_snapshot(hs_node *node, size_t *len);
hs_err hs_node_restore(hs_node *node, const char *text, size_t len, char *why, size_t cap);

/* Adds a peer by hand, as if it had announced itself; HS_ESTATE before
 * hs_node_start(). Refused: HS_EINVAL (a bad id or URL, ours), HS_EPERM
 * (a URL the settings refuse: peer_allow, https only; a node that left),
 * HS_ETOOBIG (a full table with no peer to let go). */
hs_err hs_node_add_peer(hs_node *node, const char *id, const char *url);

/* A message as `origin` would originate it, for tools and tests: its id
 * (the reference's hash of type, payload, timestamp and origin; 65 bytes
 * with the NUL) and its signature by the key whose seed is seed_hex (129
 * bytes). Any key may sign for any origin here: only a key that is the
 * origin's makes a signature nodes accept. */
hs_err hs_message_sign(const char *seed_hex, const char *type, const json_t *payload,
                       double timestamp, const char *origin, char *id, char *sig);

/* The name node_id goes by in the seen_by_hash of message message_id (64
 * hex digits): 8 lowercase hex digits and a NUL in out, for tools and
 * tests. HS_EINVAL when either is not an id. */
hs_err hs_message_seen_hash(const char *message_id, const char *node_id, char out[9]);

/* Borrowed; valid for the node's life. */
const char *hs_node_id(const hs_node *node);
const char *hs_node_url(const hs_node *node);
/* The node's Ed25519 public key, 64 hex chars (also its id unless one was
 * configured), and its private key's seed (a secret: for whoever keeps
 * the key file; 64 hex chars, what hs_config.node_key takes). */
const char *hs_node_public_key(const hs_node *node);
const char *hs_node_secret_key(const hs_node *node);
uint16_t hs_node_port(const hs_node *node); /* the bound port once started */
uv_loop_t *hs_node_loop(const hs_node *node);

void hs_node_metrics(const hs_node *node, hs_metrics *out);
const char *hs_node_merkle_root(const hs_node *node);
uint64_t hs_node_state_version(const hs_node *node);

/* Peers not dead, then dead ones: i in [0, hs_node_peer_total()). */
size_t hs_node_peer_total(const hs_node *node);
size_t hs_node_peer_count(const hs_node *node); /* alive + unhealthy */
hs_err hs_node_peer_get(const hs_node *node, size_t i, hs_peer_info *out);

/* How many copies of message `id` (64 hex chars) reached this node while
 * it is remembered: 1 for the first, +1 per duplicate; 0 when unknown. */
unsigned hs_node_copies(const hs_node *node, const char *id);

/* The bodies of GET /health, /peers and /state: new references. */
json_t *hs_node_health_json(hs_node *node);
/* The `metrics` object of /health alone (no plugin hooks run). */
json_t *hs_node_metrics_json(hs_node *node);
json_t *hs_node_peers_json(hs_node *node);
/* The same for a uniform random sample of at most `sample` live peers
 * (0: all of them). */
json_t *hs_node_peers_sample_json(hs_node *node, size_t sample);
/* Every peer but strangers' unverified claims, dead ones too, with the six
 * keys and hearsay's own: state, tags, features, incarnation, score,
 * graylisted (GET /peers?detailed=1). */
json_t *hs_node_peers_detailed_json(hs_node *node);
json_t *hs_node_state_json(hs_node *node);

/*
 * An HTTP request through the node's client (kept-alive connections, the
 * node's caps and loop). `body` may be NULL and is copied; `header` is one
 * extra header line or NULL. cb runs once on the loop with the status (0 on
 * a transport failure, then `body` is the error text); when the node closes
 * first it runs with err HS_ESTATE. The body it sees is borrowed.
 */
typedef void (*hs_fetch_cb)(void *ud, hs_err err, long status, const char *body, size_t len);
hs_err hs_node_fetch(hs_node *node, const char *method, const char *url, const char *body,
                     size_t len, const char *header, double timeout_s, hs_fetch_cb cb, void *ud);

/*
 * The cluster keyring (README, Security: Cluster keys). A key is the
 * base64 of 32 random bytes: 44 characters, "=" at the end
 * (hs_keyring_generate makes one). The first key, the primary, signs every
 * request the node sends in security "cluster" and "signed"; every key
 * verifies what it receives, so a cluster rotates by installing the new
 * key everywhere, using it everywhere, then removing the old one
 * everywhere. hs_node_new() fills the ring from cfg.cluster_keys; any
 * security level may hold keys, only the keyed ones use them.
 *
 * A change is handed to the save callback (if one is set) as the new list,
 * primary first, before it is made; the change is made only when the
 * callback returns HS_OK, else nothing changes and its error is returned.
 * Results: install -- HS_OK (also when the key is there already: nothing
 * is saved), HS_EINVAL not a key, HS_ETOOBIG the ring is full, HS_EDUP
 * another key has the same id; use -- HS_ENOENT not installed; remove --
 * HS_ENOENT, HS_ESTATE the primary (use another one first). Strings are
 * copied; hs_keyring_strerror() says each in keyring words.
 */
#define HS_KEYRING_MAX 16 /* keys in a ring */
#define HS_KEY_TEXT 45    /* bytes of a key's text with its NUL */
hs_err hs_node_keyring_install(hs_node *node, const char *key);
hs_err hs_node_keyring_use(hs_node *node, const char *key);
hs_err hs_node_keyring_remove(hs_node *node, const char *key);
/* Writes up to max key texts (borrowed until the ring next changes) to
 * keys, primary first; returns how many the ring holds. */
size_t hs_node_keyring_list(const hs_node *node, const char **keys, size_t max);
/* The save callback: `keys` (n of them, borrowed for the call) is what the
 * ring is about to become. NULL fn: none. */
typedef hs_err (*hs_keyring_save_fn)(void *ud, const char *const *keys, size_t n);
void hs_node_keyring_on_save(hs_node *node, hs_keyring_save_fn fn, void *ud);
/* A fresh random key. */
hs_err hs_keyring_generate(char key[HS_KEY_TEXT]);
/* A key's id (8 hex characters: the first 4 bytes of SHA-256 of its 32
 * bytes), as requests name it; HS_EINVAL when `key` is not a key. */
hs_err hs_keyring_id(const char *key, char id[9]);
/* What a keyring error means, in words; never NULL. */
const char *hs_keyring_strerror(hs_err err);
/*
 * The X-Hearsay-Auth header line a member would send (for tools and
 * tests): `key` signs a request of `method` for `target` (path and
 * query), with X-Hearsay-From `from` (NULL: none) and `body` (len bytes,
 * NULL: none), at epoch seconds `at` (> 0), with a fresh nonce.
 * HS_EINVAL for a bad key or time, HS_ETOOBIG when cap is short (128 is
 * enough).
 */
hs_err hs_auth_header(const char *key, const char *method, const char *target, const char *from,
                      const char *body, size_t len, double at, char *out, size_t cap);

/* Changes one of the node's intervals at once (gossip_interval,
 * health_interval, probe_interval, peer_exchange_interval,
 * rebootstrap_interval, ae_interval, ae_max_interval): the round it times
 * starts over at the new pace. HS_ENOENT for another name, HS_EINVAL for
 * a value hs_config_check refuses (a reload applies node.lua's so). */
hs_err hs_node_set_interval(hs_node *node, const char *name, double s);

/* Changes the node's log level at once (the console's reload and SIGHUP
 * apply node.lua's log_level so). */
void hs_node_set_log_level(hs_node *node, hs_log_level level);

/* Logs through the node's sink (printf-style). */
void hs_node_log(const hs_node *node, hs_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#ifdef __cplusplus
}
#endif
#endif
