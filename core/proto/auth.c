/*
 * auth.c -- the cluster keyring and the request MAC; see auth.h for the
 * header's format and the cost model.
 *
 * Invariants: keys[0..n) hold distinct ids, keys[0] is the primary, and
 * each key's ctx is an HMAC-SHA256 context already keyed with it (a MAC
 * dups it, so no request pays for the key schedule). A change to the
 * ring is computed aside, saved, and only then made: the ring in memory
 * is never one the save callback refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "auth.h"
#include "http_url.h"
#include "hash.h"
#include "node.h"
#include "seen.h"

#define DOMAIN "hearsay-auth-v1"
/* Bytes of a decoded path and of a canonical query we sign or check. */
#define PART_MAX 8192

typedef struct key {
    uint8_t raw[32];
    char id[9];
    char text[HS_KEY_TEXT];
    EVP_MAC_CTX *ctx;
} key;

struct hs_auth {
    key keys[HS_KEYRING_MAX];
    size_t n;
    EVP_MAC *mac;
    int64_t window_ms;
    hs_seen *nonces;
    uint64_t nonce_base, nonce_seq; /* our nonces: random base, then a count */
    hs_keyring_save_fn save;
    void *save_ud;
    const hs_clock *clock; /* what requests are signed at (a node's) */
};

/* ---- keys ------------------------------------------------------------- */

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void b64_encode32(const uint8_t raw[32], char out[HS_KEY_TEXT])
{
    size_t o = 0;

    for (size_t i = 0; i < 30; i += 3) {
        uint32_t v = (uint32_t)raw[i] << 16 | (uint32_t)raw[i + 1] << 8 | raw[i + 2];
        out[o++] = B64[v >> 18];
        out[o++] = B64[(v >> 12) & 63];
        out[o++] = B64[(v >> 6) & 63];
        out[o++] = B64[v & 63];
    }
    uint32_t v = (uint32_t)raw[30] << 16 | (uint32_t)raw[31] << 8;
    out[o++] = B64[v >> 18];
    out[o++] = B64[(v >> 12) & 63];
    out[o++] = B64[(v >> 6) & 63];
    out[o++] = '=';
    out[o] = '\0';
}

static int b64_value(char c)
{
    const char *p = c ? strchr(B64, c) : NULL;
    return p ? (int)(p - B64) : -1;
}

hs_err hs_auth_key_parse(const char *text, uint8_t raw[32])
{
    uint8_t buf[33];
    char again[HS_KEY_TEXT];
    size_t o = 0;

    if (!text || strlen(text) != 44 || text[43] != '=')
        return HS_EINVAL;
    for (size_t i = 0; i < 44; i += 4) {
        int v[4];
        for (size_t j = 0; j < 4; j++)
            v[j] = i + j == 43 ? 0 : b64_value(text[i + j]);
        if (v[0] < 0 || v[1] < 0 || v[2] < 0 || v[3] < 0)
            return HS_EINVAL;
        uint32_t w =
            (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        buf[o++] = (uint8_t)(w >> 16);
        buf[o++] = (uint8_t)(w >> 8);
        if (o < 33)
            buf[o++] = (uint8_t)w;
    }
    /* One spelling per key: the unused low bits of the last digit are 0. */
    b64_encode32(buf, again);
    if (strcmp(again, text) != 0)
        return HS_EINVAL;
    memcpy(raw, buf, 32);
    OPENSSL_cleanse(buf, sizeof buf);
    return HS_OK;
}

static void key_id(const uint8_t raw[32], char id[9])
{
    uint8_t d[SHA256_DIGEST_LENGTH];

    SHA256(raw, 32, d);
    hs_hash_to_hex(d, 4, id);
    id[8] = '\0';
}

static void key_clear(key *k)
{
    EVP_MAC_CTX_free(k->ctx);
    OPENSSL_cleanse(k, sizeof *k);
}

/* Fills k from its text; HS_EINVAL when it is not a key. */
static hs_err key_make(const hs_auth *a, const char *text, key *k)
{
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };

    memset(k, 0, sizeof *k);
    if (hs_auth_key_parse(text, k->raw) != HS_OK)
        return HS_EINVAL;
    key_id(k->raw, k->id);
    strcpy(k->text, text);
    if (!(k->ctx = EVP_MAC_CTX_new(a->mac)) || EVP_MAC_init(k->ctx, k->raw, 32, params) != 1) {
        key_clear(k);
        return HS_ENOMEM;
    }
    return HS_OK;
}

static key *find_id(hs_auth *a, const char *id, size_t len)
{
    for (size_t i = 0; i < a->n; i++)
        if (len == 8 && memcmp(a->keys[i].id, id, 8) == 0)
            return &a->keys[i];
    return NULL;
}

static key *find_text(hs_auth *a, const char *text)
{
    uint8_t raw[32];
    key *k = NULL;

    if (hs_auth_key_parse(text, raw) != HS_OK)
        return NULL;
    for (size_t i = 0; i < a->n && !k; i++)
        if (CRYPTO_memcmp(a->keys[i].raw, raw, 32) == 0)
            k = &a->keys[i];
    OPENSSL_cleanse(raw, sizeof raw);
    return k;
}

void hs_auth_set_clock(hs_auth *a, const hs_clock *clock)
{
    a->clock = clock;
}

hs_err hs_auth_new(const char *const *keys, size_t n, double window, hs_auth **out)
{
    hs_auth *a;
    hs_err err;

    if (n > HS_KEYRING_MAX || !(window > 0) || window > 1e9)
        return HS_EINVAL;
    if (!(a = calloc(1, sizeof *a)))
        return HS_ENOMEM;
    a->window_ms = (int64_t)(window * 1000);
    if (!(a->mac = EVP_MAC_fetch(NULL, "HMAC", NULL))) {
        free(a);
        return HS_ENOMEM;
    }
    if ((err = hs_seen_new(HS_AUTH_NONCES, window * 2, &a->nonces)) != HS_OK)
        goto fail;
    if (RAND_bytes((unsigned char *)&a->nonce_base, sizeof a->nonce_base) != 1) {
        err = HS_EIO;
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        key k;
        if ((err = key_make(a, keys[i], &k)) != HS_OK)
            goto fail;
        key *same = find_id(a, k.id, 8);
        if (same && memcmp(same->raw, k.raw, 32) == 0) {
            key_clear(&k); /* listed twice: once is enough */
            continue;
        }
        if (same) {
            key_clear(&k);
            err = HS_EINVAL;
            goto fail;
        }
        a->keys[a->n++] = k;
    }
    *out = a;
    return HS_OK;
fail:
    hs_auth_free(a);
    return err;
}

void hs_auth_free(hs_auth *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n; i++)
        key_clear(&a->keys[i]);
    hs_seen_free(a->nonces);
    EVP_MAC_free(a->mac);
    free(a);
}

void hs_auth_on_save(hs_auth *a, hs_keyring_save_fn fn, void *ud)
{
    a->save = fn;
    a->save_ud = ud;
}

size_t hs_auth_keys(const hs_auth *a, const char **keys, size_t max)
{
    for (size_t i = 0; i < a->n && i < max; i++)
        keys[i] = a->keys[i].text;
    return a->n;
}

/* Offers the ring keys[order[0..n)] (extra: the text at index n of the
 * order, when order[i] == HS_KEYRING_MAX) to the save callback. */
static hs_err offer(hs_auth *a, const size_t *order, size_t n, const char *extra)
{
    const char *list[HS_KEYRING_MAX + 1];

    if (!a->save)
        return HS_OK;
    for (size_t i = 0; i < n; i++)
        list[i] = order[i] == HS_KEYRING_MAX ? extra : a->keys[order[i]].text;
    return a->save(a->save_ud, list, n);
}

hs_err hs_auth_install(hs_auth *a, const char *text)
{
    size_t order[HS_KEYRING_MAX + 1];
    key k;
    hs_err err;

    if ((err = key_make(a, text, &k)) != HS_OK)
        return err;
    key *same = find_id(a, k.id, 8);
    if (same || a->n >= HS_KEYRING_MAX) {
        err = !same ? HS_ETOOBIG : memcmp(same->raw, k.raw, 32) == 0 ? HS_OK : HS_EDUP;
        key_clear(&k);
        return err;
    }
    for (size_t i = 0; i < a->n; i++)
        order[i] = i;
    order[a->n] = HS_KEYRING_MAX;
    if ((err = offer(a, order, a->n + 1, k.text)) != HS_OK) {
        key_clear(&k);
        return err;
    }
    a->keys[a->n++] = k;
    return HS_OK;
}

/* The index of the key given as text in *at; HS_ENOENT for a valid key
 * the ring does not hold, HS_EINVAL for text that is no key. */
static hs_err locate(hs_auth *a, const char *text, size_t *at)
{
    key *k = find_text(a, text);

    if (!k)
        return hs_auth_key_parse(text, (uint8_t[32]){0}) == HS_OK ? HS_ENOENT : HS_EINVAL;
    *at = (size_t)(k - a->keys);
    return HS_OK;
}

/* Appends the indices of every key but `at` to order[*m]. */
static void others(const hs_auth *a, size_t at, size_t *order, size_t *m)
{
    for (size_t i = 0; i < a->n; i++)
        if (i != at)
            order[(*m)++] = i;
}

hs_err hs_auth_use(hs_auth *a, const char *text)
{
    size_t order[HS_KEYRING_MAX], at, m = 0;
    hs_err err;

    if ((err = locate(a, text, &at)) != HS_OK)
        return err;
    if (at == 0)
        return HS_OK;
    order[m++] = at;
    others(a, at, order, &m);
    if ((err = offer(a, order, m, NULL)) != HS_OK)
        return err;
    key primary = a->keys[at];
    memmove(&a->keys[1], &a->keys[0], at * sizeof *a->keys);
    a->keys[0] = primary;
    return HS_OK;
}

hs_err hs_auth_remove(hs_auth *a, const char *text)
{
    size_t order[HS_KEYRING_MAX], at, m = 0;
    hs_err err;

    if ((err = locate(a, text, &at)) != HS_OK)
        return err;
    if (at == 0)
        return HS_ESTATE;
    others(a, at, order, &m);
    if ((err = offer(a, order, m, NULL)) != HS_OK)
        return err;
    key_clear(&a->keys[at]);
    memmove(&a->keys[at], &a->keys[at + 1], (a->n - at - 1) * sizeof *a->keys);
    a->n--;
    memset(&a->keys[a->n], 0, sizeof *a->keys);
    return HS_OK;
}

/* ---- canonical parts -------------------------------------------------- */

/* Appends the encoding of s[0..len) (unreserved bytes as they are, others
 * %XX); -1 when it does not fit. */
static int encode(const char *s, size_t len, char *out, size_t cap, size_t *o)
{
    static const char hex[] = "0123456789ABCDEF";

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            if (*o + 1 > cap)
                return -1;
            out[(*o)++] = (char)c;
        } else {
            if (*o + 3 > cap)
                return -1;
            out[(*o)++] = '%';
            out[(*o)++] = hex[c >> 4];
            out[(*o)++] = hex[c & 15];
        }
    }
    return 0;
}

/* The query arguments the MAC covers, sorted: every one a route reads (a
 * route that comes to read another must add it here). */
static const char *const covered[] = {"sample", "url"};
#define NCOVERED (sizeof covered / sizeof *covered)

/* Writes the canonical query of the covered arguments whose decoded
 * values are vals[i] (lens[i] bytes; NULL: absent). */
static int canonical(const char *const *vals, const size_t *lens, char *out, size_t cap)
{
    size_t o = 0;

    for (size_t i = 0; i < NCOVERED; i++) {
        if (!vals[i])
            continue;
        size_t nl = strlen(covered[i]);
        if (o + (o > 0) + nl + 1 > cap)
            return -1;
        if (o > 0)
            out[o++] = '&';
        memcpy(out + o, covered[i], nl);
        o += nl;
        out[o++] = '=';
        if (encode(vals[i], lens[i], out, cap, &o) != 0)
            return -1;
    }
    return (int)o;
}

int hs_auth_canonical_query(const char *query, size_t len, char *out, size_t cap)
{
    const char *vals[NCOVERED] = {0};
    size_t lens[NCOVERED] = {0};
    char name[64], *dec = malloc(len ? len : 1);
    size_t used = 0;
    int r = -1;

    if (!dec)
        return -1;
    for (size_t i = 0; i <= len;) {
        size_t end = i;
        while (end < len && query[end] != '&')
            end++;
        const char *eq = memchr(query + i, '=', end - i);
        if (eq) {
            int nl =
                hs_http_url_decode(query + i, (size_t)(eq - query - i), 1, name, sizeof name - 1);
            for (size_t k = 0; nl >= 0 && k < NCOVERED; k++) {
                if (vals[k] || strlen(covered[k]) != (size_t)nl ||
                    memcmp(name, covered[k], (size_t)nl) != 0)
                    continue;
                const char *v = eq + 1;
                int vl =
                    hs_http_url_decode(v, (size_t)(query + end - v), 1, dec + used, len - used);
                if (vl < 0)
                    goto out;
                vals[k] = dec + used;
                lens[k] = (size_t)vl;
                used += (size_t)vl;
            }
        }
        i = end + 1;
    }
    r = canonical(vals, lens, out, cap);
out:
    free(dec);
    return r;
}

/* ---- the MAC ---------------------------------------------------------- */

/* The message is fed to the MAC through a buffer: its short parts cost
 * one update, not three each (an update goes through OpenSSL's provider
 * dispatch; a long body goes straight through). */
typedef struct feed {
    EVP_MAC_CTX *c;
    size_t n;
    int ok;
    unsigned char buf[1024];
} feed;

static void put(feed *f, const void *p, size_t len)
{
    if (f->n + len > sizeof f->buf) {
        if (f->n)
            f->ok &= EVP_MAC_update(f->c, f->buf, f->n) == 1;
        f->n = 0;
        if (len > sizeof f->buf) {
            f->ok &= EVP_MAC_update(f->c, p, len) == 1;
            return;
        }
    }
    memcpy(f->buf + f->n, p, len);
    f->n += len;
}

/* ns(x): <length in decimal> ":" x "," */
static void ns(feed *f, const void *p, size_t len)
{
    char digits[24], *d = digits + sizeof digits;
    size_t v = len;

    *--d = ':';
    do
        *--d = (char)('0' + v % 10);
    while ((v /= 10) > 0);
    put(f, d, (size_t)(digits + sizeof digits - d));
    put(f, p, len);
    put(f, ",", 1);
}

typedef struct parts {
    const char *method, *path, *query, *from, *ts, *nonce, *body;
    size_t path_len, query_len, from_len, ts_len, body_len;
} parts;

/* HMAC-SHA256 of the parts with k; 0, or -1 on an OpenSSL failure. The
 * key's context is reset to its keyed state (an init without a key), not
 * copied: half the cost of a dup. */
static int mac_of(key *k, const parts *p, uint8_t out[32])
{
    feed f;
    size_t outl = 0;

    f.n = 0;
    f.ok = 1;
    f.c = k->ctx;
    if (EVP_MAC_init(f.c, NULL, 0, NULL) != 1)
        return -1;
    ns(&f, DOMAIN, sizeof DOMAIN - 1);
    ns(&f, p->method, strlen(p->method));
    ns(&f, p->path, p->path_len);
    ns(&f, p->query, p->query_len);
    ns(&f, p->from, p->from_len);
    ns(&f, p->ts, p->ts_len);
    ns(&f, p->nonce, 32);
    ns(&f, p->body ? p->body : "", p->body ? p->body_len : 0);
    if (f.n)
        f.ok &= EVP_MAC_update(f.c, f.buf, f.n) == 1;
    return f.ok && EVP_MAC_final(f.c, out, &outl, 32) == 1 && outl == 32 ? 0 : -1;
}

/* s[0..len) without leading and trailing spaces and tabs. */
static const char *trim(const char *s, size_t *len)
{
    while (*len && (*s == ' ' || *s == '\t'))
        s++, (*len)--;
    while (*len && (s[*len - 1] == ' ' || s[*len - 1] == '\t'))
        (*len)--;
    return s;
}

int hs_auth_sign(hs_auth *a, const char *method, const char *target, size_t target_len,
                 const char *from, const char *body, size_t len, int64_t now_ms, char *out,
                 size_t cap)
{
    char path[PART_MAX], query[PART_MAX], ts[24], nonce[33], mac_hex[65];
    uint8_t rnd[16], mac[32];
    const char *q = memchr(target, '?', target_len);
    size_t plen = q ? (size_t)(q - target) : target_len;
    parts p = {0};
    int n;

    if (a->n == 0 || now_ms < 0)
        return -1;
    if (plen == 0) {
        p.path_len = 1;
        path[0] = '/';
    } else if ((n = hs_http_url_decode(target, plen, 0, path, sizeof path)) >= 0) {
        p.path_len = (size_t)n;
    } else {
        return -1;
    }
    n = q ? hs_auth_canonical_query(q + 1, target_len - plen - 1, query, sizeof query) : 0;
    if (n < 0)
        return -1;
    /* Unique is what a nonce must be (the MAC makes it unforgeable): 8
     * random bytes drawn once, then a counter, so no request pays for
     * RAND_bytes. */
    a->nonce_seq++;
    for (int i = 0; i < 8; i++) {
        rnd[i] = (uint8_t)(a->nonce_base >> (56 - 8 * i));
        rnd[8 + i] = (uint8_t)(a->nonce_seq >> (56 - 8 * i));
    }
    hs_hash_to_hex(rnd, sizeof rnd, nonce);
    nonce[32] = '\0';
    p.method = method;
    p.path = path;
    p.query = query;
    p.query_len = (size_t)n;
    p.from_len = from ? strlen(from) : 0;
    p.from = from ? trim(from, &p.from_len) : "";
    p.ts_len = (size_t)snprintf(ts, sizeof ts, "%lld", (long long)now_ms);
    p.ts = ts;
    p.nonce = nonce;
    p.body = body;
    p.body_len = body ? len : 0;
    if (mac_of(&a->keys[0], &p, mac) != 0)
        return -1;
    hs_hash_to_hex(mac, 32, mac_hex);
    mac_hex[64] = '\0';
    n = snprintf(out, cap, "v1 %s %s %s %s", a->keys[0].id, ts, nonce, mac_hex);
    return n > 0 && (size_t)n < cap ? n : -1;
}

int hs_auth_sign_request(void *ud, const char *method, const char *target, size_t target_len,
                         const char *header, const char *body, size_t len, char *out, size_t cap)
{
    static const char name[] = HS_AUTH_HEADER ": ";
    static const char from_name[] = "x-hearsay-from:";
    const hs_auth *a = ud;
    char from[HS_PEER_ID_MAX + 64];
    const char *f = NULL;
    int n;

    /* A caller that brings its own auth header (a tool, a test) sends it
     * as it is. */
    if (header && strncasecmp(header, HS_AUTH_HEADER ":", sizeof HS_AUTH_HEADER) == 0)
        return 0;
    if (header && strncasecmp(header, from_name, sizeof from_name - 1) == 0 &&
        strlen(header) - (sizeof from_name - 1) < sizeof from) {
        strcpy(from, header + sizeof from_name - 1);
        f = from;
    }
    if (cap < sizeof name || !a->clock)
        return -1;
    memcpy(out, name, sizeof name - 1);
    n = hs_auth_sign(ud, method, target, target_len, f, body, len,
                     (int64_t)(a->clock->wall(a->clock->ud) * 1000), out + sizeof name - 1,
                     cap - (sizeof name - 1));
    return n < 0 ? -1 : n + (int)(sizeof name - 1);
}

/* ---- verification ----------------------------------------------------- */

static int lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

typedef struct header {
    const char *id, *ts, *nonce, *mac;
    size_t ts_len;
    int64_t ms;
} header;

/* Splits a header value; 0, or -1 when it is not one. */
static int parse(const char *v, header *h)
{
    size_t len = strnlen(v, HS_AUTH_VALUE_MAX + 1), i = 0;

    if (len > HS_AUTH_VALUE_MAX || strncmp(v, "v1 ", 3) != 0)
        return -1;
    h->id = v + 3;
    if (len < 3 + 9 || !lower_hex(h->id, 8) || h->id[8] != ' ')
        return -1;
    h->ts = h->id + 9;
    h->ms = 0;
    while (h->ts[i] >= '0' && h->ts[i] <= '9' && i < 15)
        h->ms = h->ms * 10 + (h->ts[i++] - '0');
    if (i == 0 || h->ts[0] == '0' || h->ts[i] != ' ')
        return -1;
    h->ts_len = i;
    h->nonce = h->ts + i + 1;
    if ((size_t)(h->nonce - v) + 33 + 64 != len || !lower_hex(h->nonce, 32) || h->nonce[32] != ' ')
        return -1;
    h->mac = h->nonce + 33;
    return lower_hex(h->mac, 64) ? 0 : -1;
}

hs_auth_verdict hs_auth_verify(hs_auth *a, const char *value, const char *method, const char *path,
                               hs_auth_arg_fn arg, void *arg_ud, const char *from, const char *body,
                               size_t len, int too_large, int64_t now_ms)
{
    const char *vals[NCOVERED];
    size_t lens[NCOVERED];
    char query[PART_MAX];
    uint8_t want[32], got[32], nid[32];
    header h;
    parts p = {0};
    key *k;
    int n;

    if (!value)
        return HS_AUTH_MISSING;
    if (parse(value, &h) != 0)
        return HS_AUTH_MALFORMED;
    if (!(k = find_id(a, h.id, 8)))
        return HS_AUTH_UNKNOWN_KEY;
    if (h.ms > now_ms + a->window_ms || h.ms < now_ms - a->window_ms)
        return HS_AUTH_STALE;
    if (too_large)
        return HS_AUTH_UNCHECKED;
    for (size_t i = 0; i < NCOVERED; i++) {
        vals[i] = arg ? arg(arg_ud, covered[i]) : NULL;
        lens[i] = vals[i] ? strlen(vals[i]) : 0;
    }
    if ((n = canonical(vals, lens, query, sizeof query)) < 0)
        return HS_AUTH_MALFORMED;
    p.method = method;
    p.path = path;
    p.path_len = strlen(path);
    p.query = query;
    p.query_len = (size_t)n;
    p.from_len = from ? strlen(from) : 0;
    p.from = from ? trim(from, &p.from_len) : "";
    p.ts = h.ts;
    p.ts_len = h.ts_len;
    p.nonce = h.nonce;
    p.body = body;
    p.body_len = body ? len : 0;
    if (hs_hash_from_hex(h.mac, got) != HS_OK || mac_of(k, &p, want) != 0 ||
        CRYPTO_memcmp(want, got, 32) != 0)
        return HS_AUTH_BAD_MAC;
    /* The nonce's 16 bytes are its id in the cache (whose hash is keyed). */
    memset(nid, 0, sizeof nid);
    for (int i = 0; i < 16; i++)
        nid[i] = (uint8_t)(hs_hash_hex_digit(h.nonce[2 * i]) << 4 |
                           hs_hash_hex_digit(h.nonce[2 * i + 1]));
    hs_seen_expire(a->nonces, (double)now_ms / 1000);
    if (hs_seen_contains(a->nonces, nid))
        return HS_AUTH_REPLAY;
    if (hs_seen_count(a->nonces) >= HS_AUTH_NONCES ||
        hs_seen_insert(a->nonces, nid, (double)now_ms / 1000, NULL) != HS_OK)
        return HS_AUTH_BUSY;
    return HS_AUTH_OK;
}

unsigned hs_auth_status(hs_auth_verdict v)
{
    switch (v) {
    case HS_AUTH_OK:
    case HS_AUTH_UNCHECKED:
        return 200;
    case HS_AUTH_BAD_MAC:
    case HS_AUTH_REPLAY:
        return 403;
    case HS_AUTH_BUSY:
        return 503;
    default:
        return 401;
    }
}

const char *hs_auth_reason(hs_auth_verdict v)
{
    switch (v) {
    case HS_AUTH_OK:
    case HS_AUTH_UNCHECKED:
        return "authenticated";
    case HS_AUTH_MISSING:
        return "authentication required: this cluster signs its requests (X-Hearsay-Auth)";
    case HS_AUTH_MALFORMED:
        return "malformed X-Hearsay-Auth header";
    case HS_AUTH_UNKNOWN_KEY:
        return "unknown cluster key id: not in this node's keyring";
    case HS_AUTH_STALE:
        return "request timestamp outside the auth window (are the clocks in sync?)";
    case HS_AUTH_BAD_MAC:
        return "bad request MAC";
    case HS_AUTH_REPLAY:
        return "replayed request (nonce already seen)";
    case HS_AUTH_BUSY:
        return "too many requests to check for replays: try again";
    }
    return "authentication failed";
}

/* ---- the node's keyring (hearsay.h) ------------------------------------ */

static hs_err logged(hs_node *n, const char *what, const char *text, hs_err err)
{
    char id[9];

    if (err == HS_OK && hs_keyring_id(text, id) == HS_OK)
        hs_node_log(n, HS_LOG_INFO, "keyring: %s key %s", what, id);
    else if (err != HS_OK)
        hs_node_log(n, HS_LOG_WARN, "keyring: cannot %s a key: %s", what, hs_keyring_strerror(err));
    return err;
}

hs_err hs_node_keyring_install(hs_node *n, const char *key)
{
    return key ? logged(n, "install", key, hs_auth_install(n->auth, key)) : HS_EINVAL;
}

hs_err hs_node_keyring_use(hs_node *n, const char *key)
{
    return key ? logged(n, "use", key, hs_auth_use(n->auth, key)) : HS_EINVAL;
}

hs_err hs_node_keyring_remove(hs_node *n, const char *key)
{
    return key ? logged(n, "remove", key, hs_auth_remove(n->auth, key)) : HS_EINVAL;
}

size_t hs_node_keyring_list(const hs_node *n, const char **keys, size_t max)
{
    return hs_auth_keys(n->auth, keys, max);
}

void hs_node_keyring_on_save(hs_node *n, hs_keyring_save_fn fn, void *ud)
{
    hs_auth_on_save(n->auth, fn, ud);
}

hs_err hs_keyring_generate(char key[HS_KEY_TEXT])
{
    uint8_t raw[32];

    if (RAND_bytes(raw, sizeof raw) != 1)
        return HS_EIO;
    b64_encode32(raw, key);
    OPENSSL_cleanse(raw, sizeof raw);
    return HS_OK;
}

hs_err hs_keyring_id(const char *key, char id[9])
{
    uint8_t raw[32];

    if (hs_auth_key_parse(key, raw) != HS_OK)
        return HS_EINVAL;
    key_id(raw, id);
    OPENSSL_cleanse(raw, sizeof raw);
    return HS_OK;
}

const char *hs_keyring_strerror(hs_err err)
{
    switch (err) {
    case HS_OK:
        return "done";
    case HS_EINVAL:
        return "not a cluster key: expected the base64 of 32 bytes, 44 characters "
               "(`hearsay keygen` makes one)";
    case HS_ETOOBIG:
        return "the keyring is full (16 keys): remove one first";
    case HS_EDUP:
        return "another key in the keyring has the same key id";
    case HS_ENOENT:
        return "no such key in the keyring";
    case HS_ESTATE:
        return "the primary key cannot be removed: make another key primary first (use)";
    case HS_EIO:
        return "the keyring could not be saved (see the log); nothing changed";
    default:
        return hs_strerror(err);
    }
}

hs_err hs_auth_header(const char *key, const char *method, const char *target, const char *from,
                      const char *body, size_t len, double at, char *out, size_t cap)
{
    static const char name[] = HS_AUTH_HEADER ": ";
    hs_auth *a;
    hs_err err;
    int n;

    if (!method || !target || !out || !(at > 0))
        return HS_EINVAL;
    if ((err = hs_auth_new(&key, 1, 30, &a)) != HS_OK)
        return err;
    if (cap < sizeof name) {
        hs_auth_free(a);
        return HS_ETOOBIG;
    }
    memcpy(out, name, sizeof name - 1);
    n = hs_auth_sign(a, method, target, strlen(target), from, body, len, (int64_t)(at * 1000),
                     out + sizeof name - 1, cap - (sizeof name - 1));
    hs_auth_free(a);
    return n < 0 ? HS_ETOOBIG : HS_OK;
}
