/*
 * state.c -- the replicated state's rule: which (merkle_root,
 * state_version) heard from a peer (a state_update, an anti-entropy
 * digest) a node adopts. A local update (hs_node_update_state) and the
 * /state view are node.c's. O(1), no allocation.
 */
#include <stdio.h>
#include <string.h>

#include "node.h"

int hs_node_apply_state(hs_node *n, const char *root, uint64_t version, const char *from,
                        int authenticated)
{
    char old[HS_ROOT_MAX + 1];
    uint64_t old_version = n->state_version;

    /* Newer version wins. A tie (the same version, another root) changes
     * nothing unless a writer's signature vouches for it: then the larger
     * root wins, so writers on two sides of a partition converge on one
     * root; a forger's "larger root" gains nothing. */
    if (version > HS_COUNTER_MAX || version < n->state_version)
        return 0;
    if (version == n->state_version) {
        int cmp = strcmp(root, n->merkle_root);
        if (cmp != 0 && !authenticated)
            n->m.claims_refused++;
        if (cmp <= 0 || !authenticated)
            return 0;
    }
    strcpy(old, n->merkle_root);
    snprintf(n->merkle_root, sizeof n->merkle_root, "%s", root);
    n->state_version = version;
    if (from)
        n->m.state_adopted++;
    if (n->hooks.on_state)
        n->hooks.on_state(n->hooks.ud, n, old, old_version, n->merkle_root, version, from);
    return 1;
}
