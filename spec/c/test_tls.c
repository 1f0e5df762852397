/*
 * test_tls.c -- the trust settings of the HTTP server and client, below
 * the node: TLS files refused at start with the file named; HTTPS served
 * on the loop and verified by the client (and a silent TLS client, whose
 * handshake MHD keeps on its ready list, neither hangs the loop nor holds
 * up the others); https_only; allow lists, in the own client both on a
 * literal address and on a resolved name, and at the server's accept.
 * Certificates are made with the openssl command line in a temp dir.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <uv.h>

#include "check.h"
#include "http_client.h"
#include "http_server.h"
#include "uvtest.h"

static char dir[64];

static const char *file(const char *name)
{
    static char paths[8][128];
    static int next;
    char *p = paths[next++ % 8];

    snprintf(p, sizeof paths[0], "%s/%s", dir, name);
    return p;
}

static int sh(const char *fmt, const char *a, const char *b)
{
    char cmd[1024];

    snprintf(cmd, sizeof cmd, fmt, a, b);
    return system(cmd);
}

/* A CA and a server certificate for 127.0.0.1 signed by it. */
static int make_pki(void)
{
    strcpy(dir, "/tmp/hearsay-tls.XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    return sh("cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
              "-keyout ca.key -out ca.pem -days 2 -subj /CN=test-ca "
              "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign "
              ">/dev/null 2>&1 && "
              "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout node.key "
              "-out node.csr -subj /CN=node >/dev/null 2>&1 && "
              "printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth,clientAuth\\n' "
              "> node.ext && openssl x509 -req -in node.csr -CA ca.pem -CAkey ca.key "
              "-set_serial 7 -days 2 -out node.pem -extfile node.ext >/dev/null 2>&1 && "
              "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other.key "
              "-out other.csr -subj /CN=other >/dev/null 2>&1%s",
              dir, "");
}

/* ---- a server, and what it logged ----------------------------------- */

static char logged[2048];

static void log_fn(void *ud, hs_log_level level, const char *name, const char *msg)
{
    (void)ud;
    (void)level;
    (void)name;
    strncat(logged, msg, sizeof logged - strlen(logged) - 2);
    strcat(logged, "\n");
}

#define BIG (1 << 20)

/* Tokens of the requests to /hold, answered later. */
static uint64_t held[4];
static int nheld;

/* GET /big: 1 MiB; /hold: deferred; a body over the cap: 413; anything
 * else "ok", or the length of the body it got. */
static void handler(void *ud, const hs_http_request *req, hs_http_response *resp)
{
    (void)ud;
    resp->status = 200;
    if (strcmp(req->path, "/hold") == 0 && nheld < 4) {
        held[nheld++] = req->token;
        resp->defer = 1;
    } else if (req->too_large) {
        resp->status = 413;
        resp->body = strdup("too large");
        resp->len = 9;
    } else if (strcmp(req->path, "/big") == 0) {
        resp->body = malloc(BIG);
        memset(resp->body, 'b', BIG);
        resp->len = BIG;
    } else if (req->len) {
        resp->body = malloc(32);
        resp->len = (size_t)snprintf(resp->body, 32, "%zu", req->len);
    } else {
        resp->body = strdup("ok");
        resp->len = 2;
    }
}

static hs_http_server_opts server_opts(void)
{
    hs_http_server_opts o = {0};

    o.host = "127.0.0.1";
    o.max_body = 2 * BIG;
    o.max_connections = 16;
    o.connection_timeout = 150;
    o.handler = handler;
    o.log = log_fn;
    return o;
}

static void close_all(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void finish(uv_loop_t *loop, hs_http_server *srv, hs_http_client *c)
{
    if (c)
        hs_http_client_close(c, NULL, NULL);
    if (srv)
        hs_http_server_close(srv, NULL, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_walk(loop, close_all, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(loop) == 0);
}

static void tls_files_are_checked_at_start_naming_the_file(void)
{
    uv_loop_t loop;
    hs_http_server *srv = NULL;
    hs_http_server_opts o = server_opts();
    static const char *const bad_range[] = {"10.0.0.0/33"};

    uv_loop_init(&loop);
    logged[0] = '\0';
    o.tls_cert = file("missing.pem");
    o.tls_key = file("node.key");
    CHECK(hs_http_server_start(&loop, &o, &srv) == HS_EINVAL);
    CHECK(strstr(logged, "tls_cert ") && strstr(logged, "missing.pem: No such file"));

    logged[0] = '\0';
    o.tls_cert = file("node.pem");
    o.tls_key = file("other.key"); /* not the certificate's key */
    CHECK(hs_http_server_start(&loop, &o, &srv) == HS_EINVAL);
    CHECK(strstr(logged, "other.key: not a certificate and its key") != NULL);

    logged[0] = '\0';
    o.tls_key = file("node.csr"); /* PEM, but no key */
    CHECK(hs_http_server_start(&loop, &o, &srv) == HS_EINVAL);
    CHECK(strstr(logged, "node.csr: not a certificate and its key") != NULL);

    logged[0] = '\0';
    o.tls_key = file("node.ext"); /* not PEM at all */
    CHECK(hs_http_server_start(&loop, &o, &srv) == HS_EINVAL);
    CHECK(strstr(logged, "tls_key ") && strstr(logged, "node.ext: no PEM block"));

    logged[0] = '\0';
    o.tls_key = file("node.key");
    o.tls_client_auth = 1; /* and no tls_ca */
    CHECK(hs_http_server_start(&loop, &o, &srv) == HS_EINVAL);
    CHECK(strstr(logged, "tls_client_auth needs tls_ca") != NULL);

    logged[0] = '\0';
    o.tls_ca = file("node.key"); /* a key is no CA */
    CHECK(hs_http_server_start(&loop, &o, &srv) == HS_EINVAL);
    CHECK(strstr(logged, "tls_ca ") != NULL);

    logged[0] = '\0';
    o = server_opts();
    o.allow = bad_range;
    o.n_allow = 1;
    CHECK(hs_http_server_start(&loop, &o, &srv) == HS_EINVAL);
    CHECK(strstr(logged, "'10.0.0.0/33' is not an address range") != NULL);
    CHECK(srv == NULL);
    finish(&loop, NULL, NULL);
}

/* ---- requests --------------------------------------------------------- */

typedef struct result {
    int done;
    hs_err err;
    long status;
    size_t len;
    char body[32];
    char error[256];
} result;

static void on_result(void *ud, const hs_http_result *res)
{
    result *r = ud;

    r->done++;
    r->err = res->err;
    r->status = res->status;
    r->len = res->len;
    snprintf(r->body, sizeof r->body, "%s", res->body ? res->body : "");
    snprintf(r->error, sizeof r->error, "%s", res->error ? res->error : "");
}

static hs_http_client *client(uv_loop_t *loop, hs_http_trust trust)
{
    hs_http_client_opts o = {.max_response = 2 * BIG,
                             .max_connections = 8,
                             .per_host = 2,
                             .idle_timeout = 10,
                             .trust = trust};
    hs_http_client *c = NULL;

    CHECK(hs_http_client_new(loop, &o, &c) == HS_OK);
    return c;
}

static void get(hs_http_client *c, uv_loop_t *loop, const char *url, result *r)
{
    memset(r, 0, sizeof *r);
    CHECK(hs_http_client_request(c, "GET", url, NULL, 0, NULL, 3, on_result, r) == HS_OK);
    CHECK(run_until(loop, &r->done, 1, 5000));
}

/* A TCP connection that says nothing: a TLS handshake that never starts. */
typedef struct silent {
    uv_tcp_t tcp;
    uv_connect_t cr;
    int connected;
} silent;

static void silent_connected(uv_connect_t *cr, int status)
{
    silent *s = cr->data;
    s->connected = status == 0 ? 1 : -1;
}

static double cpu_s(void)
{
    struct rusage u;

    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + (double)u.ru_stime.tv_sec +
           u.ru_stime.tv_usec / 1e6;
}

static void serves_https_that_the_client_verifies(void)
{
    uv_loop_t loop;
    hs_http_server *srv = NULL;
    hs_http_server_opts o = server_opts();
    hs_http_client *c, *system_cas;
    hs_http_refused ref;
    silent quiet = {0};
    struct sockaddr_in sa;
    char url[64];
    result r;

    uv_loop_init(&loop);
    o.tls_cert = file("node.pem");
    o.tls_key = file("node.key");
    CHECK(hs_http_server_start(&loop, &o, &srv) == HS_OK);
    if (!srv) {
        finish(&loop, NULL, NULL);
        return;
    }
    snprintf(url, sizeof url, "https://127.0.0.1:%u/x", (unsigned)hs_http_server_port(srv));

    /* A client that connects and stays silent: its handshake waits. */
    uv_tcp_init(&loop, &quiet.tcp);
    quiet.cr.data = &quiet;
    uv_ip4_addr("127.0.0.1", hs_http_server_port(srv), &sa);
    uv_tcp_connect(&quiet.cr, &quiet.tcp, (struct sockaddr *)&sa, silent_connected);
    CHECK(run_until(&loop, &quiet.connected, 1, 1000));
    double cpu0 = cpu_s();
    run_for(&loop, 300); /* returns: the loop is not stuck on MHD's 0 timeout */
    CHECK(cpu_s() - cpu0 < 0.15);

    /* Verified against the CA; served beside the silent one. */
    c = client(&loop, (hs_http_trust){.tls_ca = file("ca.pem"), .https_only = 1});
    get(c, &loop, url, &r);
    CHECK(r.err == HS_OK && r.status == 200);
    get(c, &loop, url, &r); /* and again, on the kept-alive connection */
    CHECK(r.err == HS_OK && r.status == 200);
    /* A MiB each way takes the runs it needs at once, the silent
     * handshake notwithstanding (~0.1 s on a slow day; 64 ms a run would
     * be many seconds). */
    char *body = malloc(BIG);
    memset(body, 'u', BIG);
    uint64_t t0 = uv_hrtime();
    memset(&r, 0, sizeof r);
    CHECK(hs_http_client_request(c, "POST", url, body, BIG, NULL, 10, on_result, &r) == HS_OK);
    CHECK(run_until(&loop, &r.done, 1, 10000));
    CHECK(r.err == HS_OK && r.status == 200 && strcmp(r.body, "1048576") == 0);
    url[strlen(url) - 2] = '\0';
    strcat(url, "/big");
    get(c, &loop, url, &r);
    CHECK(r.err == HS_OK && r.status == 200 && r.len == BIG);
    if (r.len != BIG)
        fprintf(stderr, "GET /big: %d %ld %zu %s\n", r.err, r.status, r.len, r.error);
    double took = (double)(uv_hrtime() - t0) / 1e9;
    CHECK(took < 2);
    printf("1 MiB up and 1 MiB down over TLS: %.3f s\n", took);
    free(body);

    /* The system's CAs do not know ours: refused, counted. */
    system_cas = client(&loop, (hs_http_trust){0});
    get(system_cas, &loop, url, &r);
    CHECK(r.err == HS_EIO && r.status == 0);
    CHECK(strstr(r.error, "certificate") != NULL);
    memset(&ref, 0, sizeof ref);
    hs_http_client_refused(system_cas, &ref);
    CHECK(ref.verify == 1 && ref.allow == 0 && ref.plain == 0);

    /* https_only: an http:// URL is refused at once, counted. */
    memset(&r, 0, sizeof r);
    CHECK(hs_http_client_request(c, "GET", "http://127.0.0.1:1/", NULL, 0, NULL, 1, on_result,
                                 &r) == HS_EPERM);
    hs_http_client_refused(c, &ref);
    CHECK(ref.plain == 1 && ref.verify == 0);
    run_for(&loop, 20);
    CHECK(r.done == 0);

    uv_close((uv_handle_t *)&quiet.tcp, NULL);
    hs_http_client_close(system_cas, NULL, NULL);
    finish(&loop, srv, c);
}

/* Caps, deferred answers and draining, as http_server.c does them in
 * plain HTTP, hold over TLS. */
static void the_server_keeps_its_ways_over_tls(void)
{
    uv_loop_t loop;
    hs_http_server *srv = NULL;
    hs_http_server_opts o = server_opts();
    hs_http_client *c[6];
    hs_http_trust trust = {.tls_ca = file("ca.pem")};
    char base[64], url[96];
    result r, held_r;
    int answered = 0;

    uv_loop_init(&loop);
    o.tls_cert = file("node.pem");
    o.tls_key = file("node.key");
    o.max_body = 4096;
    o.max_connections = 4;
    CHECK(hs_http_server_start(&loop, &o, &srv) == HS_OK);
    snprintf(base, sizeof base, "https://127.0.0.1:%u", (unsigned)hs_http_server_port(srv));
    for (int i = 0; i < 6; i++)
        c[i] = client(&loop, trust);

    /* A deferred answer comes when it is given. */
    nheld = 0;
    memset(&held_r, 0, sizeof held_r);
    snprintf(url, sizeof url, "%s/hold", base);
    CHECK(hs_http_client_request(c[0], "GET", url, NULL, 0, NULL, 5, on_result, &held_r) == HS_OK);
    CHECK(run_until(&loop, &nheld, 1, 3000));
    run_for(&loop, 50);
    CHECK(held_r.done == 0);
    CHECK(hs_http_server_answer(srv, held[0], 200, strdup("later"), 5) == 0);
    CHECK(run_until(&loop, &held_r.done, 1, 3000));
    CHECK(held_r.status == 200 && strcmp(held_r.body, "later") == 0);

    /* The body cap: 413, the connection still usable. */
    char *body = malloc(8192);
    memset(body, 'x', 8192);
    memset(&r, 0, sizeof r);
    snprintf(url, sizeof url, "%s/x", base);
    CHECK(hs_http_client_request(c[0], "POST", url, body, 8192, NULL, 5, on_result, &r) == HS_OK);
    CHECK(run_until(&loop, &r.done, 1, 3000));
    CHECK(r.err == HS_OK && r.status == 413);
    free(body);
    get(c[0], &loop, url, &r);
    CHECK(r.status == 200);

    /* Six clients, each keeping its connection, at 4 connections: the
     * idle ones are drained to make room, and every request is answered. */
    for (int i = 1; i < 6; i++) {
        get(c[i], &loop, url, &r);
        answered += r.status == 200;
    }
    CHECK(answered == 5);
    CHECK(hs_http_server_drained(srv) >= 2);
    get(c[0], &loop, url, &r); /* its connection was drained: a new one */
    CHECK(r.status == 200);
    for (int i = 1; i < 6; i++)
        hs_http_client_close(c[i], NULL, NULL);
    finish(&loop, srv, c[0]);
}

static void allow_lists_refuse_outside_addresses(void)
{
    uv_loop_t loop;
    hs_http_server *srv = NULL, *closed = NULL;
    hs_http_server_opts o = server_opts();
    static const char *const only_ten[] = {"10.0.0.0/8"};
    static const char *const only_lo[] = {"127.0.0.1/32"};
    static const char *const bad[] = {"127.0.0.1/40"};
    hs_http_client *c;
    hs_http_client_opts co = {.max_response = 4096, .max_connections = 8, .per_host = 2};
    hs_http_refused ref;
    char url[64];
    result r;

    uv_loop_init(&loop);
    CHECK(hs_http_server_start(&loop, &o, &srv) == HS_OK);
    o.allow = only_ten;
    o.n_allow = 1;
    CHECK(hs_http_server_start(&loop, &o, &closed) == HS_OK);

    co.trust.allow = bad;
    co.trust.n_allow = 1;
    c = NULL;
    CHECK(hs_http_client_new(&loop, &co, &c) == HS_EINVAL && c == NULL);

    c = client(&loop, (hs_http_trust){.allow = only_ten, .n_allow = 1});
    /* A literal address: refused before any connection is made. */
    snprintf(url, sizeof url, "http://127.0.0.1:%u/x", (unsigned)hs_http_server_port(srv));
    get(c, &loop, url, &r);
    CHECK(r.err == HS_EPERM);
    CHECK(strcmp(r.error, "peer_allow: 127.0.0.1 is outside the allowed ranges") == 0);
    /* A name: refused on the address it resolves to. */
    snprintf(url, sizeof url, "http://localhost:%u/x", (unsigned)hs_http_server_port(srv));
    get(c, &loop, url, &r);
    CHECK(r.err == HS_EPERM);
    CHECK(strncmp(r.error, "peer_allow: ", 12) == 0);
    hs_http_client_refused(c, &ref);
    CHECK(ref.allow == 2);
    hs_http_client_close(c, NULL, NULL);

    /* Allowed: the name resolves, and its IPv4 address is the allowed one. */
    c = client(&loop, (hs_http_trust){.allow = only_lo, .n_allow = 1});
    get(c, &loop, url, &r);
    CHECK(r.err == HS_OK && r.status == 200);
    /* The server that accepts 10/8 only closes on us, and counts it. */
    snprintf(url, sizeof url, "http://127.0.0.1:%u/x", (unsigned)hs_http_server_port(closed));
    get(c, &loop, url, &r);
    CHECK(r.err == HS_EIO && r.status == 0);
    CHECK(hs_http_server_allow_refused(closed) == 1);
    CHECK(hs_http_server_allow_refused(srv) == 0);
    hs_http_server_close(closed, NULL, NULL);
    finish(&loop, srv, c);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (make_pki() != 0) {
        fprintf(stderr, "cannot make certificates with the openssl command line\n");
        return 1;
    }
    tls_files_are_checked_at_start_naming_the_file();
    serves_https_that_the_client_verifies();
    the_server_keeps_its_ways_over_tls();
    allow_lists_refuse_outside_addresses();
    sh("rm -rf %s%s", dir, "");
    DONE();
}
