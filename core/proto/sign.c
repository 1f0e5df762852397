/*
 * sign.c -- origin signatures of messages; see sign.h.
 */
#include <stdio.h>
#include <string.h>

#include "sign.h"

#define DOMAIN "hearsay/1 msg\n"

/* The signed text of a message: the domain, its id, its origin. */
static size_t signed_text(const hs_envelope *env, char *out, size_t cap)
{
    int n = snprintf(out, cap, DOMAIN "%s\n%s", env->id, env->origin);
    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

hs_err hs_sign_envelope(const hs_identity *id, hs_envelope *env)
{
    char text[sizeof DOMAIN + 65 + HS_PEER_ID_MAX + 2];
    size_t len = signed_text(env, text, sizeof text);

    if (!len)
        return HS_EINVAL;
    return hs_identity_sign(id, text, len, env->signature);
}

hs_sig hs_sign_check(hs_keycache *kc, hs_envelope *env, const char **why)
{
    char text[sizeof DOMAIN + 65 + HS_PEER_ID_MAX + 2], id[65];
    const json_t *payload;
    size_t len;

    if (!env->signature[0])
        return HS_SIG_NONE;
    if (!hs_identity_is_key(env->origin)) {
        *why = "the origin is not a public key: nothing to check its signature with";
        return HS_SIG_BAD;
    }
    if (!(payload = hs_envelope_payload(env)) ||
        hs_envelope_id(env->type, payload, env->timestamp, env->origin, id) != HS_OK ||
        strcmp(id, env->id) != 0) {
        *why = "message_id is not the hash of the message's content";
        return HS_SIG_BAD;
    }
    if (!(len = signed_text(env, text, sizeof text)) ||
        !hs_keycache_verify(kc, env->origin, text, len, env->signature)) {
        *why = "the signature is not the origin's";
        return HS_SIG_BAD;
    }
    return HS_SIG_OK;
}

hs_err hs_message_sign(const char *seed_hex, const char *type, const json_t *payload,
                       double timestamp, const char *origin, char *id, char *sig)
{
    hs_identity *ident;
    hs_envelope env;
    hs_err err;

    memset(&env, 0, sizeof env);
    if (!type || !payload || !origin || strlen(origin) > HS_PEER_ID_MAX)
        return HS_EINVAL;
    if ((err = hs_envelope_id(type, payload, timestamp, origin, env.id)) != HS_OK)
        return err;
    strcpy(env.origin, origin);
    if ((err = hs_identity_new(seed_hex, &ident)) != HS_OK)
        return err;
    err = hs_sign_envelope(ident, &env);
    hs_identity_free(ident);
    if (err == HS_OK) {
        strcpy(id, env.id);
        strcpy(sig, env.signature);
    }
    return err;
}
