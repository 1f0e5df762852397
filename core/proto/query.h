/*
 * query.h -- asking the cluster a question and collecting the answers
 * (README, Write a plugin: Queries), after Serf's queries.
 *
 * The asker gossips an "hs.query" message its key signs: {node_id (the
 * asker), id (32 hex), name, payload, reply (the asker's URL), tags
 * and/or nodes (a filter), timeout}. It spreads like any message, so a
 * node the filter leaves out still passes it on. Every node that gets it
 * POSTs one response straight to `reply` + "/query": {id, node, and
 * "answer" when a plugin's on.query answered, "filtered" when the filter
 * left it out, "error" when its answer was too large} -- the acks that
 * tell the asker how many nodes it reached. A node sends a response only
 * for a query its origin demonstrably sent (signed by its key, or the
 * origin a peer we know at that very URL), so nobody can aim a cluster's
 * answers at a third party, and at most query_answer_rate a second.
 *
 * The asker returns as soon as `want` answers came, or every node it
 * expects has responded -- the nodes the filter names, or, without a
 * list, the live peers it knows that match the tags, and then no new
 * response for a settling time (half the time taken so far, at least
 * 50 ms), since nodes it does not know answer too -- and otherwise at the
 * timeout with what it has. A node is counted once: duplicates and
 * responses after the end are counted, not kept.
 */
#ifndef HS_QUERY_H
#define HS_QUERY_H

#include "node.h"

/* A query id: 16 random bytes in hex, and the NUL. */
#define HS_QUERY_ID 33

/* An "hs.query" message arrived (new). authentic: its origin signed it. */
void hs_query_receive(hs_node *n, hs_envelope *env, int authentic);

/* POST /query: a response to one of our queries. Sets *status and
 * returns the answer's JSON (a new reference, or NULL out of memory). */
json_t *hs_query_response(hs_node *n, const json_t *body, size_t body_len, const char *from,
                          unsigned *status);

/* HS_DUE_QUERY: ends the queries whose time has come. */
void hs_query_due(hs_node *n);

/* Queries of ours still collecting answers. */
size_t hs_query_pending(const hs_node *n);

/* The node is closing: every pending query's callback gets NULL. */
void hs_query_cancel_all(hs_node *n);

#endif
