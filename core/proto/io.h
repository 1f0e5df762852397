/*
 * io.h -- the seam between the protocol (core/proto/) and what runs it.
 * A node serves and makes HTTP requests through a transport (the server
 * and client ops below), and needs one timer, word of its loop's stalls
 * and DNS lookups that may block (hs_io). The real ones are in core/net/:
 * libmicrohttpd, the own HTTP/1.1 client and libcurl on a libuv loop
 * (io_uv.c, made by hs_node_new); the simulator's in core/sim/: requests
 * travel in memory (memnet.c) and time is virtual (sim.c). Nothing in the
 * protocol knows which it runs on, and nothing in it may include uv.h,
 * curl or libmicrohttpd (the build refuses: CMakeLists.txt, poison/).
 *
 * An implementation puts the base struct first in its own and fills an
 * ops table. Every callback runs on the node's thread, never from within
 * the call that asked for it, unless said otherwise.
 */
#ifndef HS_IO_H
#define HS_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "clock.h"
#include "hearsay.h"

typedef struct hs_io hs_io;

/* ---- HTTP: what the protocol asks and answers -------------------------- */

/* Requests are answered, and answers read, up to a cap on their bodies;
 * a larger request body reaches the handler with `too_large` set (its
 * bytes discarded), a larger answer fails the request. A handler answers
 * synchronously, or defers: it sets `defer` and later calls
 * hs_http_server_answer() with the request's token (a token whose
 * connection is gone is simply ignored). */

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

/* The body of every refusal a node answers: {"status": "error", "error":
 * reason}, a new reference (NULL out of memory); and the same as compact
 * text (malloc'd, its length in *len; NULL out of memory). */
json_t *hs_http_error_json(const char *reason);
char *hs_http_error_text(const char *reason, size_t *len);

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

/* ---- the server's and the client's operations (any transport) ---------- */

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

/* Stops serving; `done` runs once what the server holds is closed and it
 * is freed (from within this call, on a transport that holds nothing). */
void hs_http_server_close(hs_http_server *srv, void (*done)(void *ud), void *ud);

/*
 * Starts a request. `body` (may be NULL for GET) is copied. `header` is one
 * extra request header line or NULL. HS_EINVAL when the URL is not one the
 * client can ask (then cb never runs). Otherwise cb runs exactly once, on
 * the node's thread, never from within this call (HS_EPERM: an http:// URL under
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
 * client once what it holds is closed; then `done` runs. */
void hs_http_client_close(hs_http_client *c, void (*done)(void *ud), void *ud);

/* ---- what a transport implements ---------------------------------------- */

typedef struct hs_http_server_ops {
    uint16_t (*port)(const hs_http_server *s);
    unsigned long (*drained)(const hs_http_server *s);
    unsigned long (*fd_exhausted)(const hs_http_server *s);
    unsigned long (*tls_refused)(const hs_http_server *s);
    unsigned long (*allow_refused)(const hs_http_server *s);
    int (*answer)(hs_http_server *s, uint64_t token, unsigned status, char *body, size_t len);
    const char *(*header)(const hs_http_request *req, const char *name);
    const char *(*arg)(const hs_http_request *req, const char *name);
    void (*close)(hs_http_server *s, void (*done)(void *ud), void *ud);
} hs_http_server_ops;

typedef struct hs_http_client_ops {
    hs_err (*request)(hs_http_client *c, const char *method, const char *url, const char *body,
                      size_t len, const char *header, double timeout_s, hs_http_cb cb, void *ud);
    unsigned long (*requests)(const hs_http_client *c);
    unsigned long (*connects)(const hs_http_client *c);
    size_t (*inflight)(const hs_http_client *c);
    size_t (*idle)(const hs_http_client *c);
    void (*refused)(const hs_http_client *c, hs_http_refused *out);
    void (*close)(hs_http_client *c, void (*done)(void *ud), void *ud);
} hs_http_client_ops;

/* The first member of every implementation's server and client. */
struct hs_http_server {
    const hs_http_server_ops *ops;
};
struct hs_http_client {
    const hs_http_client_ops *ops;
    uint64_t bytes_out, bytes_in; /* request and response bodies (io.c) */
};

/* Makes a node's server and client; ud is the transport's own. */
typedef struct hs_transport hs_transport;
struct hs_transport {
    const char *name;
    hs_err (*server_start)(void *ud, hs_io *io, const hs_http_server_opts *opts,
                           hs_http_server **out);
    hs_err (*client_new)(void *ud, hs_io *io, const hs_http_client_opts *opts,
                         hs_http_client **out);
    void *ud;
};

/* A method every transport's client takes: 1 to 16 of A-Z, '-', '_'. */
int hs_http_valid_method(const char *m);

/* ---- the rest of what runs a node ----------------------------------------- */

/* s: a loop turn this much longer than it should have taken means the
 * node's own thread is stalled (hs_io_events.stalled, hs_io_ops.lag). */
#define HS_STALL_LAG 0.1

/* What an io tells its node. */
typedef struct hs_io_events {
    void (*fire)(void *ud);                 /* the timer came due */
    void (*stalled)(void *ud, double mono); /* the loop's turns ran late (at
                                               monotonic s `mono`): what timed
                                               out meanwhile says nothing of
                                               the peers */
    void *ud;
} hs_io_events;

/* The addresses a DNS bootstrap entry gave, as URLs (borrowed for the
 * call), or none and a sentence saying why; err is HS_ESTATE when the
 * lookup was called off before it ran. */
typedef void (*hs_io_resolved)(void *ud, hs_err err, const char *const *urls, size_t n,
                               const char *error);

typedef struct hs_io_ops {
    /* Begins: from now on the io may call ev's functions (ev is copied). */
    hs_err (*start)(hs_io *io, const hs_io_events *ev);
    /* Fires the timer once, in_s seconds from now (rounded up to the io's
     * steps; 0: at its next turn), in place of what it was set to; a
     * negative in_s stops it. */
    void (*arm)(hs_io *io, double in_s);
    /* How far, in s, the start of the loop's current turn lies behind
     * monotonic s `mono` (0 where turns take no time, as in a simulator). */
    double (*lag)(const hs_io *io, double mono);
    /* Seconds the thread running the node has spent working (not waiting
     * for events) since a point of the io's choosing: it only grows, and
     * only its differences mean anything (several nodes on one loop read
     * the same). Negative where it is not known (a simulator without a
     * CPU model). What hs_node_load follows. */
    double (*busy)(const hs_io *io);
    /* Seconds the thread running the node has waited, ready to run, for a
     * CPU (the kernel's run-queue delay) since a point of the io's
     * choosing: it only grows, and only its differences mean anything.
     * Negative where it is not known (a simulator without a CPU model).
     * A request that ran into its timeout while its node waited that long
     * says nothing of the peer (membership.c, starved). */
    double (*waited)(const hs_io *io);
    /* Looks up a DNS bootstrap entry ("dns+NAME:PORT", "dnssrv+..."; see
     * discovery.h) off the node's thread; URLs get https:// when tls.
     * cb runs exactly once unless this returns an error. */
    hs_err (*resolve)(hs_io *io, const char *entry, int tls, hs_io_resolved cb, void *ud);
    /* Stops the timer and the watch and frees the io; `done` (may be
     * NULL) runs once its resources are released, from within this call
     * when it was never started. A lookup under way still ends with its
     * callback, which may come after that. */
    void (*close)(hs_io *io, void (*done)(void *ud), void *ud);
} hs_io_ops;

struct hs_io {
    const hs_io_ops *ops;
    const hs_transport *transport; /* a node's unless hs_config.transport
                                      names another */
    hs_clock clock;                /* the only time the protocol reads (its
                                      ud outlives every node on the io) */
};

/* A node on `io`, which it takes in every case: closed with the node, or
 * at once when this fails. Otherwise as hs_node_new. */
hs_err hs_node_new_io(hs_io *io, const hs_config *cfg, hs_node **out);

/* The io a node runs on. */
hs_io *hs_node_io(const hs_node *n);

#endif
