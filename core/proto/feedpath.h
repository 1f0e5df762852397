/*
 * feedpath.h -- the feeders above a node: the chain of peers whose pushes
 * reach it, as each says of its own.
 *
 * Who feeds whom (membership.c, feeding) is a graph in which every node
 * counts on a feeder or a few; when that chain of feeders comes back to
 * a node, the nodes on the cycle and below it count on each other and
 * nobody outside pushes to them, and a new origin's first message reached
 * them by lazy offers only (bench/RESULTS.md, Feeding). So a node says to
 * those it feeds, in /ping ("up"), the chain above it: the short tags of
 * its feeder, its feeder's feeder, and so on (through a feeder not
 * through the peer it tells, if it has one). A node that finds its own
 * tag there is fed through itself: that feeder is no way in for it, and
 * it asks elsewhere; a node asked to feed a peer on every chain above it
 * says no, which would close a cycle. One part is on top of all others:
 * the node on top finds every peer it asks below it, and asks the peer
 * the most nodes hold (the one most push to) with &top=1, which is never
 * refused for that: the one cycle that stays is the top's, fed by the
 * peer everyone's messages reach.
 *
 * All of it only with the setting feed_chains (off by default: README,
 * Feeding; bench/RESULTS.md, "Feeding cycles, found and fed").
 *
 * A tag is the 32-bit FNV-1a of an id, as 8 hex digits: the same at every
 * node. Two ids with one tag make a node think itself above a peer it is
 * not, which costs it one more ask; a peer can claim any chain, as it can
 * claim to feed us ("feeds"), and a miss fetched by anti-entropy makes
 * the node ask again either way (hs_membership_unfed).
 */
#ifndef HS_FEEDPATH_H
#define HS_FEEDPATH_H

#include <stddef.h>
#include <stdint.h>

#include "peers.h"

/* Feeders whose chains a node keeps (the ways in it has; a node counts on
 * one, and a few more come and go with the tree). */
#define HS_FEEDPATH_WAYS 4
/* Tags in a chain: longer chains are cut (a cycle longer than this goes
 * unnoticed). */
#define HS_FEEDPATH_UP 8
/* A chain as text: "xxxxxxxx" tags joined by ',' and a NUL. */
#define HS_FEEDPATH_TEXT (HS_FEEDPATH_UP * 9)

typedef struct hs_feedway {
    char id[HS_PEER_ID_MAX + 1]; /* the feeder; "" for a free entry */
    uint8_t n;                   /* tags in up */
    uint8_t said;                /* its /ping said a chain (else only
                                    that it feeds us) */
    uint32_t up[HS_FEEDPATH_UP]; /* the chain above it, nearest first */
} hs_feedway;

typedef struct hs_feedpath {
    hs_feedway way[HS_FEEDPATH_WAYS];
} hs_feedpath;

/* The tag of an id. */
uint32_t hs_feedpath_tag(const char *id);

/* Parses a chain's text into up to max tags at out: the count, or -1 when
 * it is not tags (8 lowercase hex digits, as written) joined by ','; an
 * empty text is an empty chain. Never reads past the text's NUL. */
int hs_feedpath_parse(const char *text, uint32_t *out, size_t max);

/* Whether tag is in the n tags at up. */
int hs_feedpath_has(const uint32_t *up, size_t n, uint32_t tag);

/* The entry of feeder id, or NULL. */
const hs_feedway *hs_feedpath_find(const hs_feedpath *f, const char *id);

/* Keeps the chain a feeder said (said 0: it said none; n is then 0).
 * With every entry taken, replaces one whose feeder `gone` says is no
 * way in any more, else the first but that of `keep` (an id). */
void hs_feedpath_set(hs_feedpath *f, const char *id, const uint32_t *up, size_t n, int said,
                     const char *keep, int (*gone)(const char *id, void *arg), void *arg);

/* Forgets a feeder's chain. */
void hs_feedpath_drop(hs_feedpath *f, const char *id);

/* Writes the chain through feeder `id` (its tag, then the chain it said,
 * if any: w may be NULL), cut at HS_FEEDPATH_UP tags, as text into out
 * (HS_FEEDPATH_TEXT bytes). */
void hs_feedpath_write(const char *id, const hs_feedway *w, char out[HS_FEEDPATH_TEXT]);

#endif
