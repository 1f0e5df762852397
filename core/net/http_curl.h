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

/* Verification and client certificate for https://, and the addresses
 * allowed (`allow`, n of them, already parsed): every pointer borrowed
 * for the life of c. Applies to requests made after the call. */
struct hs_cidr;
void hs_http_curl_trust(hs_http_curl *c, const hs_http_trust *t, const struct hs_cidr *allow,
                        size_t n);

/* Signs every request made after the call (see hs_http_sign_fn); NULL:
 * none. */
void hs_http_curl_sign(hs_http_curl *c, hs_http_sign_fn fn, void *ud);
/* A header line every request carries (the cluster label; borrowed), or NULL. */
void hs_http_curl_label(hs_http_curl *c, const char *line);
/* Called for each request that fails because no socket could be opened
 * (out of file descriptors), before its callback; NULL: none. */
void hs_http_curl_no_fd(hs_http_curl *c, void (*fn)(void *ud), void *ud);

/* As hs_http_client_request(). */
hs_err hs_http_curl_request(hs_http_curl *c, const char *method, const char *url, const char *body,
                            size_t len, const char *header, double timeout_s, hs_http_cb cb,
                            void *ud);

unsigned long hs_http_curl_requests(const hs_http_curl *c);
unsigned long hs_http_curl_connects(const hs_http_curl *c);
size_t hs_http_curl_inflight(const hs_http_curl *c);
/* Adds its refusals to *out. */
void hs_http_curl_refused(const hs_http_curl *c, hs_http_refused *out);

/* As hs_http_client_close(). */
void hs_http_curl_close(hs_http_curl *c, void (*done)(void *ud), void *ud);

#endif
