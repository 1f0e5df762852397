/*
 * fuzz_envelope.c -- the envelope's two parsers against each other, and
 * the raw-bytes helpers and the writer against jansson.
 *
 * The fast scanner (hs_envelope_scan, core/proto/envscan.c) may decline
 * anything, but whatever it accepts, jansson + hs_envelope_parse
 * (core/proto/envelope.c) must accept too, as the same envelope. The verdicts
 * themselves (which types, which fields are required) are the two
 * parsers' business: this target only compares them. Then, for every
 * envelope either path accepts: the kept copy with ttl 0 (splice and raw
 * search), a copy with another ttl, and the text hs_envelope_write makes
 * of it must read back as the same envelope. For arrays: the slices of
 * hs_json_split_array are jansson's elements, and an array that the
 * batch walk (hs_json_array_open/next + the scanner, as
 * hs_gossip_receive_text does) takes whole is one jansson takes, element
 * for element.
 */
#include <math.h>
#include <string.h>

#include "envelope.h"
#include "fuzz.h"

/* A small seen_by cap, so that its edge is reachable; written copies add
 * an id, so they are read back with room for it. */
static const hs_envelope_limits lim = {64, 8};
static const hs_envelope_limits lim_back = {64, 16};

#define MAX_ELEMS 64

static int same_json(const json_t *a, const json_t *b)
{
    return (!a && !b) || (a && b && json_equal(a, b));
}

static int same_hashes(const hs_seenhash *a, const hs_seenhash *b)
{
    return a->n == b->n && (a->n == 0 || memcmp(a->v, b->v, a->n * sizeof *a->v) == 0);
}

/* b is a jansson-parsed envelope; a's payload may still be text. */
static void check_same(hs_envelope *a, const hs_envelope *b, const char *what)
{
    FUZZ_CHECK(strcmp(a->id, b->id) == 0 && memcmp(a->bin, b->bin, 32) == 0, what);
    FUZZ_CHECK(strcmp(a->type, b->type) == 0, what);
    FUZZ_CHECK(a->ttl == b->ttl && a->hops == b->hops, what);
    FUZZ_CHECK(a->timestamp == b->timestamp, what);
    FUZZ_CHECK(strcmp(a->origin, b->origin) == 0, what);
    FUZZ_CHECK(hs_idlist_equal(&a->seen_by, &b->seen_by), what);
    FUZZ_CHECK(same_hashes(&a->seen_hash, &b->seen_hash), what);
    FUZZ_CHECK(same_json(hs_envelope_payload(a), b->payload), what);
}

/* Parses text as jansson does for POST /gossip, then as an envelope;
 * 0 with *env filled, or -1. */
static int parse_ref(const char *text, size_t len, const hs_envelope_limits *l, hs_envelope *env)
{
    const char *why;
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    int ok = j && hs_envelope_parse(j, l, env, &why) == HS_OK;

    json_decref(j);
    return ok ? 0 : -1;
}

/* The object in text[0..len) (one value) with its top-level ttl set. */
static json_t *with_ttl(const char *text, size_t len, json_int_t ttl)
{
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);

    if (j)
        json_object_set_new(j, "ttl", json_integer(ttl));
    return j;
}

/* text with that ttl and, where it has "hops", one more of them (the
 * last "hops" key's, as jansson keeps it; what is not a count below
 * HS_MAX_HOPS counts as HS_MAX_HOPS - 1: parsing refuses more). */
static json_t *relayed(const char *text, size_t len, json_int_t ttl)
{
    json_t *j = with_ttl(text, len, ttl), *h = j ? json_object_get(j, "hops") : NULL;

    if (h) {
        json_int_t v = json_is_integer(h) ? json_integer_value(h) : -1;
        if (v < 0 || v >= HS_MAX_HOPS)
            v = HS_MAX_HOPS - 1;
        json_object_set_new(j, "hops", json_integer(v + 1));
    }
    return j;
}

/* out (malloc'd, out_len bytes) must be the JSON of `want`. */
static void reads_as(char *out, size_t out_len, json_t *want, const char *what)
{
    FUZZ_CHECK(out && want, what);
    /* (Not strlen: jansson lets a raw NUL byte through after a number.) */
    FUZZ_CHECK(out[out_len] == '\0', "NUL-terminated at its length");
    json_t *got = json_loadb(out, out_len, JSON_REJECT_DUPLICATES, NULL);
    FUZZ_CHECK(got && json_equal(got, want), what);
    json_decref(got);
    json_decref(want);
    free(out);
}

/* What the writer makes of env (its seen_by plus our id, its seen_by_hash
 * plus our hash, the oldest of each left out past the cap, another ttl
 * and hop) reads back, through jansson and through the scanner if it
 * takes it, as env with those changes. */
static void check_write(hs_envelope *env)
{
    const char *self[1] = {"fuzz-self"};
    size_t n = env->seen_by.n, len, pos = 0, nh = env->seen_hash.n;
    uint32_t hashes[17];
    unsigned ttl = env->ttl ? env->ttl - 1 : 0;
    unsigned hops = env->hops < HS_MAX_HOPS ? env->hops + 1 : env->hops;

    (void)hs_envelope_payload(env); /* parsed in env, not in the copy below */
    /* Forwarded as gossip.c does: the ids it had, then ours, the oldest
     * dropped past the cap. */
    size_t skip = n + 1 > lim.max_seen_by ? n + 1 - lim.max_seen_by : 0;
    size_t hskip = nh + 1 > lim.max_seen_by ? nh + 1 - lim.max_seen_by : 0;
    FUZZ_CHECK(nh <= lim.max_seen_by, "a list within the cap");
    if (nh)
        memcpy(hashes, env->seen_hash.v, nh * sizeof *hashes);
    hashes[nh] = hs_seenhash_of(env->bin, self[0], 9);
    char *text =
        hs_envelope_write(env, skip, self, 1, hashes + hskip, nh + 1 - hskip, ttl, hops, &len);
    FUZZ_CHECK(text && strlen(text) == len, "the writer writes");

    hs_envelope want = *env, back, fast;
    want.seen_hash = (hs_seenhash){hashes + hskip, nh + 1 - hskip};
    /* (Its text has room for its ids.) */
    FUZZ_CHECK(hs_idlist_reserve(&want.seen_by, n + 1 - skip, env->seen_by.len + 9) == HS_OK,
               "room");
    for (size_t i = skip, l; i < n; i++) {
        const char *id = hs_idlist_get(&env->seen_by, i, &l);
        FUZZ_CHECK(hs_idlist_push(&want.seen_by, id, l) == 0, "a list's ids are ids");
    }
    FUZZ_CHECK(hs_idlist_push(&want.seen_by, self[0], 9) == 0, "fuzz-self is an id");
    want.ttl = ttl;
    want.hops = hops;
    FUZZ_CHECK(parse_ref(text, len, &lim_back, &back) == 0, "what the writer writes parses");
    check_same(&want, &back, "the written envelope reads back as itself");
    if (hs_envelope_scan(text, len, &pos, &lim_back, &fast) == 0) {
        check_same(&fast, &back, "the scanner reads the written envelope as jansson does");
        hs_envelope_clear(&fast);
    }
    hs_envelope_clear(&back);
    hs_idlist_free(&want.seen_by);
    free(text);
}

/* The raw-bytes helpers on an envelope object at text[0..end) (leading
 * whitespace allowed) that jansson accepts. ttl_raw: where the scanner
 * found the ttl value, or NULL. */
static void check_raw(const char *text, size_t end, const char *ttl_raw, size_t ttl_len)
{
    hs_slice one;
    size_t l0, l1, start = hs_json_ws(text, 0, end), stop = end;

    while (stop > start && strchr(" \t\r\n", text[stop - 1]))
        stop--;
    FUZZ_CHECK(hs_json_trim(text, end, &one) == 0 && one.p == text + start &&
                   one.len == stop - start,
               "trim finds the object");
    char *raw0 = hs_envelope_raw_ttl0(text, end, &l0);
    if (ttl_raw) {
        char *spliced = hs_envelope_splice_ttl0(text, end, ttl_raw, ttl_len, &l1);
        FUZZ_CHECK(spliced && raw0 && l0 == l1 && memcmp(spliced, raw0, l0) == 0,
                   "the ttl found by search is the ttl the scanner found");
        reads_as(spliced, l1, with_ttl(text, end, 0), "the spliced copy has ttl 0");
    }
    if (raw0)
        reads_as(raw0, l0, with_ttl(text, end, 0), "the kept copy has ttl 0");
    char *raw7 = hs_envelope_raw_relay(text, end, 7, &l1);
    if (raw7)
        reads_as(raw7, l1, relayed(text, end, 7), "the copy relayed with ttl 7, a hop on");
    else
        FUZZ_CHECK(!raw0, "raw_relay finds the ttl raw_ttl0 finds");
}

/* The batch walk of hs_gossip_receive_text: if it takes the text whole,
 * jansson takes the same array. */
static void check_batch_walk(const char *text, size_t len, const json_t *j)
{
    hs_envelope envs[MAX_ELEMS];
    size_t i = 0, count = 0;
    int more = hs_json_array_open(text, len, &i);

    while (more > 0 && count < MAX_ELEMS) {
        if (hs_envelope_scan(text, len, &i, &lim, &envs[count]) != 0)
            break;
        count++;
        more = hs_json_array_next(text, len, &i);
    }
    if (more == 0) {
        FUZZ_CHECK(json_is_array(j) && json_array_size(j) == count,
                   "a batch the scanner takes whole is an array to jansson");
        for (size_t k = 0; k < count; k++) {
            hs_envelope ref;
            const char *why;
            FUZZ_CHECK(hs_envelope_parse(json_array_get(j, k), &lim, &ref, &why) == HS_OK,
                       "each envelope of the batch is valid to jansson");
            check_same(&envs[k], &ref, "each envelope of the batch is jansson's");
            hs_envelope_clear(&ref);
        }
    }
    for (size_t k = 0; k < count; k++)
        hs_envelope_clear(&envs[k]);
}

/* Arrays jansson accepts split into its elements. */
static void check_split(const char *text, size_t len, const json_t *j)
{
    hs_slice sl[MAX_ELEMS];
    size_t n = json_array_size(j);

    if (!json_is_array(j) || n > MAX_ELEMS) {
        (void)hs_json_split_array(text, len, sl, MAX_ELEMS); /* in bounds, whatever it says */
        return;
    }
    FUZZ_CHECK(hs_json_split_array(text, len, sl, n) == 0, "an array splits");
    FUZZ_CHECK(n == 0 || hs_json_split_array(text, len, sl, n - 1) != 0, "the count must match");
    for (size_t k = 0; k < n; k++) {
        json_t *el = json_loadb(sl[k].p, sl[k].len, JSON_DECODE_ANY, NULL);
        FUZZ_CHECK(el && json_equal(el, json_array_get(j, k)), "a slice is its element");
        json_decref(el);
        hs_envelope env;
        const char *why;
        if (json_is_object(json_array_get(j, k)) &&
            hs_envelope_parse(json_array_get(j, k), &lim, &env, &why) == HS_OK) {
            check_raw(sl[k].p, sl[k].len, NULL, 0);
            hs_envelope_clear(&env);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    hs_envelope fast, ref;
    size_t pos = 0;
    hs_slice one;
    json_t *j = json_loadb(text, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);

    /* The fast path, on the object at the start of the text. */
    if (hs_envelope_scan(text, size, &pos, &lim, &fast) == 0) {
        FUZZ_CHECK(pos > 0 && pos <= size && text[pos - 1] == '}', "the scan ends the object");
        FUZZ_CHECK(parse_ref(text, pos, &lim, &ref) == 0, "jansson accepts what the scanner does");
        check_same(&fast, &ref, "the scanner's envelope is jansson's");
        FUZZ_CHECK(!fast.ttl_raw ||
                       (fast.ttl_raw >= text && fast.ttl_raw + fast.ttl_len <= text + pos),
                   "the ttl's text lies in the object");
        check_raw(text, pos, fast.ttl_raw, fast.ttl_len);
        check_write(&fast);
        check_write(&ref);
        hs_envelope_clear(&ref);
        hs_envelope_clear(&fast);
    }

    /* The jansson path, on the whole text. */
    if (json_is_object(j) && parse_ref(text, size, &lim, &ref) == 0) {
        check_raw(text, size, NULL, 0);
        check_write(&ref);
        hs_envelope_clear(&ref);
    }
    if (j) {
        FUZZ_CHECK(hs_json_trim(text, size, &one) == 0, "a value trims");
        json_t *back = json_loadb(one.p, one.len, JSON_DECODE_ANY, NULL);
        FUZZ_CHECK(back && json_equal(back, j), "the trimmed value is the value");
        json_decref(back);
    } else {
        (void)hs_json_trim(text, size, &one); /* in bounds, whatever it says */
    }
    check_split(text, size, j);
    check_batch_walk(text, size, j);
    json_decref(j);
    return 0;
}
