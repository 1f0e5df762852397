/*
 * io_uv.h -- the io (io.h) of a node on a libuv loop: a uv_timer, a
 * prepare/check pair that times the loop's turns, and DNS lookups on
 * libuv's thread pool; its transport is hs_transport_http.
 */
#ifndef HS_IO_UV_H
#define HS_IO_UV_H

#include <uv.h>

#include "io.h"

hs_err hs_io_uv_new(uv_loop_t *loop, hs_io **out);

/* Sockets: hs_http_server_start() and hs_http_client_new(), on the loop
 * of an io made by hs_io_uv_new() (others: HS_EINVAL). Immutable. */
extern const hs_transport hs_transport_http;

/* The loop of an io made by hs_io_uv_new, else NULL. */
uv_loop_t *hs_io_uv_loop(const hs_io *io);

#endif
