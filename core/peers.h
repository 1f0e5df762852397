/*
 * peers.h -- the peer table: every peer this node knows, live or dead.
 *
 * An array of pointers to heap records, so a record's address is stable while
 * it stays in the table. Lookups are linear scans: the table holds at most
 * max_peers live peers plus as many dead ones, and every scan is already
 * dwarfed by the HTTP request that causes it. Asynchronous work refers to a
 * peer by id and looks it up again on completion, never by pointer.
 */
#ifndef HS_PEERS_H
#define HS_PEERS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "hearsay.h"
#include "sendq.h"

#define HS_PEER_ID_MAX 128
#define HS_URL_MAX 512
#define HS_ROOT_MAX 256

typedef struct hs_peer {
    char id[HS_PEER_ID_MAX + 1];
    char url[HS_URL_MAX + 1];
    char merkle_root[HS_ROOT_MAX + 1];
    double last_seen;  /* wall clock, epoch s: last proof of life */
    double latency_ms; /* EWMA of health-probe round trips; < 0: none yet */
    hs_peer_state state;
    unsigned failures;  /* consecutive */
    double dead_since;  /* monotonic s */
    double next_probe;  /* monotonic s: next retry of a dead peer */
    double backoff;     /* s, doubles per failed retry */
    int probing;        /* a health probe is in flight */
    json_t *tags;       /* owned; NULL until the peer's /health shows some */
    unsigned features;  /* HS_FEAT_* its /health advertises */
    uint64_t incarnation; /* its SWIM incarnation, as last heard */
    double suspect_since; /* monotonic s, while HS_PEER_SUSPECT */
    hs_sendq q;         /* envelopes waiting for the next flush */
    hs_idq lazy;        /* ids to offer it at the next flush (lazy push) */
    unsigned probes;    /* probes sent: every 10th reads /health in full */
} hs_peer;

/* Features a peer may advertise in /health "features". */
#define HS_FEAT_BATCH 1u /* takes a JSON array on POST /gossip */
#define HS_FEAT_AE 2u    /* anti-entropy: POST /digest and /fetch */
#define HS_FEAT_SWIM 4u  /* POST /probe, suspicion and refutation */

/* Reads a /health "features" array into HS_FEAT_* bits. */
unsigned hs_peers_features(const json_t *features);

typedef struct hs_peers {
    hs_peer **v;
    size_t n, cap;
    size_t live; /* entries not dead */
} hs_peers;

void hs_peers_init(hs_peers *p);
void hs_peers_free(hs_peers *p);

hs_peer *hs_peers_find(const hs_peers *p, const char *id);
hs_peer *hs_peers_find_url(const hs_peers *p, const char *url);

/* Adds a live peer; copies id and url. HS_EDUP if the id is known. */
hs_err hs_peers_add(hs_peers *p, const char *id, const char *url, hs_peer **out);

/* Removes and frees the entry. */
void hs_peers_remove(hs_peers *p, hs_peer *peer);

/* Moves a peer between states, keeping `live` right. */
void hs_peers_set_state(hs_peers *p, hs_peer *peer, hs_peer_state st);

/* Folds a latency sample into the moving average (old < 0: no average yet). */
double hs_peers_latency_avg(double old, double sample);

/* Fills the public view of a peer (borrowing its strings). */
void hs_peer_info_of(const hs_peer *peer, hs_peer_info *out);

/* Valid peer id: 1..HS_PEER_ID_MAX printable ASCII chars, no quotes or spaces. */
int hs_peers_valid_id(const char *id);

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
