/*
 * http_server.c -- libmicrohttpd on a libuv loop; see http_server.h.
 *
 * MHD runs in its external-epoll mode: one epoll fd that becomes readable
 * whenever any of its sockets has work. We watch that fd with a uv_poll and
 * call MHD_run() on each wakeup, then re-arm a uv_timer with MHD's own
 * timeout (connection timeouts, pending work). Nothing blocks.
 *
 * Each connection gets a small memory pool (CONN_MEMORY): it only holds the
 * request line, the headers and MHD's read buffer, since bodies stream
 * through the upload callback into our own capped buffer. MHD zeroes the
 * pool for every request, so its size is a per-request cost (the 32 KiB
 * default was ~49k instructions, more than the rest of MHD's work).
 *
 * Idle kept-alive connections are drained the way nginx does it: MHD stops
 * accepting at max_connections, so once a new connection takes the count
 * past 7/8 of it, the connections idle longest are shut down (their
 * clients reconnect when they next ask). Without it a node everyone
 * bootstraps from fills up with idle connections and stops answering
 * (1000 joiners did it to a seed node: every bootstrap timed out).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "bytes.h"
#include "http_server.h"

/* Bytes of MHD memory pool per connection: a request line and headers of a
 * few KiB, plus a read buffer; larger header sets get 431 from MHD. */
#define CONN_MEMORY (8 * 1024)

/* Bytes over max_body that a declared oversize body may have and still be
 * read (and discarded) before its 413. */
#define DRAIN_MAX (64 * 1024)

/* Per-connection request state, kept in MHD's con_cls. */
typedef struct request_ctx {
    char *body;
    size_t len, cap;
    int too_large;
    struct MHD_Connection *conn;
    uint64_t token; /* non-zero while suspended */
    int answered;   /* a deferred answer is ready */
    hs_http_response answer;
    struct request_ctx *prev, *next; /* the suspended list */
} request_ctx;

/* Per-connection state, in MHD's socket context: a connection between
 * requests is on the idle list, oldest first. */
typedef struct conn_ctx {
    int fd;
    int busy;    /* a request is under way */
    int drained; /* shut down by us; MHD closes it at its next read */
    struct conn_ctx *prev, *next;
} conn_ctx;

struct hs_http_server {
    struct MHD_Daemon *daemon;
    conn_ctx *idle_head, *idle_tail;
    size_t conns, draining, drain_at;
    unsigned long drained;
    int closed; /* a connection closed during the last MHD_run */
    request_ctx *suspended;
    uint64_t next_token;
    uv_poll_t poll;
    uv_timer_t timer;
    int open_handles;
    uint16_t port;
    hs_http_server_opts opts;
    void (*done)(void *ud);
    void *done_ud;
};

static void server_log(hs_http_server *srv, hs_log_level lvl, const char *fmt, ...)
{
    char buf[512];
    va_list ap;

    if (!srv->opts.log)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    srv->opts.log(srv->opts.log_ud, lvl, srv->opts.log_name, buf);
}

static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
    hs_http_server *srv = cls;
    char buf[512];

    if (!srv->opts.log)
        return;
    vsnprintf(buf, sizeof buf, fmt, ap);
    buf[strcspn(buf, "\n")] = '\0';
    srv->opts.log(srv->opts.log_ud, HS_LOG_WARN, srv->opts.log_name, buf);
}

static void on_timer(uv_timer_t *h);

static void idle_unlink(hs_http_server *srv, conn_ctx *k)
{
    if (k->prev)
        k->prev->next = k->next;
    else if (srv->idle_head == k)
        srv->idle_head = k->next;
    else
        return; /* not on the list */
    if (k->next)
        k->next->prev = k->prev;
    else
        srv->idle_tail = k->prev;
    k->prev = k->next = NULL;
}

static void idle_push(hs_http_server *srv, conn_ctx *k)
{
    k->next = NULL;
    k->prev = srv->idle_tail;
    if (srv->idle_tail)
        srv->idle_tail->next = k;
    else
        srv->idle_head = k;
    srv->idle_tail = k;
}

/* Shuts down the connections idle longest while the open ones (less those
 * already on their way out) are past drain_at. shutdown(), not close(): MHD
 * still owns the descriptor and sees the end at its next read. */
static void drain(hs_http_server *srv)
{
    while (srv->conns - srv->draining > srv->drain_at && srv->idle_head) {
        conn_ctx *k = srv->idle_head;
        idle_unlink(srv, k);
        k->drained = 1;
        srv->draining++;
        srv->drained++;
        shutdown(k->fd, SHUT_RDWR);
    }
}

static conn_ctx *conn_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info ? info->socket_context : NULL;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    hs_http_server *srv = cls;
    conn_ctx *k = *socket_context;

    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *fd =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        srv->conns++;
        if (!fd || !(k = calloc(1, sizeof *k)))
            return; /* not drainable; counted all the same */
        k->fd = fd->connect_fd;
        *socket_context = k;
        drain(srv); /* before it joins the idle ones: never the newcomer */
        idle_push(srv, k);
        return;
    }
    srv->conns--;
    srv->closed = 1;
    if (k) {
        idle_unlink(srv, k);
        if (k->drained)
            srv->draining--;
        free(k);
        *socket_context = NULL;
    }
}

static void rearm(hs_http_server *srv)
{
    MHD_UNSIGNED_LONG_LONG to;

    if (MHD_get_timeout(srv->daemon, &to) == MHD_YES)
        uv_timer_start(&srv->timer, on_timer, to > 60000 ? 60000 : to, 0);
    else
        uv_timer_stop(&srv->timer);
}

static void run_daemon(hs_http_server *srv)
{
    /* At max_connections MHD takes its listening socket out of its epoll
     * set, and puts it back only at the start of a later run: a connection
     * that closes leaves the next one waiting for an event that may not
     * come for minutes. So a run that closed one is followed by another. */
    for (int i = 0; i < 3; i++) {
        srv->closed = 0;
        MHD_run(srv->daemon);
        if (!srv->closed)
            break;
    }
    rearm(srv);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    run_daemon(h->data);
}

static void on_timer(uv_timer_t *h)
{
    run_daemon(h->data);
}

static int append(request_ctx *ctx, const char *data, size_t n, size_t max)
{
    if (ctx->too_large)
        return 0;
    if (ctx->len + n > max) {
        ctx->too_large = 1;
        free(ctx->body);
        ctx->body = NULL;
        ctx->len = ctx->cap = 0;
        return 0;
    }
    return hs_bytes_append(&ctx->body, &ctx->len, &ctx->cap, max, data, n) == HS_OK ? 0 : -1;
}

static enum MHD_Result queue(struct MHD_Connection *conn, hs_http_response *resp)
{
    struct MHD_Response *r;
    enum MHD_Result ret;

    r = MHD_create_response_from_buffer(resp->len, resp->body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(resp->body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "application/json");
    if (resp->allow)
        MHD_add_response_header(r, "Allow", resp->allow);
    ret = MHD_queue_response(conn, resp->status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    hs_http_server *srv = cls;
    request_ctx *ctx = *con_cls;
    hs_http_request req;
    hs_http_response resp = {0};

    (void)version;
    if (ctx && ctx->answered) {
        /* Resumed: the deferred answer is ready. */
        ctx->answered = 0;
        resp = ctx->answer;
        return queue(conn, &resp);
    }
    if (ctx && ctx->token)
        return MHD_YES; /* still waiting */
    if (!ctx) {
        conn_ctx *k = conn_of(conn);
        if (k && !k->busy) {
            idle_unlink(srv, k);
            k->busy = 1;
        }
        ctx = calloc(1, sizeof *ctx);
        if (!ctx)
            return MHD_NO;
        ctx->conn = conn;
        *con_cls = ctx;
        /* A declared oversize body is refused. When it is at most
         * DRAIN_MAX over the cap it is read and discarded first: answering
         * and closing with unread bytes in the socket makes the kernel send
         * a reset, and the client may then lose the 413. Beyond that it is
         * refused before any of it is read. */
        const char *cl =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        unsigned long long declared = cl ? strtoull(cl, NULL, 10) : 0;
        if (declared <= srv->opts.max_body)
            return MHD_YES;
        ctx->too_large = 1;
        if (declared - srv->opts.max_body <= DRAIN_MAX)
            return MHD_YES;
    } else if (*upload_size) {
        if (append(ctx, upload_data, *upload_size, srv->opts.max_body) < 0)
            return MHD_NO;
        *upload_size = 0;
        return MHD_YES;
    }
    req.method = method;
    req.path = url;
    req.body = ctx->body;
    req.len = ctx->len;
    req.too_large = ctx->too_large;
    req.conn = conn;
    req.token = ++srv->next_token;
    srv->opts.handler(srv->opts.ud, &req, &resp);
    if (resp.defer) {
        ctx->token = req.token;
        ctx->next = srv->suspended;
        if (srv->suspended)
            srv->suspended->prev = ctx;
        srv->suspended = ctx;
        MHD_suspend_connection(conn);
        return MHD_YES;
    }
    return queue(conn, &resp);
}

static void unlink_suspended(hs_http_server *srv, request_ctx *ctx)
{
    if (ctx->prev)
        ctx->prev->next = ctx->next;
    else if (srv->suspended == ctx)
        srv->suspended = ctx->next;
    if (ctx->next)
        ctx->next->prev = ctx->prev;
    ctx->prev = ctx->next = NULL;
}

int hs_http_server_answer(hs_http_server *srv, uint64_t token, unsigned status, char *body,
                          size_t len)
{
    request_ctx *ctx = srv->suspended;

    while (ctx && ctx->token != token)
        ctx = ctx->next;
    if (!ctx || !srv->daemon) {
        free(body);
        return -1;
    }
    unlink_suspended(srv, ctx);
    ctx->token = 0;
    ctx->answered = 1;
    ctx->answer.status = status;
    ctx->answer.body = body;
    ctx->answer.len = len;
    ctx->answer.allow = NULL;
    MHD_resume_connection(ctx->conn);
    run_daemon(srv);
    return 0;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    request_ctx *ctx = *con_cls;
    hs_http_server *srv = cls;
    conn_ctx *k = conn_of(conn);

    (void)toe;
    if (k && k->busy && !k->drained) {
        k->busy = 0;
        idle_push(srv, k);
    }
    if (ctx) {
        if (ctx->token)
            unlink_suspended(srv, ctx);
        if (ctx->answered)
            free(ctx->answer.body);
        free(ctx->body);
        free(ctx);
        *con_cls = NULL;
    }
}

const char *hs_http_request_header(const hs_http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *hs_http_request_arg(const hs_http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

hs_err hs_http_server_start(uv_loop_t *loop, const hs_http_server_opts *opts, hs_http_server **out)
{
    hs_http_server *srv;
    struct sockaddr_in sa;
    const union MHD_DaemonInfo *info;

    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(opts->port);
    if (inet_pton(AF_INET, opts->host, &sa.sin_addr) != 1)
        return HS_EINVAL;
    srv = calloc(1, sizeof *srv);
    if (!srv)
        return HS_ENOMEM;
    srv->opts = *opts;
    /* Room for two more, or an eighth: MHD stops listening at the limit. */
    size_t room = opts->max_connections / 8 > 2 ? opts->max_connections / 8 : 2;
    srv->drain_at = opts->max_connections > room ? opts->max_connections - room : 0;
    srv->daemon = MHD_start_daemon(
        MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME, opts->port, NULL, NULL,
        on_request, srv, MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, srv, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)opts->max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
        opts->connection_timeout, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, 1U, MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv,
        MHD_OPTION_END);
    if (!srv->daemon) {
        server_log(srv, HS_LOG_ERROR, "cannot listen on %s:%u", opts->host, (unsigned)opts->port);
        free(srv);
        return HS_EIO;
    }
    info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : opts->port;
    info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_EPOLL_FD);
    if (!info || uv_poll_init(loop, &srv->poll, info->epoll_fd) != 0) {
        MHD_stop_daemon(srv->daemon);
        free(srv);
        return HS_EIO;
    }
    uv_timer_init(loop, &srv->timer);
    srv->poll.data = srv->timer.data = srv;
    srv->open_handles = 2;
    uv_poll_start(&srv->poll, UV_READABLE, on_poll);
    rearm(srv);
    *out = srv;
    return HS_OK;
}

uint16_t hs_http_server_port(const hs_http_server *srv)
{
    return srv->port;
}

unsigned long hs_http_server_drained(const hs_http_server *srv)
{
    return srv->drained;
}

static void on_closed(uv_handle_t *h)
{
    hs_http_server *srv = h->data;

    if (--srv->open_handles == 0) {
        void (*done)(void *) = srv->done;
        void *ud = srv->done_ud;
        free(srv);
        if (done)
            done(ud);
    }
}

void hs_http_server_close(hs_http_server *srv, void (*done)(void *ud), void *ud)
{
    srv->done = done;
    srv->done_ud = ud;
    /* Suspended requests get a last answer, so MHD can close them. */
    while (srv->suspended) {
        char *busy = strdup("{\"status\":\"error\",\"error\":\"node shutting down\"}");
        hs_http_server_answer(srv, srv->suspended->token, 503, busy, busy ? strlen(busy) : 0);
    }
    uv_poll_stop(&srv->poll);
    uv_timer_stop(&srv->timer);
    MHD_stop_daemon(srv->daemon);
    srv->daemon = NULL;
    uv_close((uv_handle_t *)&srv->poll, on_closed);
    uv_close((uv_handle_t *)&srv->timer, on_closed);
}
