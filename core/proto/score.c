/*
 * score.c -- see score.h.
 */
#include <math.h>

#include "score.h"

hs_peer *hs_score_sender(hs_node *n, const char *sender)
{
    hs_peer *p;

    if (!sender || !n->rx_src_ok || !(p = hs_peers_find(&n->peers, sender)))
        return NULL;
    return hs_membership_from_matches(n, p) ? p : NULL;
}

void hs_score_add(hs_node *n, hs_peer *p, double delta)
{
    double s = p->score + delta;

    if (s > n->cfg.score_max)
        s = n->cfg.score_max;
    p->score = (float)s;
    if (s <= n->cfg.score_graylist && p->gray_s == 0) {
        p->gray_s = (uint32_t)ceil(hs_node_mono(n) + n->cfg.graylist_time);
        n->m.peers_graylisted++;
        hs_node_log(n, HS_LOG_WARN,
                    "peer %s graylisted for %gs: score %.1f (rejected, invalid or failed "
                    "traffic); its requests are refused until then",
                    p->id, n->cfg.graylist_time, s);
    }
}

void hs_score_tick(hs_node *n)
{
    double mono = hs_node_mono(n), dt = mono - n->score_tick;
    double keep = dt > 0 ? exp2(-dt / n->cfg.score_half_life) : 1.0;

    n->score_tick = mono;
    for (size_t i = 0; i < n->peers.n; i++) {
        hs_peer *p = n->peers.v[i];
        if (p->gray_s != 0 && mono >= p->gray_s) {
            p->gray_s = 0;
            p->score = 0;
            hs_node_log(n, HS_LOG_INFO, "peer %s is off the graylist", p->id);
        } else if (p->score != 0) {
            p->score = (float)(p->score * keep);
            if (fabsf(p->score) < 1e-3f)
                p->score = 0;
        }
    }
}

int hs_score_graylisted(hs_node *n, const char *id)
{
    hs_peer *p = id ? hs_peers_find(&n->peers, id) : NULL;

    return p && p->gray_s != 0 && hs_node_mono(n) < p->gray_s;
}
