/*
 * tags.h -- a node's tags at runtime: set by the node (hs_node_set_tags),
 * gossiped as an "hs.tags" message its origin signs, and taken by peers
 * only with that signature (a stranger cannot describe another node);
 * a peer's /health shows them too, which is how nodes whose ids are not
 * keys (and reference nodes) are learned.
 */
#ifndef HS_TAGS_H
#define HS_TAGS_H

#include "node.h"

/* An "hs.tags" message (its payload: {"node_id", "tags"}). authentic: its
 * origin signed it. Returns 0 when it is malformed. */
int hs_tags_receive(hs_node *n, hs_envelope *env, int authentic);

#endif
