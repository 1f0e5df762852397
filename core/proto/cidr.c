/*
 * cidr.c -- address ranges; see cidr.h.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"

static const uint8_t v4_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int hs_addr_parse(const char *host, uint8_t out[16])
{
    struct in_addr a4;

    if (!host)
        return -1;
    if (inet_pton(AF_INET, host, &a4) == 1) {
        memcpy(out, v4_prefix, 12);
        memcpy(out + 12, &a4, 4);
        return 0;
    }
    return inet_pton(AF_INET6, host, out) == 1 ? 0 : -1;
}

int hs_addr_bytes(const struct sockaddr *sa, uint8_t out[16])
{
    if (sa && sa->sa_family == AF_INET) {
        memcpy(out, v4_prefix, 12);
        memcpy(out + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return 0;
    }
    if (sa && sa->sa_family == AF_INET6) {
        memcpy(out, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
        return 0;
    }
    return -1;
}

hs_err hs_cidr_parse(const char *s, hs_cidr *out)
{
    char host[64];
    const char *slash = s ? strchr(s, '/') : NULL;
    size_t hlen = slash ? (size_t)(slash - s) : (s ? strlen(s) : 0);
    unsigned long bits;
    char *end;
    int v4;

    if (!s || hlen == 0 || hlen >= sizeof host)
        return HS_EINVAL;
    memcpy(host, s, hlen);
    host[hlen] = '\0';
    if (hs_addr_parse(host, out->addr) != 0)
        return HS_EINVAL;
    v4 = strchr(host, ':') == NULL;
    if (!slash) {
        out->bits = 128;
        return HS_OK;
    }
    if (slash[1] < '0' || slash[1] > '9')
        return HS_EINVAL;
    bits = strtoul(slash + 1, &end, 10);
    if (*end || bits > (v4 ? 32u : 128u))
        return HS_EINVAL;
    out->bits = (unsigned)bits + (v4 ? 96u : 0u);
    return HS_OK;
}

int hs_cidr_contains(const hs_cidr *c, const uint8_t addr[16])
{
    unsigned full = c->bits / 8, rest = c->bits % 8;

    if (memcmp(c->addr, addr, full) != 0)
        return 0;
    if (rest == 0)
        return 1;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (c->addr[full] & mask) == (addr[full] & mask);
}

int hs_cidr_any(const hs_cidr *list, size_t n, const uint8_t addr[16])
{
    for (size_t i = 0; i < n; i++)
        if (hs_cidr_contains(&list[i], addr))
            return 1;
    return 0;
}

int hs_addr_is_loopback(const uint8_t addr[16])
{
    static const uint8_t v6_loop[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

    return memcmp(addr, v6_loop, 16) == 0 || (memcmp(addr, v4_prefix, 12) == 0 && addr[12] == 127);
}

void hs_addr_text(const uint8_t addr[16], char out[64])
{
    if (memcmp(addr, v4_prefix, 12) == 0)
        inet_ntop(AF_INET, addr + 12, out, 64);
    else
        inet_ntop(AF_INET6, addr, out, 64);
}
