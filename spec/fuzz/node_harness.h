/*
 * node_harness.h -- a started node on the fake transport (fake_net.h),
 * the same for every input, for the targets that feed a whole node.
 *
 * It has a fixed id ("fuzz-node"), a fixed random generator, small caps
 * (max_seen_by 8, max_batch 16, max_digest 64) so that their edges are
 * reachable, no waiting (lazy offers and flushes go at the loop's next
 * turn; anti-entropy and every other round only when the target asks), a
 * clock of its own (harness_advance), and four peers:
 * peer-a and peer-b (hearsay nodes: they answered their first probe with
 * every feature), ref-c (a reference node: no features) and new-d (its
 * first probe still waits for an answer). Optionally in a keyed cluster.
 */
#ifndef HS_NODE_HARNESS_H
#define HS_NODE_HARNESS_H

#include <uv.h>

#include "node.h"

/* The harness's security modes. */
enum { HARNESS_OPEN = 0, HARNESS_CLUSTER = 1, HARNESS_SIGNED = 2 };

/* The node, started, its peers probed; NULL when memory ran out.
 * HARNESS_CLUSTER: security "cluster" with HARNESS_KEY as its keyring, so
 * every request but GET /health must carry a valid X-Hearsay-Auth.
 * HARNESS_SIGNED: security "signed" as well, the node's id its public key
 * (from HARNESS_NODE_SEED), and HARNESS_WRITER_SEED's public key the one
 * writer: every message must be signed by its origin. */
hs_node *harness_node(uv_loop_t *loop, int mode);

/* The cluster key of harness nodes in cluster mode (base64 of 32 bytes). */
#define HARNESS_KEY "ZnV6ei1jbHVzdGVyLWtleS0wMTIzNDU2Nzg5YWJjZGU="

/* Ed25519 seeds (64 hex digits): the node's own in signed mode, the
 * writer's and a member's that is no writer. */
#define HARNESS_NODE_SEED "0101010101010101010101010101010101010101010101010101010101010101"
#define HARNESS_WRITER_SEED "0202020202020202020202020202020202020202020202020202020202020202"
#define HARNESS_MEMBER_SEED "0303030303030303030303030303030303030303030303030303030303030303"

/* Runs what is due on the loop now or within HARNESS_SOON_MS: flushes,
 * lazy offers. The node's own rounds (probes, announces, exchanges,
 * maintenance) do not run by themselves: a target calls them. */
#define HARNESS_SOON_MS 50
void harness_settle(uv_loop_t *loop);

/* The nodes' clock stands still at HARNESS_WALL (epoch s) and HARNESS_MONO
 * (s) from the first open node on; this moves it on by s seconds. */
#define HARNESS_WALL 1796400000.0
#define HARNESS_MONO 1000.0
void harness_advance(double s);

/* Closes n and runs the loop until it is freed. */
void harness_close(uv_loop_t *loop, hs_node *n);

/* The JSON a hearsay node with this id answers GET /health with. */
extern const char harness_health_fmt[];

#endif
