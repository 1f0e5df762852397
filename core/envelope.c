/*
 * envelope.c -- envelope validation and construction; see envelope.h.
 *
 * The id of a message we originate is the reference node's: SHA-256 of the
 * sorted-keys JSON of {type, payload, timestamp, node}. Incoming ids are
 * only checked for shape (64 hex chars); they are opaque otherwise.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "hash.h"

int hs_envelope_valid_type(const char *type)
{
    size_t n = 0;
    for (const char *p = type; *p; p++, n++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '.' || c == ':' || c == '-';
        if (!ok)
            return 0;
    }
    return n > 0 && n <= HS_TYPE_MAX;
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
    if (!hs_envelope_valid_type(json_string_value(v)))
        FAIL("message_type must be 1-64 characters of [A-Za-z0-9_.:-]");
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

    v = json_object_get(j, "origin_peer");
    if (!json_is_string(v))
        FAIL("origin_peer must be a string");
    if (!hs_peers_valid_id(json_string_value(v)))
        FAIL("origin_peer must be 1-128 printable characters");
    strcpy(env->origin, json_string_value(v));

    v = json_object_get(j, "seen_by");
    if (!json_is_array(v))
        FAIL("seen_by must be an array");
    if (json_array_size(v) > lim->max_seen_by)
        FAIL("seen_by has too many entries");
    for (size_t i = 0; i < json_array_size(v); i++) {
        const json_t *e = json_array_get(v, i);
        if (!json_is_string(e) || !hs_peers_valid_id(json_string_value(e)))
            FAIL("seen_by entries must be node id strings");
    }
    env->seen_by = json_incref((json_t *)v);

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

hs_err hs_envelope_make(hs_envelope *env, const char *type, json_t *payload, double timestamp,
                        unsigned ttl, const char *node_id)
{
    json_t *idobj;
    char *text;
    hs_err err;

    memset(env, 0, sizeof *env);
    env->sender = "";
    if (!hs_envelope_valid_type(type) || !hs_peers_valid_id(node_id))
        return HS_EINVAL;
    idobj = json_pack("{s:s, s:O, s:f, s:s}", "type", type, "payload", payload, "timestamp",
                      timestamp, "node", node_id);
    if (!idobj)
        return HS_ENOMEM;
    text = json_dumps(idobj, JSON_SORT_KEYS | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(17));
    json_decref(idobj);
    if (!text)
        return HS_ENOMEM;
    err = hs_hash_sha256_hex(text, strlen(text), env->id);
    free(text);
    if (err != HS_OK)
        return err;
    hs_hash_from_hex(env->id, env->bin);
    strcpy(env->type, type);
    strcpy(env->origin, node_id);
    env->payload = json_incref(payload);
    env->timestamp = timestamp;
    env->ttl = ttl;
    env->hops = 0;
    env->seen_by = json_array();
    if (!env->seen_by) {
        hs_envelope_clear(env);
        return HS_ENOMEM;
    }
    return HS_OK;
}

void hs_envelope_clear(hs_envelope *env)
{
    json_decref(env->payload);
    json_decref(env->seen_by);
    env->payload = NULL;
    env->seen_by = NULL;
    env->payload_raw = NULL;
    env->payload_len = 0;
    env->ttl_raw = NULL;
    env->ttl_len = 0;
    env->timestamp_raw = NULL;
    env->timestamp_len = 0;
}

json_t *hs_envelope_to_json(const hs_envelope *env)
{
    return json_pack("{s:s, s:s, s:O, s:f, s:I, s:s, s:O, s:I}", "message_id", env->id,
                     "message_type", env->type, "payload", env->payload, "timestamp",
                     env->timestamp, "ttl", (json_int_t)env->ttl, "origin_peer", env->origin,
                     "seen_by", env->seen_by, "hops", (json_int_t)env->hops);
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
 * *ve). 0, or -1 when there is none (or two) or raw is not an object. */
static int find_ttl(const char *raw, size_t len, size_t *vs_out, size_t *ve_out)
{
    size_t i = hs_json_ws(raw, 0, len), vs = SCAN_FAIL, ve = 0;

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
    return 0;
}

char *hs_envelope_raw_ttl0(const char *raw, size_t len, size_t *out_len)
{
    size_t vs, ve;

    if (find_ttl(raw, len, &vs, &ve) != 0)
        return NULL;
    return hs_envelope_splice_ttl0(raw, len, raw + vs, ve - vs, out_len);
}

char *hs_envelope_raw_ttl(const char *raw, size_t len, unsigned ttl, size_t *out_len)
{
    size_t vs, ve;
    char num[16];
    int k = snprintf(num, sizeof num, "%u", ttl);
    char *out;

    if (find_ttl(raw, len, &vs, &ve) != 0)
        return NULL;
    *out_len = len - (ve - vs) + (size_t)k;
    out = malloc(*out_len + 1);
    if (!out)
        return NULL;
    memcpy(out, raw, vs);
    memcpy(out + vs, num, (size_t)k);
    memcpy(out + vs + (size_t)k, raw + ve, len - ve);
    out[*out_len] = '\0';
    return out;
}

char *hs_envelope_splice_ttl0(const char *raw, size_t len, const char *ttl, size_t ttl_len,
                              size_t *out_len)
{
    size_t vs = (size_t)(ttl - raw), ve = vs + ttl_len;
    char *out;

    if (ttl < raw || ve > len)
        return NULL;
    *out_len = len - ttl_len + 1;
    out = malloc(*out_len + 1);
    if (!out)
        return NULL;
    memcpy(out, raw, vs);
    out[vs] = '0';
    memcpy(out + vs + 1, raw + ve, len - ve);
    out[*out_len] = '\0';
    return out;
}
