/*
 * http_response.c -- the client's incremental HTTP/1.x response parser;
 * see http_response.h.
 *
 * A state machine over lines (status, headers, chunk sizes, trailers) and
 * counted byte runs (bodies, chunk data). Lines are found with memchr and
 * parsed where they lie in the caller's buffer; only a line that a read
 * boundary cut is copied, into a buffer that lives until the response is
 * done. Cost: one pass over the bytes, one copy of the body.
 */
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "http_response.h"

enum {
    ST_STATUS,     /* the status line */
    ST_HEADER,     /* header lines, up to the empty one */
    ST_BODY_LEN,   /* clen bytes of body */
    ST_BODY_CLOSE, /* body bytes until the connection ends */
    ST_CHUNK_SIZE, /* a chunk-size line */
    ST_CHUNK_DATA, /* remaining bytes of a chunk */
    ST_CHUNK_END,  /* the CRLF after a chunk's data */
    ST_TRAILER,    /* trailer lines after the last chunk, up to the empty one */
    ST_DONE,
};

void hs_http_resp_init(hs_http_resp *r, size_t max_body, int head_request)
{
    memset(r, 0, sizeof *r);
    r->max_body = max_body;
    r->head = head_request;
    r->clen = -1;
}

void hs_http_resp_free(hs_http_resp *r)
{
    free(r->body);
    free(r->line);
    r->body = r->line = NULL;
    r->len = r->cap = r->line_len = r->line_cap = 0;
}

int hs_http_resp_started(const hs_http_resp *r)
{
    return r->got_any;
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Whether s[0..n) equals the lower-case word w, ignoring case. */
static int word_is(const char *s, size_t n, const char *w)
{
    size_t k = 0;

    for (; k < n && w[k]; k++)
        if (lower((unsigned char)s[k]) != w[k])
            return 0;
    return k == n && !w[k];
}

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* Appends n body bytes; the body never exceeds max_body. */
static hs_err body_append(hs_http_resp *r, const char *p, size_t n)
{
    return hs_bytes_append(&r->body, &r->len, &r->cap, r->max_body, p, n);
}

/*
 * The next complete line from data[pos..len), without its CRLF (or LF):
 * HS_OK with the line in out and n, or HS_OK with out NULL when the line goes on in
 * the next read (what there is of it kept). Lines count towards the head
 * cap while the head is being read.
 */
static hs_err next_line(hs_http_resp *r, const char *data, size_t len, size_t *pos,
                        const char **out, size_t *n)
{
    const char *start = data + *pos;
    size_t avail = len - *pos;
    const char *nl = memchr(start, '\n', avail);
    size_t take = nl ? (size_t)(nl - start) + 1 : avail;

    *out = NULL;
    if (r->line_len + take > HS_HTTP_LINE_MAX)
        return HS_ETOOBIG;
    if (r->state <= ST_HEADER || r->state == ST_TRAILER) {
        r->head_bytes += take;
        if (r->head_bytes > HS_HTTP_HEAD_MAX)
            return HS_ETOOBIG;
    }
    *pos += take;
    if (!nl || r->line_len) {
        /* Cut by a read boundary (now or before): gather it. */
        if (r->line_len + take > r->line_cap) {
            size_t cap = r->line_cap ? r->line_cap * 2 : 256;
            while (cap < r->line_len + take)
                cap *= 2;
            char *b = realloc(r->line, cap);
            if (!b)
                return HS_ENOMEM;
            r->line = b;
            r->line_cap = cap;
        }
        memcpy(r->line + r->line_len, start, take);
        r->line_len += take;
        if (!nl)
            return HS_OK;
        start = r->line;
        take = r->line_len;
        r->line_len = 0; /* the bytes stay valid until the next gather */
    }
    take--; /* the LF */
    if (take && start[take - 1] == '\r')
        take--;
    *out = start;
    *n = take;
    return HS_OK;
}

/* "HTTP/1.x SSS[ reason]" */
static hs_err status_line(hs_http_resp *r, const char *s, size_t n)
{
    if (n < 12 || memcmp(s, "HTTP/1.", 7) != 0 || (s[7] != '0' && s[7] != '1') || s[8] != ' ')
        return HS_EPROTO;
    for (int i = 9; i < 12; i++)
        if (s[i] < '0' || s[i] > '9')
            return HS_EPROTO;
    if (n > 12 && s[12] != ' ')
        return HS_EPROTO;
    r->minor = s[7] - '0';
    r->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
    if (r->status < 100 || r->status > 599)
        return HS_EPROTO;
    return HS_OK;
}

/* Whether the comma-separated list v[0..n) holds the token w. */
static int list_has(const char *v, size_t n, const char *w)
{
    size_t i = 0;

    while (i < n) {
        size_t a = i, b;
        while (i < n && v[i] != ',')
            i++;
        b = i++;
        while (a < b && is_ows(v[a]))
            a++;
        while (b > a && is_ows(v[b - 1]))
            b--;
        if (word_is(v + a, b - a, w))
            return 1;
    }
    return 0;
}

/* Whether the last coding of the list v[0..n) is "chunked". */
static int last_is_chunked(const char *v, size_t n)
{
    while (n && is_ows(v[n - 1]))
        n--;
    size_t a = n;
    while (a && v[a - 1] != ',')
        a--;
    while (a < n && is_ows(v[a]))
        a++;
    return word_is(v + a, n - a, "chunked");
}

static hs_err header_line(hs_http_resp *r, const char *s, size_t n)
{
    const char *colon = memchr(s, ':', n);
    size_t nlen, a, b;

    /* No obsolete line folding, no space before the colon. */
    if (!colon || colon == s || is_ows(s[0]) || is_ows(colon[-1]))
        return HS_EPROTO;
    nlen = (size_t)(colon - s);
    a = nlen + 1;
    b = n;
    while (a < b && is_ows(s[a]))
        a++;
    while (b > a && is_ows(s[b - 1]))
        b--;
    const char *v = s + a;
    size_t vlen = b - a;
    if (word_is(s, nlen, "content-length")) {
        int64_t x = 0;
        if (vlen == 0 || vlen > 18)
            return HS_EPROTO;
        for (size_t i = 0; i < vlen; i++) {
            if (v[i] < '0' || v[i] > '9')
                return HS_EPROTO;
            x = x * 10 + (v[i] - '0');
        }
        if (r->clen >= 0 && r->clen != x)
            return HS_EPROTO; /* two lengths: which body is it? */
        r->clen = x;
    } else if (word_is(s, nlen, "transfer-encoding")) {
        /* Any other coding, or chunked not last: framed by the close. */
        r->chunked = last_is_chunked(v, vlen) ? 1 : -1;
    } else if (word_is(s, nlen, "connection")) {
        if (list_has(v, vlen, "close"))
            r->close = 1;
        if (list_has(v, vlen, "keep-alive"))
            r->keep_hdr = 1;
    }
    return HS_OK;
}

/* The empty line after the headers: decides how the body is framed. */
static hs_err head_done(hs_http_resp *r, int *done)
{
    if (r->status < 200) {
        if (r->status == 101)
            return HS_EPROTO; /* we never ask to switch protocols */
        /* An interim answer (100 Continue, 103): the real one follows. */
        hs_http_resp next;
        hs_http_resp_init(&next, r->max_body, r->head);
        next.head_bytes = r->head_bytes;
        next.got_any = 1;
        next.line = r->line; /* the gathering buffer carries over */
        next.line_cap = r->line_cap;
        *r = next;
        return HS_OK;
    }
    r->keep_alive = r->minor >= 1 ? !r->close : r->keep_hdr && !r->close;
    if (r->head || r->status == 204 || r->status == 304) {
        r->state = ST_DONE;
    } else if (r->chunked == 1) {
        /* A length beside chunked coding is ignored, and the connection
         * not trusted with another request (RFC 9112, 6.3). */
        if (r->clen >= 0)
            r->keep_alive = 0;
        r->state = ST_CHUNK_SIZE;
    } else if (r->chunked == -1 || r->clen < 0) {
        r->keep_alive = 0;
        r->state = ST_BODY_CLOSE;
    } else if ((uint64_t)r->clen > r->max_body) {
        return HS_ETOOBIG;
    } else {
        r->remaining = (uint64_t)r->clen;
        if (r->clen > 0) {
            r->body = malloc((size_t)r->clen + 1);
            if (!r->body)
                return HS_ENOMEM;
            r->cap = (size_t)r->clen + 1;
            r->body[0] = '\0';
        }
        r->state = r->clen ? ST_BODY_LEN : ST_DONE;
    }
    *done = r->state == ST_DONE;
    return HS_OK;
}

/* "1a3f[;ext...]" */
static hs_err chunk_size(hs_http_resp *r, const char *s, size_t n)
{
    uint64_t x = 0;
    size_t i = 0;

    for (; i < n; i++) {
        int c = lower((unsigned char)s[i]), d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else
            break;
        if (i >= 15)
            return HS_EPROTO;
        x = x * 16 + (uint64_t)d;
    }
    if (i == 0)
        return HS_EPROTO;
    while (i < n && is_ows(s[i]))
        i++;
    if (i < n && s[i] != ';')
        return HS_EPROTO;
    if (x > r->max_body - r->len)
        return HS_ETOOBIG;
    r->remaining = x;
    r->state = x ? ST_CHUNK_DATA : ST_TRAILER;
    return HS_OK;
}

hs_err hs_http_resp_feed(hs_http_resp *r, const char *data, size_t len, size_t *used, int *done)
{
    size_t pos = 0;
    hs_err err = HS_OK;

    *done = 0;
    if (len)
        r->got_any = 1;
    while (pos < len && r->state != ST_DONE && err == HS_OK) {
        const char *line;
        size_t n = 0;

        switch (r->state) {
        case ST_BODY_LEN:
        case ST_CHUNK_DATA: {
            size_t take = len - pos;
            if ((uint64_t)take > r->remaining)
                take = (size_t)r->remaining;
            err = body_append(r, data + pos, take);
            pos += take;
            r->remaining -= take;
            if (r->remaining == 0)
                r->state = r->state == ST_BODY_LEN ? ST_DONE : ST_CHUNK_END;
            break;
        }
        case ST_BODY_CLOSE:
            err = body_append(r, data + pos, len - pos);
            pos = len;
            break;
        default:
            if ((err = next_line(r, data, len, &pos, &line, &n)) != HS_OK || !line)
                break;
            if (r->state == ST_STATUS) {
                err = status_line(r, line, n);
                r->state = ST_HEADER;
            } else if (r->state == ST_HEADER) {
                err = n ? header_line(r, line, n) : head_done(r, done);
            } else if (r->state == ST_CHUNK_SIZE) {
                err = chunk_size(r, line, n);
            } else if (r->state == ST_CHUNK_END) {
                err = n ? HS_EPROTO : HS_OK;
                r->state = ST_CHUNK_SIZE;
            } else if (n == 0) { /* ST_TRAILER: trailers are read, not kept */
                r->state = ST_DONE;
            }
            break;
        }
    }
    if (err != HS_OK)
        return err;
    *done = r->state == ST_DONE;
    *used = pos;
    if (*done) {
        free(r->line);
        r->line = NULL;
        r->line_len = r->line_cap = 0;
    }
    return HS_OK;
}

hs_err hs_http_resp_eof(hs_http_resp *r)
{
    if (r->state == ST_BODY_CLOSE) {
        r->state = ST_DONE;
        return HS_OK;
    }
    return r->state == ST_DONE ? HS_OK : HS_EPROTO;
}
