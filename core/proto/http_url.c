/*
 * http_url.c -- URL splitting for the HTTP client; see http_url.h.
 */
#include <string.h>
#include <strings.h>

#include "hash.h"
#include "http_url.h"

static int host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

static int v6_char(char c)
{
    return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || (c >= '0' && c <= '9') || c == ':' ||
           c == '.';
}

hs_err hs_http_url_parse(const char *url, hs_http_url *out)
{
    const char *p, *a, *end, *host, *host_end, *q;
    size_t hlen;

    memset(out, 0, sizeof *out);
    if (!url)
        return HS_EINVAL;
    if (strncasecmp(url, "http://", 7) == 0) {
        a = url + 7;
        out->port = 80;
    } else if (strncasecmp(url, "https://", 8) == 0) {
        a = url + 8;
        out->tls = 1;
        out->port = 443;
    } else {
        return HS_EINVAL;
    }
    end = a + strcspn(a, "/?#");
    if (end == a)
        return HS_EINVAL;
    if (a[0] == '[') {
        host = a + 1;
        host_end = memchr(host, ']', (size_t)(end - host));
        if (!host_end || host_end == host)
            return HS_EINVAL;
        for (q = host; q < host_end; q++)
            if (!v6_char(*q))
                return HS_EINVAL;
        p = host_end + 1;
    } else {
        host = a;
        for (q = a; q < end && *q != ':'; q++)
            if (!host_char(*q))
                return HS_EINVAL; /* user info, spaces, percent-encoding... */
        host_end = q;
        if (host_end == host)
            return HS_EINVAL;
        p = host_end;
    }
    if (p < end) {
        unsigned long port = 0;
        if (*p++ != ':')
            return HS_EINVAL;
        if (p == end || end - p > 5)
            return HS_EINVAL;
        for (; p < end; p++) {
            if (*p < '0' || *p > '9')
                return HS_EINVAL;
            port = port * 10 + (unsigned long)(*p - '0');
        }
        if (port == 0 || port > 65535)
            return HS_EINVAL;
        out->port = (uint16_t)port;
    }
    hlen = (size_t)(host_end - host);
    if (hlen > HS_HTTP_HOST_MAX)
        return HS_EINVAL;
    memcpy(out->host, host, hlen);
    out->host[hlen] = '\0';
    out->authority = a;
    out->authority_len = (size_t)(end - a);
    out->path = end;
    out->path_len = strcspn(end, "#");
    for (size_t i = 0; i < out->path_len; i++)
        if ((unsigned char)end[i] <= ' ' || (unsigned char)end[i] == 0x7f)
            return HS_EINVAL; /* it would break the request line */
    return HS_OK;
}

int hs_http_url_decode(const char *s, size_t len, int plus, char *out, size_t cap)
{
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (o >= cap)
            return -1;
        if (c == '%' && i + 2 < len && hs_hash_hex_digit(s[i + 1]) >= 0 &&
            hs_hash_hex_digit(s[i + 2]) >= 0) {
            out[o++] = (char)(hs_hash_hex_digit(s[i + 1]) << 4 | hs_hash_hex_digit(s[i + 2]));
            i += 2;
        } else {
            out[o++] = plus && c == '+' ? ' ' : c;
        }
    }
    return (int)o;
}
