/*
 * fuzz_http_response.c -- the client's response parser (core/net/http_response.c)
 * on any bytes, cut into reads where the fuzzer says.
 *
 * Input: one byte of flags (bit 0: the request was HEAD; bits 1-3: the
 * body cap, from 0 to 64 KiB), one byte choosing the reads (see
 * fuzz_cut), then the bytes the server sent. The bytes are parsed once
 * in a single read and once cut into reads: both must give the same
 * verdict at the same offset, the same status and the same body; a
 * complete response has a final status and a body within its cap. What
 * follows a complete response is parsed as the next one (keep-alive),
 * up to four.
 */
#include <string.h>

#include "fuzz.h"
#include "http_response.h"

typedef struct outcome {
    hs_err err;
    int done, status, keep_alive;
    size_t end; /* bytes consumed: through the response when done */
} outcome;

static const size_t caps[8] = {0, 1, 7, 16, 64, 256, 4096, 65536};

static void check_done(const hs_http_resp *r, size_t max_body)
{
    FUZZ_CHECK(r->status >= 200 && r->status <= 599, "a final status");
    FUZZ_CHECK(r->len <= max_body, "the body within its cap");
    FUZZ_CHECK((r->body == NULL) == (r->len == 0), "the body is NULL exactly when empty");
    FUZZ_CHECK(!r->body || r->body[r->len] == '\0', "the body is NUL-terminated");
}

/* Parses data[0..len) in reads cut as `cut` says (0: one read), then the
 * connection's end if the response wants it; r is left for the caller. */
static outcome parse(hs_http_resp *r, const char *data, size_t len, size_t max_body, int head,
                     unsigned cut, uint64_t seed)
{
    outcome o = {HS_OK, 0, 0, 0, 0};
    fuzz_rng rng;
    size_t pos = 0;

    fuzz_rng_init(&rng, seed);
    hs_http_resp_init(r, max_body, head);
    FUZZ_CHECK(!hs_http_resp_started(r), "nothing arrived yet");
    while (pos < len) {
        size_t n = fuzz_cut(&rng, cut, len - pos), used = 0;
        int done = 0;
        o.err = hs_http_resp_feed(r, data + pos, n, &used, &done);
        FUZZ_CHECK(hs_http_resp_started(r), "bytes arrived");
        if (o.err != HS_OK) {
            o.end = pos + n;
            return o;
        }
        if (done) {
            FUZZ_CHECK(used <= n, "used within the read");
            o.done = 1;
            o.end = pos + used;
            check_done(r, max_body);
            o.status = r->status;
            o.keep_alive = r->keep_alive;
            return o;
        }
        pos += n;
    }
    o.end = len;
    o.err = hs_http_resp_eof(r);
    if (o.err == HS_OK) {
        o.done = 1;
        check_done(r, max_body);
        o.status = r->status;
        o.keep_alive = r->keep_alive;
    }
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    int head = data[0] & 1;
    size_t max_body = caps[(data[0] >> 1) & 7];
    unsigned cut = data[1];
    const char *text = (const char *)data + 2;
    size_t len = size - 2;

    for (int k = 0; k < 4 && len > 0; k++) {
        hs_http_resp whole, split;
        outcome a = parse(&whole, text, len, max_body, head, 0, 0);
        outcome b = parse(&split, text, len, max_body, head, cut, (uint64_t)k + cut);

        FUZZ_CHECK(a.err == b.err && a.done == b.done, "the same verdict however it is read");
        if (a.done) {
            FUZZ_CHECK(a.end == b.end, "the response ends at the same byte");
            FUZZ_CHECK(a.status == b.status && a.keep_alive == b.keep_alive, "the same head");
            FUZZ_CHECK(whole.len == split.len &&
                           (whole.len == 0 || memcmp(whole.body, split.body, whole.len) == 0),
                       "the same body");
        }
        hs_http_resp_free(&whole);
        hs_http_resp_free(&split);
        /* Only a complete response that leaves the connection open has
         * a successor on it. */
        if (!a.done || a.end >= len || !a.keep_alive)
            break;
        text += a.end;
        len -= a.end;
    }
    return 0;
}
