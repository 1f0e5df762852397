/*
 * keycache.h -- the public keys a node checks signatures with, kept built.
 *
 * hs_identity_verify() builds OpenSSL's key object from the 32 bytes for
 * every check, which costs 8-12% of an Ed25519 check (3000 checks of one
 * key on the 2-core benchmark machine: 113-119 us each with the key built
 * every time, 104-107 us with it built once; in the ingest benchmark the
 * gain is within its run-to-run noise). A node checks the same few
 * origins' messages again and again (its cluster's writers, its peers'
 * claims), so it keeps the last HS_KEYCACHE_SIZE keys it used, built.
 * One per node: nothing shared between nodes.
 */
#ifndef HS_KEYCACHE_H
#define HS_KEYCACHE_H

#include <stddef.h>

#include "hearsay.h"
#include "identity.h"

#define HS_KEYCACHE_SIZE 32

typedef struct hs_keycache hs_keycache;

/* NULL when out of memory (then hs_keycache_verify checks uncached). */
hs_keycache *hs_keycache_new(void);
void hs_keycache_free(hs_keycache *kc);

/* As hs_identity_verify(), with pub_hex's key built once (kc may be NULL:
 * uncached). */
int hs_keycache_verify(hs_keycache *kc, const char *pub_hex, const void *msg, size_t len,
                       const char *sig_hex);

#endif
