/*
 * http_response.h -- an incremental HTTP/1.x response parser, for the
 * client: status line, headers, and a body framed by Content-Length, by
 * chunked transfer coding or by the end of the connection (RFC 9112,
 * section 6.3). Interim 1xx responses are skipped.
 *
 * Bytes are fed as they arrive, split anywhere. The parser copies only
 * what it keeps: the body (up to max_body) and a line a read boundary cut
 * in two (up to HS_HTTP_LINE_MAX); a complete response in one read costs
 * one body copy and no other allocation. Nothing from the wire is trusted:
 * lines, headers and bodies have caps, numbers are checked for overflow.
 */
#ifndef HS_HTTP_RESPONSE_H
#define HS_HTTP_RESPONSE_H

#include <stddef.h>
#include <stdint.h>

#include "hearsay.h"

/* Bytes of one status, header, chunk-size or trailer line. */
#define HS_HTTP_LINE_MAX 8192
/* Bytes of a response's status line and headers together. */
#define HS_HTTP_HEAD_MAX 65536

typedef struct hs_http_resp {
    /* What the response said, once hs_http_resp_feed() reports it done. */
    int status;     /* the final status, 200..599 (or 1xx never: skipped) */
    int keep_alive; /* the connection may carry another request */
    char *body;     /* NUL-terminated, NULL when empty; owned by the parser */
    size_t len;

    /* Parser state; private. */
    int state, minor, head, chunked, close, keep_hdr, got_any;
    int64_t clen;       /* Content-Length, -1 when absent */
    uint64_t remaining; /* body or chunk bytes still to come */
    size_t max_body, cap, head_bytes;
    char *line; /* a line split across reads */
    size_t line_len, line_cap;
} hs_http_resp;

/* Starts a response to parse. head_request: the request was HEAD (no
 * body follows whatever the headers say). */
void hs_http_resp_init(hs_http_resp *r, size_t max_body, int head_request);

/*
 * Feeds len bytes. Returns HS_OK with *done 0 when more is needed (all
 * bytes consumed), or with *done 1 when the response is complete (*used
 * bytes consumed; what follows belongs to no response of ours). Errors:
 * HS_EPROTO (not HTTP, or framing that contradicts itself), HS_ETOOBIG (a
 * line, the headers or the body over its cap), HS_ENOMEM.
 */
hs_err hs_http_resp_feed(hs_http_resp *r, const char *data, size_t len, size_t *used, int *done);

/* The connection ended. HS_OK when that completes the response (a body
 * framed by the connection's end), HS_EPROTO when the response was cut. */
hs_err hs_http_resp_eof(hs_http_resp *r);

/* Whether any byte of the response has arrived. */
int hs_http_resp_started(const hs_http_resp *r);

/* Frees what the parser holds (the body too); r may be initialised again. */
void hs_http_resp_free(hs_http_resp *r);

#endif
