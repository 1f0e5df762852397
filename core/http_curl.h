/*
 * http_curl.h -- the HTTP client's libcurl back end: one multi handle,
 * driven by the node's libuv loop through curl's socket and timer
 * callbacks, its connection cache keeping connections alive across
 * requests. http_client.c hands it every https:// request, and every
 * request when the node is set to use curl for http:// too.
 *
 * Its cost is curl's: an easy handle per request, and once a second a
 * poll() of every idle cached connection to see whether it died.
 */
#ifndef HS_HTTP_CURL_H
#define HS_HTTP_CURL_H

#include "http_client.h"

typedef struct hs_http_curl hs_http_curl;

/* *out is released with hs_http_curl_close(). max_connections bounds the
 * connection cache; per_host bounds parallel connections to one host:port
 * (further requests wait for a free one). */
hs_err hs_http_curl_new(uv_loop_t *loop, size_t max_response, size_t max_connections,
                        size_t per_host, hs_http_curl **out);

/* As hs_http_client_request(). */
hs_err hs_http_curl_request(hs_http_curl *c, const char *method, const char *url, const char *body,
                            size_t len, const char *header, double timeout_s, hs_http_cb cb,
                            void *ud);

unsigned long hs_http_curl_requests(const hs_http_curl *c);
unsigned long hs_http_curl_connects(const hs_http_curl *c);
size_t hs_http_curl_inflight(const hs_http_curl *c);

/* As hs_http_client_close(). */
void hs_http_curl_close(hs_http_curl *c, void (*done)(void *ud), void *ud);

#endif
