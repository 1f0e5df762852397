/*
 * memnet.c -- the transport without sockets; see memnet.h. The server
 * keeps the handler the node registered and the tokens of deferred
 * requests; the client keeps a FIFO of requests. Both
 * check their arguments as the real ones do (URLs, methods, one header
 * line), so the node sees the same refusals.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sim/memnet.h"
#include "http_url.h"

typedef struct mserver mserver;
typedef struct mclient mclient;
static const hs_http_server_ops server_ops;
static const hs_http_client_ops client_ops;

/* ---- server ------------------------------------------------------------ */

#define MEMNET_ARGS 16

typedef struct deferred {
    uint64_t token;
    struct deferred *next;
} deferred;

struct mserver {
    hs_http_server base;
    hs_http_server_opts o;
    uint16_t port;
    uint64_t next_token;
    deferred *deferred;
    size_t n_deferred;
    hs_memnet_answer_fn observe;
    void *observe_ud;
    const struct sockaddr *remote; /* where requests come from, or NULL */
};

/* What hs_http_request.conn points at while a request is served. The
 * query's keys and values are unescaped into `args` (each no longer than
 * as written, so the query's length and a NUL each is room enough). */
typedef struct mconn {
    const char *from;
    const char *const *headers; /* "Name: value" lines */
    size_t nheaders;
    size_t nargs;
    char *key[MEMNET_ARGS], *value[MEMNET_ARGS];
    char *args;
    size_t used;
} mconn;

static hs_err server_start(void *ud, hs_io *io, const hs_http_server_opts *opts,
                           hs_http_server **out)
{
    struct in_addr addr;
    mserver *s;

    (void)ud;
    (void)io;
    if (inet_pton(AF_INET, opts->host, &addr) != 1)
        return HS_EINVAL; /* as http_server.c: an IPv4 address to bind */
    if (!(s = calloc(1, sizeof *s)))
        return HS_ENOMEM;
    s->base.ops = &server_ops;
    s->o = *opts;
    s->port = opts->port ? opts->port : 40000;
    *out = &s->base;
    return HS_OK;
}

static uint16_t srv_port(const hs_http_server *base)
{
    const mserver *srv = (const mserver *)base;
    return srv->port;
}

static unsigned long srv_drained(const hs_http_server *base)
{
    (void)base;
    return 0;
}

static unsigned long srv_tls_refused(const hs_http_server *base)
{
    (void)base;
    return 0;
}

/* No descriptors in memory: never short of them. */
static unsigned long srv_fd_exhausted(const hs_http_server *base)
{
    (void)base;
    return 0;
}

static unsigned long srv_allow_refused(const hs_http_server *base)
{
    (void)base;
    return 0;
}

static int srv_answer(hs_http_server *base, uint64_t token, unsigned status, char *body, size_t len)
{
    mserver *srv = (mserver *)base;
    deferred **pp = &srv->deferred;

    while (*pp && (*pp)->token != token)
        pp = &(*pp)->next;
    if (!*pp) {
        free(body);
        return -1;
    }
    deferred *d = *pp;
    *pp = d->next;
    free(d);
    srv->n_deferred--;
    if (srv->observe)
        srv->observe(srv->observe_ud, token, status, body, len);
    free(body);
    return 0;
}

static const char *srv_header(const hs_http_request *req, const char *name)
{
    const mconn *c = req->conn;
    size_t n = strlen(name);

    if (strcasecmp(name, "X-Hearsay-From") == 0 && c->from)
        return c->from;
    /* As libmicrohttpd: the first of that name, its value without the
     * spaces after the colon. */
    for (size_t i = 0; i < c->nheaders; i++) {
        const char *h = c->headers[i];
        if (strncasecmp(h, name, n) == 0 && h[n] == ':')
            return h + n + 1 + strspn(h + n + 1, " \t");
    }
    return NULL;
}

static const char *srv_arg(const hs_http_request *req, const char *name)
{
    const mconn *c = req->conn;

    for (size_t i = 0; i < c->nargs; i++)
        if (strcmp(c->key[i], name) == 0)
            return c->value[i];
    return NULL;
}

static void srv_close(hs_http_server *base, void (*done)(void *ud), void *ud)
{
    mserver *srv = (mserver *)base;
    while (srv->deferred) {
        deferred *d = srv->deferred;
        srv->deferred = d->next;
        free(d);
    }
    free(srv);
    if (done)
        done(ud);
}

void hs_memnet_server_observe(hs_http_server *s_, hs_memnet_answer_fn fn, void *ud)
{
    mserver *s = (mserver *)s_;
    s->observe = fn;
    s->observe_ud = ud;
}

void hs_memnet_server_remote(hs_http_server *s_, const struct sockaddr *remote)
{
    mserver *s = (mserver *)s_;
    s->remote = remote;
}

uint64_t hs_memnet_server_last_token(const hs_http_server *s_)
{
    const mserver *s = (const mserver *)s_;
    return s->next_token;
}

size_t hs_memnet_server_deferred(const hs_http_server *s_)
{
    const mserver *s = (const mserver *)s_;
    return s->n_deferred;
}

/* A query component, unescaped as libmicrohttpd does (%XX, '+'), into
 * c->args: never longer than as written, for which there is room (mconn). */
static char *unescape(mconn *c, const char *s, size_t n)
{
    char *out = c->args + c->used;
    int o = hs_http_url_decode(s, n, 1, out, n);

    out[o < 0 ? 0 : o] = '\0';
    c->used += (size_t)(o < 0 ? 0 : o) + 1;
    return out;
}

static void parse_query(mconn *c, const char *q)
{
    while (*q && c->nargs < MEMNET_ARGS) {
        size_t n = strcspn(q, "&"), k = strcspn(q, "=");
        if (k > n)
            k = n;
        if (n > 0) {
            c->key[c->nargs] = unescape(c, q, k);
            c->value[c->nargs] = unescape(c, k < n ? q + k + 1 : q + k, k < n ? n - k - 1 : 0);
            c->nargs++;
        }
        q += n;
        if (*q == '&')
            q++;
    }
}

void hs_memnet_server_serve(hs_http_server *s_, const char *method, const char *target,
                            const char *from, const char *const *headers, size_t nheaders,
                            const char *body, size_t len, hs_http_response *resp)
{
    mserver *s = (mserver *)s_;
    mconn conn = {from, headers, nheaders, 0, {0}, {0}, NULL, 0};
    hs_http_request req = {0};
    size_t plen = strcspn(target, "?"), need = plen + 1 + strlen(target + plen) + 2 * MEMNET_ARGS;
    /* The path, then the query's args (mconn): on the stack when short,
     * as every request between nodes is. */
    char local[512], *copy = NULL;
    char *path = need <= sizeof local ? local : malloc(need);

    memset(resp, 0, sizeof *resp);
    if (!path)
        return;
    memcpy(path, target, plen);
    path[plen] = '\0';
    conn.args = path + plen + 1;
    if (target[plen] == '?')
        parse_query(&conn, target + plen + 1);
    req.method = method;
    req.path = path;
    if (len > s->o.max_body) {
        req.too_large = 1;
    } else if (len > 0 && (copy = malloc(len + 1))) {
        memcpy(copy, body, len);
        copy[len] = '\0';
        req.body = copy;
        req.len = len;
    }
    req.conn = &conn;
    req.server = &s->base;
    req.remote = s->remote;
    req.token = ++s->next_token;
    s->o.handler(s->o.ud, &req, resp);
    if (resp->defer) {
        deferred *d = malloc(sizeof *d);
        if (d) {
            d->token = req.token;
            d->next = s->deferred;
            s->deferred = d;
            s->n_deferred++;
        }
    }
    free(copy);
    if (path != local)
        free(path);
}

/* ---- client ------------------------------------------------------------ */

struct mclient {
    hs_http_client base;
    hs_http_client_opts o;
    hs_memnet_request *head, *tail;
    size_t n;
    hs_memnet_request **slots; /* by id: open addressing, linear probing */
    size_t nslots;             /* a power of two, over twice n; 0 at first */
    unsigned long requests;
    uint64_t next_id;
    hs_http_refused refused;
    int closing;
    hs_memnet_request_fn observe;
    void *observe_ud;
};

static hs_err client_new(void *ud, hs_io *io, const hs_http_client_opts *opts, hs_http_client **out)
{
    mclient *c = calloc(1, sizeof *c);

    if (!c)
        return HS_ENOMEM;
    (void)ud;
    (void)io;
    c->base.ops = &client_ops;
    c->o = *opts;
    *out = &c->base;
    return HS_OK;
}

/* A request and its strings are one allocation, the body last (a read
 * past it is past the block). */
static void free_request(hs_memnet_request *r)
{
    free(r);
}

/* s (n bytes, then a NUL when nul) copied to *at; the copy. */
static char *place(char **at, const char *s, size_t n, int nul)
{
    char *p = *at;

    if (n)
        memcpy(p, s, n);
    if (nul)
        p[n] = '\0';
    *at += n + (nul ? 1 : 0);
    return p;
}

/* ---- the line (oldest first) and the index by id ---- */

static void append(mclient *c, hs_memnet_request *r)
{
    r->next = NULL;
    r->prev = c->tail;
    if (c->tail)
        c->tail->next = r;
    else
        c->head = r;
    c->tail = r;
}

static void unlink_request(mclient *c, hs_memnet_request *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        c->head = r->next;
    if (r->next)
        r->next->prev = r->prev;
    else
        c->tail = r->prev;
    r->next = r->prev = NULL;
}

static size_t home(uint64_t id, size_t nslots)
{
    return (size_t)((id * 0x9e3779b97f4a7c15u) >> 17) & (nslots - 1);
}

static void index_insert(hs_memnet_request **slots, size_t nslots, hs_memnet_request *r)
{
    size_t i = home(r->id, nslots);

    while (slots[i])
        i = (i + 1) & (nslots - 1);
    slots[i] = r;
}

/* 0, or -1 when the index cannot grow. */
static int index_put(mclient *c, hs_memnet_request *r)
{
    if (2 * (c->n + 1) > c->nslots) {
        size_t n = c->nslots ? c->nslots * 2 : 16;
        hs_memnet_request **slots = calloc(n, sizeof *slots);
        if (!slots)
            return -1;
        for (size_t i = 0; i < c->nslots; i++)
            if (c->slots[i])
                index_insert(slots, n, c->slots[i]);
        free(c->slots);
        c->slots = slots;
        c->nslots = n;
    }
    index_insert(c->slots, c->nslots, r);
    return 0;
}

/* The request with this id out of the index, or NULL. */
static hs_memnet_request *index_take(mclient *c, uint64_t id)
{
    size_t mask = c->nslots - 1, i;
    hs_memnet_request *r;

    if (!c->nslots)
        return NULL;
    for (i = home(id, c->nslots); c->slots[i] && c->slots[i]->id != id; i = (i + 1) & mask)
        ;
    if (!(r = c->slots[i]))
        return NULL;
    /* Backward shift: an entry after the hole moves into it unless its
     * home lies cyclically between the hole and itself. */
    for (size_t j = (i + 1) & mask; c->slots[j]; j = (j + 1) & mask) {
        size_t k = home(c->slots[j]->id, c->nslots);
        if (i <= j ? (k <= i || k > j) : (k <= i && k > j)) {
            c->slots[i] = c->slots[j];
            i = j;
        }
    }
    c->slots[i] = NULL;
    return r;
}

static hs_err cli_request(hs_http_client *base, const char *method, const char *url,
                          const char *body, size_t len, const char *header, double timeout_s,
                          hs_http_cb cb, void *ud)
{
    mclient *c = (mclient *)base;
    hs_http_url u;
    hs_memnet_request *r;

    if (c->closing)
        return HS_ESTATE;
    if (!method || !hs_http_valid_method(method) || hs_http_url_parse(url, &u) != HS_OK || !cb)
        return HS_EINVAL;
    if (header && (strchr(header, '\r') || strchr(header, '\n')))
        return HS_EINVAL;
    if (!u.tls && c->o.trust.https_only) {
        c->refused.plain++;
        return HS_EPERM;
    }
    /* Signed as the real client signs, so the signer runs (and may say no). */
    char auth[HS_HTTP_SIGN_MAX];
    if (c->o.sign && c->o.sign(c->o.sign_ud, method, u.path, u.path_len, header, body,
                               body ? len : 0, auth, sizeof auth) < 0)
        return HS_EPERM;
    size_t mlen = strlen(method), ulen = strlen(url), hlen = header ? strlen(header) : 0;
    size_t blen = body ? len : 0;
    if (blen > SIZE_MAX - sizeof *r - mlen - ulen - hlen - 3 ||
        !(r = calloc(1, sizeof *r + mlen + 1 + ulen + 1 + (header ? hlen + 1 : 0) + blen)))
        return HS_ENOMEM;
    char *at = (char *)(r + 1);
    r->method = place(&at, method, mlen, 1);
    r->url = place(&at, url, ulen, 1);
    r->header = header ? place(&at, header, hlen, 1) : NULL;
    r->label = c->o.label_header;
    r->body = blen ? place(&at, body, blen, 0) : NULL;
    r->len = blen;
    r->cb = cb;
    r->ud = ud;
    r->id = ++c->next_id;
    r->timeout = timeout_s;
    if (index_put(c, r) != 0) {
        free_request(r);
        return HS_ENOMEM;
    }
    append(c, r);
    c->n++;
    c->requests++;
    if (c->observe)
        c->observe(c->observe_ud, r);
    return HS_OK;
}

/* Takes the request with this id (0: the oldest) out of the line. */
static hs_memnet_request *take(mclient *c, uint64_t id)
{
    hs_memnet_request *r = id ? index_take(c, id) : c->head;

    if (!r)
        return NULL;
    if (!id)
        index_take(c, r->id);
    unlink_request(c, r);
    c->n--;
    return r;
}

static hs_memnet_request *pop(mclient *c)
{
    return take(c, 0);
}

static int answer(hs_memnet_request *r, hs_err err, long status, double rtt_ms, const char *body,
                  size_t len)
{
    hs_http_result res = {0};
    char *copy;

    if (!r)
        return -1;
    /* Exactly len + 1 bytes: ASan sees a read past the body. */
    copy = malloc(len + 1);
    if (copy) {
        memcpy(copy, body, len);
        copy[len] = '\0';
    }
    res.err = copy ? err : HS_ENOMEM;
    res.status = res.err == HS_OK ? status : 0;
    res.body = res.err == HS_OK ? copy : "";
    res.len = res.err == HS_OK ? len : 0;
    res.total_ms = rtt_ms;
    res.error = res.err == HS_OK ? NULL : err == HS_EIO ? "timed out" : "memnet transport failure";
    r->cb(r->ud, &res);
    free(copy);
    free_request(r);
    return 0;
}

int hs_memnet_client_answer(hs_http_client *c_, hs_err err, long status, const char *body,
                            size_t len)
{
    mclient *c = (mclient *)c_;
    return answer(pop(c), err, status, 1.5, body, len);
}

int hs_memnet_client_answer_id(hs_http_client *c_, uint64_t id, hs_err err, long status,
                               double rtt_ms, const char *body, size_t len)
{
    mclient *c = (mclient *)c_;
    return id ? answer(take(c, id), err, status, rtt_ms, body, len) : -1;
}

void hs_memnet_client_rotate(hs_http_client *c_)
{
    mclient *c = (mclient *)c_;
    hs_memnet_request *r = c->head;

    if (!r)
        return;
    unlink_request(c, r);
    append(c, r);
}

void hs_memnet_client_observe(hs_http_client *c_, hs_memnet_request_fn fn, void *ud)
{
    mclient *c = (mclient *)c_;
    c->observe = fn;
    c->observe_ud = ud;
}

size_t hs_memnet_client_pending(const hs_http_client *c_)
{
    const mclient *c = (const mclient *)c_;
    return c->n;
}

const hs_memnet_request *hs_memnet_client_oldest(const hs_http_client *c_)
{
    const mclient *c = (const mclient *)c_;
    return c->head;
}

static unsigned long cli_requests(const hs_http_client *base)
{
    const mclient *c = (const mclient *)base;
    return c->requests;
}

static unsigned long cli_connects(const hs_http_client *base)
{
    (void)base;
    return 0;
}

static size_t cli_inflight(const hs_http_client *base)
{
    const mclient *c = (const mclient *)base;
    return c->n;
}

static size_t cli_idle(const hs_http_client *base)
{
    (void)base;
    return 0;
}

static void cli_refused(const hs_http_client *base, hs_http_refused *out)
{
    const mclient *c = (const mclient *)base;
    *out = c->refused;
}

static void cli_close(hs_http_client *base, void (*done)(void *ud), void *ud)
{
    mclient *c = (mclient *)base;
    hs_http_result res = {0};
    hs_memnet_request *r;

    c->closing = 1;
    res.err = HS_ESTATE;
    res.body = "";
    res.error = "client closed";
    while ((r = pop(c))) {
        r->cb(r->ud, &res);
        free_request(r);
    }
    free(c->slots);
    free(c);
    if (done)
        done(ud);
}

static const hs_http_server_ops server_ops = {
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

static const hs_http_client_ops client_ops = {
    .request = cli_request,
    .requests = cli_requests,
    .connects = cli_connects,
    .inflight = cli_inflight,
    .idle = cli_idle,
    .refused = cli_refused,
    .close = cli_close,
};

const hs_transport hs_memnet_transport = {"memnet", server_start, client_new, NULL};
