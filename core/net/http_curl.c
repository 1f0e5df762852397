/*
 * http_curl.c -- the client's libcurl back end (https://, and http:// when
 * the node is set to use curl): a multi handle on libuv; see http_curl.h.
 *
 * curl tells us which sockets to watch (socket callback) and when to call
 * it back (timer callback); we keep one uv_poll per socket, attached with
 * curl_multi_assign(), and one uv_timer. Completed transfers are collected
 * with curl_multi_info_read() after every curl_multi_socket_action().
 *
 * TLS: curl verifies every server's certificate and name (against tls_ca
 * when set), and shows ours when the server asks. An allow list is
 * checked in curl's open-socket callback, on the address curl is about
 * to connect to; a kept-alive connection was checked when it opened.
 * The same callback opens every socket, so that one that cannot be
 * opened for want of descriptors is told apart (the node then holds
 * the failure against nobody).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <curl/curl.h>

#include "bytes.h"
#include "cidr.h"
#include "http_curl.h"
#include "http_url.h"

struct hs_http_curl {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    size_t max_response;
    int open_handles; /* the timer plus every socket poll */
    int closing;
    size_t inflight;
    unsigned long requests, connects;
    hs_http_trust trust;
    const hs_cidr *allow;
    size_t n_allow;
    hs_http_refused refused;
    hs_http_sign_fn sign; /* adds the cluster MAC to each request, or NULL */
    void *sign_ud;
    const char *label;       /* a header line every request carries, or NULL (borrowed) */
    void (*no_fd)(void *ud); /* told of a socket() that failed for want of descriptors */
    void *no_fd_ud;
    struct request *requests_head; /* in flight, for close */
    struct sock_ctx *socks_head;   /* watched sockets, for close */
    void (*done)(void *ud);
    void *done_ud;
};

typedef struct sock_ctx {
    uv_poll_t poll;
    curl_socket_t fd;
    hs_http_curl *c;
    struct sock_ctx *prev, *next;
} sock_ctx;

typedef struct request {
    hs_http_curl *c;
    struct request *prev, *next;
    CURL *easy;
    struct curl_slist *headers;
    char *body;
    char *resp;
    size_t resp_len, resp_cap;
    int too_big;
    hs_http_cb cb;
    void *ud;
    char error[CURL_ERROR_SIZE];
    char refused[128]; /* why the allow list refused its address, or "" */
    int no_fd;         /* a socket() of its failed for want of descriptors */
} request;

/* Intrusive doubly-linked lists: O(1) unlink of whatever completes. */
#define LIST_PUSH(head, e)                                                                         \
    do {                                                                                           \
        (e)->prev = NULL;                                                                          \
        (e)->next = (head);                                                                        \
        if (head)                                                                                  \
            (head)->prev = (e);                                                                    \
        (head) = (e);                                                                              \
    } while (0)
#define LIST_UNLINK(head, e)                                                                       \
    do {                                                                                           \
        if ((e)->prev)                                                                             \
            (e)->prev->next = (e)->next;                                                           \
        else                                                                                       \
            (head) = (e)->next;                                                                    \
        if ((e)->next)                                                                             \
            (e)->next->prev = (e)->prev;                                                           \
    } while (0)

static void maybe_done(hs_http_curl *c)
{
    if (c->closing && c->open_handles == 0) {
        void (*done)(void *) = c->done;
        void *ud = c->done_ud;
        free(c);
        if (done)
            done(ud);
    }
}

static void on_handle_closed(uv_handle_t *h)
{
    hs_http_curl *c;

    if (h->type == UV_POLL) {
        sock_ctx *s = h->data;
        c = s->c;
        free(s);
    } else {
        c = h->data;
    }
    c->open_handles--;
    maybe_done(c);
}

static void free_request(request *r)
{
    curl_slist_free_all(r->headers);
    free(r->body);
    free(r->resp);
    free(r);
}

static void check_done(hs_http_curl *c)
{
    CURLMsg *msg;
    int left;

    while ((msg = curl_multi_info_read(c->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *easy = msg->easy_handle;
        CURLcode code = msg->data.result;
        request *r = NULL;
        hs_http_result res = {0};
        long connects = 0;
        double total = 0;

        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&r);
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &res.status);
        curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME, &total);
        curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &connects);
        c->connects += (unsigned long)connects;
        res.total_ms = total * 1000.0;
        if (code == CURLE_OK) {
            res.err = HS_OK;
            res.body = r->resp ? r->resp : "";
            res.len = r->resp_len;
        } else {
            res.err = r->too_big ? HS_ETOOBIG : HS_EIO;
            res.status = 0;
            res.body = "";
            res.error = r->error[0] ? r->error : curl_easy_strerror(code);
            if (r->refused[0]) {
                res.err = HS_EPERM;
                res.error = r->refused;
                c->refused.allow++;
            } else if (code == CURLE_PEER_FAILED_VERIFICATION) {
                c->refused.verify++;
            }
            long os_errno = 0;
            curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &os_errno);
            if ((r->no_fd || os_errno == EMFILE || os_errno == ENFILE) && c->no_fd)
                c->no_fd(c->no_fd_ud);
        }
        curl_multi_remove_handle(c->multi, easy);
        curl_easy_cleanup(easy);
        LIST_UNLINK(c->requests_head, r);
        c->inflight--;
        r->cb(r->ud, &res);
        free_request(r);
    }
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    sock_ctx *s = h->data;
    hs_http_curl *c = s->c;
    int flags = 0, running;

    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(c->multi, s->fd, flags, &running);
    check_done(c);
}

static void on_timer(uv_timer_t *h)
{
    hs_http_curl *c = h->data;
    int running;

    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(c);
}

static void close_sock(hs_http_curl *c, sock_ctx *s)
{
    LIST_UNLINK(c->socks_head, s);
    uv_poll_stop(&s->poll);
    uv_close((uv_handle_t *)&s->poll, on_handle_closed);
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    hs_http_curl *c = userp;
    sock_ctx *s = socketp;
    int events = 0;

    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (s) {
            curl_multi_assign(c->multi, fd, NULL);
            close_sock(c, s);
        }
        return 0;
    }
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s)
            return -1;
        s->fd = fd;
        s->c = c;
        if (uv_poll_init_socket(c->loop, &s->poll, fd) != 0) {
            free(s);
            return -1;
        }
        s->poll.data = s;
        c->open_handles++;
        LIST_PUSH(c->socks_head, s);
        curl_multi_assign(c->multi, fd, s);
    }
    if (what & CURL_POLL_IN)
        events |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        events |= UV_WRITABLE;
    uv_poll_start(&s->poll, events, on_poll);
    return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    hs_http_curl *c = userp;

    (void)multi;
    if (timeout_ms < 0)
        uv_timer_stop(&c->timer);
    else
        uv_timer_start(&c->timer, on_timer, (uint64_t)timeout_ms, 0);
    return 0;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *ud)
{
    request *r = ud;
    size_t n = size * nmemb;

    switch (hs_bytes_append(&r->resp, &r->resp_len, &r->resp_cap, r->c->max_response, data, n)) {
    case HS_OK:
        return n;
    case HS_ETOOBIG:
        r->too_big = 1;
        return 0;
    default:
        return 0;
    }
}

/* curl is about to connect to a: only inside the allow list; a socket()
 * that fails for want of descriptors is noted. */
static curl_socket_t open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
    request *r = ud;
    uint8_t bytes[16];
    char text[64];
    curl_socket_t fd;

    if (purpose == CURLSOCKTYPE_IPCXN && r->c->n_allow &&
        (hs_addr_bytes(&a->addr, bytes) != 0 || !hs_cidr_any(r->c->allow, r->c->n_allow, bytes))) {
        if (hs_addr_bytes(&a->addr, bytes) == 0)
            hs_addr_text(bytes, text);
        else
            snprintf(text, sizeof text, "an address of family %d", a->family);
        snprintf(r->refused, sizeof r->refused, "peer_allow: %s is outside the allowed ranges",
                 text);
        return CURL_SOCKET_BAD;
    }
    fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
    if (fd == CURL_SOCKET_BAD && (errno == EMFILE || errno == ENFILE))
        r->no_fd = 1;
    return fd;
}

void hs_http_curl_trust(hs_http_curl *c, const hs_http_trust *t, const hs_cidr *allow, size_t n)
{
    c->trust = *t;
    c->allow = allow;
    c->n_allow = n;
}

void hs_http_curl_sign(hs_http_curl *c, hs_http_sign_fn fn, void *ud)
{
    c->sign = fn;
    c->sign_ud = ud;
}

void hs_http_curl_label(hs_http_curl *c, const char *line)
{
    c->label = line;
}

void hs_http_curl_no_fd(hs_http_curl *c, void (*fn)(void *ud), void *ud)
{
    c->no_fd = fn;
    c->no_fd_ud = ud;
}

void hs_http_curl_refused(const hs_http_curl *c, hs_http_refused *out)
{
    out->allow += c->refused.allow;
    out->plain += c->refused.plain;
    out->verify += c->refused.verify;
}

hs_err hs_http_curl_new(uv_loop_t *loop, size_t max_response, size_t max_connections,
                        size_t per_host, hs_http_curl **out)
{
    hs_http_curl *c;

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return HS_EIO;
    c = calloc(1, sizeof *c);
    if (!c)
        return HS_ENOMEM;
    c->loop = loop;
    c->max_response = max_response;
    c->multi = curl_multi_init();
    if (!c->multi) {
        free(c);
        return HS_ENOMEM;
    }
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, (long)max_connections);
    curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)per_host);
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    c->open_handles = 1;
    *out = c;
    return HS_OK;
}

hs_err hs_http_curl_request(hs_http_curl *c, const char *method, const char *url, const char *body,
                            size_t len, const char *header, double timeout_s, hs_http_cb cb,
                            void *ud)
{
    request *r;
    CURL *e;
    char auth[HS_HTTP_SIGN_MAX];
    int alen = 0;

    if (c->closing)
        return HS_ESTATE;
    if (c->sign) {
        hs_http_url u;
        if (hs_http_url_parse(url, &u) != HS_OK)
            return HS_EINVAL;
        alen = c->sign(c->sign_ud, method, u.path, u.path_len, header, body, body ? len : 0, auth,
                       sizeof auth);
        if (alen < 0)
            return HS_EPERM;
    }
    r = calloc(1, sizeof *r);
    if (!r)
        return HS_ENOMEM;
    r->c = c;
    r->cb = cb;
    r->ud = ud;
    e = r->easy = curl_easy_init();
    if (!e)
        goto nomem;
    if (body) {
        r->body = malloc(len + 1);
        if (!r->body)
            goto nomem;
        memcpy(r->body, body, len);
        r->body[len] = '\0';
        r->headers = curl_slist_append(NULL, "Content-Type: application/json");
        if (!r->headers)
            goto nomem;
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    if (header) {
        struct curl_slist *h = curl_slist_append(r->headers, header);
        if (!h)
            goto nomem;
        r->headers = h;
    }
    if (c->label) {
        struct curl_slist *h = curl_slist_append(r->headers, c->label);
        if (!h)
            goto nomem;
        r->headers = h;
    }
    if (alen > 0) {
        struct curl_slist *h = curl_slist_append(r->headers, auth);
        if (!h)
            goto nomem;
        r->headers = h;
    }
    /* No "Expect: 100-continue" round trip for larger bodies. */
    if (body) {
        struct curl_slist *h = curl_slist_append(r->headers, "Expect:");
        if (!h)
            goto nomem;
        r->headers = h;
    }
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_PRIVATE, r);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->error);
    /* Any positive number: past 1e15 s is never (a long holds no more). */
    long timeout_ms = (long)(timeout_s < 1e15 ? timeout_s * 1000 : 1e18);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "hearsay/0.1");
    /* curl's defaults, said out loud: hearsay never talks TLS unverified. */
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (c->trust.tls_ca)
        curl_easy_setopt(e, CURLOPT_CAINFO, c->trust.tls_ca);
    if (c->trust.tls_cert && c->trust.tls_key) {
        curl_easy_setopt(e, CURLOPT_SSLCERT, c->trust.tls_cert);
        curl_easy_setopt(e, CURLOPT_SSLKEY, c->trust.tls_key);
    }
    if (c->trust.https_only)
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, r);
    if (curl_multi_add_handle(c->multi, e) != CURLM_OK)
        goto nomem;
    LIST_PUSH(c->requests_head, r);
    c->inflight++;
    c->requests++;
    return HS_OK;
nomem:
    if (r->easy)
        curl_easy_cleanup(r->easy);
    free_request(r);
    return HS_ENOMEM;
}

unsigned long hs_http_curl_requests(const hs_http_curl *c)
{
    return c->requests;
}

unsigned long hs_http_curl_connects(const hs_http_curl *c)
{
    return c->connects;
}

size_t hs_http_curl_inflight(const hs_http_curl *c)
{
    return c->inflight;
}

void hs_http_curl_close(hs_http_curl *c, void (*done)(void *ud), void *ud)
{
    c->closing = 1;
    c->done = done;
    c->done_ud = ud;
    while (c->requests_head) {
        request *r = c->requests_head;
        hs_http_result res = {.err = HS_ESTATE, .body = "", .error = "client closed"};
        LIST_UNLINK(c->requests_head, r);
        curl_multi_remove_handle(c->multi, r->easy);
        curl_easy_cleanup(r->easy);
        r->cb(r->ud, &res);
        free_request(r);
    }
    c->inflight = 0;
    curl_multi_cleanup(c->multi);
    c->multi = NULL;
    /* Whatever sockets cleanup did not report removed, close here. */
    while (c->socks_head)
        close_sock(c, c->socks_head);
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}
