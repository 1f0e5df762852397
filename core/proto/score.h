/*
 * score.h -- how far a node trusts each peer's traffic (README, Write a
 * plugin: Verdicts and scores). A peer's score starts at 0, rises with
 * each new message it is the first to bring (up to score_max), falls with
 * each message a handler rejects, each invalid or forged envelope it
 * sends and each request to it that fails, and decays towards 0 with a
 * half-life of score_half_life. Below score_forward nothing is forwarded
 * to it (no pushes, no lazy offers); at or below score_graylist its
 * requests are refused with 403 for graylist_time, after which it starts
 * again from 0. Only what a peer demonstrably sent counts: an
 * X-Hearsay-From coming from that peer's own address (or any member's
 * word in a keyed cluster), never a stranger's claim about it.
 */
#ifndef HS_SCORE_H
#define HS_SCORE_H

#include "node.h"

/* The peer that sent the request being served, when it may be held to
 * what it sent: `sender` is its X-Hearsay-From; NULL otherwise. */
hs_peer *hs_score_sender(hs_node *n, const char *sender);

/* Adds delta to p's score (capped at score_max); graylists it when it
 * falls to score_graylist. */
void hs_score_add(hs_node *n, hs_peer *p, double delta);

/* The maintenance tick: decay, and the end of graylists that are over. */
void hs_score_tick(hs_node *n);

/* Whether requests naming `id` in X-Hearsay-From are refused now. */
int hs_score_graylisted(hs_node *n, const char *id);

/* Whether messages may be forwarded to p. */
static inline int hs_score_forwardable(const hs_node *n, const hs_peer *p)
{
    return p->score >= n->cfg.score_forward && p->gray_s == 0;
}

#endif
