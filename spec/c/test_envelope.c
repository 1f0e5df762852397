/*
 * test_envelope.c -- envelope validation: every field's type and bounds,
 * and ids of our own messages computed as the reference node does.
 */
#include <string.h>

#include "check.h"
#include "envelope.h"
#include "hash.h"

static const hs_envelope_limits lim = {64, 8};

static const char *good =
    "{\"message_id\":\"" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" "\","
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
    CHECK(parse_with("message_type", "\"has space\"") != NULL);
    CHECK(parse_with("message_type", "\"\"") != NULL);
    CHECK(parse_with("payload", NULL) != NULL);
    CHECK(parse_with("timestamp", "\"now\"") != NULL);
    CHECK(parse_with("timestamp", "-1") != NULL);
    CHECK(parse_with("ttl", "-1") != NULL);
    CHECK(parse_with("ttl", "65") != NULL);
    CHECK(parse_with("ttl", "1.5") != NULL);
    CHECK(parse_with("ttl", "99999999999999999") != NULL);
    CHECK(parse_with("origin_peer", "7") != NULL);
    CHECK(parse_with("seen_by", "\"x\"") != NULL);
    CHECK(parse_with("seen_by", "[1]") != NULL);
    CHECK(parse_with("seen_by", "[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\"]") != NULL);
    CHECK(parse_with("hops", "-3") != NULL);
    const char *r = parse_with("ttl", "-1");
    CHECK(r && strstr(r, "ttl"));
    /* Unknown extra keys are ignored, as the reference ignores ours. */
    CHECK(parse_with("signature", "\"xyz\"") == NULL);
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
}

int main(void)
{
    accepts_a_reference_envelope();
    refuses_each_bad_field();
    ids_match_the_reference_formula();
    DONE();
}
