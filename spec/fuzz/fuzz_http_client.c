/*
 * fuzz_http_client.c -- hearsay's own HTTP/1.1 client (core/net/http_client.c)
 * against a fake peer: a loopback server on the target's libuv loop that
 * answers each request it reads with the fuzzer's bytes, written in the
 * pieces the fuzzer chooses, one piece per loop turn.
 *
 * Input: three bytes, then the answers.
 *   byte 0, flags: 1 the first request is HEAD (unless 32), 2 a second request follows
 *     (made from the first one's callback, so that it may take the
 *     kept-alive connection), 4 the second is HEAD, 8 the server closes
 *     after the first answer, 16 after the second, 32 the first request is
 *     a POST with a body, 64 the requests' timeout is 1e300 s (request_timeout
 *     is any positive number);
 *   byte 1: the response cap (0 B to 1 MiB);
 *   byte 2: how the answers are cut into writes (fuzz_cut);
 *   then the first answer, and after a line "#2#" the second (a third
 *   request, the client's retry on a fresh connection, gets nothing).
 *
 * When the server has nothing left to write and the client still waits,
 * the server closes its connections (the peer went away), so every input
 * ends long before any timeout. Checked: each callback runs exactly once;
 * the first request's outcome is what hs_http_resp makes of its answer
 * (the same status and body, or a failure); every answer has a final
 * status and a body within the cap; closing the client ends everything.
 */
#include <signal.h>
#include <string.h>

#include <uv.h>

#include "fuzz.h"
#include "http_client.h"
#include "http_response.h"

#define SEP "\n#2#\n"
#define MAX_CONNS 4
/* Loop turns with nothing happening before the server hangs up, and
 * after it has, before the client is declared stuck. */
#define QUIET_CLOSE 16
#define QUIET_STUCK 20000

enum {
    F_HEAD1 = 1,
    F_SECOND = 2,
    F_HEAD2 = 4,
    F_CLOSE1 = 8,
    F_CLOSE2 = 16,
    F_POST = 32,
    F_FOREVER = 64,
};

static const size_t caps[8] = {0, 1, 16, 256, 4096, 65536, 1 << 20, 100};

typedef struct sconn {
    uv_tcp_t tcp;
    char *in;
    size_t in_len, in_cap;
    int writes;      /* uv_writes in flight */
    int close_after; /* close once they are done */
    int closing;
    struct sconn *next;
} sconn;

typedef struct wreq {
    uv_write_t w;
    sconn *c;
    char data[];
} wreq;

/* What one input expects of its first request. */
typedef struct expect {
    hs_err err; /* HS_OK: status and body below */
    int status;
    char *body;
    size_t len;
} expect;

static struct {
    uv_loop_t loop;
    uv_tcp_t listener;
    uv_idle_t idle;
    char url[64];
    /* The input. */
    unsigned flags, cut;
    size_t max;
    const char *answer[3];
    size_t answer_len[3];
    /* The server. */
    sconn *conns;
    int nconns, open;
    int answered;
    sconn *w_conn; /* the connection being answered */
    const char *w_data;
    size_t w_left;
    int w_close;
    fuzz_rng rng;
    unsigned quiet;
    int progress, hung_up;
    /* The client. */
    hs_http_client *client;
    int expected, called[2], closed;
    expect first;
} S;

/* ---- the fake peer --------------------------------------------------------- */

static void conn_closed(uv_handle_t *h)
{
    sconn *c = h->data;
    sconn **pp = &S.conns;

    while (*pp != c)
        pp = &(*pp)->next;
    *pp = c->next;
    free(c->in);
    free(c);
    S.open--;
}

static void conn_close(sconn *c)
{
    if (c->closing)
        return;
    if (c->writes) {
        c->close_after = 1;
        return;
    }
    c->closing = 1;
    if (S.w_conn == c)
        S.w_conn = NULL;
    uv_close((uv_handle_t *)&c->tcp, conn_closed);
}

static void wrote(uv_write_t *w, int status)
{
    wreq *r = (wreq *)w;
    sconn *c = r->c;

    (void)status; /* the client may have gone: its business */
    free(r);
    S.progress = 1;
    if (--c->writes == 0 && c->close_after)
        conn_close(c);
}

/* One piece of the answer under way, per loop turn. */
static void write_piece(void)
{
    sconn *c = S.w_conn;
    size_t n = fuzz_cut(&S.rng, S.cut, S.w_left);
    wreq *r;

    if (n) {
        if (!(r = malloc(sizeof *r + n)))
            return;
        memcpy(r->data, S.w_data, n);
        r->c = c;
        uv_buf_t b = uv_buf_init(r->data, (unsigned)n);
        if (uv_write(&r->w, (uv_stream_t *)&c->tcp, &b, 1, wrote) != 0) {
            free(r);
            S.w_left = 0;
        } else {
            c->writes++;
            S.w_data += n;
            S.w_left -= n;
        }
        S.progress = 1;
    }
    if (S.w_left == 0) {
        S.w_conn = NULL;
        if (S.w_close)
            conn_close(c);
    }
}

/* A whole request at the start of c's input: its length, or 0. */
static size_t request_len(const sconn *c)
{
    const char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
    size_t head, body = 0;

    if (!end)
        return 0;
    head = (size_t)(end - c->in) + 4;
    for (const char *p = c->in; p < end; p = memchr(p, '\n', (size_t)(end - p)) + 1) {
        if (strncasecmp(p, "content-length:", 15) == 0)
            body = strtoul(p + 15, NULL, 10);
        if (!memchr(p, '\n', (size_t)(end - p)))
            break;
    }
    return c->in_len >= head + body ? head + body : 0;
}

static void alloc_cb(uv_handle_t *h, size_t size, uv_buf_t *buf)
{
    static char rbuf[65536];

    (void)h;
    (void)size;
    buf->base = rbuf;
    buf->len = sizeof rbuf;
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    sconn *c = s->data;
    size_t n;

    S.progress = 1;
    if (nread < 0) {
        conn_close(c);
        return;
    }
    if (c->in_len + (size_t)nread > c->in_cap) {
        size_t cap = c->in_cap ? c->in_cap * 2 : 4096;
        while (cap < c->in_len + (size_t)nread)
            cap *= 2;
        char *p = realloc(c->in, cap);
        FUZZ_CHECK(p, "memory");
        c->in = p;
        c->in_cap = cap;
    }
    memcpy(c->in + c->in_len, buf->base, (size_t)nread);
    c->in_len += (size_t)nread;
    while ((n = request_len(c)) > 0) {
        memmove(c->in, c->in + n, c->in_len - n);
        c->in_len -= n;
        /* The client asks again once it has its answer, which may end
         * before the fuzzer's bytes do: the rest is not sent. */
        int k = S.answered < 3 ? S.answered : 2;
        S.answered++;
        S.w_conn = c;
        S.w_data = S.answer[k];
        S.w_left = S.answer_len[k];
        S.w_close = k == 0 ? (S.flags & F_CLOSE1) != 0 : k == 1 ? (S.flags & F_CLOSE2) != 0 : 1;
        if (S.w_left == 0)
            write_piece(); /* nothing to say: maybe hang up */
    }
}

static void on_connection(uv_stream_t *server, int status)
{
    sconn *c;

    S.progress = 1;
    if (status < 0 || !(c = calloc(1, sizeof *c)))
        return;
    uv_tcp_init(&S.loop, &c->tcp);
    c->tcp.data = c;
    c->next = S.conns;
    S.conns = c;
    S.open++;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 || ++S.nconns > MAX_CONNS) {
        conn_close(c);
        return;
    }
    uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
}

static void hang_up(void)
{
    for (sconn *c = S.conns; c; c = c->next)
        conn_close(c);
}

/* Every turn: the next piece of the answer, and the watch for a client
 * that waits for a peer with nothing more to say. */
static void on_idle(uv_idle_t *h)
{
    (void)h;
    if (S.w_conn && S.w_left)
        write_piece();
    S.quiet = S.progress ? 0 : S.quiet + 1;
    S.progress = 0;
    if (S.quiet == QUIET_CLOSE && !S.w_conn && S.conns) {
        hang_up();
        S.quiet = 0;
        S.hung_up = 1;
    }
    FUZZ_CHECK(S.quiet < QUIET_STUCK, "the client finishes once the peer has hung up");
}

/* ---- the client ------------------------------------------------------------ */

/* Seconds a request may take: never reached (the peer hangs up first). */
static double timeout(void)
{
    return S.flags & F_FOREVER ? 1e300 : 5;
}

static void check_result(const hs_http_result *res)
{
    FUZZ_CHECK(res->body, "a body, if only an empty one");
    if (res->err == HS_OK) {
        FUZZ_CHECK(res->status >= 200 && res->status <= 599, "a final status");
        FUZZ_CHECK(res->len <= S.max, "the body within the cap");
        FUZZ_CHECK(res->body[res->len] == '\0', "the body is NUL-terminated");
    } else {
        FUZZ_CHECK(res->status == 0 && res->error, "a failure says why");
    }
}

static void on_second(void *ud, const hs_http_result *res)
{
    (void)ud;
    S.progress = 1;
    FUZZ_CHECK(!S.called[1]++, "a callback runs once");
    FUZZ_CHECK(res->err != HS_ESTATE || S.closed, "cancelled only by the close");
    check_result(res);
}

static void on_first(void *ud, const hs_http_result *res)
{
    (void)ud;
    S.progress = 1;
    FUZZ_CHECK(!S.called[0]++, "a callback runs once");
    FUZZ_CHECK(res->err != HS_ESTATE || S.closed, "cancelled only by the close");
    check_result(res);
    if (res->err == HS_ESTATE)
        return;
    if (S.first.err == HS_OK) {
        FUZZ_CHECK(res->err == HS_OK, "the client takes the answer the parser takes");
        FUZZ_CHECK(res->status == S.first.status, "the parser's status");
        FUZZ_CHECK(res->len == S.first.len &&
                       (res->len == 0 || memcmp(res->body, S.first.body, res->len) == 0),
                   "the parser's body");
    } else {
        /* An answer cut short fails as the connection's end (HS_EIO). */
        FUZZ_CHECK(res->err == S.first.err, "the client refuses what the parser refuses");
    }
    if (S.flags & F_SECOND) {
        const char *method = S.flags & F_HEAD2 ? "HEAD" : "GET";
        FUZZ_CHECK(hs_http_client_request(S.client, method, S.url, NULL, 0, NULL, timeout(),
                                          on_second, NULL) == HS_OK,
                   "a second request starts");
        S.expected = 2;
    }
}

/* What the response parser alone makes of the first answer, read whole
 * and then ended by the peer (if it still waits). */
static void expect_first(void)
{
    hs_http_resp r;
    size_t used;
    int done = 0;
    hs_err err = HS_OK;

    hs_http_resp_init(&r, S.max, (S.flags & (F_HEAD1 | F_POST)) == F_HEAD1);
    if (S.answer_len[0])
        err = hs_http_resp_feed(&r, S.answer[0], S.answer_len[0], &used, &done);
    if (err == HS_OK && !done)
        err = hs_http_resp_eof(&r) == HS_OK ? HS_OK : HS_EIO;
    S.first.err = err;
    S.first.status = r.status;
    S.first.len = err == HS_OK ? r.len : 0;
    S.first.body = NULL;
    if (err == HS_OK && r.len) {
        S.first.body = malloc(r.len);
        memcpy(S.first.body, r.body, r.len);
    }
    hs_http_resp_free(&r);
}

static void client_closed(void *ud)
{
    (void)ud;
    S.closed = 2;
}

static void setup(void)
{
    struct sockaddr_in sa;
    struct sockaddr_storage bound;
    int len = sizeof bound;

    signal(SIGPIPE, SIG_IGN);
    uv_loop_init(&S.loop);
    uv_tcp_init(&S.loop, &S.listener);
    uv_ip4_addr("127.0.0.1", 0, &sa);
    FUZZ_CHECK(uv_tcp_bind(&S.listener, (const struct sockaddr *)&sa, 0) == 0, "bind");
    FUZZ_CHECK(uv_listen((uv_stream_t *)&S.listener, 64, on_connection) == 0, "listen");
    uv_tcp_getsockname(&S.listener, (struct sockaddr *)&bound, &len);
    snprintf(S.url, sizeof S.url, "http://127.0.0.1:%u/gossip",
             (unsigned)ntohs(((struct sockaddr_in *)&bound)->sin_port));
    uv_idle_init(&S.loop, &S.idle);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;

    if (size < 3)
        return 0;
    if (!ready) {
        setup();
        ready = 1;
    }
    S.flags = data[0];
    S.max = caps[data[1] & 7];
    S.cut = data[2];
    fuzz_rng_init(&S.rng, data[2]);
    const char *text = (const char *)data + 3, *end = text + size - 3;
    const char *sep = memmem(text, (size_t)(end - text), SEP, strlen(SEP));
    S.answer[0] = text;
    S.answer_len[0] = sep ? (size_t)(sep - text) : (size_t)(end - text);
    S.answer[1] = sep ? sep + strlen(SEP) : end;
    S.answer_len[1] = sep ? (size_t)(end - S.answer[1]) : 0;
    S.answer[2] = end;
    S.answer_len[2] = 0;
    S.nconns = S.answered = 0;
    S.w_conn = NULL;
    S.quiet = S.progress = S.hung_up = 0;
    S.called[0] = S.called[1] = 0;
    S.closed = 0;
    S.expected = 1;
    expect_first();

    hs_http_client_opts o = {
        .max_response = S.max, .max_connections = 4, .per_host = 2, .idle_timeout = 30};
    FUZZ_CHECK(hs_http_client_new(&S.loop, &o, &S.client) == HS_OK, "a client");
    static const char post[] = "{\"ids\":[]}";
    int is_post = (S.flags & F_POST) != 0;
    const char *method = is_post ? "POST" : S.flags & F_HEAD1 ? "HEAD" : "GET";
    FUZZ_CHECK(hs_http_client_request(S.client, method, S.url, is_post ? post : NULL,
                                      is_post ? strlen(post) : 0, "X-Hearsay-From: fuzz", timeout(),
                                      on_first, NULL) == HS_OK,
               "a request starts");
    uv_idle_start(&S.idle, on_idle);
    while (S.called[0] + S.called[1] < S.expected)
        uv_run(&S.loop, UV_RUN_ONCE);

    /* Closing the client cancels nothing (every callback ran) and ends. */
    S.closed = 1;
    hs_http_client_close(S.client, client_closed, NULL);
    hang_up();
    while (S.closed != 2 || S.open)
        uv_run(&S.loop, UV_RUN_ONCE);
    uv_idle_stop(&S.idle);
    FUZZ_CHECK(S.called[0] == 1 && S.called[1] == (S.expected == 2), "every callback ran once");
    free(S.first.body);
    return 0;
}
