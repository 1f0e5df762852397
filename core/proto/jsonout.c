/*
 * jsonout.c -- see jsonout.h. What envwrite.c wrote envelopes with, made
 * its own so /health's writer (health.c) shares it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "envelope.h"
#include "hash.h"
#include "jsonout.h"

int hs_jsonout_reserve(hs_jsonout *o, size_t n)
{
    size_t cap = o->cap ? o->cap : 256;
    char *p;

    if (o->failed)
        return -1;
    if (o->len + n + 1 <= o->cap)
        return 0;
    while (cap < o->len + n + 1) {
        if (cap > SIZE_MAX / 2) {
            o->failed = 1;
            return -1;
        }
        cap *= 2;
    }
    if (!(p = realloc(o->p, cap))) {
        o->failed = 1;
        return -1;
    }
    o->p = p;
    o->cap = cap;
    return 0;
}

void hs_jsonout_string(hs_jsonout *o, const char *s, size_t n)
{
    size_t run = 0;

    hs_jsonout_put(o, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        const char *e = NULL;
        size_t elen = 2;

        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        switch (c) {
        case '"':
            e = "\\\"";
            break;
        case '\\':
            e = "\\\\";
            break;
        case '\b':
            e = "\\b";
            break;
        case '\f':
            e = "\\f";
            break;
        case '\n':
            e = "\\n";
            break;
        case '\r':
            e = "\\r";
            break;
        case '\t':
            e = "\\t";
            break;
        default:
            snprintf(esc, sizeof esc, "\\u%04X", c);
            e = esc;
            elen = 6;
        }
        hs_jsonout_put(o, s + run, i - run);
        hs_jsonout_put(o, e, elen);
        run = i + 1;
    }
    hs_jsonout_put(o, s + run, n - run);
    hs_jsonout_put(o, "\"", 1);
}

/* Whether s[0..n) is UTF-8 as jansson's dump checks it. */
static int utf8n(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;

    for (size_t i = 0, k; i < n; i += k)
        if (p[i] < 0x80)
            k = 1;
        else if (!(k = hs_utf8_seq(p + i, n - i)))
            return 0;
    return 1;
}

int hs_jsonout_utf8(const char *s)
{
    return utf8n(s, strlen(s));
}

void hs_jsonout_uint(hs_jsonout *o, unsigned long long v)
{
    char buf[24], *p = buf + sizeof buf;

    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    hs_jsonout_put(o, p, (size_t)(buf + sizeof buf - p));
}

void hs_jsonout_hex(hs_jsonout *o, const uint8_t *bytes, size_t n)
{
    if (o->failed || (o->len + 2 * n + 3 > o->cap && hs_jsonout_reserve(o, 2 * n + 2) != 0))
        return;
    o->p[o->len] = '"';
    hs_hash_to_hex(bytes, n, o->p + o->len + 1); /* and a NUL, within the reserve */
    o->p[o->len + 1 + 2 * n] = '"';
    o->len += 2 * n + 2;
}

void hs_jsonout_int(hs_jsonout *o, long long v)
{
    if (v < 0) {
        hs_jsonout_put(o, "-", 1);
        hs_jsonout_uint(o, 0ull - (unsigned long long)v);
    } else {
        hs_jsonout_uint(o, (unsigned long long)v);
    }
}

#ifdef __SIZEOF_INT128__
__extension__ typedef unsigned __int128 u128;

/* 10^k for k from 0 to 20, as 128-bit integers. */
static u128 pow10_128(int k)
{
    u128 p = 1;

    while (k-- > 0)
        p *= 10;
    return p;
}

/* |v| x 10^k (k from 0 to 20) rounded to an integer, the half to even as
 * printf rounds; *exact_below gets the value truncated. |v| < 1e15, and
 * at least 1e-4 (so that both fit 128 bits). */
static u128 scaled(double v, int k, u128 *trunc)
{
    int e2;
    double f = frexp(fabs(v), &e2); /* |v| = f 2^e2, f in [0.5, 1) */
    uint64_t m = (uint64_t)ldexp(f, 53);
    int s = 53 - e2; /* |v| = m / 2^s */
    u128 p = (u128)m * pow10_128(k), q, r, half;

    if (s <= 0) {
        *trunc = p << -s;
        return *trunc;
    }
    q = p >> s;
    r = p - (q << s);
    half = (u128)1 << (s - 1);
    *trunc = q;
    return r > half || (r == half && (q & 1)) ? q + 1 : q;
}

/* v as printf's "%.17g" writes it (in the C locale), for 1e-4 <= |v| <
 * 1e15: the 17 significant digits computed exactly in 128-bit integers,
 * fixed notation, trailing zeros dropped. 0 when v is outside that range
 * (the caller asks printf). printf took 3,700 instructions a real: most
 * of a /health answer's cost, which carries dozens. */
static size_t real17(double v, char *out)
{
    double a = fabs(v);
    u128 lo = pow10_128(16), hi = pow10_128(17), n, t;
    int x;
    char digits[17];
    size_t k = 0;

    if (!(a >= 1e-4 && a < 1e15))
        return 0;
    x = (int)floor(log10(a));
    if (x < -4)
        x = -4;
    if (x > 14)
        x = 14;
    /* The guess from log10 may be one off either way: fix it on the
     * exact digits. */
    for (int tries = 0;; tries++) {
        if (tries > 3)
            return 0;
        n = scaled(v, 16 - x, &t);
        if (t < lo && x > -4) {
            x--;
        } else if (t >= hi && x < 14) {
            x++;
        } else
            break;
    }
    if (t < lo || t >= hi)
        return 0;
    if (n == hi) { /* 9.99..95 rounded up: one digit more to the left */
        n = lo;
        x++;
        if (x > 14)
            return 0;
    }
    for (int i = 16; i >= 0; i--) {
        digits[i] = (char)('0' + (int)(n % 10));
        n /= 10;
    }
    int last = 16; /* the last digit kept: trailing zeros go */
    while (last > 0 && digits[last] == '0')
        last--;
    if (v < 0)
        out[k++] = '-';
    if (x >= 0) {
        for (int i = 0; i <= x; i++)
            out[k++] = digits[i];
        if (last > x) {
            out[k++] = '.';
            for (int i = x + 1; i <= last; i++)
                out[k++] = digits[i];
        }
    } else {
        out[k++] = '0';
        out[k++] = '.';
        for (int i = -1; i > x; i--)
            out[k++] = '0';
        for (int i = 0; i <= last; i++)
            out[k++] = digits[i];
    }
    return k;
}
#else
static size_t real17(double v, char *out)
{
    (void)v;
    (void)out;
    return 0;
}
#endif

void hs_jsonout_real(hs_jsonout *o, double v)
{
    char buf[40], clean[40];
    size_t k = 0;
    int n;

    n = (int)real17(v, buf);
    if (n == 0)
        n = snprintf(buf, sizeof buf, "%.17g", v);
    if (n <= 0 || (size_t)n >= sizeof buf) {
        o->failed = 1;
        return;
    }
    for (int i = 0; i < n; i++) {
        clean[k++] = buf[i] == ',' ? '.' : buf[i]; /* a locale's decimal comma */
        if (buf[i] == 'e') {
            i++;
            if (buf[i] == '-')
                clean[k++] = buf[i++];
            else if (buf[i] == '+')
                i++;
            while (buf[i] == '0' && i + 1 < n)
                i++;
            i--;
        }
    }
    if (!memchr(clean, '.', k) && !memchr(clean, 'e', k)) {
        clean[k++] = '.';
        clean[k++] = '0';
    }
    hs_jsonout_put(o, clean, k);
}

static int value(hs_jsonout *o, const json_t *v, int depth)
{
    if (depth > 64)
        return -1;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        hs_jsonout_put(o, "{", 1);
        /* In the order json_dumps takes them (without JSON_SORT_KEYS). */
        for (void *it = json_object_iter((json_t *)v); it;
             it = json_object_iter_next((json_t *)v, it)) {
            const char *k = json_object_iter_key(it);
            size_t klen = json_object_iter_key_len(it);
            if (!utf8n(k, klen))
                return -1;
            if (it != json_object_iter((json_t *)v))
                hs_jsonout_put(o, ",", 1);
            hs_jsonout_string(o, k, klen);
            hs_jsonout_put(o, ":", 1);
            if (value(o, json_object_iter_value(it), depth + 1) != 0)
                return -1;
        }
        hs_jsonout_put(o, "}", 1);
        return 0;
    case JSON_ARRAY:
        hs_jsonout_put(o, "[", 1);
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i)
                hs_jsonout_put(o, ",", 1);
            if (value(o, json_array_get(v, i), depth + 1) != 0)
                return -1;
        }
        hs_jsonout_put(o, "]", 1);
        return 0;
    case JSON_STRING:
        if (!utf8n(json_string_value(v), json_string_length(v)))
            return -1;
        hs_jsonout_string(o, json_string_value(v), json_string_length(v));
        return 0;
    case JSON_INTEGER:
        hs_jsonout_int(o, (long long)json_integer_value(v));
        return 0;
    case JSON_REAL:
        hs_jsonout_real(o, json_real_value(v));
        return 0;
    case JSON_TRUE:
        HS_JSONOUT_LIT(o, "true");
        return 0;
    case JSON_FALSE:
        HS_JSONOUT_LIT(o, "false");
        return 0;
    case JSON_NULL:
        HS_JSONOUT_LIT(o, "null");
        return 0;
    }
    return -1;
}

int hs_jsonout_json(hs_jsonout *o, const json_t *v)
{
    return v ? value(o, v, 0) : -1;
}

char *hs_jsonout_finish(hs_jsonout *o, size_t *len)
{
    if (!o->failed && !o->p)
        hs_jsonout_reserve(o, 0);
    if (o->failed) {
        hs_jsonout_free(o);
        return NULL;
    }
    char *text = o->p;
    text[o->len] = '\0';
    *len = o->len;
    *o = (hs_jsonout){0}; /* the text is the caller's now */
    return text;
}

void hs_jsonout_free(hs_jsonout *o)
{
    free(o->p);
    *o = (hs_jsonout){0};
}
