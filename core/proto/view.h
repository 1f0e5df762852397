/*
 * view.h -- GET /ui/cluster: the peers' own views, for the dashboard
 * (view.c).
 */
#ifndef HS_VIEW_H
#define HS_VIEW_H

#include "node.h"

/* Answers GET /ui/cluster now (a fresh kept answer, or no peer to ask) or
 * later (resp->defer; the request's token answered once the peers have). */
void hs_view_request(hs_node *n, uint64_t token, hs_http_response *resp);

/* At the node's end: a gathering under way and the kept answer. */
void hs_view_free(hs_node *n);

#endif
