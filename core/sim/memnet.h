/*
 * memnet.h -- a transport without sockets (core/proto/io.h): the
 * simulator's (sim.h) and the fuzz targets' network.
 *
 * A node given hs_memnet_transport (hs_config.transport) starts, serves
 * and sends as usual while its owner plays the network: it hands the node
 * requests (hs_memnet_server_serve) and answers the node's own requests
 * with whatever bytes it likes (hs_memnet_client_answer). Nothing is bound
 * or connected and nothing reads a clock; callbacks run only from these
 * calls or from hs_http_client_close(), as the real client promises.
 * Arguments are checked as the real transport checks them (URLs, methods,
 * one header line), so the node sees the same refusals.
 */
#ifndef HS_MEMNET_H
#define HS_MEMNET_H

#include <stddef.h>
#include <stdint.h>

#include "io.h"

extern const hs_transport hs_memnet_transport;

/* A request the node made, waiting for its answer. Strings are owned by
 * memnet; body holds len bytes (NULL for none). */
typedef struct hs_memnet_request {
    uint64_t id;    /* 1, 2, ... per client */
    double timeout; /* s, as asked */
    char *method, *url, *header, *body;
    const char *label; /* the client's label_header (borrowed), or NULL */
    size_t len;
    hs_http_cb cb;
    void *ud;
    struct hs_memnet_request *next, *prev; /* the line, oldest first */
} hs_memnet_request;

/* fn sees every request c makes, as it is made (borrowed for the call). */
typedef void (*hs_memnet_request_fn)(void *ud, const hs_memnet_request *r);
void hs_memnet_client_observe(hs_http_client *c, hs_memnet_request_fn fn, void *ud);

/* Requests of c waiting for an answer, and the oldest of them (borrowed). */
size_t hs_memnet_client_pending(const hs_http_client *c);
const hs_memnet_request *hs_memnet_client_oldest(const hs_http_client *c);

/* Answers c's oldest request: with `status` and body[0..len) when err is
 * HS_OK, else as a transport failure. Returns 0, or -1 when none waits. */
int hs_memnet_client_answer(hs_http_client *c, hs_err err, long status, const char *body,
                            size_t len);

/* Answers c's request with this id, as hs_memnet_client_answer (which says
 * the round trip took 1.5 ms) but in rtt_ms; -1 when it is not waiting
 * (answered, or failed when c closed). */
int hs_memnet_client_answer_id(hs_http_client *c, uint64_t id, hs_err err, long status,
                               double rtt_ms, const char *body, size_t len);

/* Moves c's oldest request to the back of the line. */
void hs_memnet_client_rotate(hs_http_client *c);

/* fn sees each deferred answer given with hs_http_server_answer(), with
 * the token of its request (hs_memnet_server_last_token). */
typedef void (*hs_memnet_answer_fn)(void *ud, uint64_t token, unsigned status, const char *body,
                                    size_t len);
void hs_memnet_server_observe(hs_http_server *s, hs_memnet_answer_fn fn, void *ud);

/* The address the requests s serves from now on come from (borrowed), or
 * NULL (none, as before the first call). */
void hs_memnet_server_remote(hs_http_server *s, const struct sockaddr *remote);

/* The token of the request s served last. */
uint64_t hs_memnet_server_last_token(const hs_http_server *s);

/*
 * Serves one request through the node's handler, as libmicrohttpd would
 * hand it over: `target` is the path with any query string, `from` the
 * X-Hearsay-From header or NULL, headers[0..nheaders) more header lines
 * ("Name: value"), the body is copied (and discarded with too_large set
 * above the server's max_body). Everything is borrowed for the call.
 * *resp gets the answer; its body is the caller's to free. A deferred
 * answer arrives later through the observer.
 */
void hs_memnet_server_serve(hs_http_server *s, const char *method, const char *target,
                            const char *from, const char *const *headers, size_t nheaders,
                            const char *body, size_t len, hs_http_response *resp);

/* Deferred requests of s still unanswered. */
size_t hs_memnet_server_deferred(const hs_http_server *s);

#endif
