/*
 * node_uv.c -- a node on a libuv loop (hearsay.h): hs_node_new gives it
 * the io of io_uv.c; the protocol itself (node.c and the files it
 * drives) knows no loop.
 */
#include "io_uv.h"

hs_err hs_node_new(uv_loop_t *loop, const hs_config *cfg, hs_node **out)
{
    hs_io *io;
    hs_err err;

    if (!loop || !cfg || !out)
        return HS_EINVAL;
    if ((err = hs_io_uv_new(loop, &io)) != HS_OK)
        return err;
    return hs_node_new_io(io, cfg, out);
}

uv_loop_t *hs_node_loop(const hs_node *n)
{
    return hs_io_uv_loop(hs_node_io(n));
}
