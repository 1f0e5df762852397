/*
 * http_url.h -- splits an http:// or https:// URL into what a request
 * needs: the host to connect to, the port, the Host header's authority and
 * the request target. Strict: no user info, no spaces or control bytes,
 * ports 1..65535; anything else is refused rather than guessed at. And
 * the percent-decoding of a target's parts, as the server does it.
 */
#ifndef HS_HTTP_URL_H
#define HS_HTTP_URL_H

#include <stddef.h>
#include <stdint.h>

#include "hearsay.h"

#define HS_HTTP_HOST_MAX 255

typedef struct hs_http_url {
    int tls;                         /* https */
    char host[HS_HTTP_HOST_MAX + 1]; /* name or address, IPv6 without brackets */
    uint16_t port;                   /* given, or 80 / 443 */
    const char *authority;           /* host[:port] as written, for Host: */
    size_t authority_len;            /* (borrowed from the URL, like path) */
    const char *path;                /* the target from '/' or '?', up to any '#' */
    size_t path_len;                 /* 0: the target is "/" */
} hs_http_url;

/* Parses url (borrowed by *out's authority and path); HS_EINVAL if it is
 * not a URL this client can ask. */
hs_err hs_http_url_parse(const char *url, hs_http_url *out);

/* Percent-decodes s[0..len) into out[0..cap) as libmicrohttpd does
 * (leniently: a "%" without two hex digits stays as it is), "+" as a
 * space when `plus` (a query component). Returns the length, or -1 when
 * it does not fit. Not NUL-terminated. */
int hs_http_url_decode(const char *s, size_t len, int plus, char *out, size_t cap);

#endif
