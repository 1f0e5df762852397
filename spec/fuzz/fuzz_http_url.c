/*
 * fuzz_http_url.c -- hs_http_url_parse (core/proto/http_url.c) on any bytes.
 *
 * A URL that parses must split into pieces that lie inside it, in order
 * (scheme, authority, target), with a host the client may connect to, a
 * port in 1..65535 and a request target that cannot break the request
 * line; and the URL rebuilt from those pieces must parse the same way.
 */
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "http_url.h"

static int host_ok(const char *h, int v6)
{
    size_t n = strlen(h);

    if (n == 0 || n > HS_HTTP_HOST_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = h[i];
        int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (v6 ? !(alnum || c == ':' || c == '.') : !(alnum || strchr("-._~", c)))
            return 0;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *url = malloc(size + 1);
    hs_http_url u, again;

    if (!url)
        return 0;
    memcpy(url, data, size);
    url[size] = '\0';
    if (hs_http_url_parse(url, &u) != HS_OK) {
        free(url);
        return 0;
    }
    size_t len = strlen(url), skip = u.tls ? 8 : 7;
    FUZZ_CHECK(strncasecmp(url, u.tls ? "https://" : "http://", skip) == 0, "scheme");
    FUZZ_CHECK(u.authority == url + skip && u.authority_len > 0, "authority starts the URL");
    FUZZ_CHECK(u.path == u.authority + u.authority_len, "the target follows the authority");
    FUZZ_CHECK(u.path + u.path_len <= url + len, "the target lies inside the URL");
    FUZZ_CHECK(u.path[u.path_len] == '\0' || u.path[u.path_len] == '#', "the target ends at '#'");
    FUZZ_CHECK(u.path_len == 0 || u.path[0] == '/' || u.path[0] == '?', "the target's start");
    FUZZ_CHECK(!memchr(u.authority, '/', u.authority_len) &&
                   !memchr(u.authority, '?', u.authority_len) &&
                   !memchr(u.authority, '#', u.authority_len),
               "the authority holds no delimiter");
    for (size_t i = 0; i < u.path_len; i++)
        FUZZ_CHECK((unsigned char)u.path[i] > ' ' && (unsigned char)u.path[i] != 0x7f,
                   "no space or control byte in the request target");
    int v6 = u.authority[0] == '[';
    FUZZ_CHECK(host_ok(u.host, v6), "host characters");
    FUZZ_CHECK(strncmp(u.authority + v6, u.host, strlen(u.host)) == 0,
               "the host is the authority's start");
    FUZZ_CHECK(u.port >= 1, "port 1..65535");
    if (!memchr(u.authority + v6 + strlen(u.host), ':', u.authority_len - v6 - strlen(u.host)))
        FUZZ_CHECK(u.port == (u.tls ? 443 : 80), "the default port");

    /* Rebuilt from its pieces, it parses the same. */
    char *re = malloc(skip + u.authority_len + u.path_len + 1);
    if (re) {
        memcpy(re, u.tls ? "https://" : "http://", skip);
        memcpy(re + skip, u.authority, u.authority_len);
        memcpy(re + skip + u.authority_len, u.path, u.path_len);
        re[skip + u.authority_len + u.path_len] = '\0';
        FUZZ_CHECK(hs_http_url_parse(re, &again) == HS_OK, "the rebuilt URL parses");
        FUZZ_CHECK(again.tls == u.tls && again.port == u.port && strcmp(again.host, u.host) == 0 &&
                       again.authority_len == u.authority_len && again.path_len == u.path_len &&
                       memcmp(again.path, u.path, u.path_len) == 0,
                   "the rebuilt URL parses the same");
        free(re);
    }
    free(url);
    return 0;
}
