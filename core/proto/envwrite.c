/*
 * envwrite.c -- an envelope's wire text, written straight from the struct.
 *
 * Forwarding used to build a jansson tree of the envelope (with a copy of
 * seen_by) and dump it: ~55k instructions a message, most of a relay's
 * work. This writes the same compact JSON, in the same key order, at
 ~3k: the payload and the timestamp go out as the text they came in (the
 * scanner validated it) when that is known; otherwise the payload is
 * dumped by jansson (a broadcast, a rewritten or jansson-parsed envelope)
 * and the timestamp printed as jansson prints a real, with 17 significant
 * digits, so it reads back as the same double. Strings are escaped as
 * jansson does. seen_by is the received list's text (idlist.h: already
 * the compact JSON of its ids, copied in one piece) and the ids added.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"

typedef struct out {
    char *p;
    size_t len, cap;
    int failed;
} out;

static void put(out *o, const char *s, size_t n)
{
    if (o->failed)
        return;
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 256;
        char *p;
        while (cap < o->len + n + 1)
            cap *= 2;
        if (!(p = realloc(o->p, cap))) {
            o->failed = 1;
            return;
        }
        o->p = p;
        o->cap = cap;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

#define PUT_LIT(o, s) put((o), (s), sizeof(s) - 1)

/* A JSON string: '"', '\\' and control bytes escaped, the rest (valid
 * UTF-8 already) as it is. */
static void put_string(out *o, const char *s, size_t n)
{
    size_t run = 0;

    put(o, "\"", 1);
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
        put(o, s + run, i - run);
        put(o, e, elen);
        run = i + 1;
    }
    put(o, s + run, n - run);
    put(o, "\"", 1);
}

static void put_uint(out *o, unsigned long long v)
{
    char buf[24], *p = buf + sizeof buf;

    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(o, p, (size_t)(buf + sizeof buf - p));
}

/* As jansson prints a real: %.17g, a ".0" when that reads as an integer,
 * no '+' or leading zeros in the exponent. */
static void put_real(out *o, double v)
{
    char buf[40], clean[40];
    size_t k = 0;
    int n = snprintf(buf, sizeof buf, "%.17g", v);

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
    put(o, clean, k);
}

char *hs_envelope_write(const hs_envelope *env, size_t skip, const char *const *more, size_t n_more,
                        unsigned ttl, unsigned hops, size_t *len)
{
    const hs_idlist *seen = &env->seen_by;
    size_t from = skip < seen->n ? skip : seen->n, more_from = skip - from, sep = 0;
    out o = {0};
    char *payload = NULL;

    if (!env->payload_raw && !(payload = json_dumps(env->payload, JSON_COMPACT | JSON_ENCODE_ANY)))
        return NULL;
    /* One allocation for the usual envelope: the ids added of up to ~40
     * bytes. */
    o.cap = 192 + (payload ? strlen(payload) : env->payload_len) + seen->len + 44 * (n_more + 1);
    if (!(o.p = malloc(o.cap))) {
        free(payload);
        return NULL;
    }
    /* The id is hex; the type may be any text (quotes, backslashes). */
    PUT_LIT(&o, "{\"message_id\":\"");
    put(&o, env->id, strlen(env->id));
    PUT_LIT(&o, "\",\"message_type\":");
    put_string(&o, env->type, strlen(env->type));
    PUT_LIT(&o, ",\"payload\":");
    if (payload)
        put(&o, payload, strlen(payload));
    else
        put(&o, env->payload_raw, env->payload_len);
    free(payload);
    PUT_LIT(&o, ",\"timestamp\":");
    if (env->timestamp_raw)
        put(&o, env->timestamp_raw, env->timestamp_len);
    else
        put_real(&o, env->timestamp);
    PUT_LIT(&o, ",\"ttl\":");
    put_uint(&o, ttl);
    PUT_LIT(&o, ",\"origin_peer\":");
    put_string(&o, env->origin, strlen(env->origin));
    PUT_LIT(&o, ",\"seen_by\":[");
    if (from < seen->n) {
        size_t at = seen->off[from] - 1; /* entry `from`'s opening quote */
        put(&o, seen->text + at, seen->len - at);
        sep = 1;
    }
    for (size_t i = more_from; i < n_more; i++, sep = 1) {
        if (sep)
            put(&o, ",", 1);
        put_string(&o, more[i], strlen(more[i]));
    }
    PUT_LIT(&o, "],\"hops\":");
    put_uint(&o, hops);
    if (env->signature[0]) {
        PUT_LIT(&o, ",\"signature\":\"");
        put(&o, env->signature, strlen(env->signature));
        put(&o, "\"", 1);
    }
    put(&o, "}", 1);
    if (o.failed) {
        free(o.p);
        return NULL;
    }
    o.p[o.len] = '\0';
    *len = o.len;
    return o.p;
}
