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
 * Idle kept-alive connections are drained the way nginx does it: no
 * connection is accepted past max_connections, so once a new connection takes the count
 * past 7/8 of it, the connections idle longest are shut down (their
 * clients reconnect when they next ask). Without it a node everyone
 * bootstraps from fills up with idle connections and stops answering
 * (1000 joiners did it to a seed node: every bootstrap timed out).
 *
 * The listening socket is ours, not MHD's: we accept (a uv_poll on it)
 * and hand each connection to MHD_add_connection(). MHD 0.9.75, out of
 * descriptors with no connection of its own open, retries accept() in a
 * busy loop, logging two lines each time (a node whose descriptors its
 * outbound requests held spun a core and wrote 270 MB of log in 8 s);
 * with connections open it stops accepting until one of them closes,
 * which idle kept-alive ones do only after connection_timeout. Here a
 * failed accept() for want of descriptors (EMFILE, ENFILE, or socket
 * memory) pauses accepting, 10 ms doubling to 1 s while it lasts (reset
 * by an accept that works), and shuts some idle connections to free
 * descriptors; an episode is counted and logged once, and ends when
 * accepts have worked for EPISODE_QUIET_MS. At max_connections we stop
 * polling the socket, and start again when a connection closes.
 *
 * TLS is MHD's (GnuTLS), in the same mode. Mutual TLS: MHD asks every
 * client for a certificate (it holds tls_ca as its trust list) but does
 * not judge it; before a connection's first request reaches the handler
 * we verify it with GnuTLS (chain to tls_ca, dates, a client-auth
 * purpose), once per connection, and a connection that fails gets 403
 * and is closed. The allow list is MHD's accept policy: a connection
 * from elsewhere is closed before any byte of it is read.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>

#include "bytes.h"
#include "cidr.h"
#include "http_server.h"

/* Bytes of MHD memory pool per connection: a request line and headers of a
 * few KiB, plus a read buffer; larger header sets get 431 from MHD. */
#define CONN_MEMORY (8 * 1024)

/* Bytes over max_body that a declared oversize body may have and still be
 * read (and discarded) before its 413. */
#define DRAIN_MAX (64 * 1024)

/* Bytes of a PEM file (certificate chain, key, CA bundle) at most. */
#define PEM_MAX (1024 * 1024)

/* Connections taken per wakeup of the listening socket: the rest wait for
 * the next turn, so a flood of connects cannot hold the loop. */
#define ACCEPT_BATCH 16

/* Out of descriptors: accepting pauses this long, doubling up to the max
 * while accept() keeps failing; an episode ends once accepts have worked
 * this long. ms. */
#define ACCEPT_PAUSE_MIN 10
#define ACCEPT_PAUSE_MAX 1000
#define EPISODE_QUIET_MS 5000

/* Per-connection request state, kept in MHD's con_cls. */
typedef struct mhd_server mhd_server;
static const hs_http_server_ops mhd_ops;

typedef struct request_ctx {
    char *body;
    size_t len, cap;
    int too_large;
    int refused; /* no verified client certificate: 403 */
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
    int busy;               /* a request is under way */
    int drained;            /* shut down by us; MHD closes it at its next read */
    int tls_checked;        /* its client certificate: 1 verified, -1 refused, 0 not yet */
    gnutls_session_t tls;   /* a TLS server's connection: its session */
    int watched;            /* on the watch list: in its handshake, or busy */
    unsigned char snap[18]; /* its TLS state when last looked at */
    struct conn_ctx *prev, *next;
    struct conn_ctx *wprev, *wnext; /* the watch list */
} conn_ctx;

struct mhd_server {
    hs_http_server base; /* first: what the node holds */
    struct MHD_Daemon *daemon;
    conn_ctx *idle_head, *idle_tail;
    size_t conns, draining, drain_at;
    unsigned long drained;
    request_ctx *suspended;
    uint64_t next_token;
    uv_poll_t poll;
    uv_timer_t timer;
    int listen_fd;           /* ours; MHD gets the connections we accept */
    uv_poll_t listen_poll;   /* watched while we accept */
    uv_timer_t accept_timer; /* the end of a pause, or of an episode */
    int listening;           /* listen_poll started */
    int paused;              /* out of descriptors: accept_timer resumes */
    int stopping;            /* srv_close has begun */
    unsigned pause_ms;       /* the last pause; 0 once an accept worked */
    uint64_t short_since;    /* uv_now when the episode began; 0: none */
    unsigned long deferred;  /* pauses in the episode */
    unsigned long fd_exhausted;
    int open_handles;
    uint16_t port;
    hs_http_server_opts opts;
    hs_cidr *allow;        /* opts.allow parsed */
    char *cert, *key, *ca; /* the TLS files' text, for MHD's life */
    unsigned long tls_refused, allow_refused;
    conn_ctx *watch;    /* TLS connections whose progress tells (see rearm) */
    int progress;       /* a callback ran during the last runs */
    unsigned zero_runs; /* runs in a row that left MHD at 0 and did nothing */
    void (*done)(void *ud);
    void *done_ud;
};

static void server_log(mhd_server *srv, hs_log_level lvl, const char *fmt, ...)
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
    mhd_server *srv = cls;
    char buf[512];

    if (!srv->opts.log)
        return;
    vsnprintf(buf, sizeof buf, fmt, ap);
    buf[strcspn(buf, "\n")] = '\0';
    srv->opts.log(srv->opts.log_ud, HS_LOG_WARN, srv->opts.log_name, buf);
}

static void on_timer(uv_timer_t *h);

static void idle_unlink(mhd_server *srv, conn_ctx *k)
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

static void idle_push(mhd_server *srv, conn_ctx *k)
{
    k->next = NULL;
    k->prev = srv->idle_tail;
    if (srv->idle_tail)
        srv->idle_tail->next = k;
    else
        srv->idle_head = k;
    srv->idle_tail = k;
}

/* Shuts down the connection idle longest, if any (0: none). shutdown(),
 * not close(): MHD still owns the descriptor and sees the end at its next
 * read. */
static int drain_one(mhd_server *srv)
{
    conn_ctx *k = srv->idle_head;

    if (!k)
        return 0;
    idle_unlink(srv, k);
    k->drained = 1;
    srv->draining++;
    srv->drained++;
    shutdown(k->fd, SHUT_RDWR);
    return 1;
}

/* Shuts down the connections idle longest while the open ones (less those
 * already on their way out) are past drain_at. */
static void drain(mhd_server *srv)
{
    while (srv->conns - srv->draining > srv->drain_at && drain_one(srv))
        ;
}

static conn_ctx *conn_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info ? info->socket_context : NULL;
}

/* The watch list: TLS connections in their handshake or with a request
 * under way, whose TLS state shows whether a run moved anything. */
static void watch(mhd_server *srv, conn_ctx *k)
{
    if (!k->tls || k->watched)
        return;
    k->watched = 1;
    k->wprev = NULL;
    k->wnext = srv->watch;
    if (srv->watch)
        srv->watch->wprev = k;
    srv->watch = k;
}

static void unwatch(mhd_server *srv, conn_ctx *k)
{
    if (!k->watched)
        return;
    if (k->wprev)
        k->wprev->wnext = k->wnext;
    else
        srv->watch = k->wnext;
    if (k->wnext)
        k->wnext->wprev = k->wprev;
    k->wprev = k->wnext = NULL;
    k->watched = 0;
}

/* Whether a watched connection's TLS state moved since the last look (a
 * handshake message, a record in or out); one done with its handshake and
 * idle leaves the list. O(watched). */
static int tls_moved(mhd_server *srv)
{
    conn_ctx *k, *next;
    unsigned char now[18];
    int moved = 0;

    for (k = srv->watch; k; k = next) {
        next = k->wnext;
        memset(now, 0, sizeof now);
        now[0] = (unsigned char)gnutls_handshake_get_last_in(k->tls);
        now[1] = (unsigned char)gnutls_handshake_get_last_out(k->tls);
        /* (unavailable during the handshake: left 0) */
        gnutls_record_get_state(k->tls, 1, NULL, NULL, NULL, now + 2);
        gnutls_record_get_state(k->tls, 0, NULL, NULL, NULL, now + 10);
        if (memcmp(now, k->snap, sizeof now) != 0) {
            moved = 1;
            memcpy(k->snap, now, sizeof now);
        }
        /* A server's last handshake message in is the client's Finished. */
        if (!k->busy && now[0] == GNUTLS_HANDSHAKE_FINISHED)
            unwatch(srv, k);
    }
    return moved;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    mhd_server *srv = cls;
    conn_ctx *k = *socket_context;

    srv->progress = 1;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *fd =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        const union MHD_ConnectionInfo *tls =
            srv->cert ? MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION) : NULL;
        srv->conns++;
        if (!fd || !(k = calloc(1, sizeof *k)))
            return; /* not drainable; counted all the same */
        k->fd = fd->connect_fd;
        *socket_context = k;
        drain(srv); /* before it joins the idle ones: never the newcomer */
        idle_push(srv, k);
        if (tls && tls->tls_session) {
            k->tls = tls->tls_session;
            memset(k->snap, 0xff, sizeof k->snap);
            watch(srv, k);
        }
        return;
    }
    srv->conns--;
    if (k) {
        unwatch(srv, k);
        idle_unlink(srv, k);
        if (k->drained)
            srv->draining--;
        free(k);
        *socket_context = NULL;
    }
}

/*
 * MHD says 0 while a connection is on its epoll "ready" list: work is
 * waiting (the rest of a body, of an answer: a TLS answer goes out a
 * record per run), and the next run must come at once. But a TLS
 * connection in its handshake stays on that list until the handshake
 * ends (MHD 0.9.75 clears the read-ready flag on EAGAIN from a record,
 * not from the handshake), though only new bytes, which the epoll fd
 * reports, can move it. Taken at its word that is a busy loop, and libuv
 * (1.44) runs a 0 ms timer re-armed from its own callback again in the
 * same pass, before any I/O: the loop would hang (a silent client was
 * enough). So on a TLS server a 0 after runs that moved nothing (no
 * callback of ours, no watched connection's handshake or record counter)
 * waits, 1 ms doubling up to 64 ms; an event on the epoll fd, or any
 * progress, starts over. A plain server never waits.
 */
static void rearm(mhd_server *srv)
{
    MHD_UNSIGNED_LONG_LONG to;

    if (MHD_get_timeout(srv->daemon, &to) != MHD_YES) {
        uv_timer_stop(&srv->timer);
        return;
    }
    if (to == 0 && srv->cert && !srv->progress && !(srv->watch && tls_moved(srv)))
        to = 1u << (srv->zero_runs < 6 ? srv->zero_runs++ : 6);
    else
        srv->zero_runs = 0;
    uv_timer_start(&srv->timer, on_timer, to > 60000 ? 60000 : to, 0);
}

static void listen_update(mhd_server *srv);
static void on_listen(uv_poll_t *h, int status, int events);

static void run_daemon(mhd_server *srv)
{
    srv->progress = 0;
    MHD_run(srv->daemon);
    rearm(srv);
    listen_update(srv); /* a connection that closed makes room */
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    mhd_server *srv = h->data;

    (void)status;
    (void)events;
    srv->zero_runs = 0;
    run_daemon(srv);
}

static void on_timer(uv_timer_t *h)
{
    run_daemon(h->data);
}

/* ---- accepting --------------------------------------------------------- */

/* Watches the listening socket while we may accept: not paused, and below
 * max_connections (MHD would close what we gave it past that). */
static void listen_update(mhd_server *srv)
{
    int want = !srv->stopping && !srv->paused && srv->conns < srv->opts.max_connections;

    if (want && !srv->listening)
        uv_poll_start(&srv->listen_poll, UV_READABLE, on_listen);
    else if (!want && srv->listening)
        uv_poll_stop(&srv->listen_poll);
    srv->listening = want;
}

/* The process's descriptor limit, in words, for the log. */
static void fd_limit_text(char *buf, size_t cap)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        snprintf(buf, cap, "%llu", (unsigned long long)rl.rlim_cur);
    else
        snprintf(buf, cap, "unknown");
}

static void on_accept_timer(uv_timer_t *h);

/* Shuts the connections idle longest, to free descriptors: an eighth of
 * those open, at least one, at most 32 per pause (as nginx drains its
 * reusable connections). */
static void drain_for_fds(mhd_server *srv)
{
    size_t open = srv->conns - srv->draining, n = open / 8;

    n = n < 1 ? 1 : n > 32 ? 32 : n;
    while (n-- && drain_one(srv))
        ;
}

/* accept() failed for want of descriptors (or of socket memory): pause
 * accepting, longer each time in a row, and shut idle connections. The
 * first failure of an episode is counted and logged; the others only
 * tallied. */
static void out_of_fds(mhd_server *srv, int err)
{
    char limit[32];

    if (!srv->short_since) {
        uint64_t now = uv_now(srv->listen_poll.loop);
        srv->short_since = now ? now : 1;
        srv->deferred = 0;
        srv->fd_exhausted++;
        fd_limit_text(limit, sizeof limit);
        server_log(srv, HS_LOG_WARN,
                   "out of file descriptors: cannot accept connections (%s) with %zu open; "
                   "pausing accepts (%d ms doubling to %d ms) and shutting idle connections "
                   "until descriptors free up. Raise the process's limit (now %s: ulimit -n, or "
                   "LimitNOFILE= under systemd) or lower max_connections (%zu)",
                   strerror(err), srv->conns, ACCEPT_PAUSE_MIN, ACCEPT_PAUSE_MAX, limit,
                   srv->opts.max_connections);
    }
    srv->deferred++;
    srv->pause_ms = !srv->pause_ms                         ? ACCEPT_PAUSE_MIN
                    : srv->pause_ms * 2 > ACCEPT_PAUSE_MAX ? ACCEPT_PAUSE_MAX
                                                           : srv->pause_ms * 2;
    srv->paused = 1;
    drain_for_fds(srv);
    uv_timer_start(&srv->accept_timer, on_accept_timer, srv->pause_ms, 0);
}

/* Takes up to ACCEPT_BATCH waiting connections and hands them to MHD. */
static void accept_some(mhd_server *srv)
{
    int added = 0;

    for (int i = 0; i < ACCEPT_BATCH && !srv->paused && srv->conns < srv->opts.max_connections;
         i++) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        int fd =
            accept4(srv->listen_fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            int err = errno;
            if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM)
                out_of_fds(srv, err);
            if (err == EAGAIN || err == EWOULDBLOCK || srv->paused)
                break;
            continue; /* that connection's trouble (aborted, a network error) */
        }
        srv->pause_ms = 0;
        /* MHD closes fd itself when it cannot take it. */
        if (MHD_add_connection(srv->daemon, fd, (struct sockaddr *)&ss, len) == MHD_YES)
            added = 1;
    }
    if (added)
        run_daemon(srv); /* reads what came with them; re-arms MHD's timeout */
    listen_update(srv);
}

static void on_listen(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    accept_some(h->data);
}

/* The end of a pause: accept again at once (the waiting connections are
 * still queued). The end of a quiet spell: the episode is over. */
static void on_accept_timer(uv_timer_t *h)
{
    mhd_server *srv = h->data;

    if (srv->paused) {
        srv->paused = 0;
        accept_some(srv);
        if (!srv->paused)
            uv_timer_start(&srv->accept_timer, on_accept_timer, EPISODE_QUIET_MS, 0);
        return;
    }
    if (srv->short_since) {
        server_log(srv, HS_LOG_INFO,
                   "file descriptors again: accepting connections (%lu pauses over %.1f s)",
                   srv->deferred, (double)(uv_now(h->loop) - srv->short_since) / 1000.0);
        srv->short_since = 0;
    }
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
    MHD_add_response_header(r, "Content-Type",
                            resp->content_type ? resp->content_type : "application/json");
    if (resp->allow)
        MHD_add_response_header(r, "Allow", resp->allow);
    if (resp->csp) {
        MHD_add_response_header(r, "Content-Security-Policy", resp->csp);
        MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
        MHD_add_response_header(r, "X-Frame-Options", "DENY");
        MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
        MHD_add_response_header(r, "Cache-Control", "no-store");
    }
    ret = MHD_queue_response(conn, resp->status, r);
    MHD_destroy_response(r);
    return ret;
}

/* Whether the client of this TLS connection presented a certificate that
 * verifies against tls_ca for client authentication; judged once per
 * connection (k caches it), counted when refused. */
static int client_verified(mhd_server *srv, struct MHD_Connection *conn, conn_ctx *k)
{
    const union MHD_ConnectionInfo *ci;
    gnutls_typed_vdata_st purpose = {.type = GNUTLS_DT_KEY_PURPOSE_OID,
                                     .data = (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT};
    unsigned status = 0;
    int rc = GNUTLS_E_INVALID_SESSION;

    if (k && k->tls_checked)
        return k->tls_checked > 0;
    ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (ci && ci->tls_session)
        rc = gnutls_certificate_verify_peers(ci->tls_session, &purpose, 1, &status);
    if (k)
        k->tls_checked = rc == 0 && status == 0 ? 1 : -1;
    if (rc == 0 && status == 0)
        return 1;
    srv->tls_refused++;
    if (rc == 0) {
        gnutls_datum_t why = {0};
        if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &why, 0) == 0) {
            server_log(srv, HS_LOG_DEBUG, "client certificate refused: %s", (char *)why.data);
            gnutls_free(why.data);
        }
    } else {
        server_log(srv, HS_LOG_DEBUG, "client certificate refused: %s", gnutls_strerror(rc));
    }
    return 0;
}

/* The answer to a request of a connection without a verified client
 * certificate; the connection closes after it. */
static enum MHD_Result refuse_client(struct MHD_Connection *conn)
{
    static const char body[] = "{\"status\":\"error\",\"error\":\"a client certificate "
                               "signed by this cluster's CA is required (mutual TLS)\"}";
    struct MHD_Response *r;
    enum MHD_Result ret;

    r = MHD_create_response_from_buffer(sizeof body - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/json");
    MHD_add_response_header(r, "Connection", "close");
    ret = MHD_queue_response(conn, 403, r);
    MHD_destroy_response(r);
    return ret;
}

/* MHD's accept policy: connections only from the allowed ranges. */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    mhd_server *srv = cls;
    uint8_t a[16];
    char text[64];

    (void)addrlen;
    if (hs_addr_bytes(addr, a) == 0 && hs_cidr_any(srv->allow, srv->opts.n_allow, a))
        return MHD_YES;
    srv->allow_refused++;
    if (hs_addr_bytes(addr, a) == 0) {
        hs_addr_text(a, text);
        server_log(srv, HS_LOG_DEBUG, "refused a connection from %s: not in peer_allow", text);
    }
    return MHD_NO;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    mhd_server *srv = cls;
    request_ctx *ctx = *con_cls;
    hs_http_request req;
    hs_http_response resp = {0};

    (void)version;
    srv->progress = 1;
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
            watch(srv, k);
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
        /* No verified client certificate: 403, its body discarded the same way. */
        if (srv->opts.tls_client_auth && !client_verified(srv, conn, k)) {
            ctx->refused = 1;
            return declared <= DRAIN_MAX ? MHD_YES : refuse_client(conn);
        }
        if (declared <= srv->opts.max_body)
            return MHD_YES;
        ctx->too_large = 1;
        if (declared - srv->opts.max_body <= DRAIN_MAX)
            return MHD_YES;
    } else if (*upload_size) {
        if (!ctx->refused && append(ctx, upload_data, *upload_size, srv->opts.max_body) < 0)
            return MHD_NO;
        *upload_size = 0;
        return MHD_YES;
    }
    if (ctx->refused)
        return refuse_client(conn);
    req.method = method;
    req.path = url;
    req.body = ctx->body;
    req.len = ctx->len;
    req.too_large = ctx->too_large;
    req.conn = conn;
    req.server = &srv->base;
    {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        req.remote = ci ? ci->client_addr : NULL;
    }
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

static void unlink_suspended(mhd_server *srv, request_ctx *ctx)
{
    if (ctx->prev)
        ctx->prev->next = ctx->next;
    else if (srv->suspended == ctx)
        srv->suspended = ctx->next;
    if (ctx->next)
        ctx->next->prev = ctx->prev;
    ctx->prev = ctx->next = NULL;
}

static int srv_answer(hs_http_server *base, uint64_t token, unsigned status, char *body, size_t len)
{
    mhd_server *srv = (mhd_server *)base;
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
    mhd_server *srv = cls;
    conn_ctx *k = conn_of(conn);

    (void)toe;
    srv->progress = 1;
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

static const char *srv_header(const hs_http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

static const char *srv_arg(const hs_http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

/* Frees what start allocated besides the handles; the key's bytes are
 * wiped first. */
static void free_server(mhd_server *srv)
{
    if (srv->listen_fd >= 0)
        close(srv->listen_fd);
    if (srv->key)
        explicit_bzero(srv->key, strlen(srv->key));
    free(srv->key);
    free(srv->cert);
    free(srv->ca);
    free(srv->allow);
    free(srv);
}

/* The text of a PEM file (malloc'd, NUL-terminated), or NULL once the
 * reason is logged with the setting's name and the file's. */
static char *read_pem(mhd_server *srv, const char *setting, const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n;

    if (!f) {
        server_log(srv, HS_LOG_ERROR, "%s %s: %s", setting, path, strerror(errno));
        return NULL;
    }
    if (!(buf = malloc(PEM_MAX + 1))) {
        fclose(f);
        return NULL;
    }
    n = fread(buf, 1, PEM_MAX + 1, f);
    if (ferror(f) || n > PEM_MAX || !memmem(buf, n, "-----BEGIN ", 11)) {
        const char *why = ferror(f)     ? strerror(errno)
                          : n > PEM_MAX ? "larger than 1 MiB: not a PEM file"
                                        : "no PEM block (-----BEGIN ...) in it";
        server_log(srv, HS_LOG_ERROR, "%s %s: %s", setting, path, why);
        fclose(f);
        free(buf);
        return NULL;
    }
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* Reads the TLS files and checks them with GnuTLS (the key is the
 * certificate's, the CA file holds certificates), so that a mistake is
 * said here, naming the file, rather than as MHD's "failed to start". */
static hs_err load_tls(mhd_server *srv)
{
    const hs_http_server_opts *o = &srv->opts;
    gnutls_certificate_credentials_t cred;
    gnutls_datum_t cert, key, ca;
    int rc;

    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        server_log(srv, HS_LOG_ERROR,
                   "tls_cert: this libmicrohttpd was built without TLS: it cannot serve HTTPS");
        return HS_EINVAL;
    }
    if (!o->tls_cert || !o->tls_key) {
        server_log(srv, HS_LOG_ERROR, "tls_cert and tls_key go together");
        return HS_EINVAL;
    }
    if (o->tls_client_auth && !o->tls_ca) {
        server_log(srv, HS_LOG_ERROR,
                   "tls_client_auth needs tls_ca: the CAs client certificates must chain to");
        return HS_EINVAL;
    }
    if (!(srv->cert = read_pem(srv, "tls_cert", o->tls_cert)) ||
        !(srv->key = read_pem(srv, "tls_key", o->tls_key)) ||
        (o->tls_ca && !(srv->ca = read_pem(srv, "tls_ca", o->tls_ca))))
        return HS_EINVAL;
    if (gnutls_certificate_allocate_credentials(&cred) < 0)
        return HS_ENOMEM;
    cert = (gnutls_datum_t){(unsigned char *)srv->cert, (unsigned)strlen(srv->cert)};
    key = (gnutls_datum_t){(unsigned char *)srv->key, (unsigned)strlen(srv->key)};
    rc = gnutls_certificate_set_x509_key_mem2(cred, &cert, &key, GNUTLS_X509_FMT_PEM, NULL, 0);
    if (rc < 0)
        server_log(srv, HS_LOG_ERROR, "tls_cert %s, tls_key %s: not a certificate and its key: %s",
                   o->tls_cert, o->tls_key, gnutls_strerror(rc));
    if (rc >= 0 && srv->ca) {
        ca = (gnutls_datum_t){(unsigned char *)srv->ca, (unsigned)strlen(srv->ca)};
        rc = gnutls_certificate_set_x509_trust_mem(cred, &ca, GNUTLS_X509_FMT_PEM);
        if (rc <= 0)
            server_log(srv, HS_LOG_ERROR, "tls_ca %s: %s", o->tls_ca,
                       rc < 0 ? gnutls_strerror(rc) : "no CA certificate in it");
        rc = rc <= 0 ? -1 : 0;
    }
    gnutls_certificate_free_credentials(cred);
    return rc < 0 ? HS_EINVAL : HS_OK;
}

/* A listening socket on sa (non-blocking; IPv6 only for an IPv6 address,
 * as MHD made it), or -1 with errno set. */
static int listen_on(const struct sockaddr_storage *sa)
{
    int one = 1, fd, err;
    socklen_t len =
        sa->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);

    if ((fd = socket(sa->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
        return -1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0 &&
        (sa->ss_family != AF_INET6 ||
         setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) == 0) &&
        bind(fd, (const struct sockaddr *)sa, len) == 0 && listen(fd, SOMAXCONN) == 0)
        return fd;
    err = errno;
    close(fd);
    errno = err;
    return -1;
}

static void on_closed(uv_handle_t *h);

hs_err hs_http_server_start(uv_loop_t *loop, const hs_http_server_opts *opts, hs_http_server **out)
{
    mhd_server *srv;
    struct sockaddr_storage sa;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&sa;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&sa;
    const union MHD_DaemonInfo *info;
    struct MHD_OptionItem tls[4];
    size_t ntls = 0;
    unsigned ipv6 = 0;
    hs_err err;

    /* An IPv4 or an IPv6 address ("::1", "::" for every interface). */
    memset(&sa, 0, sizeof sa);
    if (inet_pton(AF_INET, opts->host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(opts->port);
    } else if (inet_pton(AF_INET6, opts->host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(opts->port);
        ipv6 = MHD_USE_IPv6;
    } else {
        return HS_EINVAL;
    }
    srv = calloc(1, sizeof *srv);
    if (!srv)
        return HS_ENOMEM;
    srv->listen_fd = -1;
    srv->base.ops = &mhd_ops;
    srv->opts = *opts;
    if (opts->n_allow && !(srv->allow = calloc(opts->n_allow, sizeof *srv->allow))) {
        free_server(srv);
        return HS_ENOMEM;
    }
    for (size_t i = 0; i < opts->n_allow; i++) {
        if (hs_cidr_parse(opts->allow[i], &srv->allow[i]) != HS_OK) {
            server_log(srv, HS_LOG_ERROR, "peer_allow: '%s' is not an address range",
                       opts->allow[i]);
            free_server(srv);
            return HS_EINVAL;
        }
    }
    if ((opts->tls_cert || opts->tls_key) && (err = load_tls(srv)) != HS_OK) {
        free_server(srv);
        return err;
    }
    /* MHD keeps the pointers: the texts live as long as the server. */
    if (srv->cert) {
        tls[ntls++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, srv->cert};
        tls[ntls++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, srv->key};
        if (opts->tls_client_auth)
            tls[ntls++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0, srv->ca};
    }
    tls[ntls] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    /* Room for two more, or an eighth: we stop accepting at the limit. */
    size_t room = opts->max_connections / 8 > 2 ? opts->max_connections / 8 : 2;
    srv->drain_at = opts->max_connections > room ? opts->max_connections - room : 0;
    if ((srv->listen_fd = listen_on(&sa)) < 0) {
        server_log(srv, HS_LOG_ERROR, "cannot listen on %s:%u: %s", opts->host,
                   (unsigned)opts->port, strerror(errno));
        free_server(srv);
        return HS_EIO;
    }
    srv->daemon = MHD_start_daemon(
        MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_NO_LISTEN_SOCKET |
            ipv6 | (srv->cert ? MHD_USE_TLS : 0),
        0, opts->n_allow ? on_accept : NULL, srv, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER,
        mhd_logger, srv, MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)opts->max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
        opts->connection_timeout, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv, MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
    if (!srv->daemon) {
        server_log(srv, HS_LOG_ERROR, "cannot listen on %s:%u", opts->host, (unsigned)opts->port);
        free_server(srv);
        return HS_EIO;
    }
    {
        struct sockaddr_storage bound;
        socklen_t blen = sizeof bound;
        srv->port = opts->port;
        if (getsockname(srv->listen_fd, (struct sockaddr *)&bound, &blen) == 0)
            srv->port =
                ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                  : ((struct sockaddr_in *)&bound)->sin_port);
    }
    info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_EPOLL_FD);
    if (!info || uv_poll_init(loop, &srv->poll, info->epoll_fd) != 0) {
        MHD_stop_daemon(srv->daemon);
        free_server(srv);
        return HS_EIO;
    }
    if (uv_poll_init(loop, &srv->listen_poll, srv->listen_fd) != 0) {
        MHD_stop_daemon(srv->daemon);
        srv->daemon = NULL;
        srv->poll.data = srv;
        srv->open_handles = 1;
        uv_close((uv_handle_t *)&srv->poll, on_closed); /* frees srv */
        return HS_EIO;
    }
    uv_timer_init(loop, &srv->timer);
    uv_timer_init(loop, &srv->accept_timer);
    srv->poll.data = srv->timer.data = srv->listen_poll.data = srv->accept_timer.data = srv;
    srv->open_handles = 4;
    uv_poll_start(&srv->poll, UV_READABLE, on_poll);
    rearm(srv);
    listen_update(srv);
    *out = &srv->base;
    return HS_OK;
}

static uint16_t srv_port(const hs_http_server *base)
{
    const mhd_server *srv = (const mhd_server *)base;
    return srv->port;
}

static unsigned long srv_drained(const hs_http_server *base)
{
    const mhd_server *srv = (const mhd_server *)base;
    return srv->drained;
}

static unsigned long srv_fd_exhausted(const hs_http_server *base)
{
    const mhd_server *srv = (const mhd_server *)base;
    return srv->fd_exhausted;
}

static unsigned long srv_tls_refused(const hs_http_server *base)
{
    const mhd_server *srv = (const mhd_server *)base;
    return srv->tls_refused;
}

static unsigned long srv_allow_refused(const hs_http_server *base)
{
    const mhd_server *srv = (const mhd_server *)base;
    return srv->allow_refused;
}

static void on_closed(uv_handle_t *h)
{
    mhd_server *srv = h->data;

    if (--srv->open_handles == 0) {
        void (*done)(void *) = srv->done;
        void *ud = srv->done_ud;
        free_server(srv);
        if (done)
            done(ud);
    }
}

static void srv_close(hs_http_server *base, void (*done)(void *ud), void *ud)
{
    mhd_server *srv = (mhd_server *)base;
    srv->done = done;
    srv->done_ud = ud;
    /* Suspended requests get a last answer, so MHD can close them. */
    while (srv->suspended) {
        char *busy = strdup("{\"status\":\"error\",\"error\":\"node shutting down\"}");
        srv_answer(&srv->base, srv->suspended->token, 503, busy, busy ? strlen(busy) : 0);
    }
    srv->stopping = 1;
    listen_update(srv);
    uv_poll_stop(&srv->poll);
    uv_timer_stop(&srv->timer);
    uv_timer_stop(&srv->accept_timer);
    MHD_stop_daemon(srv->daemon);
    srv->daemon = NULL;
    uv_close((uv_handle_t *)&srv->poll, on_closed);
    uv_close((uv_handle_t *)&srv->timer, on_closed);
    uv_close((uv_handle_t *)&srv->listen_poll, on_closed);
    uv_close((uv_handle_t *)&srv->accept_timer, on_closed);
}

static const hs_http_server_ops mhd_ops = {
    .port = srv_port,
    .drained = srv_drained,
    .fd_exhausted = srv_fd_exhausted,
    .tls_refused = srv_tls_refused,
    .allow_refused = srv_allow_refused,
    .answer = srv_answer,
    .header = srv_header,
    .arg = srv_arg,
    .close = srv_close,
};
