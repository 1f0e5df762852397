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

#endif
