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
 * jansson does (jsonout.h). seen_by is the received list's text (idlist.h: already
 * the compact JSON of its ids, copied in one piece) and the ids added;
 * seen_by_hash (seenhash.h) the hashes the forwarder gives.
 */
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "jsonout.h"

char *hs_envelope_write(const hs_envelope *env, size_t skip, const char *const *more, size_t n_more,
                        const uint32_t *hashes, size_t n_hashes, unsigned ttl, unsigned hops,
                        size_t *len)
{
    const hs_idlist *seen = &env->seen_by;
    size_t from = skip < seen->n ? skip : seen->n, more_from = skip - from, sep = 0;
    hs_jsonout o = {0};
    char *payload = NULL;

    if (!env->payload_raw && !(payload = json_dumps(env->payload, JSON_COMPACT | JSON_ENCODE_ANY)))
        return NULL;
    /* One allocation for the usual envelope: the ids added of up to ~40
     * bytes. */
    o.cap = 208 + (payload ? strlen(payload) : env->payload_len) + seen->len + 44 * (n_more + 1) +
            HS_SEENHASH_HEX * n_hashes;
    if (!(o.p = malloc(o.cap))) {
        free(payload);
        return NULL;
    }
    /* The id is hex; the type may be any text (quotes, backslashes). */
    HS_JSONOUT_LIT(&o, "{\"message_id\":\"");
    hs_jsonout_put(&o, env->id, strlen(env->id));
    HS_JSONOUT_LIT(&o, "\",\"message_type\":");
    hs_jsonout_string(&o, env->type, strlen(env->type));
    HS_JSONOUT_LIT(&o, ",\"payload\":");
    if (payload)
        hs_jsonout_put(&o, payload, strlen(payload));
    else
        hs_jsonout_put(&o, env->payload_raw, env->payload_len);
    free(payload);
    HS_JSONOUT_LIT(&o, ",\"timestamp\":");
    if (env->timestamp_raw)
        hs_jsonout_put(&o, env->timestamp_raw, env->timestamp_len);
    else
        hs_jsonout_real(&o, env->timestamp);
    HS_JSONOUT_LIT(&o, ",\"ttl\":");
    hs_jsonout_uint(&o, ttl);
    HS_JSONOUT_LIT(&o, ",\"origin_peer\":");
    hs_jsonout_string(&o, env->origin, strlen(env->origin));
    HS_JSONOUT_LIT(&o, ",\"seen_by\":[");
    if (from < seen->n) {
        size_t at = seen->off[from] - 1; /* entry `from`'s opening quote */
        hs_jsonout_put(&o, seen->text + at, seen->len - at);
        sep = 1;
    }
    for (size_t i = more_from; i < n_more; i++, sep = 1) {
        if (sep)
            hs_jsonout_put(&o, ",", 1);
        hs_jsonout_string(&o, more[i], strlen(more[i]));
    }
    HS_JSONOUT_LIT(&o, "],\"hops\":");
    hs_jsonout_uint(&o, hops);
    if (n_hashes) {
        HS_JSONOUT_LIT(&o, ",\"seen_by_hash\":\"");
        hs_seenhash_write(&o, hashes, n_hashes);
        hs_jsonout_put(&o, "\"", 1);
    }
    if (env->signature[0]) {
        HS_JSONOUT_LIT(&o, ",\"signature\":\"");
        hs_jsonout_put(&o, env->signature, strlen(env->signature));
        hs_jsonout_put(&o, "\"", 1);
    }
    hs_jsonout_put(&o, "}", 1);
    return hs_jsonout_finish(&o, len);
}
