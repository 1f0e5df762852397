/*
 * envelope.c -- envelope validation and construction; see envelope.h.
 *
 * The id of a message we originate is the reference node's: SHA-256 of the
 * sorted-keys JSON of {type, payload, timestamp, node}, as Python's json
 * writes it (hs_envelope_id). Incoming ids are only checked for shape (64
 * hex chars); they are opaque otherwise.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "hash.h"

int hs_envelope_valid_type(const char *type)
{
    const unsigned char *p = (const unsigned char *)type;
    size_t n = strnlen(type, HS_TYPE_MAX + 1);

    if (n == 0 || n > HS_TYPE_MAX)
        return 0;
    for (size_t i = 0, k; i < n; i += k) {
        if (!(k = hs_utf8_seq(p + i, n - i)))
            return 0;
        /* C0 and DEL; C1 is U+0080-U+009F, 0xC2 0x80-0x9F in UTF-8. */
        if ((k == 1 && (p[i] < 0x20 || p[i] == 0x7F)) ||
            (k == 2 && p[i] == 0xC2 && p[i + 1] < 0xA0))
            return 0;
    }
    return 1;
}

const char *hs_message_type_check(const char *type, size_t len)
{
    if (!type || len == 0 || len > HS_TYPE_MAX)
        return "a message type is 1 to 64 bytes";
    if (strlen(type) != len || !hs_envelope_valid_type(type))
        return "a message type is UTF-8 without control characters";
    return NULL;
}

int hs_envelope_valid_signature(const char *s)
{
    size_t n = strnlen(s, HS_ENV_SIG_HEX + 1);

    if (n != HS_ENV_SIG_HEX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

#define FAIL(text)                                                                                 \
    do {                                                                                           \
        *reason = text;                                                                            \
        hs_envelope_clear(env);                                                                    \
        return HS_EPROTO;                                                                          \
    } while (0)

hs_err hs_envelope_parse(const json_t *j, const hs_envelope_limits *lim, hs_envelope *env,
                         const char **reason)
{
    const json_t *v;

    memset(env, 0, sizeof *env);
    env->sender = "";
    if (!json_is_object(j))
        FAIL("envelope must be a JSON object");

    v = json_object_get(j, "message_id");
    if (!json_is_string(v))
        FAIL("message_id must be a string");
    if (hs_hash_from_hex(json_string_value(v), env->bin) != HS_OK)
        FAIL("message_id must be 64 hex characters (a SHA-256)");
    hs_hash_to_hex(env->bin, 32, env->id);

    v = json_object_get(j, "message_type");
    if (!json_is_string(v))
        FAIL("message_type must be a string");
    /* (A NUL inside, which jansson lets in only when asked to, is a
     * control character too.) */
    if (!hs_envelope_valid_type(json_string_value(v)) ||
        json_string_length(v) != strlen(json_string_value(v)))
        FAIL("message_type must be 1-64 bytes of UTF-8 without control characters");
    strcpy(env->type, json_string_value(v));

    v = json_object_get(j, "payload");
    if (!v)
        FAIL("payload is missing");
    env->payload = json_incref((json_t *)v);

    v = json_object_get(j, "timestamp");
    if (!json_is_number(v))
        FAIL("timestamp must be a number");
    env->timestamp = json_number_value(v);
    if (!isfinite(env->timestamp) || env->timestamp < 0)
        FAIL("timestamp must be a finite, non-negative number");

    v = json_object_get(j, "ttl");
    if (!json_is_integer(v))
        FAIL("ttl must be an integer");
    if (json_integer_value(v) < 0)
        FAIL("ttl must not be negative");
    if (json_integer_value(v) > (json_int_t)lim->max_ttl)
        FAIL("ttl exceeds this node's max_ttl");
    env->ttl = (unsigned)json_integer_value(v);

    /* origin_peer and seen_by are optional, as the reference has them:
     * "" and [] when absent. A reference relays "" for an envelope that
     * came without an origin; "" is no node's id, so it is never a target
     * nor learnt as a peer. */
    v = json_object_get(j, "origin_peer");
    if (v) {
        if (!json_is_string(v))
            FAIL("origin_peer must be a string");
        if (json_string_length(v) && !hs_peers_valid_id(json_string_value(v)))
            FAIL("origin_peer must be empty or 1-128 printable characters");
        strcpy(env->origin, json_string_value(v));
    }

    /* seen_by: copied into one buffer (idlist.h), sized first. */
    v = json_object_get(j, "seen_by");
    if (v && !json_is_array(v))
        FAIL("seen_by must be an array");
    size_t ns = json_array_size(v), bytes = 0;
    if (ns > lim->max_seen_by)
        FAIL("seen_by has too many entries");
    for (size_t i = 0; i < ns; i++) {
        const json_t *e = json_array_get(v, i);
        if (!json_is_string(e))
            FAIL("seen_by entries must be node id strings");
        bytes += json_string_length(e);
    }
    hs_err err = hs_idlist_reserve(&env->seen_by, ns, bytes);
    if (err != HS_OK) {
        *reason = "out of memory";
        hs_envelope_clear(env);
        return HS_ENOMEM;
    }
    for (size_t i = 0; i < ns; i++) {
        const json_t *e = json_array_get(v, i);
        if (hs_idlist_push(&env->seen_by, json_string_value(e), json_string_length(e)) != 0)
            FAIL("seen_by entries must be node id strings");
    }

    v = json_object_get(j, "seen_by_hash");
    if (v && !json_is_string(v))
        FAIL("seen_by_hash must be a string");
    if (v && (err = hs_seenhash_parse(&env->seen_hash, json_string_value(v), json_string_length(v),
                                      lim->max_seen_by)) != HS_OK) {
        if (err == HS_ENOMEM) {
            *reason = "out of memory";
            hs_envelope_clear(env);
            return HS_ENOMEM;
        }
        FAIL("seen_by_hash must be 8 lowercase hex digits a name, at most max_seen_by names");
    }

    v = json_object_get(j, "signature");
    if (v) {
        if (!json_is_string(v) || !hs_envelope_valid_signature(json_string_value(v)))
            FAIL("signature must be 128 lowercase hex characters");
        strcpy(env->signature, json_string_value(v));
    }

    v = json_object_get(j, "hops");
    if (v) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > HS_MAX_HOPS)
            FAIL("hops must be an integer in [0, 1024]");
        env->hops = (unsigned)json_integer_value(v);
    } else {
        /* A reference node does not count hops; infer them from its ttl,
         * which starts at 10 and is decremented by each forwarder. */
        env->hops = env->ttl <= 10 ? 11 - env->ttl : 1;
    }
    *reason = NULL;
    return HS_OK;
}

/* ---- the id of a message we originate ------------------------------------ */

/*
 * The reference's id is sha256(json.dumps({"type", "payload", "timestamp",
 * "node"}, sort_keys=True)), Python's json: ", " and ": " between items,
 * keys sorted at every depth (by code point: UTF-8 byte order is the
 * same), strings ASCII-only with lowercase \u escapes (surrogate pairs
 * above U+FFFF), reals as Python's repr (the shortest text that reads back
 * as the same double). jansson's dump differs in the last two (\u00E9,
 * 1.1000000000000001), so the text is written here.
 */
typedef struct pybuf {
    char *p;
    size_t len, cap;
    int failed; /* 1: out of memory; 2: not JSON (invalid UTF-8, not finite) */
} pybuf;

static void py_put(pybuf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        char *p;
        while (cap < b->len + n + 1)
            cap *= 2;
        if (!(p = realloc(b->p, cap))) {
            b->failed = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void py_string(pybuf *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    char esc[16];

    py_put(b, "\"", 1);
    for (size_t i = 0, k; i < n; i += k) {
        unsigned c = u[i];
        k = 1;
        if (c == '"' || c == '\\') {
            esc[0] = '\\', esc[1] = (char)c;
            py_put(b, esc, 2);
        } else if (c >= 0x20 && c < 0x7F) {
            py_put(b, s + i, 1);
        } else if (c < 0x80) {
            const char *named = c == '\n'   ? "\\n"
                                : c == '\r' ? "\\r"
                                : c == '\t' ? "\\t"
                                : c == '\b' ? "\\b"
                                : c == '\f' ? "\\f"
                                            : NULL;
            if (named)
                py_put(b, named, 2);
            else
                py_put(b, esc, (size_t)snprintf(esc, sizeof esc, "\\u%04x", c));
        } else {
            /* jansson holds valid UTF-8 only; anything else fails. */
            unsigned v;
            if (!(k = hs_utf8_seq(u + i, n - i))) {
                b->failed = 2;
                return;
            }
            v = c & (k == 2 ? 0x1F : k == 3 ? 0x0F : 0x07);
            for (size_t j = 1; j < k; j++)
                v = v << 6 | (u[i + j] & 0x3F);
            if (v >= 0x10000) {
                v -= 0x10000;
                py_put(b, esc,
                       (size_t)snprintf(esc, sizeof esc, "\\u%04x\\u%04x", 0xD800 + (v >> 10),
                                        0xDC00 + (v & 0x3FF)));
            } else {
                py_put(b, esc, (size_t)snprintf(esc, sizeof esc, "\\u%04x", v));
            }
        }
    }
    py_put(b, "\"", 1);
}

/* repr(float): the fewest significant digits that read back as v; fixed
 * notation for exponents -4..15, else d.ddde+XX. */
static void py_real(pybuf *b, double v)
{
    char sci[40], out[64], *digits = sci;
    int p, e, n, k = 0;

    if (!isfinite(v)) { /* never in JSON; json.dumps would write NaN or Infinity */
        b->failed = 2;
        return;
    }
    for (p = 0; p < 17; p++) {
        snprintf(sci, sizeof sci, "%.*e", p, v);
        if (strtod(sci, NULL) == v)
            break;
    }
    snprintf(sci, sizeof sci, "%.*e", p, v); /* [-]d[.ddd]e[+-]xx */
    if (*digits == '-') {
        out[k++] = '-';
        digits++;
    }
    char *ep = strchr(digits, 'e');
    e = atoi(ep + 1);
    *ep = '\0';
    /* The significant digits alone (drop the point; locale-proof). */
    char d[24];
    n = 0;
    for (char *q = digits; *q; q++)
        if (*q >= '0' && *q <= '9')
            d[n++] = *q;
    while (n > 1 && d[n - 1] == '0')
        n--;
    if (e >= -4 && e < 16) {
        if (e < 0) {
            out[k++] = '0', out[k++] = '.';
            for (int z = 0; z < -e - 1; z++)
                out[k++] = '0';
            memcpy(out + k, d, (size_t)n), k += n;
        } else {
            for (int i = 0; i <= e; i++)
                out[k++] = i < n ? d[i] : '0';
            out[k++] = '.';
            if (n > e + 1) {
                memcpy(out + k, d + e + 1, (size_t)(n - e - 1));
                k += n - e - 1;
            } else {
                out[k++] = '0';
            }
        }
    } else {
        out[k++] = d[0];
        if (n > 1) {
            out[k++] = '.';
            memcpy(out + k, d + 1, (size_t)(n - 1));
            k += n - 1;
        }
        k +=
            snprintf(out + k, sizeof out - (size_t)k, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
    }
    py_put(b, out, (size_t)k);
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void py_value(pybuf *b, const json_t *j, int depth)
{
    char num[32];

    if (!j || depth > 2048) { /* deeper than jansson parses: a tree built by hand */
        b->failed = 2;
        return;
    }
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        size_t n = json_object_size(j), k = 0;
        const char **keys = malloc((n ? n : 1) * sizeof *keys);
        const char *key;
        json_t *v;
        if (!keys) {
            b->failed = 1;
            return;
        }
        json_object_foreach((json_t *)j, key, v) keys[k++] = key;
        qsort(keys, k, sizeof *keys, cmp_key);
        py_put(b, "{", 1);
        for (size_t i = 0; i < k; i++) {
            if (i)
                py_put(b, ", ", 2);
            py_string(b, keys[i], strlen(keys[i]));
            py_put(b, ": ", 2);
            py_value(b, json_object_get(j, keys[i]), depth + 1);
        }
        py_put(b, "}", 1);
        free(keys);
        break;
    }
    case JSON_ARRAY:
        py_put(b, "[", 1);
        for (size_t i = 0; i < json_array_size(j); i++) {
            if (i)
                py_put(b, ", ", 2);
            py_value(b, json_array_get(j, i), depth + 1);
        }
        py_put(b, "]", 1);
        break;
    case JSON_STRING:
        py_string(b, json_string_value(j), json_string_length(j));
        break;
    case JSON_INTEGER:
        py_put(b, num,
               (size_t)snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(j)));
        break;
    case JSON_REAL:
        py_real(b, json_real_value(j));
        break;
    case JSON_TRUE:
        py_put(b, "true", 4);
        break;
    case JSON_FALSE:
        py_put(b, "false", 5);
        break;
    default:
        py_put(b, "null", 4);
    }
}

hs_err hs_envelope_id(const char *type, const json_t *payload, double timestamp,
                      const char *node_id, char id[65])
{
    pybuf b = {0};
    hs_err err;

    /* Keys in sorted order: node, payload, timestamp, type. */
    py_put(&b, "{\"node\": ", 9);
    py_string(&b, node_id, strlen(node_id));
    py_put(&b, ", \"payload\": ", 13);
    py_value(&b, payload, 0);
    py_put(&b, ", \"timestamp\": ", 15);
    py_real(&b, timestamp);
    py_put(&b, ", \"type\": ", 10);
    py_string(&b, type, strlen(type));
    py_put(&b, "}", 1);
    err = b.failed == 1 ? HS_ENOMEM : b.failed ? HS_EINVAL : hs_hash_sha256_hex(b.p, b.len, id);
    free(b.p);
    return err;
}

hs_err hs_envelope_make(hs_envelope *env, const char *type, json_t *payload, double timestamp,
                        unsigned ttl, const char *node_id)
{
    hs_err err;

    memset(env, 0, sizeof *env);
    env->sender = "";
    if (!hs_envelope_valid_type(type) || !hs_peers_valid_id(node_id))
        return HS_EINVAL;
    if ((err = hs_envelope_id(type, payload, timestamp, node_id, env->id)) != HS_OK)
        return err;
    hs_hash_from_hex(env->id, env->bin);
    strcpy(env->type, type);
    strcpy(env->origin, node_id);
    env->payload = json_incref(payload);
    env->timestamp = timestamp;
    env->ttl = ttl;
    env->hops = 0; /* seen_by: empty, as memset left it */
    return HS_OK;
}

void hs_envelope_clear(hs_envelope *env)
{
    json_decref(env->payload);
    hs_idlist_free(&env->seen_by);
    hs_seenhash_free(&env->seen_hash);
    env->payload = NULL;
    env->payload_raw = NULL;
    env->payload_len = 0;
    env->ttl_raw = NULL;
    env->ttl_len = 0;
    env->timestamp_raw = NULL;
    env->timestamp_len = 0;
}

json_t *hs_envelope_to_json(const hs_envelope *env)
{
    json_t *j =
        json_pack("{s:s, s:s, s:O, s:f, s:I, s:s, s:o, s:I}", "message_id", env->id, "message_type",
                  env->type, "payload", env->payload, "timestamp", env->timestamp, "ttl",
                  (json_int_t)env->ttl, "origin_peer", env->origin, "seen_by",
                  hs_idlist_to_json(&env->seen_by), "hops", (json_int_t)env->hops);
    if (j && env->seen_hash.n) {
        hs_jsonout o = {0};
        char *hex;
        size_t len;
        hs_seenhash_write(&o, env->seen_hash.v, env->seen_hash.n);
        if (!(hex = hs_jsonout_finish(&o, &len)) ||
            json_object_set_new(j, "seen_by_hash", json_stringn_nocheck(hex, len)) != 0) {
            free(hex);
            json_decref(j);
            return NULL;
        }
        free(hex);
    }
    if (j && env->signature[0])
        json_object_set_new(j, "signature", json_string(env->signature));
    return j;
}

/* ---- raw bytes ------------------------------------------------------------ */

#define SCAN_FAIL ((size_t)-1)

/* Past the string that opens at s[i] ('"'), or SCAN_FAIL. */
static size_t skip_string(const char *s, size_t i, size_t len)
{
    for (i++; i < len; i++) {
        if (s[i] == '\\')
            i++;
        else if (s[i] == '"')
            return i + 1;
    }
    return SCAN_FAIL;
}

/* Past the value that starts at s[i] (not whitespace), or SCAN_FAIL. */
static size_t skip_value(const char *s, size_t i, size_t len)
{
    size_t depth = 0;

    if (i >= len)
        return SCAN_FAIL;
    if (s[i] == '"')
        return skip_string(s, i, len);
    if (s[i] != '{' && s[i] != '[') {
        /* A scalar: a number, true, false or null. */
        size_t start = i;
        while (i < len && s[i] != ',' && s[i] != ']' && s[i] != '}' && s[i] != ' ' &&
               s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
            i++;
        return i > start ? i : SCAN_FAIL;
    }
    while (i < len) {
        char c = s[i];
        if (c == '"') {
            i = skip_string(s, i, len);
            if (i == SCAN_FAIL)
                return SCAN_FAIL;
            continue;
        }
        if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (--depth == 0)
                return i + 1;
        }
        i++;
    }
    return SCAN_FAIL;
}

int hs_json_trim(const char *text, size_t len, hs_slice *out)
{
    size_t i = hs_json_ws(text, 0, len), end = skip_value(text, i, len);

    if (end == SCAN_FAIL || hs_json_ws(text, end, len) != len)
        return -1;
    out->p = text + i;
    out->len = end - i;
    return 0;
}

int hs_json_array_open(const char *text, size_t len, size_t *i)
{
    size_t at = hs_json_ws(text, *i, len);

    if (at >= len || text[at] != '[')
        return -1;
    at = hs_json_ws(text, at + 1, len);
    if (at < len && text[at] == ']')
        return hs_json_ws(text, at + 1, len) == len ? 0 : -1;
    *i = at;
    return 1;
}

int hs_json_array_next(const char *text, size_t len, size_t *i)
{
    size_t at = hs_json_ws(text, *i, len);

    if (at < len && text[at] == ',') {
        *i = hs_json_ws(text, at + 1, len);
        return 1;
    }
    if (at < len && text[at] == ']' && hs_json_ws(text, at + 1, len) == len)
        return 0;
    return -1;
}

int hs_json_split_array(const char *text, size_t len, hs_slice *out, size_t n)
{
    size_t i = 0, k = 0;
    int more = hs_json_array_open(text, len, &i);

    while (more > 0) {
        size_t end = skip_value(text, i, len);
        if (end == SCAN_FAIL || k >= n)
            return -1;
        out[k].p = text + i;
        out[k].len = end - i;
        k++;
        i = end;
        more = hs_json_array_next(text, len, &i);
    }
    return more == 0 && k == n ? 0 : -1;
}

/* Where the top-level plain "ttl" value of the object `raw` lies: [*vs,
 * *ve), and its "hops" value: [*hs, *he) (*hs = SCAN_FAIL without one).
 * 0, or -1 when there is no "ttl" (or two) or raw is not an object. */
static int find_ttl_hops(const char *raw, size_t len, size_t *vs_out, size_t *ve_out,
                         size_t *hs_out, size_t *he_out)
{
    size_t i = hs_json_ws(raw, 0, len), vs = SCAN_FAIL, ve = 0, hs = SCAN_FAIL, he = 0;

    if (i >= len || raw[i] != '{')
        return -1;
    i = hs_json_ws(raw, i + 1, len);
    while (i < len && raw[i] != '}') {
        size_t ks = i, ke = raw[i] == '"' ? skip_string(raw, i, len) : SCAN_FAIL;
        if (ke == SCAN_FAIL)
            return -1;
        i = hs_json_ws(raw, ke, len);
        if (i >= len || raw[i] != ':')
            return -1;
        i = hs_json_ws(raw, i + 1, len);
        size_t end = skip_value(raw, i, len);
        if (end == SCAN_FAIL)
            return -1;
        /* Only the plain spelling counts: an escaped "ttl" key falls back
         * to serialising the parsed envelope. */
        if (ke - ks == 5 && memcmp(raw + ks, "\"ttl\"", 5) == 0) {
            if (vs != SCAN_FAIL)
                return -1;
            vs = i;
            ve = end;
        } else if (ke - ks == 6 && memcmp(raw + ks, "\"hops\"", 6) == 0) {
            hs = i;
            he = end;
        }
        i = hs_json_ws(raw, end, len);
        if (i < len && raw[i] == ',')
            i = hs_json_ws(raw, i + 1, len);
        else if (i >= len || raw[i] != '}')
            return -1;
    }
    if (vs == SCAN_FAIL || i >= len)
        return -1;
    *vs_out = vs;
    *ve_out = ve;
    *hs_out = hs;
    *he_out = he;
    return 0;
}

static int find_ttl(const char *raw, size_t len, size_t *vs_out, size_t *ve_out)
{
    size_t hs, he;

    return find_ttl_hops(raw, len, vs_out, ve_out, &hs, &he);
}

char *hs_envelope_raw_ttl0(const char *raw, size_t len, size_t *out_len)
{
    size_t vs, ve;

    if (find_ttl(raw, len, &vs, &ve) != 0)
        return NULL;
    return hs_envelope_splice_ttl0(raw, len, raw + vs, ve - vs, out_len);
}

/* The value at raw[s..e) as the hop count it says, one more: its digits
 * into num (a plain integer below HS_MAX_HOPS, else HS_MAX_HOPS, as
 * parsing takes it), the length written. */
static int next_hops(const char *raw, size_t s, size_t e, char num[16])
{
    unsigned h = 0;
    size_t i = s;

    while (i < e && i - s < 5 && raw[i] >= '0' && raw[i] <= '9')
        h = h * 10 + (unsigned)(raw[i++] - '0');
    if (i == s || i != e || h >= HS_MAX_HOPS)
        h = HS_MAX_HOPS - 1;
    return snprintf(num, 16, "%u", h + 1);
}

/* A value of raw to replace: raw[s..e) by text[0..len). */
typedef struct splice {
    size_t s, e;
    const char *text;
    size_t len;
} splice;

/* raw with its nr values replaced (r in the order they come, not
 * overlapping): malloc'd, NUL-terminated, its length in *out_len; NULL
 * out of memory. */
static char *spliced(const char *raw, size_t len, const splice *r, size_t nr, size_t *out_len)
{
    size_t total = len, at = 0, from = 0;
    char *out;

    for (size_t i = 0; i < nr; i++)
        total = total - (r[i].e - r[i].s) + r[i].len;
    if (!(out = malloc(total + 1)))
        return NULL;
    for (size_t i = 0; i < nr; i++) {
        memcpy(out + at, raw + from, r[i].s - from);
        at += r[i].s - from;
        memcpy(out + at, r[i].text, r[i].len);
        at += r[i].len;
        from = r[i].e;
    }
    memcpy(out + at, raw + from, len - from);
    at += len - from;
    out[at] = '\0';
    *out_len = at;
    return out;
}

char *hs_envelope_raw_relay(const char *raw, size_t len, unsigned ttl, size_t *out_len)
{
    size_t vs, ve, hs, he, nr = 1;
    char tnum[16], hnum[16];
    splice r[2];

    if (find_ttl_hops(raw, len, &vs, &ve, &hs, &he) != 0)
        return NULL;
    r[0] = (splice){vs, ve, tnum, (size_t)snprintf(tnum, sizeof tnum, "%u", ttl)};
    if (hs != SCAN_FAIL) {
        size_t k = hs < vs ? 0 : 1; /* hops first when it comes first */
        r[1] = r[0];
        r[k] = (splice){hs, he, hnum, (size_t)next_hops(raw, hs, he, hnum)};
        nr = 2;
    }
    return spliced(raw, len, r, nr, out_len);
}

int hs_envelope_ttl_cut(const char *raw, size_t len, const char *ttl, size_t ttl_len, size_t *head,
                        size_t *rest)
{
    if (ttl < raw || (size_t)(ttl - raw) > len || ttl_len > len - (size_t)(ttl - raw))
        return -1;
    *head = (size_t)(ttl - raw);
    *rest = *head + ttl_len;
    return 0;
}

char *hs_envelope_splice_ttl0(const char *raw, size_t len, const char *ttl, size_t ttl_len,
                              size_t *out_len)
{
    size_t vs, ve;

    if (hs_envelope_ttl_cut(raw, len, ttl, ttl_len, &vs, &ve) != 0)
        return NULL;
    return spliced(raw, len, &(splice){vs, ve, "0", 1}, 1, out_len);
}
