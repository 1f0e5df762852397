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
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > HS_MAX_HOPS)
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
}

json_t *hs_envelope_to_json(const hs_envelope *env)
{
    return json_pack("{s:s, s:s, s:O, s:f, s:I, s:s, s:O, s:I}", "message_id", env->id,
                     "message_type", env->type, "payload", env->payload, "timestamp",
                     env->timestamp, "ttl", (json_int_t)env->ttl, "origin_peer", env->origin,
                     "seen_by", env->seen_by, "hops", (json_int_t)env->hops);
}
