/*
 * discovery.h -- bootstrap entries found through DNS (discovery.c).
 */
#ifndef HS_DISCOVERY_H
#define HS_DISCOVERY_H

#include "node.h"

/* Whether s is a DNS bootstrap entry: "dns+NAME:PORT" or
 * "dnssrv+_SERVICE._tcp.NAME" (a name of letters, digits, - . _). */
int hs_discovery_entry(const char *s);

/* Resolves every DNS entry of the bootstrap list, off the loop, and joins
 * the addresses no peer has yet. */
void hs_discovery_run(hs_node *n);

#endif
