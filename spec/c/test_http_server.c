/*
 * test_http_server.c -- the server at its connection limit: a connection
 * that closes there lets the next one in at once (the server stops
 * accepting at the limit and starts again when one closes), and
 * kept-alive connections idle longest make room for new ones. Running out
 * of file descriptors is fd_exhaustion_spec's (a process of its own).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "check.h"
#include "http_server.h"
#include "uvtest.h"

typedef struct fixture {
    hs_http_server *srv;
    uint64_t held[8];
    int nheld;
} fixture;

/* GET /hold is answered later (like POST /probe); anything else at once. */
static void handler(void *ud, const hs_http_request *req, hs_http_response *resp)
{
    fixture *f = ud;

    if (strcmp(req->path, "/hold") == 0 && f->nheld < 8) {
        f->held[f->nheld++] = req->token;
        resp->defer = 1;
        return;
    }
    resp->status = 200;
    resp->body = strdup("ok");
    resp->len = 2;
}

/* A raw client: connects, sends one request, counts answers. */
typedef struct raw {
    uv_tcp_t tcp;
    uv_connect_t cr;
    uv_write_t w;
    const char *text;
    char buf[1024];
    int answered, closed, close_after;
} raw;

static void raw_alloc(uv_handle_t *h, size_t size, uv_buf_t *b)
{
    raw *r = h->data;
    (void)size;
    *b = uv_buf_init(r->buf, sizeof r->buf);
}

static void raw_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    raw *r = s->data;
    (void)b;

    if (n > 0 && memmem(r->buf, (size_t)n, "HTTP/1.1 200", 12)) {
        r->answered++;
        if (r->close_after && !uv_is_closing((uv_handle_t *)s))
            uv_close((uv_handle_t *)s, NULL);
    } else if (n < 0) {
        r->closed++;
        if (!uv_is_closing((uv_handle_t *)s))
            uv_close((uv_handle_t *)s, NULL);
    }
}

static void raw_connected(uv_connect_t *cr, int status)
{
    raw *r = cr->data;
    uv_buf_t b = uv_buf_init((char *)r->text, (unsigned)strlen(r->text));

    if (status < 0)
        return;
    uv_read_start((uv_stream_t *)&r->tcp, raw_alloc, raw_read);
    uv_write(&r->w, (uv_stream_t *)&r->tcp, &b, 1, NULL);
}

static void raw_start(raw *r, uv_loop_t *loop, uint16_t port, const char *text)
{
    struct sockaddr_in sa;

    memset(r, 0, sizeof *r);
    r->text = text;
    uv_tcp_init(loop, &r->tcp);
    r->tcp.data = r;
    r->cr.data = r;
    uv_ip4_addr("127.0.0.1", port, &sa);
    uv_tcp_connect(&r->cr, &r->tcp, (struct sockaddr *)&sa, raw_connected);
}

static hs_http_server *start(uv_loop_t *loop, fixture *f, size_t max_connections)
{
    hs_http_server_opts o = {0};

    o.host = "127.0.0.1";
    o.port = 0;
    o.max_body = 1024;
    o.max_connections = max_connections;
    o.connection_timeout = 150;
    o.handler = handler;
    o.ud = f;
    CHECK(hs_http_server_start(loop, &o, &f->srv) == HS_OK);
    return f->srv;
}

static void close_all(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void finish(uv_loop_t *loop, fixture *f)
{
    hs_http_server_close(f->srv, NULL, NULL);
    uv_walk(loop, close_all, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(loop) == 0);
}

static void a_connection_closing_at_the_limit_lets_the_next_in(void)
{
    uv_loop_t loop;
    fixture f = {0};
    raw held[3], c;
    static const char hold[] = "GET /hold HTTP/1.1\r\nHost: x\r\n\r\n";
    static const char hello[] = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";

    uv_loop_init(&loop);
    start(&loop, &f, 3);
    uint16_t port = hs_http_server_port(f.srv);
    /* Three requests held, one after another: every connection busy, the
     * server at its limit (busy ones are never drained). */
    for (int i = 0; i < 3; i++) {
        raw_start(&held[i], &loop, port, hold);
        CHECK(run_until(&loop, &f.nheld, i + 1, 2000));
    }
    held[0].close_after = 1;
    /* A fourth waits in the kernel's backlog. */
    raw_start(&c, &loop, port, hello);
    run_for(&loop, 50);
    CHECK(c.answered == 0);
    /* The first gets its answer and hangs up: the fourth is let in right
     * away, not when some timer of MHD's runs out (150 s here). */
    char *body = strdup("done");
    CHECK(hs_http_server_answer(f.srv, f.held[0], 200, body, 4) == 0);
    CHECK(run_until(&loop, &c.answered, 1, 1000));
    CHECK(held[0].answered == 1 && held[1].answered == 0 && held[2].answered == 0);
    finish(&loop, &f);
}

static void idle_connections_make_room_for_new_ones(void)
{
    uv_loop_t loop;
    fixture f = {0};
    raw r[6];
    static const char hello[] = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
    int answered = 0;

    uv_loop_init(&loop);
    start(&loop, &f, 4);
    uint16_t port = hs_http_server_port(f.srv);
    /* One after another, each left open once answered. */
    for (int i = 0; i < 6; i++) {
        raw_start(&r[i], &loop, port, hello);
        CHECK(run_until(&loop, &r[i].answered, 1, 1000));
        answered += r[i].answered;
    }
    CHECK(answered == 6);
    /* The oldest were shut down; the newest are still open. */
    run_for(&loop, 50);
    CHECK(r[0].closed == 1 && r[1].closed == 1 && r[5].closed == 0);
    CHECK(hs_http_server_drained(f.srv) >= 2);
    finish(&loop, &f);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    a_connection_closing_at_the_limit_lets_the_next_in();
    idle_connections_make_room_for_new_ones();
    DONE();
}
