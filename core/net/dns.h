/*
 * dns.h -- the addresses of a DNS bootstrap entry (discovery.h), looked up
 * with the system's resolver: it blocks, so the real io runs it on
 * libuv's thread pool (io_uv.c).
 */
#ifndef HS_DNS_H
#define HS_DNS_H

#include <stddef.h>

#include "peers.h"

/* Addresses one entry may give (the rest are ignored). */
#define HS_DNS_MAX 64

typedef struct hs_dns_answer {
    int tls; /* in: URLs get https:// */
    char urls[HS_DNS_MAX][HS_URL_MAX + 1];
    size_t n_urls;
    char error[160]; /* why there is none, when n_urls is 0 */
} hs_dns_answer;

/* Looks up `entry`, one hs_discovery_entry() accepts ("dns+NAME:PORT":
 * its A and AAAA records; "dnssrv+NAME": each SRV target's at its
 * port), into out (tls set by the caller). Blocks. */
void hs_dns_lookup(const char *entry, hs_dns_answer *out);

#endif
