/*
 * test_http.c -- hearsay's HTTP/1.1 client: the response parser (framing,
 * caps, every split of the bytes), URL splitting, and the client itself
 * against a scripted server on 127.0.0.1 in the same loop: kept-alive
 * connections reused, a closed kept-alive connection retried once, limits
 * per host and on idle connections, timeouts, refusals, running out of
 * file descriptors, and closing.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <uv.h>

#include "check.h"
#include "http_client.h"
#include "http_response.h"
#include "http_url.h"
#include "uvtest.h"

/* ---- the parser -------------------------------------------------------- */

/* Feeds text split at `cut` (and, past it, in one piece); returns the
 * error, with *done and *used of the last feed. */
static hs_err feed_split(hs_http_resp *r, const char *text, size_t cut, int *done, size_t *used)
{
    size_t len = strlen(text), u = 0;
    hs_err err = HS_OK;

    *done = 0;
    *used = 0;
    if (cut > 0 && cut < len) {
        err = hs_http_resp_feed(r, text, cut, &u, done);
        if (err != HS_OK || *done) {
            *used = u;
            return err;
        }
        err = hs_http_resp_feed(r, text + cut, len - cut, &u, done);
        *used = cut + u;
        return err;
    }
    err = hs_http_resp_feed(r, text, len, &u, done);
    *used = u;
    return err;
}

static void parses_at_every_split(const char *text, int status, const char *body, int keep)
{
    size_t len = strlen(text);
    int ok = 1;

    for (size_t cut = 0; cut <= len; cut++) {
        hs_http_resp r;
        int done;
        size_t used;
        hs_http_resp_init(&r, 1000, 0);
        hs_err err = feed_split(&r, text, cut, &done, &used);
        if (err != HS_OK || !done || used != len || r.status != status || r.keep_alive != keep ||
            r.len != strlen(body) || (r.len && memcmp(r.body, body, r.len) != 0) ||
            (r.body && r.body[r.len])) {
            fprintf(stderr, "split at %zu of: %s\n", cut, text);
            ok = 0;
        }
        hs_http_resp_free(&r);
    }
    CHECK(ok);
}

static hs_err parse_whole(const char *text, size_t max, int head, hs_http_resp *r, int *done)
{
    size_t used;

    hs_http_resp_init(r, max, head);
    return hs_http_resp_feed(r, text, strlen(text), &used, done);
}

static void the_parser_frames_bodies_every_way(void)
{
    parses_at_every_split("HTTP/1.1 200 OK\r\nContent-Length: 11\r\nX-A: b\r\n\r\nhello world", 200,
                          "hello world", 1);
    parses_at_every_split("HTTP/1.1 404 Not Found\r\ncontent-length:  2 \r\n\r\nno", 404, "no", 1);
    parses_at_every_split("HTTP/1.1 200 OK\nContent-Length: 2\n\nok", 200, "ok", 1);
    parses_at_every_split("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n",
                          200, "hello world", 1);
    parses_at_every_split("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n"
                          "A\r\n0123456789\r\n0\r\n\r\n",
                          200, "0123456789", 1);
    parses_at_every_split("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx", 200,
                          "x", 0);
    parses_at_every_split("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", 200, "x", 0);
    parses_at_every_split("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\nx",
                          200, "x", 1);
    parses_at_every_split("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\n"
                          "Content-Length: 3\r\n\r\nnew",
                          201, "new", 1);
    parses_at_every_split("HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n", 204, "", 1);
    parses_at_every_split("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 200, "", 1);

    /* Chunked beside a length: the length is ignored, the connection is
     * not trusted again. */
    parses_at_every_split("HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n"
                          "\r\n2\r\nab\r\n0\r\n\r\n",
                          200, "ab", 0);

    /* A body up to the connection's end. */
    hs_http_resp r;
    int done;
    CHECK(parse_whole("HTTP/1.1 200 OK\r\n\r\nall of it", 100, 0, &r, &done) == HS_OK && !done);
    CHECK(hs_http_resp_eof(&r) == HS_OK && r.len == 9 && r.keep_alive == 0);
    hs_http_resp_free(&r);
    /* Another coding than chunked last: framed by the end too. */
    CHECK(parse_whole("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\nzz", 100, 0, &r,
                      &done) == HS_OK &&
          !done);
    CHECK(hs_http_resp_eof(&r) == HS_OK && r.len == 2);
    hs_http_resp_free(&r);

    /* The answer to HEAD has no body whatever its length says. */
    CHECK(parse_whole("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", 100, 1, &r, &done) == HS_OK &&
          done && r.len == 0 && r.keep_alive);
    hs_http_resp_free(&r);

    /* Bytes after a complete answer are left unconsumed. */
    size_t used;
    const char *two = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP/1.1";
    hs_http_resp_init(&r, 100, 0);
    CHECK(hs_http_resp_feed(&r, two, strlen(two), &used, &done) == HS_OK && done && used == 39);
    hs_http_resp_free(&r);
}

static void the_parser_refuses_what_is_not_http_or_too_big(void)
{
    static const struct {
        const char *text;
        hs_err err;
    } bad[] = {
        {"SSH-2.0-OpenSSH\r\n", HS_EPROTO},
        {"HTTP/2 200\r\n\r\n", HS_EPROTO},
        {"HTTP/1.1 2000 OK\r\n\r\n", HS_EPROTO},
        {"HTTP/1.1 099 Low\r\n\r\n", HS_EPROTO},
        {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", HS_EPROTO},
        {"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", HS_EPROTO},
        {"HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", HS_EPROTO},
        {"HTTP/1.1 200 OK\r\nX-A: a\r\n folded\r\n\r\n", HS_EPROTO},
        {"HTTP/1.1 200 OK\r\nX-A : a\r\n\r\n", HS_EPROTO},
        {"HTTP/1.1 200 OK\r\nnocolon\r\n\r\n", HS_EPROTO},
        {"HTTP/1.1 101 Switching Protocols\r\n\r\n", HS_EPROTO},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", HS_EPROTO},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n", HS_EPROTO},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n", HS_EPROTO},
        {"HTTP/1.1 200 OK\r\nContent-Length: 101\r\n\r\n", HS_ETOOBIG},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n65\r\n", HS_ETOOBIG},
    };
    hs_http_resp r;
    int done;

    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        hs_err err = parse_whole(bad[i].text, 100, 0, &r, &done);
        if (err != bad[i].err)
            fprintf(stderr, "case %zu: got %d\n", i, (int)err);
        CHECK(err == bad[i].err);
        hs_http_resp_free(&r);
    }
    /* A body that grows past the cap while it streams. */
    CHECK(parse_whole("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "32\r\n01234567890123456789012345678901234567890123456789\r\n"
                      "40\r\n",
                      100, 0, &r, &done) == HS_ETOOBIG);
    hs_http_resp_free(&r);
    CHECK(parse_whole("HTTP/1.1 200 OK\r\n\r\n", 4, 0, &r, &done) == HS_OK);
    size_t used;
    CHECK(hs_http_resp_feed(&r, "12345", 5, &used, &done) == HS_ETOOBIG);
    hs_http_resp_free(&r);

    /* A line longer than HS_HTTP_LINE_MAX, even when it comes in pieces. */
    char *line = malloc(HS_HTTP_LINE_MAX + 64);
    memcpy(line, "HTTP/1.1 200 OK\r\nX-Long: ", 26);
    memset(line + 26, 'a', HS_HTTP_LINE_MAX);
    hs_http_resp_init(&r, 100, 0);
    hs_err err = HS_OK;
    for (size_t off = 0; off < 26 + HS_HTTP_LINE_MAX && err == HS_OK; off += 1000) {
        size_t n = 26 + HS_HTTP_LINE_MAX - off < 1000 ? 26 + HS_HTTP_LINE_MAX - off : 1000;
        err = hs_http_resp_feed(&r, line + off, n, &used, &done);
    }
    CHECK(err == HS_ETOOBIG);
    hs_http_resp_free(&r);
    free(line);

    /* Headers over HS_HTTP_HEAD_MAX in all, each line short. */
    hs_http_resp_init(&r, 100, 0);
    err = hs_http_resp_feed(&r, "HTTP/1.1 200 OK\r\n", 17, &used, &done);
    for (int i = 0; i < HS_HTTP_HEAD_MAX / 16 + 1 && err == HS_OK; i++)
        err = hs_http_resp_feed(&r, "X-Header: 12345\r\n", 17, &used, &done);
    CHECK(err == HS_ETOOBIG);
    hs_http_resp_free(&r);

    /* Cut short: the connection ended inside the headers or the body. */
    CHECK(parse_whole("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", 100, 0, &r, &done) ==
          HS_OK);
    CHECK(!done && hs_http_resp_eof(&r) == HS_EPROTO);
    hs_http_resp_free(&r);
    hs_http_resp_init(&r, 100, 0);
    CHECK(!hs_http_resp_started(&r) && hs_http_resp_eof(&r) == HS_EPROTO);
    hs_http_resp_free(&r);
}

/* ---- URLs -------------------------------------------------------------- */

static void urls_split_into_host_port_and_target(void)
{
    hs_http_url u;

    CHECK(hs_http_url_parse("http://127.0.0.1:8080/gossip", &u) == HS_OK);
    CHECK(!u.tls && strcmp(u.host, "127.0.0.1") == 0 && u.port == 8080);
    CHECK(u.authority_len == 14 && memcmp(u.authority, "127.0.0.1:8080", 14) == 0);
    CHECK(u.path_len == 7 && memcmp(u.path, "/gossip", 7) == 0);

    CHECK(hs_http_url_parse("HTTP://Node-1.example.COM", &u) == HS_OK);
    CHECK(strcmp(u.host, "Node-1.example.COM") == 0 && u.port == 80 && u.path_len == 0);

    CHECK(hs_http_url_parse("https://[::1]:8443/peers?sample=8#frag", &u) == HS_OK);
    CHECK(u.tls && strcmp(u.host, "::1") == 0 && u.port == 8443);
    CHECK(u.authority_len == 10 && memcmp(u.authority, "[::1]:8443", 10) == 0);
    CHECK(u.path_len == 15 && memcmp(u.path, "/peers?sample=8", 15) == 0);

    CHECK(hs_http_url_parse("http://h?q=1", &u) == HS_OK && u.path_len == 4 && u.path[0] == '?');
    CHECK(hs_http_url_parse("https://h", &u) == HS_OK && u.port == 443);

    static const char *const bad[] = {
        NULL,
        "ftp://h/",
        "http://",
        "http:///x",
        "http://user@h/",
        "http://h:0/",
        "http://h:65536",
        "http://h:/",
        "http://h:80x/",
        "http://h/a b",
        "http://[::1/",
        "http://[]/",
        "http://h%41/",
        "http://h/\x01",
        "127.0.0.1:80",
        "http://[g::1]/",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(hs_http_url_parse(bad[i], &u) == HS_EINVAL);
}

/* ---- a scripted server ------------------------------------------------- */

/* What the server does with the k-th request it reads (over all
 * connections, from 0) that came as the n-th on its connection. */
typedef enum act { ANSWER, ANSWER_CLOSE, CLOSE, SILENT } act;

typedef struct server server;
typedef act (*script_fn)(server *s, int k, int n, const char **answer);

struct server {
    uv_tcp_t listener;
    uv_loop_t *loop;
    uint16_t port;
    script_fn script;
    int accepts, requests, closed_by_client;
    char last[512]; /* the last request head, NUL-terminated */
};

typedef struct sconn {
    uv_tcp_t tcp;
    server *s;
    char buf[8192];
    size_t len;
    int n;
} sconn;

static void sconn_closed(uv_handle_t *h)
{
    free(h->data);
}

static void swrite_done(uv_write_t *w, int status)
{
    (void)status;
    free(w);
}

static void swrite(sconn *k, const char *text)
{
    uv_write_t *w = malloc(sizeof *w + strlen(text));
    char *copy = (char *)(w + 1);
    memcpy(copy, text, strlen(text));
    uv_buf_t b = uv_buf_init(copy, (unsigned)strlen(text));
    uv_write(w, (uv_stream_t *)&k->tcp, &b, 1, swrite_done);
}

static void salloc(uv_handle_t *h, size_t size, uv_buf_t *buf)
{
    sconn *k = h->data;
    (void)size;
    buf->base = k->buf + k->len;
    buf->len = sizeof k->buf - k->len;
}

static void sread(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    sconn *k = st->data;
    (void)buf;

    if (nread < 0) {
        k->s->closed_by_client++;
        uv_close((uv_handle_t *)&k->tcp, sconn_closed);
        return;
    }
    k->len += (size_t)nread;
    for (;;) {
        char *end = memmem(k->buf, k->len, "\r\n\r\n", 4);
        if (!end)
            return;
        size_t head = (size_t)(end - k->buf) + 4, body = 0;
        char *cl = memmem(k->buf, head, "Content-Length: ", 16);
        if (cl)
            body = strtoul(cl + 16, NULL, 10);
        if (k->len < head + body)
            return;
        size_t keep = head < sizeof k->s->last ? head : sizeof k->s->last - 1;
        memcpy(k->s->last, k->buf, keep);
        k->s->last[keep] = '\0';
        memmove(k->buf, k->buf + head + body, k->len - head - body);
        k->len -= head + body;
        const char *answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        act a = k->s->script(k->s, k->s->requests++, k->n++, &answer);
        if (a == ANSWER || a == ANSWER_CLOSE)
            swrite(k, answer);
        if (a == ANSWER_CLOSE || a == CLOSE) {
            uv_read_stop((uv_stream_t *)&k->tcp);
            uv_close((uv_handle_t *)&k->tcp, sconn_closed);
            return;
        }
    }
}

static void on_sconn(uv_stream_t *l, int status)
{
    server *s = l->data;
    sconn *k = calloc(1, sizeof *k);

    (void)status;
    k->s = s;
    uv_tcp_init(s->loop, &k->tcp);
    k->tcp.data = k;
    if (uv_accept(l, (uv_stream_t *)&k->tcp) == 0) {
        s->accepts++;
        uv_read_start((uv_stream_t *)&k->tcp, salloc, sread);
    } else {
        uv_close((uv_handle_t *)&k->tcp, sconn_closed);
    }
}

static act always_answer(server *s, int k, int n, const char **answer)
{
    (void)s, (void)k, (void)n, (void)answer;
    return ANSWER;
}

static void server_start(server *s, uv_loop_t *loop, script_fn script)
{
    struct sockaddr_in sa;
    struct sockaddr_storage got;
    int len = sizeof got;

    memset(s, 0, sizeof *s);
    s->loop = loop;
    s->script = script ? script : always_answer;
    uv_tcp_init(loop, &s->listener);
    s->listener.data = s;
    uv_ip4_addr("127.0.0.1", 0, &sa);
    uv_tcp_bind(&s->listener, (struct sockaddr *)&sa, 0);
    uv_listen((uv_stream_t *)&s->listener, 64, on_sconn);
    uv_tcp_getsockname(&s->listener, (struct sockaddr *)&got, &len);
    s->port = ntohs(((struct sockaddr_in *)&got)->sin_port);
}

/* Closes what the server still has open (its connections). */
static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, h->type == UV_TCP ? sconn_closed : NULL);
}

/* ---- the client -------------------------------------------------------- */

typedef struct got {
    int calls;
    hs_err err;
    long status;
    char body[256];
    char error[200];
} got;

static void on_result(void *ud, const hs_http_result *res)
{
    got *g = ud;

    g->calls++;
    g->err = res->err;
    g->status = res->status;
    snprintf(g->body, sizeof g->body, "%.*s", (int)res->len, res->body);
    snprintf(g->error, sizeof g->error, "%s", res->error ? res->error : "");
}

static hs_http_client *client(uv_loop_t *loop, size_t per_host, size_t max_idle, double idle_s)
{
    hs_http_client *c = NULL;
    hs_http_client_opts o = {.max_response = 1000,
                             .max_connections = max_idle,
                             .per_host = per_host,
                             .idle_timeout = idle_s};
    CHECK(hs_http_client_new(loop, &o, &c) == HS_OK);
    return c;
}

static int closed_done;
static void client_closed(void *ud)
{
    (void)ud;
    closed_done++;
}

static void finish(uv_loop_t *loop, hs_http_client *c, server **servers, size_t ns)
{
    closed_done = 0;
    hs_http_client_close(c, client_closed, NULL);
    for (size_t i = 0; i < ns; i++)
        uv_close((uv_handle_t *)&servers[i]->listener, NULL);
    run_for(loop, 50);
    CHECK(closed_done == 1);
    uv_walk(loop, close_walk, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(loop) == 0);
}

static void url_of(char *out, size_t cap, const server *s, const char *path)
{
    snprintf(out, cap, "http://127.0.0.1:%u%s", (unsigned)s->port, path);
}

static void keeps_connections_alive_and_reuses_them(void)
{
    uv_loop_t loop;
    server s, *ss = &s;
    got g[3] = {0};
    char url[128];

    uv_loop_init(&loop);
    server_start(&s, &loop, NULL);
    hs_http_client *c = client(&loop, 4, 8, 60);
    url_of(url, sizeof url, &s, "/gossip");
    for (int i = 0; i < 3; i++) {
        CHECK(hs_http_client_request(c, "POST", url, "{\"a\":1}", 7, "X-Hearsay-From: n1", 5,
                                     on_result, &g[i]) == HS_OK);
        CHECK(g[i].calls == 0); /* never from within the call */
        CHECK(run_until(&loop, &g[i].calls, 1, 2000));
        CHECK(g[i].err == HS_OK && g[i].status == 200 && strcmp(g[i].body, "ok") == 0);
    }
    CHECK(s.accepts == 1 && s.requests == 3);
    CHECK(hs_http_client_connects(c) == 1 && hs_http_client_requests(c) == 3);
    CHECK(hs_http_client_inflight(c) == 0);
    CHECK(strstr(s.last, "POST /gossip HTTP/1.1\r\n") == s.last);
    CHECK(strstr(s.last, "\r\nHost: 127.0.0.1:") != NULL);
    CHECK(strstr(s.last, "\r\nContent-Length: 7\r\n") != NULL);
    CHECK(strstr(s.last, "\r\nContent-Type: application/json\r\n") != NULL);
    CHECK(strstr(s.last, "\r\nX-Hearsay-From: n1\r\n") != NULL);

    /* A GET of the bare authority asks for "/". */
    got q = {0};
    url_of(url, sizeof url, &s, "");
    CHECK(hs_http_client_request(c, "GET", url, NULL, 0, NULL, 5, on_result, &q) == HS_OK);
    CHECK(run_until(&loop, &q.calls, 1, 2000) && q.err == HS_OK);
    CHECK(strstr(s.last, "GET / HTTP/1.1\r\n") == s.last && !strstr(s.last, "Content-Length"));
    finish(&loop, c, &ss, 1);
}

static act chunked_answer(server *s, int k, int n, const char **answer)
{
    (void)s, (void)k, (void)n;
    *answer =
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
    return ANSWER;
}

static void reads_chunked_answers(void)
{
    uv_loop_t loop;
    server s, *ss = &s;
    got g = {0}, h = {0};
    char url[128];

    uv_loop_init(&loop);
    server_start(&s, &loop, chunked_answer);
    hs_http_client *c = client(&loop, 4, 8, 60);
    url_of(url, sizeof url, &s, "/x");
    CHECK(hs_http_client_request(c, "GET", url, NULL, 0, NULL, 5, on_result, &g) == HS_OK);
    CHECK(run_until(&loop, &g.calls, 1, 2000) && g.err == HS_OK && strcmp(g.body, "abcde") == 0);
    CHECK(hs_http_client_request(c, "GET", url, NULL, 0, NULL, 5, on_result, &h) == HS_OK);
    CHECK(run_until(&loop, &h.calls, 1, 2000) && h.err == HS_OK && strcmp(h.body, "abcde") == 0);
    CHECK(s.accepts == 1);
    finish(&loop, c, &ss, 1);
}

/* The second request on a connection finds it closed without an answer,
 * as when a server's keep-alive timeout strikes just as we ask. */
static act close_second_on_conn(server *s, int k, int n, const char **answer)
{
    (void)s, (void)k, (void)answer;
    return n == 1 ? CLOSE : ANSWER;
}

static act close_all(server *s, int k, int n, const char **answer)
{
    (void)s, (void)k, (void)n, (void)answer;
    return CLOSE;
}

static void retries_once_when_a_kept_alive_connection_was_closed(void)
{
    uv_loop_t loop;
    server s, *ss = &s;
    got g = {0}, h = {0};
    char url[128];

    uv_loop_init(&loop);
    server_start(&s, &loop, close_second_on_conn);
    hs_http_client *c = client(&loop, 4, 8, 60);
    url_of(url, sizeof url, &s, "/p");
    CHECK(hs_http_client_request(c, "POST", url, "{}", 2, NULL, 5, on_result, &g) == HS_OK);
    CHECK(run_until(&loop, &g.calls, 1, 2000) && g.err == HS_OK);
    CHECK(hs_http_client_request(c, "POST", url, "{}", 2, NULL, 5, on_result, &h) == HS_OK);
    CHECK(run_until(&loop, &h.calls, 1, 2000));
    CHECK(h.err == HS_OK && h.status == 200); /* on a second connection */
    CHECK(s.accepts == 2 && s.requests == 3);
    finish(&loop, c, &ss, 1);

    /* On a fresh connection the same is a failure: nothing to retry. */
    got f = {0};
    uv_loop_init(&loop);
    server_start(&s, &loop, close_all);
    c = client(&loop, 4, 8, 60);
    url_of(url, sizeof url, &s, "/p");
    CHECK(hs_http_client_request(c, "POST", url, "{}", 2, NULL, 5, on_result, &f) == HS_OK);
    CHECK(run_until(&loop, &f.calls, 1, 2000));
    CHECK(f.err == HS_EIO && f.status == 0 && strstr(f.error, "closed") != NULL);
    CHECK(s.accepts == 1);
    finish(&loop, c, &ss, 1);
}

/* Answers, then ends the connection without saying so in the answer, as
 * a server whose keep-alive timeout runs out does. */
static act answer_then_close(server *s, int k, int n, const char **answer)
{
    (void)s, (void)k, (void)n, (void)answer;
    return ANSWER_CLOSE;
}

static void notices_a_server_closing_an_idle_connection(void)
{
    uv_loop_t loop;
    server s, *ss = &s;
    got g = {0}, h = {0};
    char url[128];

    uv_loop_init(&loop);
    server_start(&s, &loop, answer_then_close);
    hs_http_client *c = client(&loop, 4, 8, 60);
    url_of(url, sizeof url, &s, "/p");
    CHECK(hs_http_client_request(c, "GET", url, NULL, 0, NULL, 5, on_result, &g) == HS_OK);
    CHECK(run_until(&loop, &g.calls, 1, 2000) && g.err == HS_OK);
    run_for(&loop, 50);
    CHECK(hs_http_client_idle(c) == 0); /* seen closed, not kept for the next */
    CHECK(hs_http_client_request(c, "GET", url, NULL, 0, NULL, 5, on_result, &h) == HS_OK);
    CHECK(run_until(&loop, &h.calls, 1, 2000) && h.err == HS_OK && h.status == 200);
    CHECK(s.accepts == 2 && s.requests == 2 && hs_http_client_connects(c) == 2);
    finish(&loop, c, &ss, 1);
}

static act hold_answers(server *s, int k, int n, const char **answer)
{
    (void)s, (void)k, (void)n, (void)answer;
    return SILENT;
}

static void bounds_connections_per_host_and_times_out(void)
{
    uv_loop_t loop;
    server s, *ss = &s;
    got g[3] = {0};
    char url[128];
    int calls = 0;

    uv_loop_init(&loop);
    server_start(&s, &loop, hold_answers);
    hs_http_client *c = client(&loop, 2, 8, 60);
    url_of(url, sizeof url, &s, "/slow");
    uint64_t t0 = uv_hrtime();
    for (int i = 0; i < 3; i++)
        CHECK(hs_http_client_request(c, "GET", url, NULL, 0, NULL, 0.2, on_result, &g[i]) == HS_OK);
    CHECK(hs_http_client_inflight(c) == 3);
    run_for(&loop, 100);
    CHECK(s.accepts == 2 && s.requests == 2); /* the third waits for a place */
    for (int i = 0; i < 3; i++) {
        CHECK(run_until(&loop, &g[i].calls, 1, 2000));
        calls += g[i].calls;
        CHECK(g[i].err == HS_EIO && strstr(g[i].error, "timed out after 200 ms") != NULL);
    }
    double ms = (double)(uv_hrtime() - t0) / 1e6;
    CHECK(calls == 3 && ms >= 190 && ms < 2000);
    CHECK(hs_http_client_inflight(c) == 0);
    finish(&loop, c, &ss, 1);
}

static act big_answer(server *s, int k, int n, const char **answer)
{
    static char text[4096];
    (void)s, (void)k, (void)n;
    snprintf(text, sizeof text, "HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n%2000d", 7);
    *answer = text;
    return ANSWER;
}

static void refuses_answers_over_the_cap(void)
{
    uv_loop_t loop;
    server s, *ss = &s;
    got g = {0};
    char url[128];

    uv_loop_init(&loop);
    server_start(&s, &loop, big_answer);
    hs_http_client *c = client(&loop, 4, 8, 60);
    url_of(url, sizeof url, &s, "/big");
    CHECK(hs_http_client_request(c, "GET", url, NULL, 0, NULL, 5, on_result, &g) == HS_OK);
    CHECK(run_until(&loop, &g.calls, 1, 2000) && g.err == HS_ETOOBIG && g.status == 0);
    finish(&loop, c, &ss, 1);
}

static void reports_refusals_and_bad_requests(void)
{
    uv_loop_t loop;
    server s, *ss = &s;
    got g = {0};
    char url[128];

    uv_loop_init(&loop);
    server_start(&s, &loop, NULL);
    hs_http_client *c = client(&loop, 4, 8, 60);
    /* A port nobody listens on: the listener's, once closed. */
    uv_close((uv_handle_t *)&s.listener, NULL);
    run_for(&loop, 10);
    url_of(url, sizeof url, &s, "/x");
    CHECK(hs_http_client_request(c, "GET", url, NULL, 0, NULL, 5, on_result, &g) == HS_OK);
    CHECK(g.calls == 0);
    CHECK(run_until(&loop, &g.calls, 1, 2000) && g.err == HS_EIO);
    CHECK(strstr(g.error, "connect") != NULL);

    CHECK(hs_http_client_request(c, "GET", "ftp://127.0.0.1/", NULL, 0, NULL, 5, on_result, &g) ==
          HS_EINVAL);
    CHECK(hs_http_client_request(c, "GET", url, NULL, 0, "X-A: 1\r\nX-B: 2", 5, on_result, &g) ==
          HS_EINVAL);
    CHECK(hs_http_client_request(c, "G ET", url, NULL, 0, NULL, 5, on_result, &g) == HS_EINVAL);
    CHECK(g.calls == 1);
    hs_http_client_close(c, client_closed, NULL);
    closed_done = 0;
    run_for(&loop, 20);
    CHECK(closed_done == 1);
    (void)ss;
    uv_walk(&loop, close_walk, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&loop) == 0);
}

static void resolves_host_names(void)
{
    uv_loop_t loop;
    server s, *ss = &s;
    got g = {0};
    char url[128];

    uv_loop_init(&loop);
    server_start(&s, &loop, NULL);
    hs_http_client *c = client(&loop, 4, 8, 60);
    snprintf(url, sizeof url, "http://localhost:%u/named", (unsigned)s.port);
    CHECK(hs_http_client_request(c, "GET", url, NULL, 0, NULL, 5, on_result, &g) == HS_OK);
    CHECK(run_until(&loop, &g.calls, 1, 3000) && g.err == HS_OK && g.status == 200);
    CHECK(strstr(s.last, "\r\nHost: localhost:") != NULL);
    finish(&loop, c, &ss, 1);
}

static void keeps_at_most_max_connections_idle_and_closes_them_in_time(void)
{
    uv_loop_t loop;
    server a, b, *ss[2] = {&a, &b};
    got g = {0}, h = {0};
    char url[128];

    uv_loop_init(&loop);
    server_start(&a, &loop, NULL);
    server_start(&b, &loop, NULL);
    hs_http_client *c = client(&loop, 4, 1, 0.3);
    url_of(url, sizeof url, &a, "/");
    CHECK(hs_http_client_request(c, "GET", url, NULL, 0, NULL, 5, on_result, &g) == HS_OK);
    CHECK(run_until(&loop, &g.calls, 1, 2000) && g.err == HS_OK);
    url_of(url, sizeof url, &b, "/");
    CHECK(hs_http_client_request(c, "GET", url, NULL, 0, NULL, 5, on_result, &h) == HS_OK);
    CHECK(run_until(&loop, &h.calls, 1, 2000) && h.err == HS_OK);
    /* One idle connection at most: a's, the older, was closed for b's. */
    CHECK(run_until(&loop, &a.closed_by_client, 1, 1000) && b.closed_by_client == 0);
    /* b's goes once it has been idle for idle_timeout. */
    CHECK(run_until(&loop, &b.closed_by_client, 1, 2000));
    finish(&loop, c, ss, 2);
}

/* The client's no_fd: calls, and how many began an episode. */
typedef struct nofd {
    int calls, firsts;
} nofd;

static void on_no_fd(void *ud, int first)
{
    nofd *n = ud;
    n->calls++;
    n->firsts += first;
}

static void out_of_descriptors_a_request_fails_and_says_so(void)
{
    uv_loop_t loop;
    server s, *ss = &s;
    got g = {0}, h = {0}, k = {0};
    nofd n = {0};
    char url[128];
    struct rlimit was, low;
    hs_http_client *c = NULL;
    hs_http_client_opts o = {.max_response = 1000,
                             .max_connections = 8,
                             .per_host = 4,
                             .idle_timeout = 60,
                             .no_fd = on_no_fd,
                             .no_fd_ud = &n};

    uv_loop_init(&loop);
    server_start(&s, &loop, NULL);
    CHECK(hs_http_client_new(&loop, &o, &c) == HS_OK);
    url_of(url, sizeof url, &s, "/x");
    /* Every descriptor below the lowest free one is taken: a limit there
     * leaves none to open. */
    int lowest = dup(0);
    CHECK(lowest > 0);
    close(lowest);
    CHECK(getrlimit(RLIMIT_NOFILE, &was) == 0);
    low = was;
    low.rlim_cur = (rlim_t)lowest;
    CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
    CHECK(hs_http_client_request(c, "GET", url, NULL, 0, NULL, 5, on_result, &g) == HS_OK);
    CHECK(n.calls == 1 && n.firsts == 1); /* told at once, before the callback */
    CHECK(g.calls == 0);
    CHECK(run_until(&loop, &g.calls, 1, 2000));
    CHECK(g.err == HS_EIO && strstr(g.error, "connect") && strstr(g.error, "too many open files"));
    /* The next in the same episode is not its first. */
    CHECK(hs_http_client_request(c, "GET", url, NULL, 0, NULL, 5, on_result, &h) == HS_OK);
    CHECK(run_until(&loop, &h.calls, 1, 2000) && h.err == HS_EIO);
    CHECK(n.calls == 2 && n.firsts == 1);
    /* Descriptors again: requests work. */
    CHECK(setrlimit(RLIMIT_NOFILE, &was) == 0);
    CHECK(hs_http_client_request(c, "GET", url, NULL, 0, NULL, 5, on_result, &k) == HS_OK);
    CHECK(run_until(&loop, &k.calls, 1, 2000) && k.err == HS_OK && k.status == 200);
    CHECK(n.calls == 2 && s.accepts == 1);
    finish(&loop, c, &ss, 1);
}

static void closing_cancels_what_is_in_flight(void)
{
    uv_loop_t loop;
    server s, *ss = &s;
    got g[5] = {0};
    char url[128];

    uv_loop_init(&loop);
    server_start(&s, &loop, hold_answers);
    hs_http_client *c = client(&loop, 2, 8, 60);
    url_of(url, sizeof url, &s, "/held");
    for (int i = 0; i < 5; i++)
        CHECK(hs_http_client_request(c, "POST", url, "{}", 2, NULL, 5, on_result, &g[i]) == HS_OK);
    run_for(&loop, 50);
    finish(&loop, c, &ss, 1);
    for (int i = 0; i < 5; i++)
        CHECK(g[i].calls == 1 && g[i].err == HS_ESTATE);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* as every program that embeds the core */
    the_parser_frames_bodies_every_way();
    the_parser_refuses_what_is_not_http_or_too_big();
    urls_split_into_host_port_and_target();
    keeps_connections_alive_and_reuses_them();
    reads_chunked_answers();
    retries_once_when_a_kept_alive_connection_was_closed();
    notices_a_server_closing_an_idle_connection();
    bounds_connections_per_host_and_times_out();
    refuses_answers_over_the_cap();
    reports_refusals_and_bad_requests();
    resolves_host_names();
    keeps_at_most_max_connections_idle_and_closes_them_in_time();
    out_of_descriptors_a_request_fails_and_says_so();
    closing_cancels_what_is_in_flight();
    DONE();
}
