/*
 * envelope.h -- the gossip envelope: parsing and validating one from the
 * wire, building one, and turning it back into JSON.
 *
 * Parsing is the trust boundary: after hs_envelope_parse() succeeds every
 * field has the right type and lies within its limits. A failed parse names
 * the first problem in a static string suitable for a 400 answer.
 */
#ifndef HS_ENVELOPE_H
#define HS_ENVELOPE_H

#include <stdint.h>

#include <jansson.h>

#include "hearsay.h"
#include "idlist.h"
#include "peers.h"
#include "seenhash.h"

/* A message type is any string the reference would take, within a byte
 * cap: 1..HS_TYPE_MAX bytes of UTF-8 without control characters (see
 * hs_envelope_valid_type). */
#define HS_TYPE_MAX 64
#define HS_MAX_HOPS 1024
#define HS_ENV_SIG_HEX 128

/* The public hs_message is the envelope itself. */
struct hs_message {
    char id[65];
    uint8_t bin[32];
    char type[HS_TYPE_MAX + 1];
    json_t *payload;         /* owned reference; NULL while only payload_raw is known */
    const char *payload_raw; /* scanned payload text (borrowed), or NULL */
    size_t payload_len;
    const char *ttl_raw; /* scanned: the ttl value's text (borrowed), or NULL */
    size_t ttl_len;
    const char *timestamp_raw; /* scanned: the timestamp's text (borrowed), or NULL */
    size_t timestamp_len;
    double timestamp;
    unsigned ttl;
    unsigned hops;
    char origin[HS_PEER_ID_MAX + 1]; /* "" when the envelope named none */
    hs_idlist seen_by;               /* owned; empty when absent */
    hs_seenhash seen_hash;           /* "seen_by_hash" (seenhash.h), owned; empty when absent */
    const char *sender;              /* borrowed; "" when unknown */
    /* hearsay's extension: the origin's Ed25519 signature of the message
     * (sign.h), 128 hex chars; "" when the envelope carries none. */
    char signature[HS_ENV_SIG_HEX + 1];
};
typedef struct hs_message hs_envelope;

typedef struct hs_envelope_limits {
    unsigned max_ttl;
    size_t max_seen_by;
} hs_envelope_limits;

/*
 * Validates `j` and fills env (a new reference to payload, a copy of
 * seen_by).
 * As the reference: message_id, message_type, payload, timestamp and ttl
 * are required; origin_peer (default "") and seen_by (default []) are not.
 * On failure returns HS_EPROTO (HS_ENOMEM when memory ran out) and points
 * *reason at a static text.
 */
hs_err hs_envelope_parse(const json_t *j, const hs_envelope_limits *lim, hs_envelope *env,
                         const char **reason);

/* The reference's id of a message: SHA-256 (hex) of Python's
 * json.dumps({"type", "payload", "timestamp", "node"}, sort_keys=True).
 * Borrows everything. HS_EINVAL for what JSON cannot hold (a timestamp
 * that is not finite, a string that is not UTF-8). */
hs_err hs_envelope_id(const char *type, const json_t *payload, double timestamp,
                      const char *node_id, char id[65]);

/* Builds a fresh envelope originated by `node_id`; borrows payload. */
hs_err hs_envelope_make(hs_envelope *env, const char *type, json_t *payload, double timestamp,
                        unsigned ttl, const char *node_id);

/* Releases what env holds. */
void hs_envelope_clear(hs_envelope *env);

/*
 * The fast path (envscan.c): validates the envelope object at text[*pos]
 * (leading whitespace allowed) without building a JSON tree, fills env and
 * moves *pos past it. The payload is left as text (env->payload_raw,
 * borrowing `text`) until hs_envelope_payload() asks for it. Returns 0, or
 * -1 when the text is invalid or outside the subset the scanner handles:
 * the caller then parses with jansson and hs_envelope_parse(), which give
 * the verdict and the reason. Never accepts what those would refuse.
 */
int hs_envelope_scan(const char *text, size_t len, size_t *pos, const hs_envelope_limits *lim,
                     hs_envelope *env);

/* env's payload, parsed from payload_raw on first use (borrowed; NULL only
 * when memory ran out). */
const json_t *hs_envelope_payload(hs_envelope *env);

/* Returns a new JSON object for the wire (borrows env). */
json_t *hs_envelope_to_json(const hs_envelope *env);

/*
 * The wire text of env (envwrite.c) with the given ttl and hops and a
 * seen_by of env's entries and then the n_more ids of `more` (valid node
 * ids, borrowed), the first `skip` of those left out, and a seen_by_hash
 * of hashes[0..n_hashes) (none when n_hashes is 0; env's own are not
 * written): compact JSON, keys in hs_envelope_to_json's order, the payload
 * and the timestamp as they came (payload_raw, timestamp_raw) when known.
 * Returns a new NUL-terminated string the caller frees, and its length in
 * *len; NULL when memory ran out.
 */
char *hs_envelope_write(const hs_envelope *env, size_t skip, const char *const *more, size_t n_more,
                        const uint32_t *hashes, size_t n_hashes, unsigned ttl, unsigned hops,
                        size_t *len);

/*
 * Valid message type: 1..HS_TYPE_MAX bytes of valid UTF-8 (jansson's rules:
 * no overlongs, surrogates or code points above U+10FFFF) holding no
 * control character (Unicode's Cc: U+0000-U+001F, U+007F-U+009F). The
 * reference takes any string; a type is logged and shown to operators, and
 * control characters are what terminals and log readers act on (ESC and
 * CSI sequences, CR/LF that forge a line, NUL that cuts a C string). Any
 * other text, quotes and backslashes included, is a type.
 */
int hs_envelope_valid_type(const char *type);

/* A signature as envelopes carry it: 128 lowercase hex chars. */
int hs_envelope_valid_signature(const char *s);

/* Bytes of the valid UTF-8 sequence at p (at most n bytes), or 0. The same
 * rules as jansson: no overlongs, no surrogates, nothing above U+10FFFF.
 * Shared by the scanner and hs_envelope_valid_type. */
static inline size_t hs_utf8_seq(const unsigned char *p, size_t n)
{
    unsigned c = p[0], v;
    size_t k;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        k = 2, v = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        k = 3, v = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
        k = 4, v = c & 0x07;
    else
        return 0;
    if (n < k)
        return 0;
    for (size_t j = 1; j < k; j++) {
        if ((p[j] & 0xC0) != 0x80)
            return 0;
        v = v << 6 | (p[j] & 0x3F);
    }
    if ((k == 3 && v < 0x800) || (k == 4 && v < 0x10000) || v > 0x10FFFF ||
        (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    return k;
}

/*
 * Raw envelope bytes. These scan JSON text that jansson has already
 * accepted (so they only need to be right on valid JSON) to find where each
 * value lies, so a received envelope can be kept as the bytes that arrived
 * instead of being serialised again. Cost: one pass over the bytes.
 */
typedef struct hs_slice {
    const char *p; /* borrowed */
    size_t len;
} hs_slice;

/* The value of `text`, without surrounding whitespace. Returns 0, or -1
 * when the text is not one value. */
int hs_json_trim(const char *text, size_t len, hs_slice *out);

/* Whitespace (JSON's four characters) from s[i]: the index past it.
 * Inline: the scanners call it between every two tokens. */
static inline size_t hs_json_ws(const char *s, size_t i, size_t len)
{
    while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
        i++;
    return i;
}

/* Walking a JSON array that is the whole of `text`, for scanners that do
 * not build it. hs_json_array_open: the array opening at text[*i] (after
 * whitespace); 1 with *i at its first element, 0 when it is [] and only
 * whitespace follows, -1 otherwise. hs_json_array_next, with *i just past
 * an element: 1 with *i at the next one, 0 when the array closes and only
 * whitespace follows, -1 otherwise. */
int hs_json_array_open(const char *text, size_t len, size_t *i);
int hs_json_array_next(const char *text, size_t len, size_t *i);

/* The n elements of the JSON array in `text`, in order. Returns 0, or -1
 * when the text is not an array of exactly n elements. */
int hs_json_split_array(const char *text, size_t len, hs_slice *out, size_t n);

/* A copy of the envelope object `raw` with its top-level "ttl" value
 * replaced by 0 (malloc'd, NUL-terminated, length in *out_len), or NULL
 * when raw has no plain "ttl" key or memory ran out. */
char *hs_envelope_raw_ttl0(const char *raw, size_t len, size_t *out_len);

/* A kept copy relayed one hop on: raw with its "ttl" value replaced by
 * ttl and its "hops" value, if it has one, by one more (malloc'd as
 * above; NULL as above). A lazy push sends the kept copy, which carries
 * the hops it came with to us. */
char *hs_envelope_raw_relay(const char *raw, size_t len, unsigned ttl, size_t *out_len);

/* The same when the ttl value's position is known: it lies at [ttl,
 * ttl + ttl_len) inside raw. */
char *hs_envelope_splice_ttl0(const char *raw, size_t len, const char *ttl, size_t ttl_len,
                              size_t *out_len);

/* Where that splice cuts: raw[0..*head) comes before the ttl's value,
 * raw[*rest..len) after it. -1 when [ttl, ttl + ttl_len) is not inside
 * raw. */
int hs_envelope_ttl_cut(const char *raw, size_t len, const char *ttl, size_t ttl_len, size_t *head,
                        size_t *rest);

#endif
