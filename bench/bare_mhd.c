/*
 * bare_mhd.c -- the ingest ceiling: a libmicrohttpd server driven exactly
 * the way hearsay drives its own (core/net/http_server.c): MHD_USE_EPOLL with
 * no threads of its own, its epoll fd watched by a libuv uv_poll, its
 * timeout by a uv_timer, one loop, one thread. It reads every request body
 * (counting the bytes, keeping none) and answers a fixed small JSON. Nothing
 * else: no parsing, no dedup, no forwarding. Whatever hearsay does beyond
 * this is what hearsay costs.
 *
 * With --id ID it also answers GET /health with {"node_id": ID, ...}, so a
 * hearsay node's health probe accepts it as a live peer: bench/run uses
 * such servers as "sinks" that swallow forwarded messages.
 *
 *   bare_mhd [--host 127.0.0.1] [--port 0] [--id ID] [--seconds S]
 *
 * Prints "port N" on stdout once listening; exits 0 on SIGINT/SIGTERM or
 * after --seconds (default 3600: never an unbounded run), printing the
 * requests and body bytes it served.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>
#include <uv.h>

typedef struct bare {
    struct MHD_Daemon *daemon;
    uv_poll_t poll;
    uv_timer_t timer, deadline;
    uv_signal_t sigint, sigterm;
    struct MHD_Response *accepted, *health;
    uint64_t requests, body_bytes;
} bare;

/* One per request, in MHD's con_cls: a non-NULL marker plus the body size. */
typedef struct request_ctx {
    size_t len;
} request_ctx;

static void on_timer(uv_timer_t *h);

/* Same as hearsay: after every MHD_run, re-arm the timer with MHD's own
 * timeout (capped, so a missed wakeup costs at most a minute). */
static void rearm(bare *b)
{
    MHD_UNSIGNED_LONG_LONG to;

    if (MHD_get_timeout(b->daemon, &to) == MHD_YES)
        uv_timer_start(&b->timer, on_timer, to > 60000 ? 60000 : to, 0);
    else
        uv_timer_stop(&b->timer);
}

static void run_daemon(bare *b)
{
    MHD_run(b->daemon);
    rearm(b);
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

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **con_cls)
{
    bare *b = cls;
    request_ctx *ctx = *con_cls;

    (void)version;
    (void)upload_data;
    if (!ctx) {
        ctx = calloc(1, sizeof *ctx);
        if (!ctx)
            return MHD_NO;
        *con_cls = ctx;
        return MHD_YES;
    }
    if (*upload_size) {
        ctx->len += *upload_size; /* read, counted, dropped */
        *upload_size = 0;
        return MHD_YES;
    }
    b->requests++;
    b->body_bytes += ctx->len;
    if (b->health && strcmp(method, "GET") == 0 && strcmp(url, "/health") == 0)
        return MHD_queue_response(conn, MHD_HTTP_OK, b->health);
    return MHD_queue_response(conn, MHD_HTTP_OK, b->accepted);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    free(*con_cls);
    *con_cls = NULL;
}

static struct MHD_Response *json_response(const char *body)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body,
                                                             MHD_RESPMEM_MUST_COPY);
    if (r)
        MHD_add_response_header(r, "Content-Type", "application/json");
    return r;
}

static void stop(bare *b)
{
    uv_poll_stop(&b->poll);
    uv_timer_stop(&b->timer);
    uv_timer_stop(&b->deadline);
    uv_signal_stop(&b->sigint);
    uv_signal_stop(&b->sigterm);
    uv_stop(b->poll.loop);
}

static void on_signal(uv_signal_t *h, int signum)
{
    (void)signum;
    stop(h->data);
}

static void on_deadline(uv_timer_t *h)
{
    stop(h->data);
}

static void usage(void)
{
    fprintf(stderr, "usage: bare_mhd [--host ADDR] [--port N] [--id ID] [--seconds S]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1", *id = NULL;
    unsigned port = 0;
    double seconds = 3600;
    struct sockaddr_in sa;
    const union MHD_DaemonInfo *info;
    uv_loop_t *loop = uv_default_loop();
    bare b;

    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            usage();
        if (strcmp(argv[i], "--host") == 0)
            host = argv[++i];
        else if (strcmp(argv[i], "--port") == 0)
            port = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--id") == 0)
            id = argv[++i];
        else if (strcmp(argv[i], "--seconds") == 0)
            seconds = strtod(argv[++i], NULL);
        else
            usage();
    }
    if (port > 65535 || !(seconds > 0) || (id && strlen(id) > 128))
        usage();
    memset(&b, 0, sizeof b);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        usage();
    b.accepted = json_response("{\"status\":\"accepted\"}");
    if (id) {
        char body[256];
        snprintf(body, sizeof body,
                 "{\"status\":\"ok\",\"node_id\":\"%s\",\"peer_count\":0,\"features\":[\"batch\"]}",
                 id);
        b.health = json_response(body);
    }
    if (!b.accepted || (id && !b.health))
        return 1;
    /* The options hearsay's server uses, minus its logger and suspend/resume
     * (its 8 KiB connection memory pool included: core/net/http_server.c). */
    b.daemon = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, (uint16_t)port, NULL, NULL,
                                on_request, &b, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                                MHD_OPTION_NOTIFY_COMPLETED, on_completed, &b,
                                MHD_OPTION_CONNECTION_LIMIT, 1024U,
                                MHD_OPTION_CONNECTION_TIMEOUT, 60U,
                                MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(8 * 1024),
                                MHD_OPTION_LISTENING_ADDRESS_REUSE, 1U, MHD_OPTION_END);
    if (!b.daemon) {
        fprintf(stderr, "bare_mhd: cannot listen on %s:%u\n", host, port);
        return 1;
    }
    info = MHD_get_daemon_info(b.daemon, MHD_DAEMON_INFO_BIND_PORT);
    printf("port %u\n", info ? (unsigned)info->port : port);
    fflush(stdout);
    info = MHD_get_daemon_info(b.daemon, MHD_DAEMON_INFO_EPOLL_FD);
    if (!info || uv_poll_init(loop, &b.poll, info->epoll_fd) != 0) {
        fprintf(stderr, "bare_mhd: cannot watch MHD's epoll fd\n");
        return 1;
    }
    uv_timer_init(loop, &b.timer);
    uv_timer_init(loop, &b.deadline);
    uv_signal_init(loop, &b.sigint);
    uv_signal_init(loop, &b.sigterm);
    b.poll.data = b.timer.data = b.deadline.data = b.sigint.data = b.sigterm.data = &b;
    uv_poll_start(&b.poll, UV_READABLE, on_poll);
    uv_timer_start(&b.deadline, on_deadline, (uint64_t)(seconds * 1000), 0);
    uv_signal_start(&b.sigint, on_signal, SIGINT);
    uv_signal_start(&b.sigterm, on_signal, SIGTERM);
    rearm(&b);
    uv_run(loop, UV_RUN_DEFAULT);

    uv_close((uv_handle_t *)&b.poll, NULL);
    uv_close((uv_handle_t *)&b.timer, NULL);
    uv_close((uv_handle_t *)&b.deadline, NULL);
    uv_close((uv_handle_t *)&b.sigint, NULL);
    uv_close((uv_handle_t *)&b.sigterm, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    MHD_stop_daemon(b.daemon);
    MHD_destroy_response(b.accepted);
    if (b.health)
        MHD_destroy_response(b.health);
    uv_loop_close(loop);
    printf("requests %llu body_bytes %llu\n", (unsigned long long)b.requests,
           (unsigned long long)b.body_bytes);
    return 0;
}
