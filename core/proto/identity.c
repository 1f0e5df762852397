/*
 * identity.c -- Ed25519 through OpenSSL's EVP interface; see identity.h.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "hash.h"
#include "identity.h"

struct hs_identity {
    EVP_PKEY *key;
    char pub[HS_KEY_HEX + 1];
    char seed[HS_KEY_HEX + 1];
};

int hs_identity_is_key(const char *id)
{
    uint8_t bin[32];
    return id && hs_hash_from_hex(id, bin) == HS_OK;
}

hs_err hs_identity_new(const char *seed_hex, hs_identity **out)
{
    uint8_t seed[32], pub[32];
    size_t publen = sizeof pub;
    hs_identity *id;

    if (seed_hex) {
        if (hs_hash_from_hex(seed_hex, seed) != HS_OK)
            return HS_EINVAL;
    } else if (RAND_bytes(seed, sizeof seed) != 1) {
        return HS_EIO;
    }
    if (!(id = calloc(1, sizeof *id)))
        return HS_ENOMEM;
    id->key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, sizeof seed);
    if (!id->key || EVP_PKEY_get_raw_public_key(id->key, pub, &publen) != 1 || publen != 32) {
        hs_identity_free(id);
        OPENSSL_cleanse(seed, sizeof seed);
        return HS_EIO;
    }
    hs_hash_to_hex(pub, 32, id->pub);
    hs_hash_to_hex(seed, 32, id->seed);
    OPENSSL_cleanse(seed, sizeof seed);
    *out = id;
    return HS_OK;
}

void hs_identity_free(hs_identity *id)
{
    if (!id)
        return;
    EVP_PKEY_free(id->key);
    OPENSSL_cleanse(id->seed, sizeof id->seed);
    free(id);
}

const char *hs_identity_public(const hs_identity *id)
{
    return id->pub;
}

const char *hs_identity_seed(const hs_identity *id)
{
    return id->seed;
}

hs_err hs_identity_sign(const hs_identity *id, const void *msg, size_t len,
                        char sig[HS_SIG_HEX + 1])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    uint8_t raw[64];
    size_t rawlen = sizeof raw;
    int ok;

    if (!ctx)
        return HS_ENOMEM;
    ok = EVP_DigestSignInit(ctx, NULL, NULL, NULL, id->key) == 1 &&
         EVP_DigestSign(ctx, raw, &rawlen, msg, len) == 1 && rawlen == 64;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return HS_EIO;
    hs_hash_to_hex(raw, 64, sig);
    return HS_OK;
}

/* 2n hex chars into n bytes; -1 when they are not that. */
static int unhex(const char *hex, uint8_t *out, size_t n)
{
    if (!hex || strlen(hex) != 2 * n)
        return -1;
    for (size_t i = 0; i < 2 * n; i += 64) {
        /* hs_hash_from_hex takes exactly 64 digits: a signature is two. */
        char chunk[65];
        memcpy(chunk, hex + i, 64);
        chunk[64] = '\0';
        if (hs_hash_from_hex(chunk, out + i / 2) != HS_OK)
            return -1;
    }
    return 0;
}

struct evp_pkey_st *hs_identity_key(const char *pub_hex)
{
    uint8_t pub[32];

    if (unhex(pub_hex, pub, 32) != 0)
        return NULL;
    return EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, sizeof pub);
}

void hs_identity_key_free(struct evp_pkey_st *key)
{
    EVP_PKEY_free(key);
}

int hs_identity_verify_with(struct evp_pkey_st *key, const void *msg, size_t len,
                            const char *sig_hex)
{
    uint8_t sig[64];
    EVP_MD_CTX *ctx;
    int ok;

    if (!key || unhex(sig_hex, sig, 64) != 0)
        return 0;
    ctx = EVP_MD_CTX_new();
    ok = ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) == 1 &&
         EVP_DigestVerify(ctx, sig, sizeof sig, msg, len) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

int hs_identity_verify(const char *pub_hex, const void *msg, size_t len, const char *sig_hex)
{
    EVP_PKEY *key = hs_identity_key(pub_hex);
    int ok = hs_identity_verify_with(key, msg, len, sig_hex);

    EVP_PKEY_free(key);
    return ok;
}
