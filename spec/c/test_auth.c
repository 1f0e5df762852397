/*
 * test_auth.c -- cluster authentication (core/proto/auth.c): keys and their ids,
 * the MAC against an independent HMAC of the documented message, the
 * canonical query, every refusal of hs_auth_verify, the replay cache, and
 * the keyring's operations with their save callback.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "auth.h"
#include "check.h"
#include "hash.h"

#define NOW INT64_C(1700000000000)
#define WINDOW 30

static char key_a[HS_KEY_TEXT], key_b[HS_KEY_TEXT];

/* The query arguments of a request, as the server would read them. */
typedef struct args {
    const char *sample, *url;
} args;

static const char *arg_of(void *ud, const char *name)
{
    const args *a = ud;
    return strcmp(name, "sample") == 0 ? a->sample : strcmp(name, "url") == 0 ? a->url : NULL;
}

static hs_auth *ring(const char *k1, const char *k2)
{
    const char *keys[] = {k1, k2};
    hs_auth *a = NULL;
    CHECK(hs_auth_new(keys, k2 ? 2 : 1, WINDOW, &a) == HS_OK);
    return a;
}

static hs_auth_verdict verify(hs_auth *a, const char *value, const char *method, const char *path,
                              const args *q, const char *from, const char *body, int64_t now)
{
    return hs_auth_verify(a, value, method, path, arg_of, (void *)q, from, body,
                          body ? strlen(body) : 0, 0, now);
}

static void keys_parse_in_one_spelling_only(void)
{
    uint8_t raw[32], d[32];
    char id[9], hex[9], bad[HS_KEY_TEXT];

    CHECK(hs_keyring_generate(key_a) == HS_OK);
    CHECK(hs_keyring_generate(key_b) == HS_OK);
    CHECK(strlen(key_a) == 44 && key_a[43] == '=');
    CHECK(strcmp(key_a, key_b) != 0);
    CHECK(hs_auth_key_parse(key_a, raw) == HS_OK);
    /* The id: the first 4 bytes of SHA-256 of the 32 bytes, in hex. */
    CHECK(hs_keyring_id(key_a, id) == HS_OK);
    SHA256(raw, 32, d);
    hs_hash_to_hex(d, 4, hex);
    hex[8] = '\0';
    CHECK(strcmp(id, hex) == 0);
    /* All zero bytes: a known spelling. */
    CHECK(hs_auth_key_parse("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", raw) == HS_OK);
    CHECK(raw[0] == 0 && raw[31] == 0);
    /* The last digit's 2 unused bits set: the same bytes, another spelling. */
    CHECK(hs_auth_key_parse("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=", raw) == HS_EINVAL);
    CHECK(hs_auth_key_parse("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE=", raw) == HS_OK);
    CHECK(hs_auth_key_parse("AAAA", raw) == HS_EINVAL);
    CHECK(hs_auth_key_parse("", raw) == HS_EINVAL);
    CHECK(hs_auth_key_parse(NULL, raw) == HS_EINVAL);
    strcpy(bad, key_a);
    bad[5] = '*';
    CHECK(hs_auth_key_parse(bad, raw) == HS_EINVAL);
    strcpy(bad, key_a);
    bad[43] = 'A'; /* no padding: 33 bytes' worth */
    CHECK(hs_auth_key_parse(bad, raw) == HS_EINVAL);
    CHECK(hs_keyring_id("not a key", id) == HS_EINVAL);
}

static void canonical_query_is_sorted_decoded_and_reencoded(void)
{
    char out[256];
    const char *q;
    int n;

    q = "url=http%3A%2F%2Fa+b%2b&x=1&sample=8";
    n = hs_auth_canonical_query(q, strlen(q), out, sizeof out);
    CHECK(n == 34 && memcmp(out, "sample=8&url=http%3A%2F%2Fa%20b%2B", 34) == 0);
    /* The first of repeated arguments counts; a name without "=" is absent. */
    q = "sample=1&sample=2&url";
    n = hs_auth_canonical_query(q, strlen(q), out, sizeof out);
    CHECK(n == 8 && memcmp(out, "sample=1", 8) == 0);
    /* A "%" without two hex digits stays as it is (as libmicrohttpd has it). */
    q = "url=%zz%4";
    n = hs_auth_canonical_query(q, strlen(q), out, sizeof out);
    CHECK(n == 13 && memcmp(out, "url=%25zz%254", 13) == 0);
    /* Arguments no route reads are not covered; an empty value is. */
    q = "other=1&sample=";
    n = hs_auth_canonical_query(q, strlen(q), out, sizeof out);
    CHECK(n == 7 && memcmp(out, "sample=", 7) == 0);
    CHECK(hs_auth_canonical_query("", 0, out, sizeof out) == 0);
    q = "url=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    CHECK(hs_auth_canonical_query(q, strlen(q), out, 16) == -1);
}

/* Splits a header value into its fields (in place). */
static int fields(char *v, char **f)
{
    int n = 0;
    for (char *t = strtok(v, " "); t && n < 6; t = strtok(NULL, " "))
        f[n++] = t;
    return n;
}

static void append_ns(char *m, size_t *len, const char *s, size_t n)
{
    *len += (size_t)sprintf(m + *len, "%zu:", n);
    memcpy(m + *len, s, n);
    *len += n;
    m[(*len)++] = ',';
}

static void mac_is_hmac_of_the_documented_message(void)
{
    hs_auth *a = ring(key_a, NULL);
    char v[HS_AUTH_VALUE_MAX + 1], copy[sizeof v], *f[6], m[1024], hex[65], id[9];
    const char *target = "/peers?url=http%3A%2F%2F127.0.0.1%3A8080&sample=8";
    const char *query = "sample=8&url=http%3A%2F%2F127.0.0.1%3A8080";
    const char *body = "{\"ids\":[]}";
    uint8_t raw[32], mac[32];
    unsigned mlen = 0;
    size_t len = 0;
    int n;

    n = hs_auth_sign(a, "GET", target, strlen(target), " node-1\t", body, strlen(body), NOW, v,
                     sizeof v);
    CHECK(n > 0 && (size_t)n == strlen(v) && (size_t)n <= HS_AUTH_VALUE_MAX);
    strcpy(copy, v);
    CHECK(fields(copy, f) == 5);
    CHECK(strcmp(f[0], "v1") == 0);
    CHECK(hs_keyring_id(key_a, id) == HS_OK && strcmp(f[1], id) == 0);
    CHECK(strcmp(f[2], "1700000000000") == 0);
    CHECK(strlen(f[3]) == 32 && strlen(f[4]) == 64);
    append_ns(m, &len, "hearsay-auth-v1", 15);
    append_ns(m, &len, "GET", 3);
    append_ns(m, &len, "/peers", 6);
    append_ns(m, &len, query, strlen(query));
    append_ns(m, &len, "node-1", 6);
    append_ns(m, &len, f[2], strlen(f[2]));
    append_ns(m, &len, f[3], 32);
    append_ns(m, &len, body, strlen(body));
    hs_auth_key_parse(key_a, raw);
    HMAC(EVP_sha256(), raw, 32, (unsigned char *)m, len, mac, &mlen);
    hs_hash_to_hex(mac, 32, hex);
    hex[64] = '\0';
    CHECK(mlen == 32 && strcmp(hex, f[4]) == 0);
    /* Two signatures of the same request differ in their nonce. */
    char v2[sizeof v];
    hs_auth_sign(a, "GET", target, strlen(target), "node-1", body, strlen(body), NOW, v2,
                 sizeof v2);
    CHECK(strcmp(v, v2) != 0);
    hs_auth_free(a);
}

static void verify_accepts_what_sign_wrote(void)
{
    hs_auth *a = ring(key_a, NULL);
    char v[HS_AUTH_VALUE_MAX + 1];
    const char *target = "/peers?sample=8&url=http%3A%2F%2Fh%3A1";
    args q = {"8", "http://h:1"}, other = {"9", "http://h:1"};

    hs_auth_sign(a, "GET", target, strlen(target), "n1", NULL, 0, NOW, v, sizeof v);
    CHECK(verify(a, v, "GET", "/peers", &q, "n1", NULL, NOW) == HS_AUTH_OK);
    /* The same header again: a replay, whatever else. */
    CHECK(verify(a, v, "GET", "/peers", &q, "n1", NULL, NOW + 5) == HS_AUTH_REPLAY);
    CHECK(verify(a, v, "GET", "/peers", &other, "n1", NULL, NOW) == HS_AUTH_BAD_MAC);

    /* Each part is covered: a change anywhere is a bad MAC. */
    hs_auth_sign(a, "POST", "/gossip", 7, "n1", "{}", 2, NOW, v, sizeof v);
    CHECK(verify(a, v, "POST", "/gossip", &(args){0}, "n1", "{ }", NOW) == HS_AUTH_BAD_MAC);
    CHECK(verify(a, v, "POST", "/digest", &(args){0}, "n1", "{}", NOW) == HS_AUTH_BAD_MAC);
    CHECK(verify(a, v, "GET", "/gossip", &(args){0}, "n1", "{}", NOW) == HS_AUTH_BAD_MAC);
    CHECK(verify(a, v, "POST", "/gossip", &(args){0}, "n2", "{}", NOW) == HS_AUTH_BAD_MAC);
    CHECK(verify(a, v, "POST", "/gossip", &(args){0}, NULL, "{}", NOW) == HS_AUTH_BAD_MAC);
    CHECK(verify(a, v, "POST", "/gossip", &(args){"1", NULL}, "n1", "{}", NOW) == HS_AUTH_BAD_MAC);
    /* Refusals remember nothing: the untouched request still passes. */
    CHECK(verify(a, v, "POST", "/gossip", &(args){0}, " n1 ", "{}", NOW) == HS_AUTH_OK);

    /* An empty target is "/"; a body too large to keep is left unchecked. */
    hs_auth_sign(a, "GET", "", 0, NULL, NULL, 0, NOW, v, sizeof v);
    CHECK(verify(a, v, "GET", "/", &(args){0}, NULL, NULL, NOW) == HS_AUTH_OK);
    hs_auth_sign(a, "GET", "?sample=2", 9, NULL, NULL, 0, NOW, v, sizeof v);
    CHECK(verify(a, v, "GET", "/", &(args){"2", NULL}, NULL, NULL, NOW) == HS_AUTH_OK);
    hs_auth_sign(a, "POST", "/gossip", 7, NULL, "x", 1, NOW, v, sizeof v);
    CHECK(hs_auth_verify(a, v, "POST", "/gossip", arg_of, &(args){0}, NULL, NULL, 0, 1, NOW) ==
          HS_AUTH_UNCHECKED);
    hs_auth_free(a);
}

static void verify_refuses_with_the_right_verdict(void)
{
    hs_auth *a = ring(key_a, NULL), *b = ring(key_b, NULL);
    char v[HS_AUTH_VALUE_MAX + 1], bad[HS_AUTH_VALUE_MAX + 8];
    args none = {0};

    CHECK(verify(a, NULL, "GET", "/ping", &none, NULL, NULL, NOW) == HS_AUTH_MISSING);
    CHECK(verify(a, "", "GET", "/ping", &none, NULL, NULL, NOW) == HS_AUTH_MALFORMED);
    CHECK(verify(a, "v1", "GET", "/ping", &none, NULL, NULL, NOW) == HS_AUTH_MALFORMED);
    hs_auth_sign(a, "GET", "/ping", 5, NULL, NULL, 0, NOW, v, sizeof v);
    /* Version, spacing, case, lengths: exact or malformed. */
    snprintf(bad, sizeof bad, "v2%s", v + 2);
    CHECK(verify(a, bad, "GET", "/ping", &none, NULL, NULL, NOW) == HS_AUTH_MALFORMED);
    snprintf(bad, sizeof bad, "%s ", v);
    CHECK(verify(a, bad, "GET", "/ping", &none, NULL, NULL, NOW) == HS_AUTH_MALFORMED);
    snprintf(bad, sizeof bad, " %s", v);
    CHECK(verify(a, bad, "GET", "/ping", &none, NULL, NULL, NOW) == HS_AUTH_MALFORMED);
    strcpy(bad, v);
    bad[strlen(bad) - 1] = 'A'; /* upper-case hex */
    CHECK(verify(a, bad, "GET", "/ping", &none, NULL, NULL, NOW) == HS_AUTH_MALFORMED);
    strcpy(bad, v);
    bad[strlen(bad) - 1] = '\0';
    CHECK(verify(a, bad, "GET", "/ping", &none, NULL, NULL, NOW) == HS_AUTH_MALFORMED);
    snprintf(bad, sizeof bad, "v1 %.8s 01700000000000 %s", v + 3, v + 3 + 9 + 14);
    CHECK(verify(a, bad, "GET", "/ping", &none, NULL, NULL, NOW) == HS_AUTH_MALFORMED);
    /* A forged MAC: well formed, wrong. */
    strcpy(bad, v);
    bad[strlen(bad) - 1] = bad[strlen(bad) - 1] == '0' ? '1' : '0';
    CHECK(verify(a, bad, "GET", "/ping", &none, NULL, NULL, NOW) == HS_AUTH_BAD_MAC);
    /* Another cluster's key: its id is unknown here. */
    hs_auth_sign(b, "GET", "/ping", 5, NULL, NULL, 0, NOW, v, sizeof v);
    CHECK(verify(a, v, "GET", "/ping", &none, NULL, NULL, NOW) == HS_AUTH_UNKNOWN_KEY);
    /* The window, both ways, to the millisecond. */
    hs_auth_sign(a, "GET", "/ping", 5, NULL, NULL, 0, NOW, v, sizeof v);
    CHECK(verify(a, v, "GET", "/ping", &none, NULL, NULL, NOW + WINDOW * 1000 + 1) ==
          HS_AUTH_STALE);
    CHECK(verify(a, v, "GET", "/ping", &none, NULL, NULL, NOW - WINDOW * 1000 - 1) ==
          HS_AUTH_STALE);
    CHECK(verify(a, v, "GET", "/ping", &none, NULL, NULL, NOW + WINDOW * 1000) == HS_AUTH_OK);
    hs_auth_sign(a, "GET", "/ping", 5, NULL, NULL, 0, NOW, v, sizeof v);
    CHECK(verify(a, v, "GET", "/ping", &none, NULL, NULL, NOW - WINDOW * 1000) == HS_AUTH_OK);
    CHECK(hs_auth_status(HS_AUTH_MISSING) == 401 && hs_auth_status(HS_AUTH_STALE) == 401 &&
          hs_auth_status(HS_AUTH_UNKNOWN_KEY) == 401 && hs_auth_status(HS_AUTH_MALFORMED) == 401 &&
          hs_auth_status(HS_AUTH_BAD_MAC) == 403 && hs_auth_status(HS_AUTH_REPLAY) == 403 &&
          hs_auth_status(HS_AUTH_BUSY) == 503);
    hs_auth_free(a);
    hs_auth_free(b);
}

static void replay_cache_remembers_each_nonce_for_its_window(void)
{
    hs_auth *a = ring(key_a, NULL);
    enum { N = 2000 };
    static char v[N][HS_AUTH_VALUE_MAX + 1];
    int ok = 1, again = 1;

    for (int i = 0; i < N; i++) {
        hs_auth_sign(a, "GET", "/ping", 5, NULL, NULL, 0, NOW + i, v[i], sizeof v[i]);
        ok &= verify(a, v[i], "GET", "/ping", &(args){0}, NULL, NULL, NOW + i) == HS_AUTH_OK;
    }
    CHECK(ok);
    for (int i = 0; i < N; i++)
        again &= verify(a, v[i], "GET", "/ping", &(args){0}, NULL, NULL, NOW + N) == HS_AUTH_REPLAY;
    CHECK(again);
    /* Once its timestamp is out of the window, the nonce is let go and the
     * request is stale instead. */
    CHECK(verify(a, v[0], "GET", "/ping", &(args){0}, NULL, NULL, NOW + 2 * WINDOW * 1000 + 10) ==
          HS_AUTH_STALE);
    hs_auth_free(a);
}

/* The save callback: records the lists it is offered; fails on demand. */
static struct {
    int calls, fail;
    size_t n;
    char keys[HS_KEYRING_MAX][HS_KEY_TEXT];
} saved;

static hs_err on_save(void *ud, const char *const *keys, size_t n)
{
    (void)ud;
    saved.calls++;
    if (saved.fail)
        return HS_EIO;
    saved.n = n;
    for (size_t i = 0; i < n; i++)
        strcpy(saved.keys[i], keys[i]);
    return HS_OK;
}

static const char *primary(hs_auth *a)
{
    const char *k[HS_KEYRING_MAX];
    return hs_auth_keys(a, k, HS_KEYRING_MAX) ? k[0] : "";
}

static void keyring_installs_uses_and_removes(void)
{
    hs_auth *a = ring(key_a, NULL);
    const char *k[HS_KEYRING_MAX];
    char v[HS_AUTH_VALUE_MAX + 1], id_b[9], extra[HS_KEYRING_MAX][HS_KEY_TEXT];

    memset(&saved, 0, sizeof saved);
    hs_auth_on_save(a, on_save, NULL);
    CHECK(hs_auth_install(a, "nope") == HS_EINVAL);
    CHECK(hs_auth_install(a, key_b) == HS_OK);
    CHECK(saved.calls == 1 && saved.n == 2 && strcmp(saved.keys[0], key_a) == 0 &&
          strcmp(saved.keys[1], key_b) == 0);
    CHECK(hs_auth_keys(a, k, HS_KEYRING_MAX) == 2);
    CHECK(hs_auth_install(a, key_b) == HS_OK); /* there already: nothing to save */
    CHECK(saved.calls == 1 && hs_auth_keys(a, k, HS_KEYRING_MAX) == 2);

    /* Both verify; the primary signs. */
    hs_auth *b = ring(key_b, NULL);
    hs_auth_sign(b, "GET", "/ping", 5, NULL, NULL, 0, NOW, v, sizeof v);
    CHECK(verify(a, v, "GET", "/ping", &(args){0}, NULL, NULL, NOW) == HS_AUTH_OK);
    CHECK(hs_auth_use(a, key_b) == HS_OK);
    CHECK(saved.calls == 2 && strcmp(saved.keys[0], key_b) == 0 && saved.n == 2);
    CHECK(strcmp(primary(a), key_b) == 0);
    hs_auth_sign(a, "GET", "/ping", 5, NULL, NULL, 0, NOW, v, sizeof v);
    hs_keyring_id(key_b, id_b);
    CHECK(strncmp(v + 3, id_b, 8) == 0);
    CHECK(hs_auth_use(a, key_b) == HS_OK && saved.calls == 2); /* already primary */

    /* Never the primary; an unknown key is not there; a bad one is bad. */
    CHECK(hs_auth_remove(a, key_b) == HS_ESTATE);
    char unknown[HS_KEY_TEXT];
    hs_keyring_generate(unknown);
    CHECK(hs_auth_remove(a, unknown) == HS_ENOENT);
    CHECK(hs_auth_use(a, unknown) == HS_ENOENT);
    CHECK(hs_auth_use(a, "garbage") == HS_EINVAL);

    /* A refused save changes nothing. */
    saved.fail = 1;
    CHECK(hs_auth_remove(a, key_a) == HS_EIO);
    CHECK(hs_auth_keys(a, k, HS_KEYRING_MAX) == 2);
    CHECK(hs_auth_use(a, key_a) == HS_EIO && strcmp(primary(a), key_b) == 0);
    CHECK(hs_auth_install(a, unknown) == HS_EIO && hs_auth_keys(a, k, HS_KEYRING_MAX) == 2);
    saved.fail = 0;

    /* Removed, the old key verifies nothing any more. */
    hs_auth *old = ring(key_a, NULL);
    CHECK(hs_auth_remove(a, key_a) == HS_OK);
    CHECK(saved.n == 1 && strcmp(saved.keys[0], key_b) == 0);
    hs_auth_sign(old, "GET", "/ping", 5, NULL, NULL, 0, NOW, v, sizeof v);
    CHECK(verify(a, v, "GET", "/ping", &(args){0}, NULL, NULL, NOW) == HS_AUTH_UNKNOWN_KEY);

    /* At most HS_KEYRING_MAX keys. */
    for (int i = 1; i < HS_KEYRING_MAX; i++) {
        hs_keyring_generate(extra[i]);
        CHECK(hs_auth_install(a, extra[i]) == HS_OK);
    }
    CHECK(hs_auth_keys(a, k, HS_KEYRING_MAX) == HS_KEYRING_MAX);
    CHECK(hs_auth_install(a, unknown) == HS_ETOOBIG);
    /* Removing from the middle keeps the order of the rest. */
    CHECK(hs_auth_remove(a, extra[5]) == HS_OK);
    hs_auth_keys(a, k, HS_KEYRING_MAX);
    CHECK(strcmp(k[0], key_b) == 0 && strcmp(k[4], extra[4]) == 0 && strcmp(k[5], extra[6]) == 0);
    hs_auth_free(a);
    hs_auth_free(b);
    hs_auth_free(old);
}

static void new_checks_its_keys(void)
{
    const char *dup[] = {key_a, key_a};
    const char *bad[] = {key_a, "x"};
    hs_auth *a = NULL;
    const char *k[4];

    CHECK(hs_auth_new(dup, 2, WINDOW, &a) == HS_OK && hs_auth_keys(a, k, 4) == 1);
    hs_auth_free(a);
    CHECK(hs_auth_new(bad, 2, WINDOW, &a) == HS_EINVAL);
    CHECK(hs_auth_new(NULL, 0, WINDOW, &a) == HS_OK && hs_auth_keys(a, k, 4) == 0);
    /* An empty ring signs nothing. */
    char v[HS_AUTH_VALUE_MAX + 1];
    CHECK(hs_auth_sign(a, "GET", "/", 1, NULL, NULL, 0, NOW, v, sizeof v) == -1);
    hs_auth_free(a);
    CHECK(hs_auth_new(dup, 1, 0, &a) == HS_EINVAL);
}

static double at_now(void *ud)
{
    (void)ud;
    return NOW / 1000.0;
}

static void the_client_hook_writes_a_whole_header_line(void)
{
    hs_auth *a = ring(key_a, NULL);
    char line[HS_AUTH_VALUE_MAX + 64];
    hs_clock clock = {at_now, at_now, NULL};
    int n;

    /* Without a clock it signs nothing: the protocol reads no clock. */
    CHECK(hs_auth_sign_request(a, "GET", "/ping", 5, NULL, NULL, 0, line, sizeof line) == -1);
    hs_auth_set_clock(a, &clock);
    n = hs_auth_sign_request(a, "POST", "/gossip", 7, "X-Hearsay-From: node-7", "[]", 2, line,
                             sizeof line);
    CHECK(n > 0 && (size_t)n == strlen(line) && strncmp(line, "X-Hearsay-Auth: v1 ", 19) == 0);
    /* It signed the From header's value, and the time its clock says. */
    CHECK(hs_auth_verify(a, line + 16, "POST", "/gossip", arg_of, &(args){0}, "node-7", "[]", 2, 0,
                         NOW) == HS_AUTH_OK);
    /* A caller's own auth header goes as it is: nothing added. */
    CHECK(hs_auth_sign_request(a, "GET", "/ping", 5, "x-hearsay-auth: v1 ...", NULL, 0, line,
                               sizeof line) == 0);
    CHECK(hs_auth_sign_request(a, "GET", "/ping", 5, NULL, NULL, 0, line, 10) == -1);
    /* The public helper makes the same kind of header. */
    CHECK(hs_auth_header(key_a, "GET", "/ping", NULL, NULL, 0, 1700000000.0, line, sizeof line) ==
          HS_OK);
    CHECK(verify(a, line + 16, "GET", "/ping", &(args){0}, NULL, NULL, NOW) == HS_AUTH_OK);
    CHECK(hs_auth_header("bad", "GET", "/ping", NULL, NULL, 0, 0, line, sizeof line) == HS_EINVAL);
    CHECK(hs_auth_header(key_a, "GET", "/ping", NULL, NULL, 0, 0, line, sizeof line) == HS_EINVAL);
    hs_auth_free(a);
}

int main(void)
{
    keys_parse_in_one_spelling_only();
    canonical_query_is_sorted_decoded_and_reencoded();
    mac_is_hmac_of_the_documented_message();
    verify_accepts_what_sign_wrote();
    verify_refuses_with_the_right_verdict();
    replay_cache_remembers_each_nonce_for_its_window();
    keyring_installs_uses_and_removes();
    new_checks_its_keys();
    the_client_hook_writes_a_whole_header_line();
    DONE();
}
