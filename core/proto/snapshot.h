/*
 * snapshot.h -- what a node keeps across a restart (snapshot.c; the API
 * is hs_node_snapshot and hs_node_restore in hearsay.h).
 */
#ifndef HS_SNAPSHOT_H
#define HS_SNAPSHOT_H

#include "node.h"

/* At start: the peers a restored snapshot named are added (and probed). */
void hs_snapshot_rejoin(hs_node *n);

#endif
