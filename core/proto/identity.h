/*
 * identity.h -- a node's Ed25519 key pair, and checking what others sign.
 *
 * A node's private key is its 32-byte seed (64 hex chars in config and
 * in the key file the shell keeps); its public key travels as 64 hex
 * chars, and a node id that is 64 hex chars is taken to be the public key
 * of the node that bears it (the ids hearsay makes), so anything signed
 * "by" such an id can be checked without asking anyone for a key. What is
 * signed is a short domain-tagged text (hs_identity_claim_text), never a
 * JSON document, so no canonical form is needed.
 *
 * Cost (OpenSSL 3, bench/RESULTS.md): a signature ~37 us, a check ~100 us;
 * hs_identity_verify builds a key object from the 32 bytes each time
 * (~10% more: keycache.h keeps them built).
 */
#ifndef HS_IDENTITY_H
#define HS_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "hearsay.h"

#define HS_KEY_HEX 64  /* a public key or a seed, in hex */
#define HS_SIG_HEX 128 /* a signature, in hex */

typedef struct hs_identity hs_identity;

/* Makes the key pair of seed_hex (64 hex chars), or a fresh one when it is
 * NULL. *out is freed with hs_identity_free(). HS_EINVAL for a bad seed. */
hs_err hs_identity_new(const char *seed_hex, hs_identity **out);
void hs_identity_free(hs_identity *id);

/* Borrowed, NUL-terminated hex; valid for the identity's life. */
const char *hs_identity_public(const hs_identity *id);
/* The seed (secret): for the shell to keep in the key file. */
const char *hs_identity_seed(const hs_identity *id);

/* Signs len bytes of msg: 128 hex chars and a NUL into sig. */
hs_err hs_identity_sign(const hs_identity *id, const void *msg, size_t len,
                        char sig[HS_SIG_HEX + 1]);

/* Whether sig_hex (128 hex chars) is pub_hex's (64 hex chars) signature
 * of msg. Any malformed input is simply not a valid signature. */
int hs_identity_verify(const char *pub_hex, const void *msg, size_t len, const char *sig_hex);

/* The same in two steps (keycache.h keeps keys built): pub_hex's key, or
 * NULL (malformed, or out of memory), freed with hs_identity_key_free();
 * and whether sig_hex is that key's signature of msg (a NULL key: no). */
struct evp_pkey_st;
struct evp_pkey_st *hs_identity_key(const char *pub_hex);
void hs_identity_key_free(struct evp_pkey_st *key);
int hs_identity_verify_with(struct evp_pkey_st *key, const void *msg, size_t len,
                            const char *sig_hex);

/* Whether an id is a public key (64 hex chars): then it vouches for
 * itself. */
int hs_identity_is_key(const char *id);

#endif
