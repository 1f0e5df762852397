/*
 * transport.h -- the seam between the protocol and the network.
 *
 * A node serves requests through an hs_http_server and makes its own
 * through an hs_http_client; both are reached only through the functions
 * of http_server.h and http_client.h, which dispatch here. A transport
 * makes the two: hs_transport_http is the real one (libmicrohttpd, the
 * own HTTP/1.1 client, libcurl: http_server.c, http_client.c,
 * http_curl.c); the simulator's is core/sim/memnet.c, where requests
 * travel in memory in virtual time. Nothing in the protocol knows which
 * it runs on: hs_config.transport picks it (NULL: HTTP).
 *
 * An implementation puts the base struct first in its own and fills an
 * ops table; the rules each operation keeps are the ones http_server.h
 * and http_client.h state.
 */
#ifndef HS_TRANSPORT_H
#define HS_TRANSPORT_H

#include "http_client.h"
#include "http_server.h"
#include "io.h"

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
    uint64_t bytes_out, bytes_in; /* request and response bodies (transport.c) */
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

/* Sockets: hs_http_server_start() and hs_http_client_new(), on the loop
 * of an io made by hs_io_uv_new() (others: HS_EINVAL). Immutable. */
extern const hs_transport hs_transport_http;

/* A method every transport's client takes: 1 to 16 of A-Z, '-', '_'. */
int hs_http_valid_method(const char *m);

#endif
