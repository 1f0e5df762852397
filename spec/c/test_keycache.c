/*
 * test_keycache.c -- keycache.h: a cached check says what an uncached one
 * says, for keys in the cache, evicted from it and never in it.
 */
#include <string.h>

#include "check.h"
#include "identity.h"
#include "keycache.h"

#define KEYS (HS_KEYCACHE_SIZE + 8) /* more than it keeps: some are evicted */

static const char MSG[] = "hearsay/1 msg\nid\norigin";

int main(void)
{
    hs_identity *ids[KEYS];
    char sigs[KEYS][HS_SIG_HEX + 1];
    hs_keycache *kc = hs_keycache_new();

    CHECK(kc != NULL);
    for (int i = 0; i < KEYS; i++) {
        CHECK(hs_identity_new(NULL, &ids[i]) == HS_OK);
        CHECK(hs_identity_sign(ids[i], MSG, sizeof MSG - 1, sigs[i]) == HS_OK);
    }
    /* Twice round: the second time the first keys were evicted. */
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < KEYS; i++) {
            const char *pub = hs_identity_public(ids[i]);
            CHECK(hs_keycache_verify(kc, pub, MSG, sizeof MSG - 1, sigs[i]) == 1);
            /* Another key's signature, another text: no. */
            CHECK(hs_keycache_verify(kc, pub, MSG, sizeof MSG - 1, sigs[(i + 1) % KEYS]) == 0);
            CHECK(hs_keycache_verify(kc, pub, MSG, sizeof MSG - 2, sigs[i]) == 0);
            /* A cached key is not a pass: one flipped digit fails. */
            char bad[HS_SIG_HEX + 1];
            memcpy(bad, sigs[i], sizeof bad);
            bad[5] = bad[5] == '0' ? '1' : '0';
            CHECK(hs_keycache_verify(kc, pub, MSG, sizeof MSG - 1, bad) == 0);
        }
    }
    /* Malformed keys and signatures are not valid, cached or not. */
    CHECK(hs_keycache_verify(kc, "abc", MSG, sizeof MSG - 1, sigs[0]) == 0);
    CHECK(hs_keycache_verify(kc, NULL, MSG, sizeof MSG - 1, sigs[0]) == 0);
    CHECK(hs_keycache_verify(kc, hs_identity_public(ids[0]), MSG, sizeof MSG - 1, "00") == 0);
    /* Without a cache: the same answers. */
    CHECK(hs_keycache_verify(NULL, hs_identity_public(ids[1]), MSG, sizeof MSG - 1, sigs[1]) == 1);
    CHECK(hs_keycache_verify(NULL, hs_identity_public(ids[1]), MSG, sizeof MSG - 1, sigs[2]) == 0);
    hs_keycache_free(kc);
    for (int i = 0; i < KEYS; i++)
        hs_identity_free(ids[i]);
    DONE();
}
