/*
 * dns.c -- see dns.h.
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"

/* Appends the URLs of host's addresses (A and AAAA) at port. */
static void add_host(hs_dns_answer *j, const char *host, unsigned port)
{
    struct addrinfo hints = {0}, *res = NULL;
    char addr[INET6_ADDRSTRLEN];

    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, NULL, &hints, &res) != 0) {
        snprintf(j->error, sizeof j->error, "%s has no address", host);
        return;
    }
    for (struct addrinfo *a = res; a && j->n_urls < HS_DNS_MAX; a = a->ai_next) {
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
static void add_srv(hs_dns_answer *j, const char *name)
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

void hs_dns_lookup(const char *entry, hs_dns_answer *j)
{
    if (strncmp(entry, "dnssrv+", 7) == 0) {
        add_srv(j, entry + 7);
    } else {
        char host[256];
        const char *colon = strrchr(entry + 4, ':');
        snprintf(host, sizeof host, "%.*s", (int)(colon - (entry + 4)), entry + 4);
        add_host(j, host, (unsigned)strtoul(colon + 1, NULL, 10));
    }
}
