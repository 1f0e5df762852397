/*
 * peers.h -- the peer table: every peer this node knows, live or dead.
 *
 * An array of pointers to heap records, so a record's address is stable while
 * it stays in the table, plus two hash indexes (peerindex.h) that find a
 * record by id or by URL in O(1); a record knows its index in the array,
 * so removal is O(1) too (the last entry moves into the hole). A record is one allocation of ~130
 * bytes holding its id and first URL at its tail (a changed URL or a merkle root gets an allocation
 * of its own); its send queue is allocated on first use. Asynchronous work refers to a peer by id
 * and looks it up again on completion, never by pointer.
 *
 * Peers learned but not yet probed wait in a FIFO (intrusive, O(1) in and
 * out and on removal) until membership has a probe slot for them.
 */
#ifndef HS_PEERS_H
#define HS_PEERS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "hearsay.h"
#include "origins.h"
#include "peerindex.h"
#include "rng.h"
#include "sendq.h"

#define HS_PEER_ID_MAX 128
#define HS_URL_MAX 512
#define HS_ROOT_MAX 256

typedef struct hs_peer {
    char *url;               /* into the tail, or its own allocation */
    const char *merkle_root; /* "" (static) or its own allocation */
    double last_seen;        /* wall clock, epoch s: last proof of life */
    double dead_since;       /* monotonic s */
    double next_probe;       /* monotonic s: next retry of a dead peer */
    double suspect_since;    /* monotonic s, while HS_PEER_SUSPECT */
    uint64_t incarnation;    /* its SWIM incarnation, as last heard */
    json_t *tags;            /* owned; NULL until the peer's /health shows some */
    hs_sendq *q;             /* envelopes waiting for the next flush; NULL: none yet */
    struct hs_peer *wait_prev, *wait_next; /* the first-probe FIFO */
    /* Four-byte fields, then smaller ones: a record stays at 136 bytes
     * before its strings (test_peers), since a simulated node keeps one
     * per peer (128 until the words per origin came here: they had been
     * 16 pointers a slot, 32 slots, and too few, origins.h). */
    float latency_ms;     /* EWMA of health-probe round trips; < 0: none yet */
    float backoff;        /* s, doubles per failed retry */
    float score;          /* how far its traffic is trusted (score.h) */
    uint32_t gray_s;      /* monotonic s (rounded up): graylisted until then;
                             0: not (score.h) */
    uint32_t tags_s;      /* epoch s (floor) of the newest signed hs.tags taken (tags.h) */
    unsigned failures;    /* consecutive */
    uint32_t pos;         /* its index in hs_peers.v */
    uint32_t claim_s;     /* epoch s (floor) of the newest signed claim of its own taken */
    uint32_t origin_word; /* bit k: slot k of hs_peers.origins has a word for
                             the link to it (origins.h) */
    uint32_t origin_open; /* bit k: and that word is "open" (else "pruned") */
    uint16_t probes;      /* probes sent: every 50th reads /health in full (wraps) */
    uint16_t features;    /* HS_FEAT_* its /health advertises */
    uint8_t state;        /* hs_peer_state */
    /* Three bytes of flags: every byte here is paid per peer known. */
    unsigned char probing : 1;        /* a health probe is in flight */
    unsigned char waiting : 1;        /* in the first-probe FIFO */
    unsigned char suspected_here : 1; /* our own probes made it suspect */
    unsigned char url_own : 1;        /* url is its own allocation */
    unsigned char known : 1;          /* it has answered a probe: `features`
                                         is what it advertises, not a guess */
    unsigned char eager : 2;          /* tree mode: new messages are pushed to it;
                                         HS_EAGER_CHILD: and our last push was
                                         new to it (a child of ours in the tree);
                                         HS_EAGER_GRAFTED: a miss made it one */
    unsigned char keep : 1;           /* a shorter path to us (shortcut.c): its
                                         duplicates are answered "keep" */
    unsigned char prune_asked : 1;    /* its next push is answered "prune": we
                                         took a shorter path (shortcut.c) */
    unsigned char hearsay : 1;        /* learned from a stranger's claim (an
                                         announce, a shuffle, a list) and not
                                         yet answered a probe: it gets no
                                         traffic but that probe, and is
                                         forgotten if the probe fails */
    unsigned char claim : 2;          /* someone gossiped that it is suspect
                                         (HS_CLAIM_SUSPECT) or dead: believed
                                         if our own probe fails too */
    unsigned char feeds_us : 1;       /* as far as we know it holds us as an
                                         eager link: it pushes new messages
                                         to us (membership.c, feeding) */
    unsigned char feeds_through : 1;  /* ...but its last /ping said we alone
                                         push to it ("through_you"): no way
                                         in for us */
    unsigned char full : 1;           /* its last /ping answer said its view
                                         had no room (feeding) */
    unsigned char at_bound : 1;       /* ...that its eager links reached its
                                         feeding bound: it feeds nobody
                                         more */
    unsigned char lazy_link : 1;      /* drawn for our lazy offers this
                                         period (lazypush.c) */
    unsigned char crowded : 1;        /* its last probe answer said more
                                         than twice max_peers nodes hold
                                         it: left out of the samples we
                                         give (membership.c, shed()) */
    unsigned char rechecking : 1;     /* a probe for its refutation is out
                                         (membership.c, recheck()) */
    unsigned char held8 : 5;          /* its last probe answer's "held" / 8,
                                         at most 31 (membership.c,
                                         make_room()) */
    char id[];                        /* NUL-terminated; the first URL follows */
} hs_peer;

/* hs_peer.eager beyond 1: the link carries the tree to that peer. */
#define HS_EAGER_CHILD 2
/* ...made so by a lazy offer's miss (GRAFT), and no push over it has come
 * back new since: it carries the messages of the origins it has an open
 * word for (origins.h; the grafted message's answer gives its origin
 * one) and of origins we have no slot for, not those of an origin whose
 * tree we keep words for and that has none for this link (gossip.c,
 * link_open). Under a stream, a graft that opened the link to every such
 * origin sent their messages to a node that had them, queued behind the
 * pushes already waiting: in the simulator, 100 nodes on two hosts at
 * 700 broadcasts a second from 10 origins went from 1.00 to 1.36-1.46
 * copies a node (bench/RESULTS.md, Load, "The ceiling on loopback"). A
 * branch all the same: a full table spares it (membership.c). */
#define HS_EAGER_GRAFTED 3

/* Whether the tree goes through the link to p from us: a branch a full
 * table does not cut. */
static inline int hs_peer_branch(const hs_peer *p)
{
    return p->eager >= HS_EAGER_CHILD;
}

/* hs_peer.claim */
#define HS_CLAIM_SUSPECT 1
#define HS_CLAIM_DEAD 2

/* Whether anything but a probe may go to p: not a stranger's unverified
 * claim (a node is nobody's amplifier). */
static inline int hs_peer_usable(const hs_peer *p)
{
    return !p->hearsay;
}

/* Features a peer may advertise in /health "features". */
#define HS_FEAT_BATCH 1u /* takes a JSON array on POST /gossip */
#define HS_FEAT_AE 2u    /* anti-entropy: POST /digest and /fetch */
#define HS_FEAT_SWIM 4u  /* POST /probe, suspicion and refutation */
#define HS_FEAT_SEENH 8u /* "seen_hash": reads seen_by_hash (seenhash.h) */
/* What this implementation advertises (/health, /ping). */
#define HS_FEAT_OURS (HS_FEAT_BATCH | HS_FEAT_AE | HS_FEAT_SWIM | HS_FEAT_SEENH)

/* Whether new messages take the link to p: eager, and p a hearsay peer
 * doing anti-entropy (a link to any other node can be neither pruned nor
 * healed, see gossip.c). */
static inline int hs_peer_eager_link(const hs_peer *p)
{
    return p->eager && (p->features & HS_FEAT_AE);
}

/* Reads a /health "features" array into HS_FEAT_* bits. */
unsigned hs_peers_features(const json_t *features);
/* The other way: a new JSON list of the names of the HS_FEAT_* bits set. */
json_t *hs_peers_features_json(unsigned features);
/* The same array as JSON text, appended to o (jsonout.h). */
struct hs_jsonout;
void hs_peers_features_write(unsigned features, struct hs_jsonout *o);

typedef struct hs_peers {
    hs_peer **v;
    size_t n, cap;
    size_t live;  /* entries not dead */
    size_t eager; /* entries with an eager link (hs_peers_set_eager) */
    hs_peerindex by_id, by_url;
    hs_peer *wait_head, *wait_tail; /* the first-probe FIFO, oldest first */
    size_t waiting;
    hs_origins *origins; /* the tree's links per origin; NULL until an
                            answer names one (origins.h) */
} hs_peers;

void hs_peers_init(hs_peers *p);
void hs_peers_free(hs_peers *p);

/* O(1) expected. With two peers at one URL, find_url returns either. */
hs_peer *hs_peers_find(const hs_peers *p, const char *id);
hs_peer *hs_peers_find_url(const hs_peers *p, const char *url);

/* A peer's name in 8 bytes: a hash of its id, keyed as the id index is,
 * never 0 (0 marks an empty slot). A record that keeps the name rather
 * than the pointer cannot outlive the peer into the next record made at
 * its address (shortcut.c, lazypush.c); hs_peers_named finds the peer
 * again, O(peers). */
uint64_t hs_peers_name(const hs_peers *p, const hs_peer *peer);
hs_peer *hs_peers_named(const hs_peers *p, uint64_t name);

/* Adds a live peer; copies id and url. HS_EDUP if the id is known. */
hs_err hs_peers_add(hs_peers *p, const char *id, const char *url, hs_peer **out);

/* Removes and frees the entry (leaving the first-probe FIFO if in it). */
void hs_peers_remove(hs_peers *p, hs_peer *peer);

/* Moves a peer to a new base URL (validated; trailing slashes trimmed).
 * HS_EINVAL for a bad URL, HS_ENOMEM (URL unchanged). */
hs_err hs_peers_set_url(hs_peers *p, hs_peer *peer, const char *url);

/* Sets the peer's merkle root (copied; at most HS_ROOT_MAX chars, else
 * HS_EINVAL). HS_ENOMEM leaves the old root. */
hs_err hs_peers_set_root(hs_peer *peer, const char *root);

/* The peer's send queue, created on first use; NULL out of memory. */
hs_sendq *hs_peers_sendq(hs_peer *peer);
/* Drops the send queue and what it holds. */
void hs_peers_sendq_free(hs_peer *peer);

/* The first-probe FIFO: peers learned and not yet probed, waiting for a
 * probe slot. Push appends (no-op if the peer waits already); pop takes
 * the oldest (NULL when empty); unlink takes a peer out wherever it is. */
void hs_peers_wait_push(hs_peers *p, hs_peer *peer);
hs_peer *hs_peers_wait_pop(hs_peers *p);
void hs_peers_wait_unlink(hs_peers *p, hs_peer *peer);

/* Moves a peer between states, keeping `live` right. */
void hs_peers_set_state(hs_peers *p, hs_peer *peer, hs_peer_state st);
/* Sets peer->eager (0, 1 or HS_EAGER_CHILD), keeping p->eager counted. */
void hs_peers_set_eager(hs_peers *p, hs_peer *peer, unsigned char eager);

/* Sets the link to peer open (eager 1) or pruned (0) for `origin` (len
 * bytes), over the shared link (origins.h): the table made as needed
 * (its key drawn from rng), and a slot taken from another origin
 * cleared in every peer first. HS_ENOMEM leaves things as they were. */
hs_err hs_peers_set_origin(hs_peers *p, hs_rng *rng, const char *origin, size_t len, hs_peer *peer,
                           int eager);

/* What the word of origin slot k (hs_origins_find; -1: none) says of the
 * link to p: 1 it carries the origin's messages, 0 pruned for them, -1
 * nothing (the shared link decides). */
static inline int hs_peer_origin_link(const hs_peer *p, int k)
{
    if (k < 0 || !((p->origin_word >> k) & 1u))
        return -1;
    return (int)((p->origin_open >> k) & 1u);
}

/* The bits set in v. */
static inline unsigned hs_bits_set(uint32_t v)
{
    unsigned k = 0;

    for (; v; v &= v - 1)
        k++;
    return k;
}

/* Whether the words of more origins say the link to p is open than say
 * it is pruned (push.c: a duplicate prunes the shared link only when
 * not). */
static inline int hs_peer_open_for_most(const hs_peer *p)
{
    return hs_bits_set(p->origin_word & p->origin_open) >
           hs_bits_set(p->origin_word & ~p->origin_open);
}

/* Folds a latency sample into the moving average (old < 0: no average yet). */
double hs_peers_latency_avg(double old, double sample);

/* Fills the public view of a peer (borrowing its strings). */
void hs_peer_info_of(const hs_peer *peer, hs_peer_info *out);

/* Whether a caller wants peer p (arg: the caller's). */
typedef int (*hs_peer_pred)(const hs_peer *p, const void *arg);
/* The k-th (from 0, in table order) of the peers `ok` holds for, or NULL:
 * O(n). */
hs_peer *hs_peers_nth(const hs_peers *p, hs_peer_pred ok, const void *arg, size_t k);
/* A uniformly random one of them, or NULL; one draw of rng when there is
 * any: O(n). */
hs_peer *hs_peers_random(const hs_peers *p, hs_rng *rng, hs_peer_pred ok, const void *arg);

/* Valid peer id: 1..HS_PEER_ID_MAX printable ASCII chars, no quotes or spaces. */
int hs_peers_valid_id(const char *id);
/* The same for the bytes id[0..len) (a NUL among them is invalid). */
int hs_peers_valid_idn(const char *id, size_t len);

#define HS_TAGS_MAX 16
#define HS_TAG_KEY_MAX 32
#define HS_TAG_VALUE_MAX 128

/* Valid tags: an object of at most HS_TAGS_MAX short string values. */
int hs_peers_valid_tags(const json_t *tags);

/* Replaces a peer's tags with a copy of `tags` (NULL clears them). */
void hs_peers_set_tags(hs_peer *peer, const json_t *tags);

/* Valid base URL: http:// or https://, printable, at most HS_URL_MAX. */
int hs_peers_valid_url(const char *url);

#endif
