/*
 * left.h -- nodes that left on purpose (left.c).
 */
#ifndef HS_LEFT_H
#define HS_LEFT_H

#include "node.h"

/* "hs.leave" or "hs.forceleave" arrived (new). authentic: its origin
 * signed it. */
void hs_left_receive(hs_node *n, hs_envelope *env, int authentic);

/* Whether learning id (hs_membership_learn's claim c, its time seen_at)
 * is refused because it left; the operator's word (c NULL) or its own
 * signed word newer than its leave takes it off the list instead. */
int hs_left_blocks(hs_node *n, const char *id, const hs_claim *c, double seen_at);

void hs_left_free(hs_node *n);

#endif
