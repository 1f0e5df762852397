/*
 * envscan.c -- the fast path for incoming envelopes: validates one straight
 * from its JSON text and fills an hs_envelope, without building a jansson
 * tree (jansson costs ~42k instructions per envelope, this ~3-5k).
 *
 * It is a strict recogniser of a subset of JSON: anything outside that
 * subset, and anything invalid, is declined (-1) and the caller takes the
 * jansson path, which gives the exact verdict and 400 reason as before. So
 * it must never accept what jansson + hs_envelope_parse would refuse, and
 * must produce the same envelope when it accepts (origin_peer and seen_by
 * defaulted as there). Declined: \u escapes and escapes in keys or in the
 * envelope's own strings (a type with a quote goes to jansson), control
 * characters, invalid UTF-8, duplicate keys (at any depth, as
 * JSON_REJECT_DUPLICATES), objects with more than SCAN_KEYS keys, nesting
 * deeper than SCAN_DEPTH, integers of more than 18 digits, reals with
 * exponents of more than two digits or more than 40 characters, and
 * anything hs_envelope_parse refuses. The payload is only validated: it
 * stays text until someone asks for it (hs_envelope_payload()).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonnum.h"
#include "envelope.h"
#include "hash.h"

#define SCAN_DEPTH 32
#define SCAN_KEYS 32

typedef struct scan {
    const char *s;
    size_t len, i;
} scan;

static void ws(scan *c)
{
    c->i = hs_json_ws(c->s, c->i, c->len);
}

/* Bytes that stand for themselves in a string: printable ASCII but the
 * quote and the backslash. The hot loop below is one load and one branch. */
#define P16 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1
static const unsigned char plain_byte[256] = {
    [0x20] = 1, 1,   0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x22 '"' */
    P16,        P16,                                           /* 0x30-0x4f */
    1,          1,   1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, /* 0x5c '\\' */
    P16,                                                       /* 0x60-0x6f */
    1,          1,   1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, /* 0x7f DEL */
};
#undef P16

/* Whether one of the 8 bytes of v may need a look in a string: a
 * backslash, a control byte or a byte >= 0x80 (UTF-8 to check). Never
 * wrong when it says no (a yes may be a false alarm: those bytes are then
 * looked at one by one). Byte order does not matter. */
static inline int maybe_special8(uint64_t v)
{
    const uint64_t ones = 0x0101010101010101u;
    uint64_t b = v ^ (ones * '\\');

    return (((b - ones) & ~b) | ((v - ones * 0x20) & ~v) | v) & (ones * 0x80) ? 1 : 0;
}

/* string() past its first 16 bytes, or at an escape or a byte >= 0x80:
 * from i on. Out of line, so that the short common case is not paid for
 * with this one's registers. */
static int string_rest(scan *c, size_t i, const char **p, size_t *n, int *esc)
{
    for (;;) {
        /* The next quote (memchr is vectorised), then the bytes before it,
         * 8 at a time while none needs a look. */
        const char *q = i < c->len ? memchr(c->s + i, '"', c->len - i) : NULL;
        if (!q)
            return -1;
        size_t end = (size_t)(q - c->s);
        while (i < end) {
            for (uint64_t v; i + 8 <= end; i += 8) {
                memcpy(&v, c->s + i, 8);
                if (maybe_special8(v))
                    break;
            }
            while (i < end && plain_byte[(unsigned char)c->s[i]])
                i++;
            if (i >= end)
                break;
            unsigned char ch = (unsigned char)c->s[i];
            if (ch < 0x20)
                return -1;
            if (ch == '\\') {
                if (i + 1 >= c->len || !strchr("\"\\/bfnrt", c->s[i + 1]) || !c->s[i + 1])
                    return -1; /* \u and anything invalid: jansson decides */
                *esc = 1;
                i += 2; /* past `end` when that quote was the escaped one */
            } else if (ch < 0x80) {
                i++;
            } else {
                size_t k = hs_utf8_seq((const unsigned char *)c->s + i, c->len - i);
                if (!k)
                    return -1;
                i += k;
            }
        }
        if (i == end) {
            *p = c->s + c->i + 1;
            *n = end - c->i - 1;
            c->i = end + 1;
            return 0;
        }
        /* i == end + 1: that quote was escaped; look for the next one. */
    }
}

/* A string at c->i: its contents (between the quotes) in *p, *n; *esc set
 * when it holds (simple) escapes. Returns 0, or -1 to decline. */
static inline int string(scan *c, const char **p, size_t *n, int *esc)
{
    size_t i = c->i + 1, stop = c->len - i > 16 ? i + 16 : c->len;

    *esc = 0;
    /* Most strings are short (keys, types, names): byte by byte first. */
    while (i < stop && plain_byte[(unsigned char)c->s[i]])
        i++;
    if (i < c->len && c->s[i] == '"') {
        *p = c->s + c->i + 1;
        *n = i - c->i - 1;
        c->i = i + 1;
        return 0;
    }
    return string_rest(c, i, p, n, esc);
}

/* A number at c->i: its text in *p, *n; *is_int when it has no fraction or
 * exponent. Returns 0, or -1 to decline. */
static int number(scan *c, const char **p, size_t *n, int *is_int)
{
    if (!(*n = hs_json_number_len(c->s, c->len, c->i, is_int)))
        return -1;
    *p = c->s + c->i;
    c->i += *n;
    return 0;
}

/* A number the scanner took (digits, at most one '.', maybe an exponent),
 * as strtod reads it. The usual timestamp, "1760000000.123", takes the
 * exact path: at most 15 digits and no exponent make an integer and a power
 * of ten that a double holds exactly, and one division of exact values is
 * rounded as strtod rounds. */
static double decimal(const char *t, size_t n)
{
    static const double pow10[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
    uint64_t m = 0;
    size_t digits = 0, frac = 0, i = t[0] == '-';
    int dot = 0;

    for (; i < n; i++) {
        if (t[i] == '.' && !dot) {
            dot = 1;
        } else if (t[i] >= '0' && t[i] <= '9' && digits < 15) {
            m = m * 10 + (uint64_t)(t[i] - '0');
            digits++;
            frac += (size_t)dot;
        } else {
            return strtod(t, NULL); /* an exponent, or too many digits */
        }
    }
    double v = (double)m / pow10[frac];
    return t[0] == '-' ? -v : v;
}

static int literal(scan *c, const char *word)
{
    size_t n = strlen(word);

    if (c->len - c->i < n || memcmp(c->s + c->i, word, n) != 0)
        return -1;
    c->i += n;
    return 0;
}

typedef struct keyset {
    const char *p[SCAN_KEYS];
    size_t n[SCAN_KEYS];
    size_t count;
} keyset;

/* Reads a key (no escapes) and the colon after it. */
static int key_name(scan *c, const char **p, size_t *n)
{
    int esc;

    if (c->i >= c->len || c->s[c->i] != '"' || string(c, p, n, &esc) != 0 || esc)
        return -1;
    ws(c);
    if (c->i >= c->len || c->s[c->i] != ':')
        return -1;
    c->i++;
    ws(c);
    return 0;
}

/* Adds a key to those of its object; declines a duplicate. */
static int key_new(keyset *ks, const char *p, size_t n)
{
    if (ks->count == SCAN_KEYS)
        return -1;
    for (size_t k = 0; k < ks->count; k++)
        if (ks->n[k] == n && memcmp(ks->p[k], p, n) == 0)
            return -1;
    ks->p[ks->count] = p;
    ks->n[ks->count++] = n;
    return 0;
}

/* Reads a key (no escapes) and adds it; declines duplicates. */
static int key(scan *c, keyset *ks, const char **p, size_t *n)
{
    return key_name(c, p, n) != 0 || key_new(ks, *p, *n) != 0 ? -1 : 0;
}

/* After a member or element: 1 at the closing `close`, 0 after a comma
 * (whitespace skipped), -1 otherwise. */
static int next_member(scan *c, char close)
{
    ws(c);
    if (c->i < c->len && c->s[c->i] == ',') {
        c->i++;
        ws(c);
        return 0;
    }
    if (c->i < c->len && c->s[c->i] == close) {
        c->i++;
        return 1;
    }
    return -1;
}

/* Validates any value at c->i (no leading whitespace). */
static int value(scan *c, int depth)
{
    const char *p;
    size_t n;
    int flag;

    if (c->i >= c->len || depth > SCAN_DEPTH)
        return -1;
    switch (c->s[c->i]) {
    case '{':
    case '[': {
        /* An object's members are key: value pairs, an array's bare values. */
        char close = c->s[c->i] == '{' ? '}' : ']';
        keyset ks;
        ks.count = 0;
        c->i++;
        ws(c);
        if (c->i < c->len && c->s[c->i] == close) {
            c->i++;
            return 0;
        }
        for (;;) {
            if ((close == '}' && key(c, &ks, &p, &n) != 0) || value(c, depth + 1) != 0)
                return -1;
            int r = next_member(c, close);
            if (r != 0)
                return r > 0 ? 0 : -1;
        }
    }
    case '"':
        return string(c, &p, &n, &flag);
    case 't':
        return literal(c, "true");
    case 'f':
        return literal(c, "false");
    case 'n':
        return literal(c, "null");
    default:
        return number(c, &p, &n, &flag);
    }
}

/* A string without escapes, copied NUL-terminated into buf (cap bytes). */
static int plain_string(scan *c, char *buf, size_t cap, size_t *n)
{
    const char *p;
    int esc;

    /* string() refuses control bytes, NUL among them. */
    if (c->i >= c->len || c->s[c->i] != '"' || string(c, &p, n, &esc) != 0 || esc || *n >= cap)
        return -1;
    memcpy(buf, p, *n);
    buf[*n] = '\0';
    return 0;
}

/* An integer value in [0, max]. */
static int small_int(scan *c, long long max, long long *out)
{
    const char *p;
    size_t n;
    int is_int;
    char buf[HS_JSON_NUM_MAX + 1];

    if (number(c, &p, &n, &is_int) != 0 || !is_int)
        return -1;
    memcpy(buf, p, n);
    buf[n] = '\0';
    *out = strtoll(buf, NULL, 10);
    return *out >= 0 && *out <= max ? 0 : -1;
}

enum {
    K_ID = 1 << 0,
    K_TYPE = 1 << 1,
    K_PAYLOAD = 1 << 2,
    K_TS = 1 << 3,
    K_TTL = 1 << 4,
    K_ORIGIN = 1 << 5,
    K_SEEN = 1 << 6,
    K_HOPS = 1 << 7,
    K_SIG = 1 << 8,
    K_SEENH = 1 << 9,
    /* As the reference: origin_peer and seen_by may be left out. */
    K_REQUIRED = K_ID | K_TYPE | K_PAYLOAD | K_TS | K_TTL,
};

/* The K_ bit of an envelope field's key, 0 for any other key. */
static unsigned known_key(const char *p, size_t n)
{
    switch (n) {
    case 3:
        return memcmp(p, "ttl", 3) == 0 ? K_TTL : 0;
    case 4:
        return memcmp(p, "hops", 4) == 0 ? K_HOPS : 0;
    case 7:
        return memcmp(p, "payload", 7) == 0 ? K_PAYLOAD : memcmp(p, "seen_by", 7) == 0 ? K_SEEN : 0;
    case 9:
        return memcmp(p, "timestamp", 9) == 0 ? K_TS : memcmp(p, "signature", 9) == 0 ? K_SIG : 0;
    case 10:
        return memcmp(p, "message_id", 10) == 0 ? K_ID : 0;
    case 11:
        return memcmp(p, "origin_peer", 11) == 0 ? K_ORIGIN : 0;
    case 12:
        return memcmp(p, "message_type", 12) == 0   ? K_TYPE
               : memcmp(p, "seen_by_hash", 12) == 0 ? K_SEENH
                                                    : 0;
    default:
        return 0;
    }
}

/* seen_by: its strings are walked once to count them and their bytes,
 * then copied into a list of that size (one allocation), each id checked
 * as it goes in (hs_idlist_push). */
static int seen_by(scan *c, const hs_envelope_limits *lim, hs_envelope *env)
{
    const char *p, *q, *end;
    size_t n, count = 0, bytes = 0, start;
    int esc;

    if (c->i >= c->len || c->s[c->i] != '[')
        return -1;
    start = ++c->i;
    ws(c);
    if (c->i < c->len && c->s[c->i] == ']') {
        c->i++;
        return 0;
    }
    for (;;) {
        if (count >= lim->max_seen_by || c->i >= c->len || c->s[c->i] != '"' ||
            string(c, &p, &n, &esc) != 0 || esc)
            return -1;
        count++;
        bytes += n;
        int r = next_member(c, ']');
        if (r < 0)
            return -1;
        if (r > 0)
            break;
    }
    if (hs_idlist_reserve(&env->seen_by, count, bytes) != HS_OK)
        return -1;
    /* Strings without escapes: each one's quotes are the next two. */
    end = c->s + c->i;
    for (p = c->s + start; env->seen_by.n < count; p = q + 1) {
        p = (const char *)memchr(p, '"', (size_t)(end - p)) + 1;
        q = memchr(p, '"', (size_t)(end - p));
        if (hs_idlist_push(&env->seen_by, p, (size_t)(q - p)) != 0)
            return -1;
    }
    return 0;
}

/* One member of the envelope object; *have collects the keys seen. */
static int member(scan *c, const hs_envelope_limits *lim, hs_envelope *env, keyset *ks,
                  unsigned *have)
{
    const char *k;
    size_t kn, n;
    long long v;
    int is_int;

    if (key_name(c, &k, &kn) != 0)
        return -1;
    /* A field's second appearance is declined (jansson refuses it);
     * other keys are checked against each other. */
    unsigned bit = known_key(k, kn);
    if (bit ? (*have & bit) != 0 : key_new(ks, k, kn) != 0)
        return -1;
    *have |= bit;
    if (bit == K_ID) {
        char hex[66];
        if (plain_string(c, hex, sizeof hex, &n) != 0 ||
            hs_hash_parse_id(hex, env->bin, env->id) != HS_OK)
            return -1;
    } else if (bit == K_TYPE) {
        if (plain_string(c, env->type, sizeof env->type, &n) != 0 ||
            !hs_envelope_valid_type(env->type))
            return -1;
    } else if (bit == K_PAYLOAD) {
        size_t start = c->i;
        if (value(c, 1) != 0)
            return -1;
        env->payload_raw = c->s + start;
        env->payload_len = c->i - start;
    } else if (bit == K_TS) {
        const char *p;
        char buf[HS_JSON_NUM_MAX + 1];
        if (number(c, &p, &n, &is_int) != 0)
            return -1;
        memcpy(buf, p, n);
        buf[n] = '\0';
        /* As jansson: an integer is a json_int_t, then a double. */
        env->timestamp = is_int ? (double)strtoll(buf, NULL, 10) : decimal(buf, n);
        if (!isfinite(env->timestamp) || env->timestamp < 0)
            return -1;
        env->timestamp_raw = p;
        env->timestamp_len = n;
    } else if (bit == K_TTL) {
        env->ttl_raw = c->s + c->i;
        if (small_int(c, (long long)lim->max_ttl, &v) != 0)
            return -1;
        env->ttl_len = (size_t)(c->s + c->i - env->ttl_raw);
        env->ttl = (unsigned)v;
    } else if (bit == K_ORIGIN) {
        /* "" is what a reference relays for an envelope that had none. */
        if (plain_string(c, env->origin, sizeof env->origin, &n) != 0 ||
            (n && !hs_peers_valid_id(env->origin)))
            return -1;
    } else if (bit == K_SEEN) {
        if (seen_by(c, lim, env) != 0)
            return -1;
    } else if (bit == K_SEENH) {
        const char *p;
        int esc;
        if (c->i >= c->len || c->s[c->i] != '"' || string(c, &p, &n, &esc) != 0 || esc ||
            hs_seenhash_parse(&env->seen_hash, p, n, lim->max_seen_by) != HS_OK)
            return -1;
    } else if (bit == K_HOPS) {
        if (small_int(c, HS_MAX_HOPS, &v) != 0)
            return -1;
        env->hops = (unsigned)v;
    } else if (bit == K_SIG) {
        if (plain_string(c, env->signature, sizeof env->signature, &n) != 0 ||
            !hs_envelope_valid_signature(env->signature))
            return -1;
    } else if (value(c, 1) != 0) {
        return -1; /* a field we do not know: valid JSON, ignored */
    }
    return 0;
}

int hs_envelope_scan(const char *text, size_t len, size_t *pos, const hs_envelope_limits *lim,
                     hs_envelope *env)
{
    scan c = {text, len, *pos};
    keyset ks;
    unsigned have = 0;

    memset(env, 0, sizeof *env);
    env->sender = "";
    ks.count = 0;
    ws(&c);
    if (c.i >= c.len || text[c.i] != '{')
        goto decline;
    c.i++;
    ws(&c);
    for (;;) {
        if (member(&c, lim, env, &ks, &have) != 0)
            goto decline;
        int r = next_member(&c, '}');
        if (r < 0)
            goto decline;
        if (r > 0)
            break;
    }
    if ((have & K_REQUIRED) != K_REQUIRED)
        goto decline;
    /* (The defaults of origin_peer and seen_by, "" and [], are the zeroed
     * fields.) */
    if (!(have & K_HOPS))
        env->hops = env->ttl <= 10 ? 11 - env->ttl : 1; /* as hs_envelope_parse */
    *pos = c.i;
    return 0;
decline:
    hs_envelope_clear(env);
    return -1;
}

const json_t *hs_envelope_payload(hs_envelope *env)
{
    if (!env->payload && env->payload_raw)
        env->payload = json_loadb(env->payload_raw, env->payload_len,
                                  JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
    return env->payload;
}
