/*
 * seenhash.c -- seen_by_hash's names: hashing, reading and writing them
 * (seenhash.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "idlist.h"
#include "peers.h"
#include "seenhash.h"

uint32_t hs_seenhash_of(const uint8_t msg[32], const char *id, size_t len)
{
    uint64_t k0, k1;

    memcpy(&k0, msg, 8);
    memcpy(&k1, msg + 8, 8);
    return (uint32_t)(hs_idlist_hash(k0 ^ (k1 << 1 | k1 >> 63), id, len) >> 32);
}

hs_err hs_seenhash_parse(hs_seenhash *h, const char *hex, size_t len, size_t max)
{
    size_t n = len / HS_SEENHASH_HEX;

    h->v = NULL;
    h->n = 0;
    if (len % HS_SEENHASH_HEX || n > max)
        return HS_EPROTO;
    if (n == 0)
        return HS_OK;
    if (!(h->v = malloc(n * sizeof *h->v)))
        return HS_ENOMEM;
    for (size_t k = 0; k < n; k++)
        if (hs_hash_hex8(hex + k * HS_SEENHASH_HEX, &h->v[k]) != 0) {
            hs_seenhash_free(h);
            return HS_EPROTO;
        }
    h->n = n;
    return HS_OK;
}

int hs_seenhash_has(const hs_seenhash *h, uint32_t v)
{
    int found = 0;

    for (size_t i = 0; i < h->n; i++)
        found |= h->v[i] == v;
    return found;
}

void hs_seenhash_write(hs_jsonout *o, const uint32_t *v, size_t n)
{
    if (o->failed || (o->len + HS_SEENHASH_HEX * n + 1 > o->cap &&
                      hs_jsonout_reserve(o, HS_SEENHASH_HEX * n) != 0))
        return;
    for (size_t k = 0; k < n; k++, o->len += HS_SEENHASH_HEX) {
        uint8_t b[4] = {(uint8_t)(v[k] >> 24), (uint8_t)(v[k] >> 16), (uint8_t)(v[k] >> 8),
                        (uint8_t)v[k]};
        hs_hash_to_hex(b, 4, o->p + o->len); /* (and a NUL, within the reserve) */
    }
}

void hs_seenhash_free(hs_seenhash *h)
{
    free(h->v);
    h->v = NULL;
    h->n = 0;
}

hs_err hs_message_seen_hash(const char *message_id, const char *node_id, char out[9])
{
    uint8_t bin[32];
    char id[65];

    if (!message_id || !node_id || strlen(message_id) != 64 ||
        hs_hash_parse_id(message_id, bin, id) != HS_OK || !hs_peers_valid_id(node_id))
        return HS_EINVAL;
    snprintf(out, HS_SEENHASH_HEX + 1, "%08" PRIx32, hs_seenhash_of(bin, node_id, strlen(node_id)));
    return HS_OK;
}
