/*
 * seenhash.h -- `seen_by_hash`: hearsay's compact seen_by.
 *
 * A forwarder names itself and the peers it pushes to in seen_by, so that
 * the next nodes leave them out. With node ids of 64 characters that list
 * was most of an envelope: 33 ids, 2.2 KB of a 3 KB push at 100 loopback
 * nodes, read, copied, kept and written again at every hop. Between hearsay
 * peers (feature "seen_hash") each of those names goes as 32 bits instead:
 * the envelope's "seen_by_hash" is one string of 8 lowercase hex digits a
 * name, the oldest first, and seen_by stays as it came. A name's hash is
 * keyed by the message id, so two ids that collide do so for one message,
 * not for every message.
 *
 * A hash only ever keeps a node from being pushed to (it is skipped as a
 * target, never trusted for anything else), as a name in seen_by does: a
 * relay that lists anyone's hash can do no more than one that lists its id.
 */
#ifndef HS_SEENHASH_H
#define HS_SEENHASH_H

#include <stddef.h>
#include <stdint.h>

#include "hearsay.h"
#include "jsonout.h"

/* Hex digits a name takes on the wire. */
#define HS_SEENHASH_HEX 8

typedef struct hs_seenhash {
    uint32_t *v; /* owned, NULL when empty */
    size_t n;
} hs_seenhash;

/* The hash of node id `id` (len bytes) for the message whose binary id is
 * msg. */
uint32_t hs_seenhash_of(const uint8_t msg[32], const char *id, size_t len);

/* Reads a "seen_by_hash" string (hex, len bytes, not NUL-terminated) into
 * h: a multiple of 8 lowercase hex digits, at most `max` names. HS_OK;
 * HS_EPROTO when it is not that, HS_ENOMEM (h is left empty either way). */
hs_err hs_seenhash_parse(hs_seenhash *h, const char *hex, size_t len, size_t max);

int hs_seenhash_has(const hs_seenhash *h, uint32_t v);

/* Writes v[0..n) as the string's hex digits (no quotes). */
void hs_seenhash_write(hs_jsonout *o, const uint32_t *v, size_t n);

void hs_seenhash_free(hs_seenhash *h);

#endif
