/*
 * http_client.h -- asynchronous HTTP requests: one libcurl multi handle per
 * node, driven by the node's libuv loop through curl's socket and timer
 * callbacks. The multi's connection cache keeps connections to each peer
 * alive and reuses them across requests.
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
    const char *error; /* curl's text on failure, borrowed */
} hs_http_result;

typedef void (*hs_http_cb)(void *ud, const hs_http_result *res);

/* *out is released with hs_http_client_close(). */
/* max_connections bounds the connection cache; per_host bounds parallel
 * connections to one host:port (further requests wait for a free one). */
hs_err hs_http_client_new(uv_loop_t *loop, size_t max_response, size_t max_connections,
                          size_t per_host, hs_http_client **out);

/*
 * Starts a request. `body` (may be NULL for GET) is copied. `header` is one
 * extra request header line or NULL. cb runs exactly once, on the loop; when
 * the client is closed first it runs from hs_http_client_close() with err
 * HS_ESTATE, so the caller can release `ud` and must do nothing else.
 */
hs_err hs_http_client_request(hs_http_client *c, const char *method, const char *url,
                              const char *body, size_t len, const char *header, double timeout_s,
                              hs_http_cb cb, void *ud);

/* Requests started, and TCP connections opened, since creation. */
unsigned long hs_http_client_requests(const hs_http_client *c);
unsigned long hs_http_client_connects(const hs_http_client *c);
size_t hs_http_client_inflight(const hs_http_client *c);

/* Cancels in-flight requests (their callbacks see HS_ESTATE) and frees the
 * client once its handles are closed; then `done` runs. */
void hs_http_client_close(hs_http_client *c, void (*done)(void *ud), void *ud);

#endif
