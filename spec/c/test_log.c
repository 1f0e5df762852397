/*
 * test_log.c -- JSON log lines (core/proto/log.c): whatever a message holds,
 * the line is valid JSON.
 */
#include <string.h>

#include <jansson.h>

#include "check.h"
#include "log.h"

static void escapes_what_json_needs(void)
{
    char out[64];

    CHECK(hs_log_json_string("a\"b\\c\n\x01\x7f", out, sizeof out) == strlen(out));
    CHECK(strcmp(out, "\"a\\\"b\\\\c\\u000a\\u0001\\u007f\"") == 0);
}

static void keeps_utf8_and_replaces_the_rest(void)
{
    char out[64];

    hs_log_json_string("caf\xc3\xa9 \xff \xe2\x82", out, sizeof out);
    CHECK(strcmp(out, "\"caf\xc3\xa9 \\ufffd \\ufffd\\ufffd\"") == 0);
}

/* Cut where it must be, every result parses, and holds no more than cap. */
static void cut_lines_still_parse(void)
{
    char msg[300], out[40];

    for (size_t i = 0; i < sizeof msg - 1; i++)
        msg[i] = "\"\\\x01\xc3\xa9x"[i % 6];
    msg[sizeof msg - 1] = '\0';
    for (size_t cap = 9; cap <= sizeof out; cap++) {
        size_t n = hs_log_json_string(msg, out, cap);
        CHECK(n < cap && strlen(out) == n);
        json_t *j = json_loads(out, JSON_DECODE_ANY, NULL);
        CHECK(json_is_string(j));
        json_decref(j);
    }
    CHECK(hs_log_json_string("x", out, 8) == 0);
}

int main(void)
{
    escapes_what_json_needs();
    keeps_utf8_and_replaces_the_rest();
    cut_lines_still_parse();
    DONE();
}
