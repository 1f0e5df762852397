/*
 * sign.h -- messages signed by their origin.
 *
 * A node signs each message it originates with its Ed25519 key (the
 * envelope's "signature"): the signed text is "hearsay/1 msg\n", the
 * message id, "\n", the origin. The id binds the rest of the message: it is
 * the reference's hash of type, payload, timestamp and origin, recomputed
 * from what arrived before a signature counts. A node whose id is its
 * public key (identity.h) can therefore be checked by anyone, with no key
 * to look up. Relays keep the signature (a reference node drops it, as it
 * drops every field it does not know). Cost of a check: the recomputed id
 * (a parse of the payload and a SHA-256) and one Ed25519 verification.
 */
#ifndef HS_SIGN_H
#define HS_SIGN_H

#include "envelope.h"
#include "identity.h"
#include "keycache.h"

typedef enum hs_sig {
    HS_SIG_OK = 0,   /* signed by its origin, and the id is its content's */
    HS_SIG_NONE = 1, /* carries no signature */
    HS_SIG_BAD = 2   /* a signature that does not hold: forged, re-signed,
                        altered, or an origin that is not a key */
} hs_sig;

/* Signs env (originated by id's owner) in place. */
hs_err hs_sign_envelope(const hs_identity *id, hs_envelope *env);

/* Checks env's signature (with the keys kc keeps built; kc may be NULL);
 * on HS_SIG_BAD *why says what failed. */
hs_sig hs_sign_check(hs_keycache *kc, hs_envelope *env, const char **why);

#endif
