/*
 * discovery.c -- bootstrap entries found through DNS (README,
 * Operations): "dns+NAME:PORT" joins every address NAME has (A and
 * AAAA records), "dnssrv+_SERVICE._tcp.NAME" every target and port of
 * NAME's SRV records. Resolved off the loop (libuv's thread pool: the
 * resolver blocks), at the start, at every re-bootstrap and every
 * discovery_interval, so that a node added to DNS later is found; each
 * address no peer of ours has yet is joined as a URL entry would be.
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discovery.h"

/* Addresses one entry may give (the rest are ignored). */
#define DISC_MAX 64

typedef struct disc_job {
    uv_work_t work;
    hs_node *n;
    char entry[HS_URL_MAX + 1];
    int tls;
    char urls[DISC_MAX][HS_URL_MAX + 1];
    size_t n_urls;
    char error[160];
} disc_job;

int hs_discovery_entry(const char *s)
{
    size_t n;

    if (strncmp(s, "dnssrv+", 7) == 0) {
        n = strlen(s + 7);
        return n > 0 && n < 254 &&
               strspn(s + 7, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._") ==
                   n;
    }
    if (strncmp(s, "dns+", 4) == 0) {
        const char *colon = strrchr(s + 4, ':');
        char *end;
        unsigned long port;
        if (!colon || colon == s + 4 || colon - (s + 4) >= 254)
            return 0;
        if (strspn(s + 4, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") !=
            (size_t)(colon - (s + 4)))
            return 0;
        port = strtoul(colon + 1, &end, 10);
        return *end == '\0' && colon[1] && port > 0 && port <= 65535;
    }
    return 0;
}

/* Appends the URLs of host's addresses (A and AAAA) at port. */
static void add_host(disc_job *j, const char *host, unsigned port)
{
    struct addrinfo hints = {0}, *res = NULL;
    char addr[INET6_ADDRSTRLEN];

    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, NULL, &hints, &res) != 0) {
        snprintf(j->error, sizeof j->error, "%s has no address", host);
        return;
    }
    for (struct addrinfo *a = res; a && j->n_urls < DISC_MAX; a = a->ai_next) {
        const void *bytes = a->ai_family == AF_INET
                                ? (const void *)&((struct sockaddr_in *)a->ai_addr)->sin_addr
                                : (const void *)&((struct sockaddr_in6 *)a->ai_addr)->sin6_addr;
        if ((a->ai_family != AF_INET && a->ai_family != AF_INET6) ||
            !inet_ntop(a->ai_family, bytes, addr, sizeof addr))
            continue;
        char url[HS_URL_MAX + 1];
        snprintf(url, sizeof url, a->ai_family == AF_INET6 ? "%s://[%s]:%u" : "%s://%s:%u",
                 j->tls ? "https" : "http", addr, port);
        int dup = 0;
        for (size_t i = 0; i < j->n_urls; i++)
            dup |= strcmp(j->urls[i], url) == 0;
        if (!dup)
            strcpy(j->urls[j->n_urls++], url);
    }
    freeaddrinfo(res);
}

/* The SRV records of name: each target's addresses at its port. */
static void add_srv(disc_job *j, const char *name)
{
    unsigned char answer[4096];
    struct __res_state rs;
    ns_msg msg;
    int len;

    memset(&rs, 0, sizeof rs);
    if (res_ninit(&rs) != 0) {
        snprintf(j->error, sizeof j->error, "no resolver");
        return;
    }
    len = res_nquery(&rs, name, ns_c_in, ns_t_srv, answer, sizeof answer);
    if (len > (int)sizeof answer)
        len = sizeof answer; /* (a truncated TCP answer says its full length) */
    if (len < 0 || ns_initparse(answer, len, &msg) != 0) {
        snprintf(j->error, sizeof j->error, "%s has no SRV record", name);
        res_nclose(&rs);
        return;
    }
    for (int i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
        ns_rr rr;
        char target[NS_MAXDNAME];
        if (ns_parserr(&msg, ns_s_an, i, &rr) != 0 || ns_rr_type(rr) != ns_t_srv ||
            ns_rr_rdlen(rr) < 7)
            continue;
        const unsigned char *rd = ns_rr_rdata(rr);
        unsigned port = ((unsigned)rd[4] << 8) | rd[5];
        if (port == 0 ||
            dn_expand(ns_msg_base(msg), ns_msg_end(msg), rd + 6, target, sizeof target) < 0)
            continue;
        add_host(j, target, port);
    }
    res_nclose(&rs);
}

static void resolve(uv_work_t *w)
{
    disc_job *j = w->data;

    if (strncmp(j->entry, "dnssrv+", 7) == 0) {
        add_srv(j, j->entry + 7);
    } else {
        char host[256];
        const char *colon = strrchr(j->entry + 4, ':');
        snprintf(host, sizeof host, "%.*s", (int)(colon - (j->entry + 4)), j->entry + 4);
        add_host(j, host, (unsigned)strtoul(colon + 1, NULL, 10));
    }
}

static void resolved(uv_work_t *w, int status)
{
    disc_job *j = w->data;
    hs_node *n = j->n;
    size_t joined = 0;

    if (status == 0 && !n->closing) {
        for (size_t i = 0; i < j->n_urls; i++) {
            /* Ourselves, and the addresses of peers we have, are known. */
            if (strcmp(j->urls[i], n->url) == 0 || hs_peers_find_url(&n->peers, j->urls[i]))
                continue;
            if (hs_node_join(n, j->urls[i]) == HS_OK)
                joined++;
        }
        n->m.discovered_addresses += j->n_urls;
        if (j->n_urls == 0)
            hs_node_log(n, HS_LOG_WARN, "discovery: %s: %s", j->entry,
                        j->error[0] ? j->error : "no address");
        else
            hs_node_log(n, HS_LOG_DEBUG, "discovery: %s: %zu address(es), %zu new", j->entry,
                        j->n_urls, joined);
    }
    free(j);
    n->discovering--;
    hs_node_part_done(n);
}

void hs_discovery_run(hs_node *n)
{
    n->last_discovery = hs_node_mono(n);
    /* (Not while the last round still resolves: a slow DNS must not pile
     * lookups up in the thread pool.) */
    if (n->leaving || n->discovering)
        return;
    for (size_t i = 0; i < n->cfg.n_bootstrap; i++) {
        disc_job *j;
        if (!hs_discovery_entry(n->bootstrap[i]) || !(j = calloc(1, sizeof *j)))
            continue;
        j->n = n;
        j->work.data = j;
        j->tls = n->cfg.tls_cert != NULL;
        snprintf(j->entry, sizeof j->entry, "%s", n->bootstrap[i]);
        /* The node waits for it before it is freed (hs_node_part_done). */
        n->open_handles++;
        n->discovering++;
        if (uv_queue_work(n->loop, &j->work, resolve, resolved) != 0) {
            n->open_handles--;
            n->discovering--;
            free(j);
        }
    }
}
