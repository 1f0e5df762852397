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

/* Whom the client may talk to, and how it proves who it is (README,
 * Security). Every pointer is borrowed and must outlive the client. */
typedef struct hs_http_trust {
    const char *tls_ca;       /* PEM file: the CAs https:// servers must chain
                                 to (NULL: the system's); never unverified */
    const char *tls_cert;     /* PEM files: our certificate and key, shown */
    const char *tls_key;      /* to https:// servers that ask (mutual TLS) */
    int https_only;           /* refuse http:// URLs (HS_EPERM) */
    const char *const *allow; /* CIDRs: connect only to addresses in them, */
    size_t n_allow;           /* checked after resolving (0: anywhere) */
} hs_http_trust;

/*
 * Signs a request as it is built (before it waits for a connection): writes
 * one more header line, without its CRLF, to out (cap bytes) and returns
 * its length, 0 to add none, or -1 to refuse the request (the call that
 * started it returns HS_EPERM). `target` is the request target as sent
 * (target_len bytes of path and query; empty or "?..." means "/"),
 * `header` the caller's one extra header line or NULL, `body` the body
 * (len bytes) or NULL. Every argument is borrowed for the call.
 */
typedef int (*hs_http_sign_fn)(void *ud, const char *method, const char *target, size_t target_len,
                               const char *header, const char *body, size_t len, char *out,
                               size_t cap);
/* Bytes a signer may write (the buffer both back ends give it). */
#define HS_HTTP_SIGN_MAX 256

typedef struct hs_http_client_opts {
    size_t max_response;    /* bytes of a response body */
    size_t max_connections; /* idle kept-alive connections, over all hosts */
    size_t per_host;        /* connections to one host:port; more requests wait */
    double idle_timeout;    /* s an unused connection is kept open */
    int curl_for_http;      /* http:// through libcurl too */
    hs_http_trust trust;
    hs_http_sign_fn sign; /* NULL: requests go unsigned */
    void *sign_ud;
    const char *label_header; /* one header line every request carries (the
                                 cluster label); borrowed: it outlives the
                                 client. NULL: none */
    /* Told of each connection that could not be opened because the process
     * is out of file descriptors (EMFILE, ENFILE), on the loop, before the
     * callbacks of the requests that fail for it (as a failed connect
     * would, HS_EIO); `first` is 1 when it begins an episode: none failed
     * so in the HS_HTTP_NOFD_QUIET s before. NULL: nobody is told. */
    void (*no_fd)(void *ud, int first);
    void *no_fd_ud;
} hs_http_client_opts;

/* s: an episode of connections short of descriptors ends after this long
 * without one (see no_fd). */
#define HS_HTTP_NOFD_QUIET 10

/* Requests the trust settings failed, since creation (both back ends). */
typedef struct hs_http_refused {
    unsigned long allow;  /* the address lay outside trust.allow */
    unsigned long plain;  /* an http:// URL under https_only */
    unsigned long verify; /* the server's certificate did not verify */
} hs_http_refused;

/* *out is released with hs_http_client_close(). HS_EINVAL when an allow
 * entry is not an address range. */
hs_err hs_http_client_new(uv_loop_t *loop, const hs_http_client_opts *opts, hs_http_client **out);

/*
 * Starts a request. `body` (may be NULL for GET) is copied. `header` is one
 * extra request header line or NULL. HS_EINVAL when the URL is not one the
 * client can ask (then cb never runs). Otherwise cb runs exactly once, on
 * the loop, never from within this call (HS_EPERM: an http:// URL under
 * trust.https_only, cb never runs either); when the client is closed first
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
void hs_http_client_refused(const hs_http_client *c, hs_http_refused *out);

/* Cancels in-flight requests (their callbacks see HS_ESTATE) and frees the
 * client once its handles are closed; then `done` runs. */
void hs_http_client_close(hs_http_client *c, void (*done)(void *ud), void *ud);

#endif
