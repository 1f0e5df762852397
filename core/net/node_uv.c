/*
 * node_uv.c -- a node on a libuv loop (hearsay.h): hs_node_new gives it
 * the io of io_uv.c; the protocol itself (node.c and the files it
 * drives) knows no loop.
 */
#include "io_uv.h"

hs_err hs_node_new(uv_loop_t *loop, const hs_config *cfg, hs_node **out)
{
    hs_config c;
    hs_io *io;
    hs_err err;

    if (!loop || !cfg || !out)
        return HS_EINVAL;
    if ((err = hs_io_uv_new(loop, &io)) != HS_OK)
        return err;
    c = *cfg;   /* (the node copies what it keeps) */
    if (!c.log) /* stderr, in the format asked */
        c.log = c.log_format == HS_LOG_JSON ? hs_log_stderr_json : hs_log_stderr;
    return hs_node_new_io(io, &c, out);
}

uv_loop_t *hs_node_loop(const hs_node *n)
{
    return hs_io_uv_loop(hs_node_io(n));
}
