/*
 * cidr.h -- IP addresses and address ranges (CIDR): parsing the ranges of
 * peer_allow and trust_forwarded, matching a socket address against them,
 * and reading an address literal out of a URL's host.
 *
 * An IPv4 address also matches an IPv6 range through its v4-mapped form
 * (::ffff:a.b.c.d), and a v4-mapped address matches IPv4 ranges, so a
 * dual-stack listener sees one address space. Cost: O(1) per range.
 */
#ifndef HS_CIDR_H
#define HS_CIDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "hearsay.h"

typedef struct hs_cidr {
    uint8_t addr[16]; /* IPv6, or IPv4 v4-mapped */
    unsigned bits;    /* prefix length over the 128 bits */
} hs_cidr;

/* Parses "a.b.c.d/n", "x:y::z/n" or a bare address (a /32 or /128).
 * HS_EINVAL for anything else (host bits set below the prefix are
 * allowed and ignored). */
hs_err hs_cidr_parse(const char *s, hs_cidr *out);

/* The 16-byte (v4-mapped when IPv4) form of sa; -1 for a family that
 * has none (unix sockets). */
int hs_addr_bytes(const struct sockaddr *sa, uint8_t out[16]);

/* Parses an address literal (as a URL host has it, IPv6 without its
 * brackets) into 16 bytes; -1 when it is not one (a name). */
int hs_addr_parse(const char *host, uint8_t out[16]);

/* Whether the address (16 bytes) lies in the range. */
int hs_cidr_contains(const hs_cidr *c, const uint8_t addr[16]);

/* Whether it lies in any of the n ranges. */
int hs_cidr_any(const hs_cidr *list, size_t n, const uint8_t addr[16]);

/* 127.0.0.0/8 or ::1 (and their v4-mapped forms). */
int hs_addr_is_loopback(const uint8_t addr[16]);

/* The address as text (IPv4 dotted when v4-mapped), in out (64 bytes). */
void hs_addr_text(const uint8_t addr[16], char out[64]);

#endif
