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

#include <stddef.h>

#include <uv.h>

#include "hearsay.h"

typedef struct hs_http_client hs_http_client;

typedef struct hs_http_result {
    hs_err err;       /* HS_OK when a response arrived, whatever its status */
    long status;      /* HTTP status, 0 on transport failure */
    const char *body; /* borrowed for the callback; NUL-terminated */
    size_t len;
    double total_ms;   /* request round trip */
    const char *error; /* what failed, in words, on failure; borrowed */
} hs_http_result;

typedef void (*hs_http_cb)(void *ud, const hs_http_result *res);

typedef struct hs_http_client_opts {
    size_t max_response;    /* bytes of a response body */
    size_t max_connections; /* idle kept-alive connections, over all hosts */
    size_t per_host;        /* connections to one host:port; more requests wait */
    double idle_timeout;    /* s an unused connection is kept open */
    int curl_for_http;      /* http:// through libcurl too */
} hs_http_client_opts;

/* *out is released with hs_http_client_close(). */
hs_err hs_http_client_new(uv_loop_t *loop, const hs_http_client_opts *opts, hs_http_client **out);

/*
 * Starts a request. `body` (may be NULL for GET) is copied. `header` is one
 * extra request header line or NULL. HS_EINVAL when the URL is not one the
 * client can ask (then cb never runs). Otherwise cb runs exactly once, on
 * the loop, never from within this call; when the client is closed first
 * it runs from hs_http_client_close() with err HS_ESTATE, so the caller can
 * release `ud` and must do nothing else.
 */
hs_err hs_http_client_request(hs_http_client *c, const char *method, const char *url,
                              const char *body, size_t len, const char *header, double timeout_s,
                              hs_http_cb cb, void *ud);

/* Requests started, and TCP connections opened, since creation. */
unsigned long hs_http_client_requests(const hs_http_client *c);
unsigned long hs_http_client_connects(const hs_http_client *c);
size_t hs_http_client_inflight(const hs_http_client *c);
/* Kept-alive connections of the own client waiting for a request. */
size_t hs_http_client_idle(const hs_http_client *c);

/* Cancels in-flight requests (their callbacks see HS_ESTATE) and frees the
 * client once its handles are closed; then `done` runs. */
void hs_http_client_close(hs_http_client *c, void (*done)(void *ud), void *ud);

#endif
