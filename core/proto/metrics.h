/*
 * metrics.h -- a node's counters by name (metrics.c): what /health's
 * "metrics" and GET /metrics (prometheus.c) both list.
 */
#ifndef HS_METRICS_H
#define HS_METRICS_H

#include <stdint.h>

#include "node.h"

typedef struct hs_metric_field {
    const char *name; /* as in hs_metrics and /health */
    size_t offset;    /* of its uint64_t in hs_metrics */
    const char *help; /* one line */
    const char *key;  /* "\"name\":", as /health's text has it (health.c) */
    size_t key_len;
} hs_metric_field;

/* Every counter of hs_metrics, in its order. */
extern const hs_metric_field hs_metric_fields[];
extern const size_t hs_metric_field_count;

uint64_t hs_metric_value(const hs_metrics *m, const hs_metric_field *f);
/* Copies of each new message that reached the node, on average (0: none yet). */
double hs_metric_copies(const hs_metrics *m);

/* The connection counts of the node's client and server (0 before start). */
uint64_t hs_node_connects(const hs_node *n);
uint64_t hs_node_drained(const hs_node *n);

/* GET /metrics: the Prometheus text exposition (malloc'd, its length in
 * *len; NULL out of memory). */
char *hs_node_prometheus(hs_node *n, size_t *len);

#endif
