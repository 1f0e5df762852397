/*
 * test_envelope.c -- envelope validation: every field's type and bounds,
 * and ids of our own messages computed as the reference node does.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "envelope.h"
#include "hash.h"
#include "jsonout.h"

static const hs_envelope_limits lim = {64, 8};

static const char *good =
    "{\"message_id\":\""
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    "\","
    "\"message_type\":\"state_update\",\"payload\":{\"a\":1},\"timestamp\":1760000000.25,"
    "\"ttl\":10,\"origin_peer\":\"node-a\",\"seen_by\":[\"node-a\"]}";

static const char *parse_with(const char *key, const char *value_json)
{
    static char reason[128];
    json_t *j = json_loads(good, 0, NULL);
    hs_envelope env;
    const char *why = NULL;

    if (value_json) {
        json_t *v = json_loads(value_json, JSON_DECODE_ANY, NULL);
        json_object_set_new(j, key, v);
    } else {
        json_object_del(j, key);
    }
    if (hs_envelope_parse(j, &lim, &env, &why) == HS_OK) {
        hs_envelope_clear(&env);
        why = NULL;
    }
    json_decref(j);
    if (!why)
        return NULL;
    snprintf(reason, sizeof reason, "%s", why);
    return reason;
}

static void accepts_a_reference_envelope(void)
{
    json_t *j = json_loads(good, 0, NULL);
    hs_envelope env;
    const char *why;

    CHECK(hs_envelope_parse(j, &lim, &env, &why) == HS_OK);
    CHECK(env.ttl == 10);
    CHECK(env.hops == 1); /* inferred from a reference ttl of 10 */
    CHECK(strcmp(env.origin, "node-a") == 0);
    CHECK(strcmp(env.type, "state_update") == 0);
    json_t *back = hs_envelope_to_json(&env);
    CHECK(json_integer_value(json_object_get(back, "ttl")) == 10);
    json_decref(back);
    hs_envelope_clear(&env);
    json_decref(j);
}

static void refuses_each_bad_field(void)
{
    CHECK(parse_with("message_id", "42") != NULL);
    CHECK(parse_with("message_id", "\"abc\"") != NULL);
    CHECK(parse_with("message_id", NULL) != NULL);
    CHECK(parse_with("message_type", "\"\"") != NULL);
    CHECK(parse_with("message_type", "7") != NULL);
    CHECK(parse_with("payload", NULL) != NULL);
    CHECK(parse_with("timestamp", "\"now\"") != NULL);
    CHECK(parse_with("timestamp", "-1") != NULL);
    CHECK(parse_with("ttl", "-1") != NULL);
    CHECK(parse_with("ttl", "65") != NULL);
    CHECK(parse_with("ttl", "1.5") != NULL);
    CHECK(parse_with("ttl", "99999999999999999") != NULL);
    CHECK(parse_with("origin_peer", "7") != NULL);
    CHECK(parse_with("origin_peer", "null") != NULL);
    CHECK(parse_with("origin_peer", "\"has space\"") != NULL);
    CHECK(parse_with("seen_by", "\"x\"") != NULL);
    CHECK(parse_with("seen_by", "null") != NULL);
    CHECK(parse_with("seen_by", "[1]") != NULL);
    CHECK(parse_with("seen_by", "[\"\"]") != NULL);
    CHECK(parse_with("seen_by", "[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\"]") != NULL);
    CHECK(parse_with("hops", "-3") != NULL);
    const char *r = parse_with("ttl", "-1");
    CHECK(r && strstr(r, "ttl"));
    /* Unknown extra keys are ignored, as the reference ignores ours. */
    CHECK(parse_with("comment", "\"xyz\"") == NULL);
    /* Our signature, when there, is 128 lowercase hex chars. */
    CHECK(parse_with("signature", "\"xyz\"") != NULL);
    CHECK(parse_with("signature", "7") != NULL);
    CHECK(parse_with("signature",
                     "\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                     "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"") == NULL);
    CHECK(parse_with("payload", "null") == NULL);
}

static void ids_match_the_reference_formula(void)
{
    hs_envelope env;
    json_t *payload = json_pack("{s:i}", "x", 1);
    char want[65];
    /* Python: json.dumps({"type":..,"payload":..,"timestamp":..,"node":..}, sort_keys=True) */
    const char *py = "{\"node\": \"n1\", \"payload\": {\"x\": 1}, \"timestamp\": 1760000000.25, "
                     "\"type\": \"chat\"}";

    CHECK(hs_envelope_make(&env, "chat", payload, 1760000000.25, 10, "n1") == HS_OK);
    hs_hash_sha256_hex(py, strlen(py), want);
    CHECK(strcmp(env.id, want) == 0);
    hs_envelope_clear(&env);
    json_decref(payload);

    /* Ids computed by Python 3 (json.dumps(..., sort_keys=True), hashlib):
     * a timestamp %.17g would print longer than repr (1760000000.123),
     * non-ASCII text (lowercase \u escapes, a surrogate pair), and reals of
     * every shape repr has. */
    static const struct {
        const char *type, *payload;
        double ts;
        const char *node, *id;
    } py_ids[] = {
        {"chat", "{\"x\":1}", 1760000000.123, "n1",
         "e1e79e5747d6bc3ad600df073247e383b438209798deb9fe25f3ef461ca6cfdd"},
        {"caf\xc3\xa9 \xf0\x9f\x98\x80 \"q\"",
         "{\"t\":\"\xc3\xa9\\n\\\"\\\\\\u007f\\u0001/\",\"r\":1.1,\"\xc3\xa9k\":[1,2.5e-7,1e16,"
         "123456789012345678.0,-0.0,17.0,true,false,null,0.0001,0.00001,1e-300,"
         "1.7976931348623157e308],\"z\":{\"b\":1,\"a\":{}},\"e\":[]}",
         1796428229.3946652, "node-a",
         "eff5fc0dec5ef94959b1a2a126e7283d222fae6089111c647e786f83f5ab8fa9"},
        {"t", "null", 0.5, "x", "2677f541f1b5fb1bf7db67345cb96ca855fd6f3069ec12b64b5f551d0b4aa909"},
        {"t", "\"s\"", 1e16, "x",
         "0d49eb0e18d55be5afa9cd355a2f95861fd1c62dad305ee5b5d195b4415c3c63"},
    };
    for (size_t i = 0; i < sizeof py_ids / sizeof *py_ids; i++) {
        json_t *p = json_loads(py_ids[i].payload, JSON_DECODE_ANY, NULL);
        CHECK(p != NULL);
        CHECK(hs_envelope_make(&env, py_ids[i].type, p, py_ids[i].ts, 10, py_ids[i].node) == HS_OK);
        if (strcmp(env.id, py_ids[i].id) != 0)
            fprintf(stderr, "id %zu: %s, Python says %s\n", i, env.id, py_ids[i].id);
        CHECK(strcmp(env.id, py_ids[i].id) == 0);
        hs_envelope_clear(&env);
        json_decref(p);
    }
    char id[65];
    CHECK(hs_envelope_id("t", NULL, 1.0 / 0.0, "x", id) == HS_EINVAL);
}

/* ---- raw bytes: slices and the ttl-0 copy, checked against jansson ------- */

static const char *batch_text =
    " [ {\"message_id\":\"aa\", \"ttl\" : 12, "
    "\"payload\":{\"ttl\":3,\"s\":\"a\\\"]}\\\\\",\"l\":[1,"
    "{\"x\":[]}]}, "
    "\"seen_by\":[\"n\"]},\n{\"ttl\":0,\"payload\":null},{\"payload\":\"\\u00e9\",\"ttl\":-0,"
    "\"t\":1.5e3} ,{\"ttl\":7} ] ";

/* Whatever jansson accepts, the slices are its elements and the ttl-0 copy
 * is the element with ttl 0 (or NULL without a plain integer ttl). */
static int agrees_with_jansson(const char *text, size_t len)
{
    json_t *arr = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    size_t n;
    hs_slice sl[16];
    int ok = 1;

    if (!json_is_array(arr) || (n = json_array_size(arr)) > 16) {
        /* Refused by jansson: the scanners are never called on it, but
         * must still stay in bounds (ASan watches). */
        hs_slice one;
        (void)hs_json_split_array(text, len, sl, 16);
        (void)hs_json_trim(text, len, &one);
        size_t l;
        free(hs_envelope_raw_ttl0(text, len, &l));
        json_decref(arr);
        return 1;
    }
    if (hs_json_split_array(text, len, sl, n) != 0) {
        json_decref(arr);
        return 0;
    }
    for (size_t i = 0; i < n && ok; i++) {
        json_t *el = json_array_get(arr, i);
        json_t *back = json_loadb(sl[i].p, sl[i].len, JSON_DECODE_ANY, NULL);
        ok = back && json_equal(back, el);
        json_decref(back);
        size_t l0;
        char *t0 = hs_envelope_raw_ttl0(sl[i].p, sl[i].len, &l0);
        json_t *ttl = json_object_get(el, "ttl");
        if (t0) {
            json_t *want = json_deep_copy(el), *got = json_loadb(t0, l0, 0, NULL);
            json_object_set_new(want, "ttl", json_integer(0));
            ok = ok && json_is_integer(ttl) && strlen(t0) == l0 && got && json_equal(got, want);
            json_decref(want);
            json_decref(got);
            free(t0);
        } else {
            /* Only a missing or non-integer ttl may give NULL here (the
             * samples spell every key plainly). */
            ok = ok && !json_is_integer(ttl);
        }
    }
    json_decref(arr);
    return ok;
}

static void raw_slices_match_jansson(void)
{
    size_t len = strlen(batch_text);
    char buf[512];
    static const char subst[] = "\"\\{}[],: 0a";
    int bad = 0;

    CHECK(agrees_with_jansson(batch_text, len));
    /* Every truncation, and every byte replaced by each of a few
     * structural characters: thousands of near-valid inputs. */
    for (size_t cut = 0; cut <= len; cut++) {
        memcpy(buf, batch_text, cut);
        bad += !agrees_with_jansson(buf, cut);
    }
    for (size_t i = 0; i < len; i++) {
        for (const char *c = subst; *c; c++) {
            memcpy(buf, batch_text, len);
            buf[i] = *c;
            bad += !agrees_with_jansson(buf, len);
        }
    }
    CHECK(bad == 0);

    hs_slice sl[2], one;
    CHECK(hs_json_split_array("[]", 2, sl, 0) == 0);
    CHECK(hs_json_split_array("[1,2]", 5, sl, 1) == -1); /* count must match */
    CHECK(hs_json_split_array("{}", 2, sl, 1) == -1);
    const char *sp = "  {\"a\":1}\n";
    CHECK(hs_json_trim(sp, strlen(sp), &one) == 0 && one.len == 7 && one.p[0] == '{');
    CHECK(hs_json_trim("{} x", 4, &one) == -1);
    size_t l;
    const char *two = "{\"ttl\":12345,\"a\":{\"ttl\":5}}";
    char *t = hs_envelope_raw_ttl0(two, strlen(two), &l);
    CHECK(t && strcmp(t, "{\"ttl\":0,\"a\":{\"ttl\":5}}") == 0 && l == strlen(t));
    free(t);
    /* Two plain "ttl" keys: refuse rather than guess. */
    const char *dup = "{\"ttl\":1,\"ttl\":2}";
    CHECK(hs_envelope_raw_ttl0(dup, strlen(dup), &l) == NULL);
    /* An escaped spelling is not recognised: the caller serialises. */
    const char *esc = "{\"t\\u0074l\":1}";
    CHECK(hs_envelope_raw_ttl0(esc, strlen(esc), &l) == NULL);
}

/* ---- the fast scanner (envscan.c) against jansson + hs_envelope_parse ------ */

static const char *scan_bases[] = {
    "{\"message_id\":\"0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789abcdef\","
    "\"message_type\":\"chat\",\"payload\":{\"text\":\"h\\t \\\"q\\\" caf\xc3\xa9\","
    "\"n\":[1,-0,2.5e-3,true,false,null,{}],\"o\":{\"a\":{\"b\":[]}}},\"timestamp\":1760000000.25,"
    "\"ttl\":3,\"origin_peer\":\"node-a\",\"seen_by\":[\"node-a\",\"node-b\"],\"hops\":2}",
    " { \"ttl\" : 0 , \"seen_by\" : [ ] , \"payload\" : null , \"origin_peer\" : \"o\" ,"
    " \"timestamp\" : 17 , \"message_type\" : \"a.b:c-d_e\" , \"x\" : [\"\\n\"] ,"
    " \"message_id\" : \"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\" } ",
    "{\"message_id\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
    "\"message_type\":\"t\",\"payload\":\"s\",\"timestamp\":0.5,\"ttl\":64,\"origin_peer\":\"p\","
    "\"seen_by\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\"]}",
    /* Long strings: escapes and UTF-8 on both sides of 8-byte steps, an
     * escaped quote at a step's end, and one at the end of the string. */
    "{\"message_id\":\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\","
    "\"message_type\":\"t\",\"payload\":{\"long text here\":\"abcdefg\\\"hijklmnopqrs\\\\tuvwxyz"
    "0123456 caf\xc3\xa9 \xe2\x82\xac 89abcdefghijklmn\\/opqrstuvwxyz\\\"\"},\"timestamp\":1,"
    "\"ttl\":1,\"origin_peer\":\"a-rather-long-origin-name\",\"seen_by\":[]}",
    /* As a reference may send it: any text for a type, no origin_peer or
     * seen_by (or an empty origin, as it relays one it never had). */
    "{\"message_id\":\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\","
    "\"message_type\":\"a b/c caf\xc3\xa9 \xe2\x82\xac*{x}\",\"payload\":[1,\"t\"],"
    "\"timestamp\":1760000000.5,\"ttl\":9}",
    ("{\"ttl\":3,\"message_type\":\"\xc2\xa0\",\"payload\":{},\"origin_peer\":\"\",\"timestamp\":2,"
     "\"message_id\":\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"}"),
};

/* Whether env written by hs_envelope_write (seen_by + "me", ttl 0, one hop
 * more) reads back equal to `as`'s jansson tree with the same changes. */
static int writes_as_jansson(const hs_envelope *env, const hs_envelope *as)
{
    const char *me[1] = {"me"};
    size_t len;
    hs_envelope out = *as;
    json_t *want, *got;
    char *text;
    int same;

    text = hs_envelope_write(env, 0, me, 1, NULL, 0, 0, env->hops + 1, &len);
    out.ttl = 0;
    out.hops = as->hops + 1;
    want = hs_envelope_to_json(&out);
    json_array_append_new(json_object_get(want, "seen_by"), json_string("me"));
    got = text ? json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
    /* A timestamp goes as it came: an integer reads back as one. */
    if (got)
        json_object_set_new(got, "timestamp",
                            json_real(json_number_value(json_object_get(got, "timestamp"))));
    same = got && want && json_equal(got, want) && strlen(text) == len;
    json_decref(got);
    json_decref(want);
    free(text);
    return same;
}

/* Returns 0 when the scanner and the reference agree on text (or the
 * scanner declined), 1 when the scanner accepted something wrong. Sets
 * *accepted. */
static int scan_disagrees(const char *text, size_t len, int *accepted)
{
    hs_envelope fast, ref;
    size_t pos = 0;
    const char *why;
    int bad = 0;
    json_t *j;

    *accepted = hs_envelope_scan(text, len, &pos, &lim, &fast) == 0;
    if (!*accepted)
        return 0;
    while (pos < len && strchr(" \t\r\n", text[pos]))
        pos++;
    if (pos != len) { /* trailing garbage: the caller declines it */
        hs_envelope_clear(&fast);
        *accepted = 0;
        return 0;
    }
    j = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    if (!j || hs_envelope_parse(j, &lim, &ref, &why) != HS_OK) {
        fprintf(stderr, "scanner accepted what jansson refuses: %.*s\n", (int)len, text);
        hs_envelope_clear(&fast);
        json_decref(j);
        return 1;
    }
    const json_t *payload = hs_envelope_payload(&fast);
    bad = strcmp(fast.id, ref.id) != 0 || memcmp(fast.bin, ref.bin, 32) != 0 ||
          strcmp(fast.type, ref.type) != 0 || fast.timestamp != ref.timestamp ||
          fast.ttl != ref.ttl || fast.hops != ref.hops || strcmp(fast.origin, ref.origin) != 0 ||
          !hs_idlist_equal(&fast.seen_by, &ref.seen_by) || !payload ||
          !json_equal(payload, ref.payload);
    /* The kept copy: the same bytes with ttl 0, cut where the splice
     * cuts (the cache keeps it from the parts: antientropy.c). */
    size_t l0, head = 0, rest = 0;
    char *t0 = hs_envelope_splice_ttl0(text, len, fast.ttl_raw, fast.ttl_len, &l0);
    bad = bad || hs_envelope_ttl_cut(text, len, fast.ttl_raw, fast.ttl_len, &head, &rest) != 0 ||
          !t0 || l0 != head + 1 + (len - rest) || memcmp(t0, text, head) != 0 || t0[head] != '0' ||
          memcmp(t0 + head + 1, text + rest, len - rest) != 0;
    bad = bad || hs_envelope_ttl_cut(text, len, text + len, 1, &head, &rest) == 0 ||
          (len > 0 && hs_envelope_ttl_cut(text, len, text + len - 1, 2, &head, &rest) == 0);
    json_t *back = t0 ? json_loadb(t0, l0, JSON_REJECT_DUPLICATES, NULL) : NULL;
    json_object_set_new(j, "ttl", json_integer(0));
    bad = bad || !back || !json_equal(back, j);
    json_decref(back);
    free(t0);
    /* Forwarded: written with the raw payload, it reads back as jansson's
     * tree of the same envelope. */
    bad = bad || !writes_as_jansson(&fast, &ref);
    if (bad)
        fprintf(stderr, "scanner and jansson disagree on: %.*s\n", (int)len, text);
    hs_envelope_clear(&fast);
    hs_envelope_clear(&ref);
    json_decref(j);
    return bad;
}

static void scanner_agrees_with_jansson(void)
{
    static const char subst[] = "\"\\{}[],: 0159-+.eEtnul\t\x01\x7f\x80\xc3\xa9\xed\xf4\xff";
    char buf[1024];
    int bad = 0, acc, variants = 0, accepted = 0;

    for (size_t b = 0; b < sizeof scan_bases / sizeof *scan_bases; b++) {
        const char *base = scan_bases[b];
        size_t len = strlen(base);
        bad += scan_disagrees(base, len, &acc);
        CHECK(acc); /* every base is in the scanner's subset */
        for (size_t cut = 0; cut < len; cut++) {
            memcpy(buf, base, cut);
            bad += scan_disagrees(buf, cut, &acc);
            variants++, accepted += acc;
        }
        for (size_t i = 0; i < len; i++) {
            /* replace byte i; delete it; double it */
            for (size_t k = 0; k < sizeof subst - 1; k++) {
                memcpy(buf, base, len);
                buf[i] = subst[k];
                bad += scan_disagrees(buf, len, &acc);
                variants++, accepted += acc;
            }
            memcpy(buf, base, i);
            memcpy(buf + i, base + i + 1, len - i - 1);
            bad += scan_disagrees(buf, len - 1, &acc);
            memcpy(buf, base, i + 1);
            memcpy(buf + i + 1, base + i, len - i);
            bad += scan_disagrees(buf, len + 1, &acc);
            variants += 2;
        }
    }
    CHECK(bad == 0);
    /* Many mutants stay valid (a digit for a digit, a letter in a string):
     * the scanner must have taken its share of them. */
    CHECK(accepted > variants / 20);
    printf("scanner: %d variants, %d accepted, %d wrong\n", variants, accepted, bad);

    /* What it declines, the jansson path judges. */
    hs_envelope env;
    size_t pos = 0;
    const char *dup =
        "{\"message_id\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
        "\"message_type\":\"t\",\"payload\":{\"a\":1,\"a\":2},\"timestamp\":1,\"ttl\":1,"
        "\"origin_peer\":\"p\",\"seen_by\":[]}";
    CHECK(hs_envelope_scan(dup, strlen(dup), &pos, &lim, &env) == -1);
    /* An envelope field twice, and another key twice, at the top level. */
    const char *dup_field =
        "{\"message_id\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
        "\"message_type\":\"t\",\"payload\":1,\"timestamp\":1,\"ttl\":1,\"ttl\":2,"
        "\"origin_peer\":\"p\",\"seen_by\":[]}";
    const char *dup_other =
        "{\"message_id\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
        "\"message_type\":\"t\",\"payload\":1,\"x\":1,\"timestamp\":1,\"ttl\":1,\"x\":1,"
        "\"origin_peer\":\"p\",\"seen_by\":[]}";
    pos = 0;
    CHECK(hs_envelope_scan(dup_field, strlen(dup_field), &pos, &lim, &env) == -1);
    pos = 0;
    CHECK(hs_envelope_scan(dup_other, strlen(dup_other), &pos, &lim, &env) == -1);
}

static void ids_parse_in_either_case(void)
{
    const char *lower = "00ff0123456789abcdefabcdef0123456789abcdef0123456789abcdef01234f";
    char upper[65], canon[65];
    uint8_t bin[32], bin2[32];

    for (int i = 0; i < 65; i++)
        upper[i] = (char)(lower[i] >= 'a' && lower[i] <= 'f' ? lower[i] - 32 : lower[i]);
    CHECK(hs_hash_parse_id(lower, bin, canon) == HS_OK && strcmp(canon, lower) == 0);
    CHECK(bin[0] == 0x00 && bin[1] == 0xff && bin[31] == 0x4f);
    CHECK(hs_hash_parse_id(upper, bin2, canon) == HS_OK && strcmp(canon, lower) == 0);
    CHECK(memcmp(bin, bin2, 32) == 0);
    CHECK(hs_hash_from_hex(upper, bin2) == HS_OK && memcmp(bin, bin2, 32) == 0);
    upper[10] = 'g';
    CHECK(hs_hash_parse_id(upper, bin2, canon) == HS_EINVAL);
    upper[10] = '\0'; /* too short */
    CHECK(hs_hash_from_hex(upper, bin2) == HS_EINVAL);
    CHECK(hs_hash_from_hex("", bin2) == HS_EINVAL);
}

/* Every byte value at every place of an id: hash.c reads ids 8 digits
 * at a time in a word, and must take and refuse exactly what a digit by
 * digit reading does, and see upper case wherever it is. */
static int ref_digit(unsigned char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

static void ids_are_read_as_digit_by_digit(void)
{
    const char *base = "0123456789abcdefABCDEF0123456789abcdefABCDEF0123456789abcdef0aF9";
    char hex[65], canon[65];
    uint8_t bin[32];
    size_t bad = 0;

    for (size_t at = 0; at < 64; at++)
        for (unsigned c = 1; c < 256; c++) {
            uint8_t want[32];
            int ok = 1, upper = 0;
            memcpy(hex, base, 65);
            hex[at] = (char)c;
            for (size_t i = 0; i < 64; i++) {
                int d = ref_digit((unsigned char)hex[i]);
                if (d < 0)
                    ok = 0;
                else if (i % 2 == 0)
                    want[i / 2] = (uint8_t)(d << 4);
                else
                    want[i / 2] |= (uint8_t)d;
                upper |= hex[i] >= 'A' && hex[i] <= 'F';
            }
            hs_err err = hs_hash_parse_id(hex, bin, canon);
            if (ok ? err != HS_OK || memcmp(bin, want, 32) != 0 : err != HS_EINVAL)
                bad++;
            /* canon is copied only when nothing was upper case */
            if (ok && !upper && strcmp(canon, hex) != 0)
                bad++;
            if (ok && upper && strcmp(canon, hex) == 0)
                bad++;
        }
    CHECK(bad == 0);
}

/* Eight lowercase hex digits as one number (seen_by_hash's names): every
 * byte value at every place, against digit by digit. */
static void hex8_is_read_as_digit_by_digit(void)
{
    const char *base = "0a9f3c7e";
    size_t bad = 0;

    for (size_t at = 0; at < 8; at++)
        for (unsigned c = 0; c < 256; c++) {
            char hex[9];
            uint32_t want = 0, got = 0;
            int ok = 1;
            memcpy(hex, base, 9);
            hex[at] = (char)c;
            for (size_t i = 0; i < 8; i++) {
                int d = ref_digit((unsigned char)hex[i]);
                if (d < 0 || (hex[i] >= 'A' && hex[i] <= 'F'))
                    ok = 0;
                else
                    want = want << 4 | (uint32_t)d;
            }
            int r = hs_hash_hex8(hex, &got);
            bad += ok ? r != 0 || got != want : r != -1;
        }
    CHECK(bad == 0);
    uint32_t v = 0;
    CHECK(hs_hash_hex8("ffffffff", &v) == 0 && v == 0xffffffffu);
    CHECK(hs_hash_hex8("00000001", &v) == 0 && v == 1);
}

/* jsonout.h writes reals as jansson does; most (1e-4 to 1e15) by its own
 * exact 17 digits instead of printf. Against jansson's own text, on
 * random bit patterns, decimals, timestamps, powers of two and ten and
 * their neighbours, in both signs. */
static int real_as_jansson(double v)
{
    hs_jsonout o = {0};
    json_t *j = json_real(v);
    char *want = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL, *got;
    size_t len;
    int same;

    hs_jsonout_real(&o, v);
    got = hs_jsonout_finish(&o, &len);
    same = want && got && strcmp(want, got) == 0;
    if (!same)
        fprintf(stderr, "real %.17g: jansson %s, jsonout %s\n", v, want ? want : "-",
                got ? got : "-");
    free(want);
    free(got);
    json_decref(j);
    return same;
}

static void reals_are_written_as_jansson_does(void)
{
    uint64_t x = 0x9e3779b97f4a7c15u;
    size_t bad = 0, n = 0;

    for (int i = 0; i < 200000; i++, n++) {
        double v;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        /* a random mantissa, an exponent from 2^-20 to 2^55 */
        uint64_t bits = (x & 0x000fffffffffffffu) | (uint64_t)(1023 - 20 + (x >> 52) % 76) << 52;
        memcpy(&v, &bits, sizeof v);
        bad += !real_as_jansson(i % 2 ? v : -v);
    }
    for (long k = 0; k < 100000; k++, n += 3) {
        bad += !real_as_jansson((double)k / 1000);
        bad += !real_as_jansson(1733500000.0 + (double)k * 0.001);
        bad += !real_as_jansson((double)k * 1e-7);
    }
    /* Ties at the 18th digit, rounded half to even as printf does: 15
     * digits and an odd eighth (..25 or ..75 after two more). */
    for (long k = 0; k < 2000; k++)
        for (int j = 1; j < 8; j += 2, n++)
            bad += !real_as_jansson(123456789012345.0 + (double)k * 7 + j / 8.0);
    for (int e = -30; e <= 60; e++) {
        double p2 = ldexp(1.0, e), p10 = pow(10, e / 2);
        double vs[] = {p2,
                       nextafter(p2, 0),
                       nextafter(p2, INFINITY),
                       p10,
                       nextafter(p10, 0),
                       nextafter(p10, INFINITY),
                       9.999999999999999 * p10,
                       0.5 * p10};
        for (size_t i = 0; i < sizeof vs / sizeof *vs; i++, n += 2)
            bad += !real_as_jansson(vs[i]) + !real_as_jansson(-vs[i]);
    }
    bad += !real_as_jansson(0.0) + !real_as_jansson(-0.0) + !real_as_jansson(1e300);
    CHECK(bad == 0);
    printf("reals: %zu written as jansson writes them\n", n);
}

static void arrays_are_walked_and_split(void)
{
    hs_slice part[2];
    size_t i = 0;
    const char *t = " [ 1 , {\"a\":[2]} ] \n";

    CHECK(hs_json_split_array(t, strlen(t), part, 2) == 0);
    CHECK(part[0].len == 1 && part[1].len == 9 && memcmp(part[1].p, "{\"a\":[2]}", 9) == 0);
    CHECK(hs_json_split_array(t, strlen(t), part, 1) == -1); /* not exactly n */
    CHECK(hs_json_split_array("[1,2] x", 7, part, 2) == -1);
    CHECK(hs_json_split_array("[1,]", 4, part, 2) == -1);
    CHECK(hs_json_split_array(" [ ] ", 5, part, 0) == 0);
    CHECK(hs_json_split_array("[] x", 4, part, 0) == -1);
    CHECK(hs_json_array_open("{}", 2, &i) == -1);
    i = 0;
    CHECK(hs_json_array_open(" [ 7 ]", 6, &i) == 1 && i == 3);
    i = 4;
    CHECK(hs_json_array_next(" [ 7 ]", 6, &i) == 0);
    i = 2;
    CHECK(hs_json_array_next("[1 , 2]", 7, &i) == 1 && i == 5);
    i = 2;
    CHECK(hs_json_array_next("[1 2]", 5, &i) == -1);
}

/* The scanner reads a timestamp as strtod does, bit for bit: whole-number
 * and fraction digits of every length around its exact path's limit of 15
 * digits, and exponents (a seeded generator: the same numbers every run). */
static void timestamps_read_as_strtod_reads_them(void)
{
    char num[64], text[256];
    unsigned long long x = 88172645463325252ull;
    int wrong = 0, scanned = 0;

    for (int k = 0; k < 20000; k++) {
        size_t n = 0, digits;
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        digits = 2 + x % 19; /* 2..20 digits */
        size_t dot = 1 + (x >> 8) % (digits - 1);
        for (size_t d = 0; d < digits; d++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            if (d == dot)
                num[n++] = '.';
            num[n++] = (char)('0' + (d == 0 ? 1 + x % 9 : x % 10));
        }
        if (k % 10 == 0)
            n += (size_t)snprintf(num + n, sizeof num - n, "e%d", (int)((x >> 20) % 7) - 3);
        num[n] = '\0';
        snprintf(text, sizeof text,
                 "{\"message_id\":\"%064d\",\"message_type\":\"t\",\"payload\":1,"
                 "\"timestamp\":%s,\"ttl\":1,\"origin_peer\":\"p\",\"seen_by\":[]}",
                 0, num);
        hs_envelope env;
        size_t pos = 0;
        if (hs_envelope_scan(text, strlen(text), &pos, &lim, &env) != 0)
            continue; /* too big a number: declined, jansson judges it */
        scanned++;
        if (env.timestamp != strtod(num, NULL)) {
            if (wrong++ < 5)
                fprintf(stderr, "timestamp %s read as %.17g\n", num, env.timestamp);
        }
        hs_envelope_clear(&env);
    }
    CHECK(wrong == 0);
    CHECK(scanned > 15000);
}

/* Without raw text (a broadcast, the jansson path) the writer's bytes are
 * jansson's: strings escaped the same way, reals printed the same way. */
static void writes_what_jansson_dumps(void)
{
    static const char *odd[] = {
        "plain",  "q\"uote", "back\\slash", "ctl\x01\x1f\t\n\r\b\f", "caf\xc3\xa9 \xe2\x82\xac",
        "sl/ash", ""};
    static const double stamps[] = {1760000000.25, 1760000000.123456789, 17,   0.5, 1e20,
                                    1.5e-7,        123456789012345678.0, 1e300};
    const size_t nodd = sizeof odd / sizeof *odd;
    int bad = 0;

    for (size_t t = 0; t < sizeof stamps / sizeof *stamps; t++) {
        for (size_t o = 0; o < nodd; o++) {
            hs_envelope env;
            json_t *payload = json_pack("{s:s, s:[i, f, b, n]}", "text", odd[o], "n", 7, 2.5, 1);
            json_t *j;
            char *text, *want;
            size_t len;

            CHECK(hs_envelope_make(&env, "chat", payload, stamps[t], 5, "node-a") == HS_OK);
            snprintf(env.origin, sizeof env.origin, "%s", odd[(o + 1) % nodd]);
            /* seen_by holds node ids only (no escapes): some received, one
             * added. */
            static const char *ids[] = {"node-b", "n/c", "x~y{z}", "me"};
            CHECK(hs_idlist_reserve(&env.seen_by, 3, 15) == HS_OK);
            for (size_t k = 0; k < 3; k++)
                CHECK(hs_idlist_push(&env.seen_by, ids[k], strlen(ids[k])) == 0);
            env.hops = (unsigned)o * 100;
            text = hs_envelope_write(&env, 0, ids + 3, 1, NULL, 0, 4, env.hops, &len);
            j = hs_envelope_to_json(&env);
            json_array_append_new(json_object_get(j, "seen_by"), json_string("me"));
            json_object_set_new(j, "ttl", json_integer(4));
            want = json_dumps(j, JSON_COMPACT);
            if (!text || !want || strcmp(text, want) != 0 || len != strlen(want)) {
                fprintf(stderr, "writer: %s\njansson: %s\n", text ? text : "(null)", want);
                bad++;
            }
            free(text);
            free(want);
            json_decref(j);
            json_decref(payload);
            hs_envelope_clear(&env);
        }
    }
    CHECK(bad == 0);
}

/* ---- what the reference accepts: any type, no origin_peer or seen_by ------- */

/* An envelope with message_type set to the JSON text type_json, and with
 * origin_peer and seen_by, or (bare) without them. */
static void envelope_text(char *buf, size_t cap, const char *type_json, int bare)
{
    snprintf(buf, cap,
             "{\"message_id\":\"%064d\",\"message_type\":%s,\"payload\":{\"a\":1},"
             "\"timestamp\":1760000000.25,\"ttl\":10%s}",
             0, type_json, bare ? "" : ",\"origin_peer\":\"node-a\",\"seen_by\":[\"node-a\"]");
}

/* jansson + hs_envelope_parse: 1 and env filled (the caller clears it), or 0. */
static int jansson_takes(const char *text, hs_envelope *env)
{
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    const char *why;
    int ok = j && hs_envelope_parse(j, &lim, env, &why) == HS_OK;

    json_decref(j);
    return ok;
}

static int scanner_takes(const char *text, hs_envelope *env)
{
    size_t pos = 0;

    return hs_envelope_scan(text, strlen(text), &pos, &lim, env) == 0;
}

/* env written for forwarding reads back with the same message_type. */
static int type_survives_writing(const hs_envelope *env)
{
    const char *ids[1] = {"me"};
    size_t len;
    char *text = hs_envelope_write(env, 0, ids, 1, NULL, 0, 0, 1, &len);
    json_t *back = text ? json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
    const char *t = json_string_value(json_object_get(back, "message_type"));
    int ok = t && strcmp(t, env->type) == 0;

    json_decref(back);
    free(text);
    return ok;
}

static void takes_any_type_and_defaults_origin_and_seen_by(void)
{
    /* Types the scanner reads itself (no escapes), and both paths take. */
    static const char *plain[] = {
        "has space",
        "a/b",
        "caf\xc3\xa9",
        "\xe6\x97\xa5\xe6\x9c\xac",
        "\xc2\xa0 (U+00A0)",
        "*",
        "{not: json}",
        "0123456789012345678901234567890123456789012345678901234567890123",
        "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
        "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
        "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
    };
    /* Types with escapes: the jansson path; the JSON text and the type. */
    static const char *escaped[][2] = {
        {"\"q\\\"uote\"", "q\"uote"},
        {"\"back\\\\slash\"", "back\\slash"},
        {"\"caf\\u00e9\"", "caf\xc3\xa9"},
        {"\"sl\\/ash\"", "sl/ash"},
    };
    /* Refused both ways: empty, over 64 bytes, control characters (C0,
     * DEL, C1; escaped or raw), invalid UTF-8, not a string. */
    static const char *refused[] = {
        "\"\"",
        "\"01234567890123456789012345678901234567890123456789012345678901234\"",
        "\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
        "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
        "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9x\"",
        "\"\\u0001\"",
        "\"\\u001b[31mred\"",
        "\"a\\nb\"",
        "\"\\t\"",
        "\"\\u007f\"",
        "\"a\x7f\"",
        "\"\\u0085\"",
        "\"a\xc2\x85\"",
        "\"\\u009b2J\"",
        "\"\xc2\x9b\"",
        "\"\\u0000\"",
        "\"\xff\"",
        "\"\xc3\"",
        "\"\xed\xa0\x80\"",
        "null",
        "[\"chat\"]",
    };
    char text[512], json[160];
    hs_envelope fast, ref;
    int bad = 0;

    for (size_t i = 0; i < sizeof plain / sizeof *plain; i++) {
        for (int bare = 0; bare < 2; bare++) {
            snprintf(json, sizeof json, "\"%s\"", plain[i]);
            envelope_text(text, sizeof text, json, bare);
            int f = scanner_takes(text, &fast), r = jansson_takes(text, &ref);
            int ok = f && r && strcmp(fast.type, plain[i]) == 0 &&
                     strcmp(ref.type, plain[i]) == 0 &&
                     strcmp(fast.origin, bare ? "" : "node-a") == 0 &&
                     strcmp(ref.origin, fast.origin) == 0 && fast.seen_by.n == (bare ? 0u : 1u) &&
                     hs_idlist_equal(&fast.seen_by, &ref.seen_by) && type_survives_writing(&fast) &&
                     type_survives_writing(&ref);
            if (!ok) {
                fprintf(stderr, "not taken alike (scanner %d, jansson %d): %s\n", f, r, text);
                bad++;
            }
            if (f)
                hs_envelope_clear(&fast);
            if (r)
                hs_envelope_clear(&ref);
        }
    }
    for (size_t i = 0; i < sizeof escaped / sizeof *escaped; i++) {
        envelope_text(text, sizeof text, escaped[i][0], 1);
        int f = scanner_takes(text, &fast), r = jansson_takes(text, &ref);
        if (f || !r || strcmp(ref.type, escaped[i][1]) != 0 || strcmp(ref.origin, "") != 0 ||
            !type_survives_writing(&ref)) {
            fprintf(stderr, "escaped type (scanner %d, jansson %d): %s\n", f, r, text);
            bad++;
        }
        if (f)
            hs_envelope_clear(&fast);
        if (r)
            hs_envelope_clear(&ref);
    }
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        envelope_text(text, sizeof text, refused[i], i % 2);
        int f = scanner_takes(text, &fast), r = jansson_takes(text, &ref);
        if (f || r) {
            fprintf(stderr, "taken (scanner %d, jansson %d): %s\n", f, r, text);
            bad++;
        }
        if (f)
            hs_envelope_clear(&fast);
        if (r)
            hs_envelope_clear(&ref);
    }
    CHECK(bad == 0);

    /* A type jansson holds with a NUL inside (JSON_ALLOW_NUL) or invalid
     * UTF-8 (json_stringn_nocheck) is refused too. */
    const char *why;
    json_t *j = json_loads(good, 0, NULL);
    json_object_set_new(j, "message_type", json_stringn("a\0b", 3));
    CHECK(hs_envelope_parse(j, &lim, &ref, &why) == HS_EPROTO && strstr(why, "message_type"));
    json_object_set_new(j, "message_type", json_stringn_nocheck("\xff", 1));
    CHECK(hs_envelope_parse(j, &lim, &ref, &why) == HS_EPROTO);
    /* An origin_peer of "" (a reference relays that for an envelope that
     * had none) is taken; absent, it is "" and seen_by []. */
    json_object_set_new(j, "message_type", json_string("chat"));
    json_object_set_new(j, "origin_peer", json_string(""));
    CHECK(hs_envelope_parse(j, &lim, &ref, &why) == HS_OK && ref.origin[0] == '\0');
    hs_envelope_clear(&ref);
    json_object_del(j, "origin_peer");
    json_object_del(j, "seen_by");
    CHECK(hs_envelope_parse(j, &lim, &ref, &why) == HS_OK && ref.origin[0] == '\0' &&
          ref.seen_by.n == 0);
    /* Its wire form says so: "origin_peer":"" and "seen_by":[]. */
    json_t *back = hs_envelope_to_json(&ref);
    CHECK(back && strcmp(json_string_value(json_object_get(back, "origin_peer")), "") == 0 &&
          json_array_size(json_object_get(back, "seen_by")) == 0);
    json_decref(back);
    hs_envelope_clear(&ref);
    json_decref(j);

    /* Our own messages take the same types. */
    json_t *payload = json_object();
    CHECK(hs_envelope_make(&ref, "a \"quoted\" type/\xc3\xa9", payload, 1, 1, "n1") == HS_OK);
    CHECK(type_survives_writing(&ref));
    hs_envelope_clear(&ref);
    CHECK(hs_envelope_make(&ref, "", payload, 1, 1, "n1") == HS_EINVAL);
    CHECK(hs_envelope_make(&ref, "bell\a", payload, 1, 1, "n1") == HS_EINVAL);
    json_decref(payload);
}

/* ---- seen_by: one buffer of ids (idlist.h) ---------------------------------- */

/* What a list holds, as its text: the ids quoted and comma-separated. */
static int list_is(const hs_idlist *l, const char *text)
{
    return l->len == strlen(text) && (l->len == 0 || memcmp(l->text, text, l->len) == 0);
}

/* The ids of a seen_by go in one at a time into room reserved for them,
 * each checked; the list is the compact JSON the wire carries. */
static void seen_by_is_held_as_its_wire_text(void)
{
    hs_idlist l = {0};
    size_t len;

    /* Empty: nothing allocated. */
    CHECK(hs_idlist_reserve(&l, 0, 0) == HS_OK && l.off == NULL && l.n == 0 && list_is(&l, ""));
    CHECK(hs_idlist_push(&l, "a", 1) != 0); /* no room */
    CHECK(hs_idlist_reserve(&l, 1, 2) == HS_OK);
    CHECK(hs_idlist_push(&l, "abcd", 4) != 0 && l.n == 0); /* more bytes than reserved */
    hs_idlist_free(&l);
    CHECK(hs_idlist_reserve(&l, 2, 7) == HS_OK);
    CHECK(hs_idlist_push(&l, "node-a", 6) == 0 && list_is(&l, "\"node-a\""));
    CHECK(hs_idlist_push(&l, "b", 1) == 0 && list_is(&l, "\"node-a\",\"b\""));
    CHECK(hs_idlist_push(&l, "c", 1) != 0); /* the ids reserved are used up */
    CHECK(l.n == 2);
    const char *e = hs_idlist_get(&l, 0, &len);
    CHECK(len == 6 && memcmp(e, "node-a", 6) == 0);
    e = hs_idlist_get(&l, 1, &len);
    CHECK(len == 1 && *e == 'b');
    CHECK(hs_idlist_has(&l, "b", 1) && hs_idlist_has(&l, "node-a", 6));
    CHECK(!hs_idlist_has(&l, "node", 4) && !hs_idlist_has(&l, "node-a-", 7));
    json_t *j = hs_idlist_to_json(&l), *want = json_pack("[s, s]", "node-a", "b");
    CHECK(j && json_equal(j, want));
    json_decref(j);
    json_decref(want);
    hs_idlist_free(&l);
    CHECK(l.off == NULL && l.n == 0);

    /* Only node ids: 1-128 printable ASCII bytes, no space, quote or
     * backslash; a refused id leaves the list as it was. */
    char longest[HS_PEER_ID_MAX + 2];
    memset(longest, 'x', sizeof longest);
    static const char *refused[] = {"",        "has space",   "q\"uote", "back\\slash",
                                    "del\x7f", "caf\xc3\xa9", "tab\t",   "nl\n",
                                    "ctl\x01"};
    CHECK(hs_idlist_reserve(&l, 4, 300) == HS_OK);
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
        CHECK(hs_idlist_push(&l, refused[i], strlen(refused[i])) != 0 && l.n == 0 && l.len == 0);
    CHECK(hs_idlist_push(&l, "a\0b", 3) != 0); /* a NUL inside */
    CHECK(hs_idlist_push(&l, longest, HS_PEER_ID_MAX + 1) != 0);
    CHECK(hs_idlist_push(&l, longest, HS_PEER_ID_MAX) == 0);
    /* Duplicates are kept, as the wire had them. */
    CHECK(hs_idlist_push(&l, "d", 1) == 0 && hs_idlist_push(&l, "d", 1) == 0 && l.n == 3);
    hs_idlist_free(&l);

    /* The check of 8 bytes at a time agrees with one byte at a time, for
     * every byte at every place of a 16-byte id, and at its tail. */
    int bad = 0;
    for (int c = 0; c < 256; c++) {
        int ok = c > 0x20 && c < 0x7f && c != '"' && c != '\\';
        for (size_t at = 0; at < 19; at++) {
            char id[19];
            memset(id, 'k', sizeof id);
            id[at] = (char)c;
            bad += hs_peers_valid_idn(id, sizeof id) != ok;
        }
    }
    CHECK(bad == 0);
}

/* Scans and parses the envelope with this seen_by (JSON text); 1: the
 * scanner took it, 2: jansson did, 3: both. fast borrows text (2048
 * bytes), which must outlive it. */
static int both_take(char *text, const char *seen_json, hs_envelope *fast, hs_envelope *ref)
{
    size_t pos = 0;
    const char *why;

    snprintf(text, 2048,
             "{\"message_id\":\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\","
             "\"message_type\":\"chat\",\"payload\":{},\"timestamp\":1,\"ttl\":3,"
             "\"origin_peer\":\"o\",\"seen_by\":%s}",
             seen_json);
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    int f = hs_envelope_scan(text, strlen(text), &pos, &lim, fast) == 0;
    int r = j && hs_envelope_parse(j, &lim, ref, &why) == HS_OK;
    json_decref(j);
    return (f ? 1 : 0) | (r ? 2 : 0);
}

/* Both parsers hold the same list, within the same bounds. */
static void seen_by_bounds_on_both_paths(void)
{
    char text[2048];
    hs_envelope fast, ref;
    static const struct {
        const char *json;
        int took;         /* 1 scanner, 2 jansson */
        const char *text; /* the list's text when taken */
    } cases[] = {
        {"[]", 3, ""},
        {"[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\"]", 3,
         "\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\""}, /* max_seen_by, 8 */
        {"[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\"]", 0, NULL},
        {" [ \"a\" ,\n\"a\" ] ", 3, "\"a\",\"a\""}, /* duplicates kept, spaces gone */
        {"[\"has space\"]", 0, NULL},
        {"[\"\"]", 0, NULL},
        {"[\"a\\u0020b\"]", 0, NULL},  /* an escaped space is a space */
        {"[\"n\\/c\"]", 2, "\"n/c\""}, /* escapes: jansson's; the id is n/c */
        {"[\"\\u0061\"]", 2, "\"a\""},
        {"[\"caf\xc3\xa9\"]", 0, NULL},
        {"[\"a\",1]", 0, NULL},
        {"[[\"a\"]]", 0, NULL},
        {"{}", 0, NULL},
        {"[\"a\",]", 0, NULL},
    };
    int bad = 0;

    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int took = both_take(text, cases[i].json, &fast, &ref);
        int ok = took == cases[i].took;
        if (ok && (took & 1))
            ok = list_is(&fast.seen_by, cases[i].text);
        if (ok && (took & 2))
            ok = list_is(&ref.seen_by, cases[i].text);
        if (!ok) {
            fprintf(stderr, "seen_by %s: taken %d, want %d\n", cases[i].json, took, cases[i].took);
            bad++;
        }
        if (took & 1)
            hs_envelope_clear(&fast);
        if (took & 2)
            hs_envelope_clear(&ref);
    }
    CHECK(bad == 0);
    /* Ids of 128 bytes are taken, of 129 not. */
    char json[300], id[HS_PEER_ID_MAX + 2];
    memset(id, 'z', sizeof id);
    snprintf(json, sizeof json, "[\"%.*s\"]", HS_PEER_ID_MAX, id);
    CHECK(both_take(text, json, &fast, &ref) == 3 && fast.seen_by.len == HS_PEER_ID_MAX + 2 &&
          hs_idlist_equal(&fast.seen_by, &ref.seen_by));
    hs_envelope_clear(&fast);
    hs_envelope_clear(&ref);
    snprintf(json, sizeof json, "[\"%.*s\"]", HS_PEER_ID_MAX + 1, id);
    CHECK(both_take(text, json, &fast, &ref) == 0);
}

/* seen_by as forwarded: the received ids from `skip` on, then those
 * added (ours and the targets'), past the cap the oldest left out. */
static void seen_by_is_appended_to_on_forward(void)
{
    char text[2048];
    hs_envelope fast, ref;
    static const char *more[] = {"me", "t1", "t2"};
    static const struct {
        size_t skip, n_more;
        const char *want;
    } cases[] = {
        {0, 3, "[\"a\",\"b\",\"c\",\"me\",\"t1\",\"t2\"]"},
        {0, 0, "[\"a\",\"b\",\"c\"]"},
        {2, 1, "[\"c\",\"me\"]"},
        {3, 2, "[\"me\",\"t1\"]"},
        {4, 3, "[\"t1\",\"t2\"]"}, /* past the list, into those added */
        {9, 3, "[]"},
    };

    CHECK(both_take(text, "[\"a\",\"b\",\"c\"]", &fast, &ref) == 3);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        for (int path = 0; path < 2; path++) {
            size_t len;
            char *out = hs_envelope_write(path ? &ref : &fast, cases[i].skip, more, cases[i].n_more,
                                          NULL, 0, 2, 5, &len);
            const char *at = out ? strstr(out, "\"seen_by\":") : NULL;
            CHECK(at && strncmp(at + 10, cases[i].want, strlen(cases[i].want)) == 0 &&
                  strncmp(at + 10 + strlen(cases[i].want), ",\"hops\":5}", 10) == 0);
            free(out);
        }
    }
    hs_envelope_clear(&fast);
    hs_envelope_clear(&ref);

    /* Our own message starts with none. */
    json_t *payload = json_object();
    CHECK(hs_envelope_make(&ref, "chat", payload, 1, 3, "n1") == HS_OK && ref.seen_by.n == 0);
    size_t len;
    char *out = hs_envelope_write(&ref, 0, more, 1, NULL, 0, 3, 0, &len);
    CHECK(out && strstr(out, ",\"seen_by\":[\"me\"],"));
    free(out);
    hs_envelope_clear(&ref);
    json_decref(payload);
}

/* seen_by_hash (seenhash.h) on both paths: 8 lowercase hex digits a name,
 * at most max_seen_by (8 here) of them, read as the same values; and
 * written back as it was read. */
static void seen_by_hash_on_both_paths(void)
{
    static const struct {
        const char *json;
        int took; /* 1 scanner, 2 jansson */
        size_t n;
        uint32_t first, last;
    } cases[] = {
        {"\"\"", 3, 0, 0, 0},
        {"\"0011aabbffeeddcc\"", 3, 2, 0x0011aabb, 0xffeeddcc},
        {"\"0000000100000002000000030000000400000005000000060000000700000008\"", 3, 8, 1, 8},
        {"\"000000010000000200000003000000040000000500000006000000070000000800000009\"", 0, 0, 0,
         0}, /* nine: past max_seen_by */
        {"\"abc\"", 0, 0, 0, 0},
        {"\"0011aabbf\"", 0, 0, 0, 0},
        {"\"0011AABB\"", 0, 0, 0, 0},
        {"\"0011aabg\"", 0, 0, 0, 0},
        {"\"0011 abb\"", 0, 0, 0, 0},
        {"\"\\u0030011aabb\"", 2, 1, 0x0011aabb, 0x0011aabb}, /* escapes: jansson's */
        {"7", 0, 0, 0, 0},
        {"null", 0, 0, 0, 0},
        {"[\"0011aabb\"]", 0, 0, 0, 0},
    };
    int bad = 0;

    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char text[2048];
        hs_envelope fast, ref;
        size_t pos = 0;
        const char *why;
        snprintf(text, sizeof text,
                 "{\"message_id\":\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"
                 "ef\",\"message_type\":\"chat\",\"payload\":{},\"timestamp\":1,\"ttl\":3,"
                 "\"origin_peer\":\"o\",\"seen_by\":[],\"seen_by_hash\":%s}",
                 cases[i].json);
        json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
        int f = hs_envelope_scan(text, strlen(text), &pos, &lim, &fast) == 0;
        int r = j && hs_envelope_parse(j, &lim, &ref, &why) == HS_OK;
        json_decref(j);
        int took = (f ? 1 : 0) | (r ? 2 : 0), ok = took == cases[i].took;
        for (int k = 0; k < 2; k++) {
            hs_envelope *e = k ? &ref : &fast;
            if (!(took & (1 << k)))
                continue;
            ok = ok && e->seen_hash.n == cases[i].n &&
                 (e->seen_hash.n == 0 || (e->seen_hash.v[0] == cases[i].first &&
                                          e->seen_hash.v[e->seen_hash.n - 1] == cases[i].last));
            /* Written back: the same string, after hops. */
            size_t len;
            char *out =
                hs_envelope_write(e, 0, NULL, 0, e->seen_hash.v, e->seen_hash.n, 3, 1, &len);
            const char *at = out ? strstr(out, "\"hops\":1") : NULL;
            ok = ok && at &&
                 (cases[i].n ? strncmp(at + 8, ",\"seen_by_hash\":\"", 17) == 0 &&
                                   strlen(at + 25) == 8 * cases[i].n + 2
                             : strcmp(at + 8, "}") == 0);
            json_t *back = out ? json_loads(out, 0, NULL) : NULL;
            hs_envelope again;
            ok = ok && back && hs_envelope_parse(back, &lim, &again, &why) == HS_OK;
            if (back && ok) {
                ok = again.seen_hash.n == e->seen_hash.n &&
                     (again.seen_hash.n == 0 ||
                      memcmp(again.seen_hash.v, e->seen_hash.v, 4 * again.seen_hash.n) == 0);
                hs_envelope_clear(&again);
            }
            json_decref(back);
            free(out);
            hs_envelope_clear(e);
        }
        if (!ok) {
            fprintf(stderr, "seen_by_hash %s: taken %d, want %d\n", cases[i].json, took,
                    cases[i].took);
            bad++;
        }
    }
    CHECK(bad == 0);
    /* The reason jansson gives. */
    CHECK(parse_with("seen_by_hash", "\"abc\"") != NULL);
    CHECK(parse_with("seen_by_hash", "5") != NULL);
    CHECK(parse_with("seen_by_hash", "\"0011aabb\"") == NULL);
}

/* A name's hash depends on the message: two ids that collide for one
 * message do not for the next (of 64 messages, no id's hash is the same
 * for all), and it is the same wherever it is made. */
static void seen_hashes_are_keyed_by_the_message(void)
{
    uint8_t msg[32] = {0};
    int same_a = 0, same_b = 0, stable = 1;

    for (int m = 0; m < 64; m++) {
        msg[0] = (uint8_t)m;
        msg[9] = (uint8_t)(m * 7);
        uint32_t a = hs_seenhash_of(msg, "node-a", 6), b = hs_seenhash_of(msg, "node-b", 6);
        msg[0] ^= 1;
        uint32_t a2 = hs_seenhash_of(msg, "node-a", 6);
        msg[0] ^= 1;
        same_a += a == a2;
        same_b += a == b;
        stable &= a == hs_seenhash_of(msg, "node-a", 6);
    }
    CHECK(same_a < 2 && same_b < 2 && stable);
}

/* The set forwarding checks peers against: every entry in it, nothing
 * else; small lists on the stack, long ones allocated. */
static void seen_by_set_finds_its_entries(void)
{
    size_t counts[] = {0, 1, 40, 64, 65, 256};
    int bad = 0;

    for (size_t c = 0; c < sizeof counts / sizeof *counts; c++) {
        hs_idlist l = {0};
        hs_idset set;
        char id[80];
        CHECK(hs_idlist_reserve(&l, counts[c] + 1, (counts[c] + 1) * 70) == HS_OK);
        for (size_t i = 0; i < counts[c]; i++) {
            /* Ids alike but for one byte, short and long. */
            int n = snprintf(id, sizeof id, i % 2 ? "sim-%05zu" : "%064zx", i);
            CHECK(hs_idlist_push(&l, id, (size_t)n) == 0);
        }
        if (counts[c]) { /* a duplicate */
            size_t n;
            const char *first = hs_idlist_get(&l, 0, &n);
            memcpy(id, first, n);
            CHECK(hs_idlist_push(&l, id, n) == 0);
        }
        CHECK(hs_idset_init(&set, &l, 0x5eed + c) == HS_OK);
        CHECK((set.slot == set.small) == (l.n <= 64));
        for (size_t i = 0; i < counts[c] + 8; i++) {
            int n = snprintf(id, sizeof id, i % 2 ? "sim-%05zu" : "%064zx", i);
            bad += hs_idset_has(&set, id, (size_t)n) != (i < counts[c]);
            bad += hs_idset_has(&set, id, (size_t)n - 1) != 0; /* a prefix */
        }
        hs_idset_free(&set);
        hs_idlist_free(&l);
    }
    CHECK(bad == 0);
}

/* A kept copy relayed a hop on (a lazy push): its ttl replaced, its
 * hops one more wherever the key comes, left out when it has none (a
 * reference node's: the receiver infers them from the ttl), and never
 * past HS_MAX_HOPS. */
static void a_relayed_copy_counts_one_more_hop(void)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"{\"ttl\":0,\"x\":1,\"hops\":3}", "{\"ttl\":6,\"x\":1,\"hops\":4}"},
        {"{\"hops\":9, \"ttl\" : 0 }", "{\"hops\":10, \"ttl\" : 6 }"},
        {"{\"hops\":0,\"ttl\":0}", "{\"hops\":1,\"ttl\":6}"},
        {"{\"ttl\":0,\"seen_by\":[]}", "{\"ttl\":6,\"seen_by\":[]}"},
        {"{\"ttl\":0,\"hops\":1023}", "{\"ttl\":6,\"hops\":1024}"},
        {"{\"ttl\":0,\"hops\":1024}", "{\"ttl\":6,\"hops\":1024}"},
        {"{\"ttl\":0,\"hops\":99999999}", "{\"ttl\":6,\"hops\":1024}"},
        {"{\"ttl\":0,\"hops\":\"x\"}", "{\"ttl\":6,\"hops\":1024}"},
        {"{\"x\":{\"hops\":1},\"ttl\":0}", "{\"x\":{\"hops\":1},\"ttl\":6}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t len = 0;
        char *out = hs_envelope_raw_relay(cases[i].in, strlen(cases[i].in), 6, &len);
        CHECK(out && len == strlen(cases[i].out) && strcmp(out, cases[i].out) == 0);
        if (out && strcmp(out, cases[i].out) != 0)
            fprintf(stderr, "  %s -> %s\n", cases[i].in, out);
        free(out);
    }
    size_t len = 0;
    CHECK(hs_envelope_raw_relay("{\"hops\":1}", 10, 6, &len) == NULL); /* no ttl */
    CHECK(hs_envelope_raw_relay("[1]", 3, 6, &len) == NULL);
}

int main(void)
{
    writes_what_jansson_dumps();
    a_relayed_copy_counts_one_more_hop();
    timestamps_read_as_strtod_reads_them();
    arrays_are_walked_and_split();
    ids_parse_in_either_case();
    ids_are_read_as_digit_by_digit();
    hex8_is_read_as_digit_by_digit();
    reals_are_written_as_jansson_does();
    scanner_agrees_with_jansson();
    accepts_a_reference_envelope();
    refuses_each_bad_field();
    takes_any_type_and_defaults_origin_and_seen_by();
    ids_match_the_reference_formula();
    raw_slices_match_jansson();
    seen_by_is_held_as_its_wire_text();
    seen_by_bounds_on_both_paths();
    seen_by_is_appended_to_on_forward();
    seen_by_set_finds_its_entries();
    seen_by_hash_on_both_paths();
    seen_hashes_are_keyed_by_the_message();
    DONE();
}
