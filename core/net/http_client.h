/*
 * http_client.h -- asynchronous HTTP requests on the node's libuv loop.
 *
 * http:// goes through hearsay's own HTTP/1.1 client (http_client.c):
 * kept-alive connections per host:port, each watched by the loop for as
 * long as it is open, so an idle connection costs nothing until it is
 * used or closed by its server. https:// goes through libcurl
 * (http_curl.c), and so does http:// when the options ask for it.
 *
 * Responses are buffered up to a cap; a larger one fails the request.
 */
#ifndef HS_HTTP_CLIENT_H
#define HS_HTTP_CLIENT_H

#include <uv.h>

#include "io.h"

/* *out is released with hs_http_client_close(). HS_EINVAL when an allow
 * entry is not an address range. */
hs_err hs_http_client_new(uv_loop_t *loop, const hs_http_client_opts *opts, hs_http_client **out);

#endif
