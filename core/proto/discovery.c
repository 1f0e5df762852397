/*
 * discovery.c -- bootstrap entries found through DNS (README,
 * Operations): "dns+NAME:PORT" joins every address NAME has (A and
 * AAAA records), "dnssrv+_SERVICE._tcp.NAME" every target and port of
 * NAME's SRV records. Looked up by the node's io (off its thread: the
 * resolver blocks; dns.c), at the start, at every re-bootstrap and every
 * discovery_interval, so that a node added to DNS later is found; each
 * address no peer of ours has yet is joined as a URL entry would be.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discovery.h"
#include "io.h"

typedef struct disc_job {
    hs_node *n;
    char entry[HS_URL_MAX + 1];
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

static void resolved(void *ud, hs_err err, const char *const *urls, size_t n_urls,
                     const char *error)
{
    disc_job *j = ud;
    hs_node *n = j->n;
    size_t joined = 0;

    if (err == HS_OK && !n->closing) {
        for (size_t i = 0; i < n_urls; i++) {
            /* Ourselves, and the addresses of peers we have, are known. */
            if (strcmp(urls[i], n->url) == 0 || hs_peers_find_url(&n->peers, urls[i]))
                continue;
            if (hs_node_join(n, urls[i]) == HS_OK)
                joined++;
        }
        n->m.discovered_addresses += n_urls;
        if (n_urls == 0)
            hs_node_log(n, HS_LOG_WARN, "discovery: %s: %s", j->entry,
                        error && error[0] ? error : "no address");
        else
            hs_node_log(n, HS_LOG_DEBUG, "discovery: %s: %zu address(es), %zu new", j->entry,
                        n_urls, joined);
    }
    free(j);
    n->discovering--;
    n->up.part_done(n);
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
        snprintf(j->entry, sizeof j->entry, "%s", n->bootstrap[i]);
        /* The node waits for it before it is freed (hs_upcalls.part_done). */
        n->open_handles++;
        n->discovering++;
        if (n->io->ops->resolve(n->io, j->entry, n->cfg.tls_cert != NULL, resolved, j) != HS_OK) {
            n->open_handles--;
            n->discovering--;
            free(j);
        }
    }
}
