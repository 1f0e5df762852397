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

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <uv.h>

#include "hearsay.h"

typedef struct hs_http_server hs_http_server;

typedef struct hs_http_request {
    const char *method;
    const char *path;
    const char *body; /* NUL-terminated; NULL when empty */
    size_t len;
    int too_large;                 /* the body exceeded the cap and was discarded */
    void *conn;                    /* the server's own, for hs_http_request_header() */
    const hs_http_server *server;  /* the server serving it */
    const struct sockaddr *remote; /* the client's address (borrowed), or NULL */
    uint64_t token;                /* names this request for a deferred answer */
} hs_http_request;

typedef struct hs_http_response {
    unsigned status;
    char *body; /* malloc'd by the handler; the server frees it */
    size_t len;
    const char *allow;        /* an Allow header for 405 answers, or NULL */
    int defer;                /* set by the handler: the answer comes later */
    const char *content_type; /* NULL: application/json */
    const char *csp;          /* a Content-Security-Policy (and nosniff, no
                                 framing, no referrer), or NULL */
} hs_http_response;

typedef void (*hs_http_handler)(void *ud, const hs_http_request *req, hs_http_response *resp);

typedef struct hs_http_server_opts {
    const char *host;
    uint16_t port;
    size_t max_body;
    size_t max_connections;
    unsigned connection_timeout; /* s an idle connection is kept */
    hs_http_handler handler;
    void *ud;
    hs_log_fn log;
    void *log_ud;
    const char *log_name;
    /* TLS (README, Security): PEM files, read by hs_http_server_start. */
    const char *tls_cert, *tls_key; /* both: serve HTTPS with them */
    const char *tls_ca;             /* the CAs a client certificate must chain to */
    int tls_client_auth;            /* 1: a request without a client certificate
                                       that verifies against tls_ca gets 403 */
    const char *const *allow;       /* CIDRs: connections from elsewhere are
                                       refused at accept (borrowed; none: any) */
    size_t n_allow;
} hs_http_server_opts;

/* Starts listening; *out is released with hs_http_server_close().
 * HS_EINVAL for a bad host, allow range or TLS file (logged, naming the
 * file), HS_EIO when it cannot listen. */
hs_err hs_http_server_start(uv_loop_t *loop, const hs_http_server_opts *opts, hs_http_server **out);

uint16_t hs_http_server_port(const hs_http_server *srv);

/* Idle connections shut down to keep room for new ones, since start. */
unsigned long hs_http_server_drained(const hs_http_server *srv);
/* Episodes, since start, in which accept() failed for want of file
 * descriptors: accepting then pauses (10 ms doubling to 1 s while it
 * lasts) and idle connections are shut; the server never spins, and
 * logs each episode once. */
unsigned long hs_http_server_fd_exhausted(const hs_http_server *srv);
/* Connections refused since start: without a verified client certificate
 * (tls_client_auth), and from addresses outside `allow`. */
unsigned long hs_http_server_tls_refused(const hs_http_server *srv);
unsigned long hs_http_server_allow_refused(const hs_http_server *srv);

/* Answers a deferred request (takes `body`, malloc'd). Returns 0, or -1
 * when the request is gone (the body is then freed). */
int hs_http_server_answer(hs_http_server *srv, uint64_t token, unsigned status, char *body,
                          size_t len);

/* Returns a request header (borrowed) or NULL. */
const char *hs_http_request_header(const hs_http_request *req, const char *name);
/* A query-string argument of the request, or NULL. */
const char *hs_http_request_arg(const hs_http_request *req, const char *name);

/*
 * Stops the daemon and closes the libuv handles; `done` runs once they are
 * closed and the server is freed.
 */
void hs_http_server_close(hs_http_server *srv, void (*done)(void *ud), void *ud);

#endif
