/*
 * digest.c -- the message ids POST /digest and POST /fetch carry: a JSON
 * list of hex ids read into sorted binary ids (O(k log k) for k ids, one
 * allocation), and the ids of a list the seen cache lacks written back
 * (O(k)).
 */
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "hash.h"

static int cmp_id(const void *a, const void *b)
{
    return memcmp(a, b, 32);
}

uint8_t (*hs_digest_parse_ids(const json_t *arr, size_t max, size_t *count))[32]
{
    size_t n = json_array_size(arr), k = 0;
    uint8_t(*ids)[32];

    if (!json_is_array(arr) || n > max)
        return NULL;
    ids = malloc((n ? n : 1) * 32);
    if (!ids)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        const char *hex = json_string_value(json_array_get(arr, i));
        if (hex && hs_hash_from_hex(hex, ids[k]) == HS_OK)
            k++;
    }
    qsort(ids, k, 32, cmp_id);
    *count = k;
    return ids;
}

json_t *hs_digest_unseen(const hs_seen *seen, const uint8_t (*ids)[32], size_t count)
{
    json_t *out = json_array();
    char hex[65];

    for (size_t i = 0; ids && out && i < count; i++) {
        if (!hs_seen_contains(seen, ids[i])) {
            hs_hash_to_hex(ids[i], 32, hex);
            json_array_append_new(out, json_string(hex));
        }
    }
    return out;
}
