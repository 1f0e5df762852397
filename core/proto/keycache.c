/*
 * keycache.c -- built public keys, the least recently used replaced; see
 * keycache.h.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keycache.h"

struct hs_keycache {
    struct {
        char hex[HS_KEY_HEX + 1]; /* "" when the slot is free */
        struct evp_pkey_st *key;
        uint64_t used; /* the tick of its last use */
    } slot[HS_KEYCACHE_SIZE];
    uint64_t tick;
};

hs_keycache *hs_keycache_new(void)
{
    return calloc(1, sizeof(hs_keycache));
}

void hs_keycache_free(hs_keycache *kc)
{
    if (!kc)
        return;
    for (size_t i = 0; i < HS_KEYCACHE_SIZE; i++)
        hs_identity_key_free(kc->slot[i].key);
    free(kc);
}

int hs_keycache_verify(hs_keycache *kc, const char *pub_hex, const void *msg, size_t len,
                       const char *sig_hex)
{
    size_t i, oldest = 0;

    if (!kc || !pub_hex || strlen(pub_hex) != HS_KEY_HEX)
        return hs_identity_verify(pub_hex, msg, len, sig_hex);
    for (i = 0; i < HS_KEYCACHE_SIZE; i++) {
        if (strcmp(kc->slot[i].hex, pub_hex) == 0)
            break;
        if (kc->slot[i].used < kc->slot[oldest].used)
            oldest = i;
    }
    if (i == HS_KEYCACHE_SIZE) {
        struct evp_pkey_st *key = hs_identity_key(pub_hex);
        if (!key)
            return 0; /* malformed (or out of memory: not checked, not valid) */
        i = oldest;
        hs_identity_key_free(kc->slot[i].key);
        kc->slot[i].key = key;
        memcpy(kc->slot[i].hex, pub_hex, HS_KEY_HEX + 1);
    }
    kc->slot[i].used = ++kc->tick;
    return hs_identity_verify_with(kc->slot[i].key, msg, len, sig_hex);
}
