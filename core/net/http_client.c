/*
 * http_client.c -- hearsay's HTTP/1.1 client on libuv; see http_client.h.
 *
 * Connections are pooled per host:port (a chained hash of hosts). One
 * carries one request at a time (no pipelining); between requests it sits
 * in its host's idle list and the client's LRU list with its read still
 * watched, so a server's close is seen when it happens. Nothing polls:
 * 50 idle connections cost what one does (curl's cache, by contrast,
 * poll()s each of them once a second, which was half the CPU of an idle
 * 1000-node cluster).
 *
 * A request takes an idle connection of its host, else opens one while the
 * host has fewer than per_host, else waits in the host's FIFO. Requests are
 * pooled with their deadline timers, so one on a kept-alive connection
 * costs a write (usually a single uv_try_write of head and body), the
 * reads of its answer, one copy of the answer's body, and no epoll_ctl.
 * A kept-alive connection that turns out closed before any byte of the
 * answer arrived is retried once on a fresh one, as curl does.
 *
 * Callbacks never run from within hs_http_client_request(): a failure
 * found there fires from the request's timer at the next loop turn.
 * Hosts are pinned while their queue is being served, so a chain of
 * failures inside it cannot free the host under it.
 *
 * With an allow list (peer_allow) the address is checked where it is
 * known, right before connecting: the resolved one (on_resolved) or the
 * literal (conn_open); a request to an address outside fails there.
 *
 * Out of file descriptors (the socket for a connect cannot be opened),
 * the connection idle longest is closed to free one and the connect
 * tried once more; failing again, the request fails as a failed connect
 * does, and opts.no_fd is told (the node then blames no peer for it).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cidr.h"
#include "http_client.h"
#include "http_curl.h"
#include "http_response.h"
#include "http_url.h"

/* One read buffer per client: every read is parsed before the next. */
#define READ_BUF (16 * 1024)
/* Spare requests (with their timers) kept for reuse, and the bytes of
 * head and body a spare one keeps allocated. */
#define REQ_POOL_MAX 64
#define REQ_BUF_KEEP 4096

typedef struct hclient hclient;
static const hs_http_client_ops own_ops;
typedef struct host host;
typedef struct conn conn;
typedef struct request request;

struct request {
    hclient *c;
    uv_timer_t timer; /* its deadline, or a failure due at the next turn */
    host *h;          /* while it waits in h's queue */
    conn *conn;       /* while a connection carries it */
    char *buf;        /* request line, headers and body */
    size_t len, cap;
    hs_http_cb cb;
    void *ud;
    uint64_t start_ns;
    uint64_t timeout_ms;
    int head;               /* a HEAD request: no body in the answer */
    int retried;            /* already moved off a kept-alive connection found closed */
    int failed;             /* error holds why; the timer reports it */
    request *prev, *next;   /* in flight (c->reqs), or the pool (next only) */
    request *wprev, *wnext; /* its host's queue */
    char error[160];
};

enum { C_RESOLVING, C_CONNECTING, C_BUSY, C_IDLE, C_CLOSING };

struct conn {
    uv_tcp_t tcp;
    uv_connect_t connect_req;
    uv_getaddrinfo_t gai;
    uv_write_t write_req;
    hclient *c;
    host *h;      /* NULL once closing */
    request *req; /* the request it carries, NULL when idle */
    int state;
    int resolving;       /* a getaddrinfo is under way */
    int pending;         /* the close callback and a getaddrinfo still to come */
    int used;            /* has carried an answer to its end */
    int writing;         /* a uv_write is under way (its bytes: the request's) */
    uint64_t idle_since; /* uv_now, ms */
    conn *lprev, *lnext; /* the client's idle LRU, oldest first */
    conn *hprev, *hnext; /* its host's idle list, newest first */
    conn *prev, *next;   /* every connection not yet freed */
    hs_http_resp resp;
};

struct host {
    host *chain;
    uint32_t hash;
    uint16_t port;
    unsigned pins; /* being served: not freed under the caller */
    size_t conns;  /* open or opening */
    conn *idle;    /* newest first */
    request *wait_head, *wait_tail;
    char name[HS_HTTP_HOST_MAX + 1];
};

struct hclient {
    hs_http_client base; /* first: what the node holds */
    uv_loop_t *loop;
    hs_http_client_opts o;
    hs_http_curl *curl; /* made on first use */
    host **buckets;
    size_t nbuckets, nhosts;
    conn *lru_head, *lru_tail;
    size_t nidle;
    conn *conns;
    request *reqs; /* in flight */
    request *pool;
    size_t npool;
    uv_timer_t idle_timer;
    size_t handles; /* open handles, and getaddrinfo calls to come back */
    int closing, curl_open;
    unsigned long requests, connects;
    size_t inflight;
    uint64_t nofd_last; /* uv_now of the last connect short of descriptors; 0: none */
    hs_cidr *allow;     /* o.trust.allow parsed */
    hs_http_refused refused;
    void (*done)(void *ud);
    void *done_ud;
    char rbuf[READ_BUF];
};

static void serve(hclient *c, host *h);
static void conn_close(conn *k);

/* ---- the client's end ------------------------------------------------ */

static void maybe_done(hclient *c)
{
    if (c->closing && c->handles == 0 && !c->curl_open) {
        void (*done)(void *) = c->done;
        void *ud = c->done_ud;
        free(c->buckets);
        free(c->allow);
        free(c);
        if (done)
            done(ud);
    }
}

static void on_handle_closed(uv_handle_t *h)
{
    hclient *c = h->data;

    c->handles--;
    maybe_done(c);
}

/* ---- hosts ------------------------------------------------------------ */

static uint32_t host_hash(const char *name, uint16_t port)
{
    uint32_t x = 2166136261u;

    for (; *name; name++)
        x = (x ^ (unsigned char)*name) * 16777619u;
    x = (x ^ (port & 0xff)) * 16777619u;
    return (x ^ (port >> 8)) * 16777619u;
}

static int grow_buckets(hclient *c)
{
    size_t nb = c->nbuckets ? c->nbuckets * 2 : 16;
    host **b = calloc(nb, sizeof *b);

    if (!b)
        return -1;
    for (size_t i = 0; i < c->nbuckets; i++) {
        host *h = c->buckets[i], *next;
        for (; h; h = next) {
            next = h->chain;
            h->chain = b[h->hash & (nb - 1)];
            b[h->hash & (nb - 1)] = h;
        }
    }
    free(c->buckets);
    c->buckets = b;
    c->nbuckets = nb;
    return 0;
}

/* The host for name:port (name lower-cased here), made when new; NULL out
 * of memory. */
static host *host_get(hclient *c, const char *name, uint16_t port)
{
    char low[HS_HTTP_HOST_MAX + 1];
    size_t i = 0;
    uint32_t hash;
    host *h;

    for (; name[i]; i++)
        low[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
    low[i] = '\0';
    hash = host_hash(low, port);
    if (c->nbuckets)
        for (h = c->buckets[hash & (c->nbuckets - 1)]; h; h = h->chain)
            if (h->hash == hash && h->port == port && strcmp(h->name, low) == 0)
                return h;
    if (c->nhosts >= c->nbuckets && grow_buckets(c) != 0)
        return NULL;
    if (!(h = calloc(1, sizeof *h)))
        return NULL;
    memcpy(h->name, low, i + 1);
    h->port = port;
    h->hash = hash;
    h->chain = c->buckets[hash & (c->nbuckets - 1)];
    c->buckets[hash & (c->nbuckets - 1)] = h;
    c->nhosts++;
    return h;
}

/* Frees h once nothing uses it: no connection, no waiting request, no pin. */
static void host_release(hclient *c, host *h)
{
    host **pp;

    if (h->pins || h->conns || h->wait_head)
        return;
    for (pp = &c->buckets[h->hash & (c->nbuckets - 1)]; *pp != h; pp = &(*pp)->chain)
        ;
    *pp = h->chain;
    c->nhosts--;
    free(h);
}

static void wait_push(host *h, request *r, int front)
{
    r->h = h;
    if (front) {
        r->wprev = NULL;
        r->wnext = h->wait_head;
        if (h->wait_head)
            h->wait_head->wprev = r;
        else
            h->wait_tail = r;
        h->wait_head = r;
    } else {
        r->wnext = NULL;
        r->wprev = h->wait_tail;
        if (h->wait_tail)
            h->wait_tail->wnext = r;
        else
            h->wait_head = r;
        h->wait_tail = r;
    }
}

static void wait_unlink(request *r)
{
    host *h = r->h;

    if (r->wprev)
        r->wprev->wnext = r->wnext;
    else
        h->wait_head = r->wnext;
    if (r->wnext)
        r->wnext->wprev = r->wprev;
    else
        h->wait_tail = r->wprev;
    r->wprev = r->wnext = NULL;
    r->h = NULL;
}

/* ---- requests --------------------------------------------------------- */

static void on_req_timer(uv_timer_t *t);

static request *req_get(hclient *c)
{
    request *r = c->pool;

    if (r) {
        c->pool = r->next;
        c->npool--;
    } else {
        if (!(r = calloc(1, sizeof *r)))
            return NULL;
        r->c = c;
        uv_timer_init(c->loop, &r->timer);
        r->timer.data = r;
        c->handles++;
    }
    r->h = NULL;
    r->conn = NULL;
    r->retried = r->failed = r->head = 0;
    r->error[0] = '\0';
    r->wprev = r->wnext = NULL;
    return r;
}

static void on_req_closed(uv_handle_t *h)
{
    request *r = h->data;
    hclient *c = r->c;

    free(r->buf);
    free(r);
    c->handles--;
    maybe_done(c);
}

/* Back to the pool, or closed when the pool is full or the client ends. */
static void req_put(hclient *c, request *r)
{
    uv_timer_stop(&r->timer);
    if (c->closing || c->npool >= REQ_POOL_MAX) {
        uv_close((uv_handle_t *)&r->timer, on_req_closed);
        return;
    }
    if (r->cap > REQ_BUF_KEEP) {
        free(r->buf);
        r->buf = NULL;
        r->cap = 0;
    }
    r->next = c->pool;
    c->pool = r;
    c->npool++;
}

/* Ends a request: out of the in-flight list, its callback, back to the
 * pool. The request is detached from any host or connection already. */
static void req_finish(hclient *c, request *r, const hs_http_result *res)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        c->reqs = r->next;
    if (r->next)
        r->next->prev = r->prev;
    c->inflight--;
    uv_timer_stop(&r->timer);
    r->cb(r->ud, res);
    req_put(c, r);
}

static void req_fail(hclient *c, request *r, hs_err err, const char *why)
{
    hs_http_result res = {0};

    res.err = err;
    res.body = "";
    res.error = why;
    res.total_ms = (double)(uv_hrtime() - r->start_ns) / 1e6;
    req_finish(c, r, &res);
}

/* A failure found where no callback may run: reported at the next turn. */
static void fail_later(request *r, const char *what, const char *detail)
{
    snprintf(r->error, sizeof r->error, "%s%s%s", what, detail ? ": " : "", detail ? detail : "");
    r->failed = 1;
    r->h = NULL;
    r->conn = NULL;
    uv_timer_start(&r->timer, on_req_timer, 0, 0);
}

/* ---- connections ------------------------------------------------------ */

static void free_conn(conn *k)
{
    hclient *c = k->c;

    if (k->prev)
        k->prev->next = k->next;
    else
        c->conns = k->next;
    if (k->next)
        k->next->prev = k->prev;
    hs_http_resp_free(&k->resp);
    free(k);
    c->handles--;
    maybe_done(c);
}

static void on_conn_closed(uv_handle_t *h)
{
    conn *k = h->data;

    if (--k->pending == 0)
        free_conn(k);
}

static void idle_unlink(conn *k)
{
    hclient *c = k->c;
    host *h = k->h;

    if (k->lprev)
        k->lprev->lnext = k->lnext;
    else
        c->lru_head = k->lnext;
    if (k->lnext)
        k->lnext->lprev = k->lprev;
    else
        c->lru_tail = k->lprev;
    if (k->hprev)
        k->hprev->hnext = k->hnext;
    else
        h->idle = k->hnext;
    if (k->hnext)
        k->hnext->hprev = k->hprev;
    k->lprev = k->lnext = k->hprev = k->hnext = NULL;
    c->nidle--;
}

/* Closes k (which carries no request), then lets its host's queue use the
 * place it leaves. */
static void conn_close(conn *k)
{
    hclient *c = k->c;
    host *h = k->h;

    if (k->state == C_CLOSING)
        return;
    if (k->state == C_IDLE)
        idle_unlink(k);
    k->state = C_CLOSING;
    k->h = NULL;
    if (k->resolving)
        uv_cancel((uv_req_t *)&k->gai); /* its callback comes all the same */
    uv_read_stop((uv_stream_t *)&k->tcp);
    uv_close((uv_handle_t *)&k->tcp, on_conn_closed);
    if (h) {
        h->conns--;
        serve(c, h);
    }
}

static void on_idle_timer(uv_timer_t *t);

static void arm_idle_timer(hclient *c)
{
    uint64_t idle_ms = (uint64_t)(c->o.idle_timeout * 1000), now = uv_now(c->loop);

    if (!c->lru_head || c->closing) {
        uv_timer_stop(&c->idle_timer);
        return;
    }
    uint64_t due = c->lru_head->idle_since + idle_ms;
    uv_timer_start(&c->idle_timer, on_idle_timer, due > now ? due - now : 0, 0);
}

static void on_idle_timer(uv_timer_t *t)
{
    hclient *c = t->data;
    uint64_t idle_ms = (uint64_t)(c->o.idle_timeout * 1000), now = uv_now(c->loop);

    while (c->lru_head && now - c->lru_head->idle_since >= idle_ms)
        conn_close(c->lru_head);
    arm_idle_timer(c);
}

static void send_request(conn *k);

static void assign(conn *k, request *r)
{
    k->req = r;
    k->state = C_BUSY;
    r->conn = k;
    r->h = NULL;
    hs_http_resp_free(&k->resp);
    hs_http_resp_init(&k->resp, k->c->o.max_response, r->head);
}

/* k carried its answer to the end and may carry another: the next waiting
 * request of its host, or it waits in the idle lists. */
static void conn_idle(conn *k)
{
    hclient *c = k->c;
    host *h = k->h;

    if (h->wait_head) {
        request *r = h->wait_head;
        wait_unlink(r);
        assign(k, r);
        send_request(k);
        return;
    }
    k->state = C_IDLE;
    k->idle_since = uv_now(c->loop);
    k->hnext = h->idle;
    if (h->idle)
        h->idle->hprev = k;
    h->idle = k;
    k->lprev = c->lru_tail;
    if (c->lru_tail)
        c->lru_tail->lnext = k;
    else
        c->lru_head = k;
    c->lru_tail = k;
    c->nidle++;
    if (c->nidle > c->o.max_connections)
        conn_close(c->lru_head); /* the cache is full: the oldest goes */
    if (!uv_is_active((uv_handle_t *)&c->idle_timer))
        arm_idle_timer(c);
}

/* The request k carried ended in a failure: k is closed, and the request
 * either moves to a fresh connection (a kept-alive one the server had
 * closed before any byte of the answer) or fails. */
static void conn_failed(conn *k, hs_err err, const char *what, const char *detail)
{
    hclient *c = k->c;
    request *r = k->req;
    host *h = k->h;
    char why[160];

    k->req = NULL;
    r->conn = NULL;
    if (k->used && !r->retried && !hs_http_resp_started(&k->resp) && err == HS_EIO && h) {
        r->retried = 1;
        wait_push(h, r, 1); /* first in line for the place k leaves */
        conn_close(k);
        return;
    }
    conn_close(k);
    snprintf(why, sizeof why, "%s%s%s", what, detail ? ": " : "", detail ? detail : "");
    req_fail(c, r, err, why);
}

/* The answer is complete: the body goes to the callback after k is settled
 * (reused or closed), so a callback that asks again may get k. */
static void conn_answered(conn *k, int reuse)
{
    hclient *c = k->c;
    request *r = k->req;
    hs_http_result res = {0};
    char *body = k->resp.body;

    k->req = NULL;
    r->conn = NULL;
    res.err = HS_OK;
    res.status = k->resp.status;
    res.body = body ? body : "";
    res.len = k->resp.len;
    res.total_ms = (double)(uv_hrtime() - r->start_ns) / 1e6;
    k->resp.body = NULL;
    k->resp.len = 0;
    k->used = 1;
    if (reuse && k->resp.keep_alive && !k->writing && !c->closing)
        conn_idle(k);
    else
        conn_close(k);
    req_finish(c, r, &res);
    free(body);
}

static void alloc_cb(uv_handle_t *h, size_t size, uv_buf_t *buf)
{
    conn *k = h->data;

    (void)size;
    buf->base = k->c->rbuf;
    buf->len = sizeof k->c->rbuf;
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    conn *k = s->data;
    size_t used = 0;
    int done = 0;
    hs_err err;

    if (nread == 0 || k->state == C_CLOSING)
        return;
    if (!k->req) {
        /* The server closed an idle connection (or spoke unasked). */
        conn_close(k);
        return;
    }
    if (nread < 0) {
        if (nread == UV_EOF && hs_http_resp_eof(&k->resp) == HS_OK)
            conn_answered(k, 0);
        else if (nread == UV_EOF)
            conn_failed(k, HS_EIO, "connection closed before the answer ended", NULL);
        else
            conn_failed(k, HS_EIO, "receive", uv_strerror((int)nread));
        return;
    }
    err = hs_http_resp_feed(&k->resp, buf->base, (size_t)nread, &used, &done);
    if (err == HS_ETOOBIG)
        conn_failed(k, err, "answer too large", NULL);
    else if (err != HS_OK)
        conn_failed(k, err, err == HS_ENOMEM ? "out of memory" : "malformed HTTP answer", NULL);
    else if (done)
        conn_answered(k, used == (size_t)nread); /* bytes past it: not reused */
}

static void write_cb(uv_write_t *w, int status)
{
    conn *k = w->data;

    k->writing = 0;
    if (status < 0 && k->state != C_CLOSING && k->req)
        conn_failed(k, HS_EIO, "send", uv_strerror(status));
}

/* Writes k's request: at once as far as the socket takes it, the rest
 * through uv_write. Never calls back: a failure here is k's stale
 * connection, retried or reported at the next turn. */
static void send_request(conn *k)
{
    request *r = k->req;
    uv_os_fd_t fd;
    uv_buf_t b;
    ssize_t sent = -1;
    int n = UV_EBADF;

    /* send() rather than uv_try_write(): MSG_NOSIGNAL, so a peer gone
     * since the connection's last use is an error here, not SIGPIPE. */
    if (uv_fileno((uv_handle_t *)&k->tcp, &fd) == 0) {
        sent = send(fd, r->buf, r->len, MSG_NOSIGNAL | MSG_DONTWAIT);
        n = sent >= 0 ? (int)sent : errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
    }
    if (sent == (ssize_t)r->len)
        return;
    if (n >= 0) {
        b = uv_buf_init(r->buf + n, (unsigned)(r->len - (size_t)n));
        k->write_req.data = k;
        if ((n = uv_write(&k->write_req, (uv_stream_t *)&k->tcp, &b, 1, write_cb)) == 0) {
            k->writing = 1;
            return;
        }
    }
    /* The socket refused it outright. */
    host *h = k->h;
    k->req = NULL;
    r->conn = NULL;
    if (k->used && !r->retried && h) {
        r->retried = 1;
        wait_push(h, r, 1);
        conn_close(k);
        return;
    }
    conn_close(k);
    fail_later(r, "send", uv_strerror(n));
}

static void on_connect(uv_connect_t *cr, int status)
{
    conn *k = cr->data;
    request *r = k->req;

    if (k->state == C_CLOSING)
        return;
    if (status < 0) {
        if (r)
            conn_failed(k, HS_EIO, "connect", uv_strerror(status));
        else
            conn_close(k);
        return;
    }
    uv_tcp_nodelay(&k->tcp, 1);
    if (uv_read_start((uv_stream_t *)&k->tcp, alloc_cb, read_cb) != 0) {
        conn_failed(k, HS_EIO, "connect", "cannot read the socket");
        return;
    }
    k->state = C_BUSY;
    if (r)
        send_request(k);
    else
        conn_idle(k); /* its request timed out while it connected */
}

/* Whether the allow list lets us connect to sa. */
static int allowed(const hclient *c, const struct sockaddr *sa)
{
    uint8_t a[16];

    return !c->o.trust.n_allow ||
           (hs_addr_bytes(sa, a) == 0 && hs_cidr_any(c->allow, c->o.trust.n_allow, a));
}

/* Counts a refusal to connect to sa, and says why in `why`. */
static void refuse(hclient *c, const struct sockaddr *sa, char *why, size_t cap)
{
    uint8_t a[16];
    char text[64];

    if (hs_addr_bytes(sa, a) == 0)
        hs_addr_text(a, text);
    else
        snprintf(text, sizeof text, "an address of family %d", sa->sa_family);
    snprintf(why, cap, "%s is outside the allowed ranges", text);
    c->refused.allow++;
}

/* Where to connect among ai: IPv4 first (nodes listen on one address,
 * most often IPv4, and a name like localhost resolves to both), only an
 * allowed one; NULL when none is. */
static const struct sockaddr *pick(const hclient *c, const struct addrinfo *ai)
{
    const struct addrinfo *first = NULL;

    for (; ai; ai = ai->ai_next) {
        if (!allowed(c, ai->ai_addr))
            continue;
        if (ai->ai_family == AF_INET)
            return ai->ai_addr;
        if (!first)
            first = ai;
    }
    return first ? first->ai_addr : NULL;
}

/* A connect could not get a socket: tells opts.no_fd, saying whether an
 * episode begins. */
static void short_of_fds(hclient *c)
{
    uint64_t now = uv_now(c->loop);
    int first = !c->nofd_last || now - c->nofd_last >= HS_HTTP_NOFD_QUIET * 1000;

    c->nofd_last = now ? now : 1;
    if (c->o.no_fd)
        c->o.no_fd(c->o.no_fd_ud, first);
}

static int start_connect(conn *k, const struct sockaddr *sa)
{
    hclient *c = k->c;
    int err;

    k->state = C_CONNECTING;
    k->connect_req.data = k;
    err = uv_tcp_connect(&k->connect_req, &k->tcp, sa, on_connect);
    if ((err == UV_EMFILE || err == UV_ENFILE) && c->lru_head) {
        /* A socket is worth more to a request than to an idle connection
         * (uv_close gives its descriptor back at once). */
        conn_close(c->lru_head);
        err = uv_tcp_connect(&k->connect_req, &k->tcp, sa, on_connect);
    }
    if (err == UV_EMFILE || err == UV_ENFILE)
        short_of_fds(c);
    return err;
}

static void curl_no_fd(void *ud)
{
    short_of_fds(ud);
}

static void on_resolved(uv_getaddrinfo_t *g, int status, struct addrinfo *ai)
{
    conn *k = g->data;
    int err = status;

    k->resolving = 0;
    k->c->handles--;
    if (k->state == C_CLOSING) {
        uv_freeaddrinfo(ai);
        if (--k->pending == 0)
            free_conn(k);
        return;
    }
    k->pending--;
    if (status == 0) {
        const struct sockaddr *sa = pick(k->c, ai);
        char why[128];
        if (!sa) {
            refuse(k->c, ai->ai_addr, why, sizeof why);
            uv_freeaddrinfo(ai);
            if (k->req)
                conn_failed(k, HS_EPERM, "peer_allow", why);
            else
                conn_close(k);
            return;
        }
        err = start_connect(k, sa);
    }
    uv_freeaddrinfo(ai);
    if (err == 0)
        return;
    if (k->req)
        conn_failed(k, HS_EIO, status ? "cannot resolve the host" : "connect", uv_strerror(err));
    else
        conn_close(k);
}

/* Fails every request waiting for h (at the next turn): h cannot be
 * reached right now, and each would find that out the same way. */
static void fail_waiting(host *h, const char *what, const char *detail)
{
    request *r;

    while ((r = h->wait_head)) {
        wait_unlink(r);
        fail_later(r, what, detail);
    }
}

/* Opens a connection to h for r. Never calls back (see fail_later).
 * Runs only inside serve(), whose pin keeps h alive through everything
 * here. Returns 0, or -1 when h cannot be reached: then r and every
 * request waiting for h have failed and h's queue is empty. */
static int conn_open(host *h, request *r)
{
    hclient *c = r->c;
    conn *k = calloc(1, sizeof *k);
    struct sockaddr_storage ss;
    char port[8];
    int err;

    if (!k) {
        fail_later(r, "out of memory", NULL);
        fail_waiting(h, "out of memory", NULL);
        return -1;
    }
    if ((err = uv_tcp_init(c->loop, &k->tcp)) != 0) {
        free(k);
        fail_later(r, "socket", uv_strerror(err));
        fail_waiting(h, "socket", uv_strerror(err));
        return -1;
    }
    k->c = c;
    k->h = h;
    k->tcp.data = k;
    k->pending = 1;
    k->next = c->conns;
    if (c->conns)
        c->conns->prev = k;
    c->conns = k;
    c->handles++;
    c->connects++;
    h->conns++;
    assign(k, r);
    k->state = C_CONNECTING;
    if (uv_ip4_addr(h->name, h->port, (struct sockaddr_in *)&ss) == 0 ||
        uv_ip6_addr(h->name, h->port, (struct sockaddr_in6 *)&ss) == 0) {
        if (!allowed(c, (struct sockaddr *)&ss)) {
            char why[128];
            request *w;
            refuse(c, (struct sockaddr *)&ss, why, sizeof why);
            k->req = NULL;
            r->conn = NULL;
            /* Every request for h fails as r does (HS_EPERM, at the next turn). */
            for (w = r; w; w = h->wait_head) {
                if (w != r)
                    wait_unlink(w);
                fail_later(w, "peer_allow", why);
                w->failed = HS_EPERM;
            }
            conn_close(k);
            return -1;
        }
        err = start_connect(k, (struct sockaddr *)&ss);
    } else {
        struct addrinfo hints = {0};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        snprintf(port, sizeof port, "%u", (unsigned)h->port);
        k->gai.data = k;
        k->state = C_RESOLVING;
        err = uv_getaddrinfo(c->loop, &k->gai, on_resolved, h->name, port, &hints);
        if (err == 0) {
            k->resolving = 1;
            k->pending++;
            c->handles++;
        }
    }
    if (err == 0)
        return 0;
    k->req = NULL;
    r->conn = NULL;
    fail_later(r, "connect", uv_strerror(err));
    fail_waiting(h, "connect", uv_strerror(err));
    conn_close(k); /* its serve(h) finds the queue empty and h pinned */
    return -1;
}

/* Gives h's waiting requests the idle connections and the places free,
 * then frees h if nothing uses it any more. The only caller of
 * conn_open: h stays pinned (alive) until the end, whatever a failure on
 * the way closes (conn_close serves h again, nested, under this pin). */
static void serve(hclient *c, host *h)
{
    h->pins++;
    while (h->wait_head && !c->closing) {
        request *r = h->wait_head;
        if (h->idle) {
            conn *k = h->idle;
            wait_unlink(r);
            idle_unlink(k);
            assign(k, r);
            send_request(k);
        } else if (h->conns < c->o.per_host) {
            wait_unlink(r);
            if (conn_open(h, r) != 0)
                break; /* h cannot be reached: its queue has failed */
        } else {
            break;
        }
    }
    h->pins--;
    host_release(c, h);
}

static void on_req_timer(uv_timer_t *t)
{
    request *r = t->data;
    hclient *c = r->c;
    char why[64];

    if (r->failed) {
        req_fail(c, r, r->failed == HS_EPERM ? HS_EPERM : HS_EIO, r->error);
        return;
    }
    if (r->conn) {
        conn *k = r->conn;
        k->req = NULL;
        r->conn = NULL;
        if (k->state == C_CONNECTING || k->state == C_RESOLVING) {
            /* Let it finish connecting: the next request may use it. */
        } else {
            conn_close(k); /* the answer may still come: not on this one */
        }
    } else if (r->h) {
        host *h = r->h;
        wait_unlink(r);
        host_release(c, h);
    }
    snprintf(why, sizeof why, "timed out after %llu ms", (unsigned long long)r->timeout_ms);
    req_fail(c, r, HS_EIO, why);
}

/* ---- the API ---------------------------------------------------------- */

hs_err hs_http_client_new(uv_loop_t *loop, const hs_http_client_opts *opts, hs_http_client **out)
{
    hclient *c = calloc(1, sizeof *c);

    if (!c)
        return HS_ENOMEM;
    c->loop = loop;
    c->o = *opts;
    if (c->o.per_host == 0)
        c->o.per_host = 1;
    if (!(c->o.idle_timeout > 0))
        c->o.idle_timeout = 118;
    if (c->o.trust.n_allow && !(c->allow = calloc(c->o.trust.n_allow, sizeof *c->allow))) {
        free(c);
        return HS_ENOMEM;
    }
    for (size_t i = 0; i < c->o.trust.n_allow; i++) {
        if (hs_cidr_parse(c->o.trust.allow[i], &c->allow[i]) != HS_OK) {
            free(c->allow);
            free(c);
            return HS_EINVAL;
        }
    }
    if (grow_buckets(c) != 0) {
        free(c->allow);
        free(c);
        return HS_ENOMEM;
    }
    uv_timer_init(loop, &c->idle_timer);
    c->idle_timer.data = c;
    c->handles = 1;
    c->base.ops = &own_ops;
    *out = &c->base;
    return HS_OK;
}

static hs_err via_curl(hclient *c, const char *method, const char *url, const char *body,
                       size_t len, const char *header, double timeout_s, hs_http_cb cb, void *ud)
{
    if (!c->curl) {
        hs_err err = hs_http_curl_new(c->loop, c->o.max_response, c->o.max_connections,
                                      c->o.per_host, &c->curl);
        if (err != HS_OK)
            return err;
        c->curl_open = 1;
        hs_http_curl_trust(c->curl, &c->o.trust, c->allow, c->o.trust.n_allow);
        hs_http_curl_sign(c->curl, c->o.sign, c->o.sign_ud);
        hs_http_curl_label(c->curl, c->o.label_header);
        hs_http_curl_no_fd(c->curl, curl_no_fd, c);
    }
    return hs_http_curl_request(c->curl, method, url, body, len, header, timeout_s, cb, ud);
}

static hs_err cli_request(hs_http_client *base, const char *method, const char *url,
                          const char *body, size_t len, const char *header, double timeout_s,
                          hs_http_cb cb, void *ud)
{
    hclient *c = (hclient *)base;
    hs_http_url u;
    request *r;
    host *h;
    char clen[48], auth[HS_HTTP_SIGN_MAX];
    size_t plen, need, hlen = header ? strlen(header) : 0;
    const char *label = c->o.label_header;
    size_t llen = label ? strlen(label) : 0;
    int n, alen = 0;

    if (c->closing)
        return HS_ESTATE;
    if (!method || !hs_http_valid_method(method) || hs_http_url_parse(url, &u) != HS_OK || !cb)
        return HS_EINVAL;
    if (header && (strchr(header, '\r') || strchr(header, '\n')))
        return HS_EINVAL; /* one line: no way to slip in another */
    if (!u.tls && c->o.trust.https_only) {
        c->refused.plain++;
        return HS_EPERM;
    }
    if (u.tls || c->o.curl_for_http)
        return via_curl(c, method, url, body, len, header, timeout_s, cb, ud);
    if (c->o.sign && (alen = c->o.sign(c->o.sign_ud, method, u.path, u.path_len, header, body,
                                       body ? len : 0, auth, sizeof auth)) < 0)
        return HS_EPERM;
    if (!(r = req_get(c)))
        return HS_ENOMEM;
    if (body || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0)
        snprintf(clen, sizeof clen, "Content-Length: %zu\r\n", body ? len : 0);
    else
        clen[0] = '\0';
    plen = u.path_len == 0 || u.path[0] == '?' ? u.path_len + 1 : u.path_len;
    need = strlen(method) + 1 + plen + 11 + 6 + u.authority_len + 2 + 25 + 13 + (body ? 32 : 0) +
           strlen(clen) + (header ? hlen + 2 : 0) + (label ? llen + 2 : 0) +
           (alen ? (size_t)alen + 2 : 0) + 2 + (body ? len : 0) + 1;
    if (need > r->cap) {
        char *b = realloc(r->buf, need);
        if (!b) {
            req_put(c, r);
            return HS_ENOMEM;
        }
        r->buf = b;
        r->cap = need;
    }
    n = snprintf(r->buf, r->cap,
                 "%s %s%.*s HTTP/1.1\r\nHost: %.*s\r\nUser-Agent: hearsay/0.1\r\nAccept: */*\r\n"
                 "%s%s%s%s%s%s%.*s%s\r\n",
                 method, plen > u.path_len ? "/" : "", (int)u.path_len, u.path,
                 (int)u.authority_len, u.authority,
                 body ? "Content-Type: application/json\r\n" : "", clen, header ? header : "",
                 header ? "\r\n" : "", label ? label : "", label ? "\r\n" : "", alen, auth,
                 alen ? "\r\n" : "");
    if (n < 0 || (size_t)n + (body ? len : 0) >= r->cap) {
        req_put(c, r);
        return HS_ENOMEM;
    }
    if (body)
        memcpy(r->buf + n, body, len);
    r->len = (size_t)n + (body ? len : 0);
    if (!(h = host_get(c, u.host, u.port))) {
        req_put(c, r);
        return HS_ENOMEM;
    }
    r->cb = cb;
    r->ud = ud;
    r->head = strcmp(method, "HEAD") == 0;
    r->start_ns = uv_hrtime();
    /* Any positive number: past 1e15 s is never (a uint64_t holds no more). */
    r->timeout_ms = timeout_s > 0 ? (uint64_t)(timeout_s < 1e15 ? timeout_s * 1000 : 1e18) : 0;
    if (r->timeout_ms == 0)
        r->timeout_ms = 1;
    r->prev = NULL;
    r->next = c->reqs;
    if (c->reqs)
        c->reqs->prev = r;
    c->reqs = r;
    c->inflight++;
    c->requests++;
    /* The timeout counts from now, not from the loop's cached time: after
     * the loop was held up (a long synchronous stretch of Lua before the
     * request was made), it fired at once, before any I/O. */
    uv_update_time(c->loop);
    uv_timer_start(&r->timer, on_req_timer, r->timeout_ms, 0);
    wait_push(h, r, 0);
    serve(c, h);
    return HS_OK;
}

static unsigned long cli_requests(const hs_http_client *base)
{
    const hclient *c = (const hclient *)base;
    return c->requests + (c->curl ? hs_http_curl_requests(c->curl) : 0);
}

static unsigned long cli_connects(const hs_http_client *base)
{
    const hclient *c = (const hclient *)base;
    return c->connects + (c->curl ? hs_http_curl_connects(c->curl) : 0);
}

static size_t cli_inflight(const hs_http_client *base)
{
    const hclient *c = (const hclient *)base;
    return c->inflight + (c->curl ? hs_http_curl_inflight(c->curl) : 0);
}

static size_t cli_idle(const hs_http_client *base)
{
    const hclient *c = (const hclient *)base;
    return c->nidle;
}

static void cli_refused(const hs_http_client *base, hs_http_refused *out)
{
    const hclient *c = (const hclient *)base;
    *out = c->refused;
    if (c->curl)
        hs_http_curl_refused(c->curl, out);
}

static void curl_closed(void *ud)
{
    hclient *c = ud;

    c->curl_open = 0;
    c->curl = NULL;
    maybe_done(c);
}

static void cli_close(hs_http_client *base, void (*done)(void *ud), void *ud)
{
    hclient *c = (hclient *)base;
    hs_http_result res = {0};

    c->closing = 1;
    c->done = done;
    c->done_ud = ud;
    res.err = HS_ESTATE;
    res.body = "";
    res.error = "client closed";
    while (c->reqs) {
        request *r = c->reqs;
        if (r->conn) {
            r->conn->req = NULL;
            r->conn = NULL;
        } else if (r->h) {
            wait_unlink(r);
        }
        req_finish(c, r, &res);
    }
    while (c->pool) {
        request *r = c->pool;
        c->pool = r->next;
        c->npool--;
        uv_close((uv_handle_t *)&r->timer, on_req_closed);
    }
    for (conn *k = c->conns; k; k = k->next)
        conn_close(k);
    for (size_t i = 0; i < c->nbuckets; i++) {
        while (c->buckets[i]) {
            host *h = c->buckets[i];
            c->buckets[i] = h->chain;
            free(h);
        }
    }
    c->nhosts = 0;
    uv_timer_stop(&c->idle_timer);
    uv_close((uv_handle_t *)&c->idle_timer, on_handle_closed);
    if (c->curl)
        hs_http_curl_close(c->curl, curl_closed, c);
    maybe_done(c);
}

static const hs_http_client_ops own_ops = {
    .request = cli_request,
    .requests = cli_requests,
    .connects = cli_connects,
    .inflight = cli_inflight,
    .idle = cli_idle,
    .refused = cli_refused,
    .close = cli_close,
};
