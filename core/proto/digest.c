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
#include "jsonpick.h"

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

size_t hs_digest_unseen(const hs_seen *seen, const uint8_t (*ids)[32], size_t count, hs_jsonout *o)
{
    size_t k = 0;

    HS_JSONOUT_LIT(o, "[");
    for (size_t i = 0; ids && i < count; i++)
        if (!hs_seen_contains(seen, ids[i])) {
            if (k++)
                HS_JSONOUT_LIT(o, ",");
            hs_jsonout_hex(o, ids[i], 32);
        }
    HS_JSONOUT_LIT(o, "]");
    return k;
}

void hs_offer_free(hs_offer *o)
{
    free(o->ids);
    free(o->ttls);
    o->ids = NULL;
    o->ttls = NULL;
    o->count = 0;
}

static int offer_alloc(hs_offer *o, size_t n)
{
    o->ids = malloc((n ? n : 1) * 32);
    o->ttls = malloc((n ? n : 1) * sizeof *o->ttls);
    o->count = 0;
    o->node_id[0] = '\0';
    if (!o->ids || !o->ttls) {
        hs_offer_free(o);
        return -1;
    }
    return 0;
}

int hs_offer_from_json(const json_t *req, size_t max, hs_offer *out)
{
    const json_t *arr = json_object_get(req, "ids"), *ttls = json_object_get(req, "ttls");
    const char *node_id = json_string_value(json_object_get(req, "node_id"));
    size_t n = json_array_size(arr);

    if (!json_is_array(arr) || n > max || offer_alloc(out, n) != 0)
        return -1;
    if (!json_is_array(ttls) || json_array_size(ttls) != n)
        ttls = NULL;
    if (node_id && strlen(node_id) < sizeof out->node_id)
        memcpy(out->node_id, node_id, strlen(node_id) + 1);
    for (size_t i = 0; i < n; i++) {
        const char *hex = json_string_value(json_array_get(arr, i));
        const json_t *t = ttls ? json_array_get(ttls, i) : NULL;
        if (!hex || hs_hash_from_hex(hex, out->ids[out->count]) != HS_OK)
            continue;
        out->ttls[out->count++] =
            json_is_integer(t) && json_integer_value(t) >= 0 && json_integer_value(t) <= 0xffff
                ? (unsigned)json_integer_value(t)
                : HS_OFFER_NO_TTL;
    }
    return 0;
}

/* Whether text[*at..len) starts with s; moves past it. */
static int lit(const char *text, size_t len, size_t *at, const char *s)
{
    size_t k = strlen(s);

    if (len - *at < k || memcmp(text + *at, s, k) != 0)
        return 0;
    *at += k;
    return 1;
}

/* Where the text from at stops being printable ASCII that needs no
 * escaping in a JSON string (a node id as we write it). */
static size_t plain_id(const char *text, size_t len, size_t at)
{
    while (at < len && text[at] != '"' && text[at] != '\\' && (unsigned char)text[at] >= 0x20 &&
           (unsigned char)text[at] < 0x7f)
        at++;
    return at;
}

/* The list of ids at text[*at..len) as this side writes it: '[', then
 * "<64 hex>" comma-separated, then ']', no spaces. Their number into
 * *count and the ids, in order, into *ids (malloc'd); *at past the ']'.
 * 1; 0 when written otherwise, longer than max, or an id is not hex (the
 * caller's jansson path decides); -1 out of memory. */
static int ids_scan(const char *text, size_t len, size_t *at, size_t max, uint8_t (**ids)[32],
                    size_t *count)
{
    size_t n = 0, p;

    if (!lit(text, len, at, "["))
        return 0;
    /* Count them first, for one allocation and the bound. */
    for (p = *at;; n++) {
        if (n == 0 && p < len && text[p] == ']')
            break;
        if (len - p < 67 || text[p] != '"' || text[p + 65] != '"')
            return 0;
        p += 66;
        if (text[p] == ']') {
            n++;
            break;
        }
        if (text[p] != ',')
            return 0;
        p++;
    }
    if (n > max)
        return 0;
    if (!(*ids = malloc((n ? n : 1) * 32)))
        return -1;
    for (size_t i = 0; i < n; i++, *at += 67) /* the id, its quotes, and ',' or ']' */
        if (hs_hash_from_hex64(text + *at + 1, (*ids)[i]) != HS_OK) {
            free(*ids);
            *ids = NULL;
            return 0; /* an escape, or not hex */
        }
    if (n == 0)
        (*at)++; /* ']' */
    *count = n;
    return 1;
}

int hs_offer_scan(const char *text, size_t len, size_t max, hs_offer *out)
{
    size_t at = 0, idlen, nids = 0, nttls = 0;
    const char *id;
    int got;

    if (!text || !lit(text, len, &at, "{\"node_id\":\""))
        return 0;
    /* The offerer's id: printable, no quote or backslash (what needs no
     * escaping), as long as a peer id may be. */
    id = text + at;
    at = plain_id(text, len, at);
    idlen = (size_t)(text + at - id);
    if (idlen >= sizeof out->node_id || !lit(text, len, &at, "\",\"ids\":"))
        return 0;
    memset(out, 0, sizeof *out);
    if ((got = ids_scan(text, len, &at, max, &out->ids, &nids)) != 1)
        return got; /* (jansson's path refuses more than max: 400) */
    if (!(out->ttls = malloc((nids ? nids : 1) * sizeof *out->ttls))) {
        hs_offer_free(out);
        return -1;
    }
    memcpy(out->node_id, id, idlen);
    out->node_id[idlen] = '\0';
    if (!lit(text, len, &at, ",\"ttls\":["))
        goto other;
    /* ttls: plain unsigned numbers of at most 5 digits, no leading zero. */
    while (at < len && text[at] != ']') {
        unsigned v = 0;
        size_t d = 0;
        if (nttls && !lit(text, len, &at, ","))
            goto other;
        while (at < len && text[at] >= '0' && text[at] <= '9' && d < 6) {
            v = v * 10 + (unsigned)(text[at++] - '0');
            d++;
        }
        if (d == 0 || d > 5 || (d > 1 && text[at - d] == '0') || nttls >= nids)
            goto other;
        out->ttls[nttls++] = v > 0xffff ? HS_OFFER_NO_TTL : v;
    }
    if (!lit(text, len, &at, "],\"lazy\":true}") || at != len)
        goto other;
    if (nttls != nids)
        for (size_t i = 0; i < nids; i++)
            out->ttls[i] = HS_OFFER_NO_TTL;
    out->count = nids;
    return 1;
other:
    hs_offer_free(out);
    return 0;
}

void hs_digest_text_free(hs_digest_text *d)
{
    free(d->a);
    free(d->b);
    json_decref(d->rest);
    memset(d, 0, sizeof *d);
}

int hs_digest_scan(const char *text, size_t len, size_t max, int answer, hs_digest_text *out)
{
    static const char *const keys[2][2] = {{"ids", "lazy"}, {"missing", "extra"}};
    size_t at = 0;
    char *rest;
    int got = 0;

    memset(out, 0, sizeof *out);
    if (!text)
        return 0;
    if (answer) {
        if (!lit(text, len, &at, "{\"missing\":") ||
            (got = ids_scan(text, len, &at, max, &out->a, &out->na)) != 1)
            return got == -1 ? -1 : 0;
        if (!lit(text, len, &at, ",\"extra\":") ||
            (got = ids_scan(text, len, &at, max, &out->b, &out->nb)) != 1)
            goto declined;
    } else {
        /* The sender's id is not read (the request header says who). */
        if (!lit(text, len, &at, "{\"node_id\":\""))
            return 0;
        at = plain_id(text, len, at);
        if (!lit(text, len, &at, "\",\"ids\":") ||
            (got = ids_scan(text, len, &at, max, &out->a, &out->na)) != 1)
            return got == -1 ? -1 : 0;
    }
    /* The rest, ",...}", as the object "{...}", by jansson's own rules
     * (hs_json_load: a key again replaces its value). A list read above
     * given again there, or "lazy" (an offer), goes the whole way round. */
    if (at >= len || text[at] != ',' || !(rest = malloc(len - at + 1))) {
        got = at < len && text[at] == ',' ? -1 : 0;
        goto done;
    }
    rest[0] = '{';
    memcpy(rest + 1, text + at + 1, len - at - 1);
    out->rest = hs_json_load(rest, len - at);
    free(rest);
    if (!json_is_object(out->rest) || json_object_get(out->rest, keys[answer][0]) ||
        json_object_get(out->rest, keys[answer][1]))
        goto declined;
    if (out->a)
        qsort(out->a, out->na, 32, cmp_id);
    if (out->b)
        qsort(out->b, out->nb, 32, cmp_id);
    return 1;
declined:
    got = got == -1 ? -1 : 0;
done:
    hs_digest_text_free(out);
    return got;
}
