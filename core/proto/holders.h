/*
 * holders.h -- about how many nodes hold us in their views: the distinct
 * sources of the probes we answered lately, counted by a HyperLogLog.
 *
 * Every node that holds us probes us at least every health_interval, so
 * the distinct source addresses of /ping and /health over the last one
 * or two windows of that length are about our in-degree (13% standard
 * error with 64 registers; 128 bytes a node). Addresses, not claimed
 * ids: making a node look held by thousands takes thousands of addresses
 * (an IPv6 source counts by its /64); several nodes behind one address
 * count as one, which only ever undercounts. The hash is SipHash under a
 * key drawn from the node's generator at first use, so a crafted address
 * cannot set a register high.
 */
#ifndef HS_HOLDERS_H
#define HS_HOLDERS_H

#include <stdint.h>

#include "rng.h"

#define HS_HOLDERS_REGISTERS 64

typedef struct hs_holders {
    uint64_t key[2];
    int keyed;
    double window; /* s: a window's length */
    double start;  /* monotonic s: when the current window began */
    uint8_t cur[HS_HOLDERS_REGISTERS], prev[HS_HOLDERS_REGISTERS];
} hs_holders;

/* window: seconds each window lasts (the health_interval). */
void hs_holders_init(hs_holders *h, double window);

/* A probe from addr (16 bytes, IPv4 mapped) at monotonic time now; the
 * key is drawn from rng the first time. */
void hs_holders_add(hs_holders *h, hs_rng *rng, const uint8_t addr[16], double now);

/* The distinct sources of the current and the previous window. */
unsigned hs_holders_estimate(hs_holders *h, double now);

#endif
