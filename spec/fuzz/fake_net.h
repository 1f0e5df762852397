/*
 * fake_net.h -- a transport without sockets, for the node targets.
 *
 * fake_net.c implements core/http_server.h and core/http_client.h (it
 * takes the place of http_server.c, http_client.c and http_curl.c at link
 * time), so a node starts, serves and sends as usual while the target
 * plays the network: it hands the node requests (fake_server_serve) and
 * answers the node's own requests with whatever bytes it likes
 * (fake_client_answer). Nothing is bound or connected; callbacks run only
 * from these calls or from hs_http_client_close(), as the real client
 * promises.
 */
#ifndef HS_FAKE_NET_H
#define HS_FAKE_NET_H

#include <stddef.h>
#include <stdint.h>

#include "http_client.h"
#include "http_server.h"

/* A request the node made, waiting for its answer. Strings are owned by
 * the fake; body holds len bytes (NULL for none). */
typedef struct fake_request {
    uint64_t id;    /* 1, 2, ... per client */
    double timeout; /* s, as asked */
    char *method, *url, *header, *body;
    size_t len;
    hs_http_cb cb;
    void *ud;
    struct fake_request *next;
} fake_request;

/* fn sees every request c makes, as it is made (borrowed for the call). */
typedef void (*fake_request_fn)(void *ud, const fake_request *r);
void fake_client_observe(hs_http_client *c, fake_request_fn fn, void *ud);

/* Requests of c waiting for an answer, and the oldest of them (borrowed). */
size_t fake_client_pending(const hs_http_client *c);
const fake_request *fake_client_oldest(const hs_http_client *c);

/* Answers c's oldest request: with `status` and body[0..len) when err is
 * HS_OK, else as a transport failure. Returns 0, or -1 when none waits. */
int fake_client_answer(hs_http_client *c, hs_err err, long status, const char *body, size_t len);

/* Answers c's request with this id, as fake_client_answer (which says
 * the round trip took 1.5 ms) but in rtt_ms; -1 when it is not waiting
 * (answered, or failed when c closed). */
int fake_client_answer_id(hs_http_client *c, uint64_t id, hs_err err, long status, double rtt_ms,
                          const char *body, size_t len);

/* Moves c's oldest request to the back of the line. */
void fake_client_rotate(hs_http_client *c);

/* fn sees each deferred answer given with hs_http_server_answer(), with
 * the token of its request (fake_server_last_token). */
typedef void (*fake_answer_fn)(void *ud, uint64_t token, unsigned status, const char *body,
                               size_t len);
void fake_server_observe(hs_http_server *s, fake_answer_fn fn, void *ud);

/* The address the requests s serves from now on come from (borrowed), or
 * NULL (none, as before the first call). */
void fake_server_remote(hs_http_server *s, const struct sockaddr *remote);

/* The token of the request s served last. */
uint64_t fake_server_last_token(const hs_http_server *s);

/*
 * Serves one request through the node's handler, as libmicrohttpd would
 * hand it over: `target` is the path with any query string, `from` the
 * X-Hearsay-From header or NULL, headers[0..nheaders) more header lines
 * ("Name: value"), the body is copied (and discarded with too_large set
 * above the server's max_body). Everything is borrowed for the call.
 * *resp gets the answer; its body is the caller's to free. A deferred
 * answer arrives later through the observer.
 */
void fake_server_serve(hs_http_server *s, const char *method, const char *target, const char *from,
                       const char *const *headers, size_t nheaders, const char *body, size_t len,
                       hs_http_response *resp);

/* Deferred requests of s still unanswered. */
size_t fake_server_deferred(const hs_http_server *s);

#endif
