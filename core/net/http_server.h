/*
 * http_server.h -- an HTTP/1.1 server: libmicrohttpd with no threads of its
 * own, driven by a libuv loop (its epoll fd watched by a uv_poll, its
 * timeout by a uv_timer).
 *
 * Request bodies are buffered up to a cap; a larger body is discarded as it
 * streams in (memory stays bounded) and the request reaches the handler with
 * `too_large` set. The handler answers synchronously, or defers: it sets
 * `defer` and later calls hs_http_server_answer() with the request's token
 * (the connection is suspended meanwhile; a token whose connection is gone
 * is simply ignored).
 *
 * With a certificate it serves HTTPS (GnuTLS, through libmicrohttpd), in
 * the same mode; with tls_client_auth each connection's client
 * certificate is verified once, before its first request reaches the
 * handler. An allow list is checked at accept, before any byte is read.
 */
#ifndef HS_HTTP_SERVER_H
#define HS_HTTP_SERVER_H

#include <uv.h>

#include "io.h"

/* Starts listening; *out is released with hs_http_server_close().
 * HS_EINVAL for a bad host, allow range or TLS file (logged, naming the
 * file), HS_EIO when it cannot listen. */
hs_err hs_http_server_start(uv_loop_t *loop, const hs_http_server_opts *opts, hs_http_server **out);

#endif
