/*
 * health.h -- GET /health's answer as text (health.c).
 */
#ifndef HS_HEALTH_H
#define HS_HEALTH_H

#include <stddef.h>

#include "node.h"

/* The compact JSON text of hs_node_health_json(n), the same bytes,
 * malloc'd (the caller frees it), its length in *len; NULL when memory
 * ran out or jansson could not make it. */
char *hs_node_health_text(hs_node *n, size_t *len);

/* The short form a hearsay node's probe gets: status, node_id,
 * peer_count, uptime, the reference's six metrics, version, url,
 * features, tags, incarnation, public_key, held, cluster_label (no
 * on_health hook). Ownership and errors as hs_node_health_text. */
char *hs_node_probe_health_text(hs_node *n, size_t *len);

#endif
