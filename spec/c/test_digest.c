/*
 * test_digest.c -- a lazy offer read straight from its text (digest.c's
 * scanner) is the offer jansson's tree gives, whenever the scanner takes
 * the text: on the forms lazypush.c writes, on the edges (escapes, upper
 * case hex, too many ids, ttls out of range or of another length), and on
 * thousands of mutated offers. The same for anti-entropy's digests and
 * their answers (hs_digest_scan against jansson's tree and
 * hs_digest_parse_ids).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "digest.h"
#include "hash.h"

#define MAX 8

/* The offer as lazypush.c writes it: n ids, made from `salt`, with ttls. */
static size_t written(char *out, size_t cap, const char *node_id, size_t n, unsigned salt,
                      const unsigned *ttls)
{
    size_t off = (size_t)snprintf(out, cap, "{\"node_id\":\"%s\",\"ids\":[", node_id);
    for (size_t i = 0; i < n; i++) {
        uint8_t id[32];
        char hex[65];
        for (size_t b = 0; b < 32; b++)
            id[b] = (uint8_t)(salt * 31 + i * 17 + b * 7);
        hs_hash_to_hex(id, 32, hex);
        off += (size_t)snprintf(out + off, cap - off, "%s\"%s\"", i ? "," : "", hex);
    }
    off += (size_t)snprintf(out + off, cap - off, "],\"ttls\":[");
    for (size_t i = 0; i < n; i++)
        off += (size_t)snprintf(out + off, cap - off, i ? ",%u" : "%u", ttls[i]);
    off += (size_t)snprintf(out + off, cap - off, "],\"lazy\":true}");
    return off;
}

/* 1 when the scanner took text and jansson reads the same offer from it,
 * 0 when the scanner declined it, -1 when they differ (reported). */
static int same_as_jansson(const char *text, size_t len)
{
    hs_offer a, b;
    int r = hs_offer_scan(text, len, MAX, &a), ok;
    json_t *tree;

    if (r != 1)
        return r == 0 ? 0 : -1;
    tree = json_loadb(text, len, 0, NULL);
    ok = json_is_object(tree) && json_is_true(json_object_get(tree, "lazy")) &&
         hs_offer_from_json(tree, MAX, &b) == 0;
    if (ok) {
        ok = a.count == b.count && strcmp(a.node_id, b.node_id) == 0 &&
             memcmp(a.ids, b.ids, a.count * 32) == 0 &&
             memcmp(a.ttls, b.ttls, a.count * sizeof *a.ttls) == 0;
        hs_offer_free(&b);
    }
    if (!ok)
        fprintf(stderr, "scanner and jansson differ on: %.*s\n", (int)len, text);
    json_decref(tree);
    hs_offer_free(&a);
    return ok ? 1 : -1;
}

static void the_written_forms_are_read(void)
{
    unsigned ttls[MAX] = {31, 0, 5, 65535, 7, 12, 1, 30};
    char text[2048];

    for (size_t n = 0; n <= MAX; n++) {
        size_t len = written(text, sizeof text, "node-a:8080", n, (unsigned)n, ttls);
        hs_offer o;
        CHECK(same_as_jansson(text, len) == 1);
        CHECK(hs_offer_scan(text, len, MAX, &o) == 1);
        CHECK(o.count == n && strcmp(o.node_id, "node-a:8080") == 0);
        for (size_t i = 0; i < n; i++)
            CHECK(o.ttls[i] == ttls[i]);
        hs_offer_free(&o);
    }
}

static void the_edges(void)
{
    unsigned ttls[MAX] = {3, 4, 5, 6, 7, 8, 9, 10};
    char text[2048], *p;
    size_t len;
    hs_offer o;

    /* More ids than max: jansson's path refuses it. */
    len =
        written(text, sizeof text, "a", MAX + 1, 1, (unsigned[MAX + 1]){1, 2, 3, 4, 5, 6, 7, 8, 9});
    CHECK(hs_offer_scan(text, len, MAX, &o) == 0);
    /* An escape in the id or the node id, a space, a leading zero, a ttl
     * of six digits: declined. */
    len = written(text, sizeof text, "a", 2, 1, ttls);
    p = strstr(text, "ids\":[\"") + 7;
    memcpy(p, "\\u0030", 6);
    CHECK(hs_offer_scan(text, len, MAX, &o) == 0);
    len = written(text, sizeof text, "a\\\"b", 2, 1, ttls);
    CHECK(hs_offer_scan(text, len, MAX, &o) == 0);
    CHECK(same_as_jansson(text, len) == 0);
    len = written(text, sizeof text, "a", 2, 1, (unsigned[]){5, 123456});
    CHECK(hs_offer_scan(text, len, MAX, &o) == 0);
    len = written(text, sizeof text, "a", 2, 1, ttls);
    p = strstr(text, "\"ttls\":[") + 8;
    *p = '0'; /* "04" */
    memmove(p + 1, p, strlen(p) + 1);
    p[1] = '3' + 1;
    CHECK(hs_offer_scan(text, strlen(text), MAX, &o) == 0);
    /* Upper case hex, a ttl above 65535, ttls of another length: taken,
     * as jansson's path reads them. */
    len = written(text, sizeof text, "a", 3, 2, (unsigned[]){1, 70000, 2});
    for (p = strstr(text, "ids\":[") + 6; *p != ']'; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    CHECK(same_as_jansson(text, len) == 1);
    CHECK(hs_offer_scan(text, len, MAX, &o) == 1);
    CHECK(o.count == 3 && o.ttls[0] == 1 && o.ttls[1] == HS_OFFER_NO_TTL && o.ttls[2] == 2);
    hs_offer_free(&o);
    len = written(text, sizeof text, "a", 3, 2, ttls);
    p = strstr(text, ",5],");
    memmove(p, p + 2, strlen(p + 2) + 1); /* two ttls for three ids */
    len = strlen(text);
    CHECK(same_as_jansson(text, len) == 1);
    CHECK(hs_offer_scan(text, len, MAX, &o) == 1);
    CHECK(o.count == 3 && o.ttls[0] == HS_OFFER_NO_TTL);
    hs_offer_free(&o);
    /* Trailing bytes, a missing "lazy", not NUL-terminated at len. */
    len = written(text, sizeof text, "a", 1, 3, ttls);
    CHECK(hs_offer_scan(text, len - 1, MAX, &o) == 0);
    text[len] = ' ';
    CHECK(hs_offer_scan(text, len + 1, MAX, &o) == 0);
    CHECK(hs_offer_scan(NULL, 0, MAX, &o) == 0);
}

static uint64_t rng = 88172645463325252u;
static unsigned next(unsigned below)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % below);
}

/* One to three bytes of text[0..len) replaced, inserted (within cap, a
 * NUL after) or deleted; the new length. */
static size_t mutate(char *text, size_t len, size_t cap)
{
    static const char alphabet[] = "\"\\,:[]{} 0123456789abcdefABCDEFxu-.etrulnsaz\t";

    for (unsigned m = 1 + next(3); m > 0; m--) {
        size_t at = next((unsigned)len + 1);
        char c = alphabet[next(sizeof alphabet - 1)];
        switch (next(3)) {
        case 0: /* replace */
            if (at < len)
                text[at] = c;
            break;
        case 1: /* insert */
            if (len + 1 < cap) {
                memmove(text + at + 1, text + at, len - at + 1);
                text[at] = c;
                len++;
            }
            break;
        default: /* delete */
            if (at < len) {
                memmove(text + at, text + at + 1, len - at);
                len--;
            }
        }
    }
    return len;
}

/* Mutated offers: wherever the scanner takes one, jansson reads the same. */
static void mutations_agree(void)
{
    unsigned ttls[MAX] = {31, 0, 5, 65535, 7, 12, 1, 30};
    char base[2048], text[2200];
    size_t taken = 0, declined = 0, differ = 0;

    for (unsigned round = 0; round < 30000; round++) {
        size_t n = next(MAX + 1);
        size_t len = written(base, sizeof base, round % 3 ? "peer-x" : "p:1", n, round, ttls);
        memcpy(text, base, len + 1);
        len = mutate(text, len, sizeof text);
        int r = same_as_jansson(text, len);
        taken += r == 1;
        declined += r == 0;
        differ += r < 0;
    }
    CHECK(differ == 0);
    /* The mutations leave some offers valid (a digit for a digit, hex for
     * hex): the comparison is not empty. */
    CHECK(taken > 1000);
    CHECK(declined > 1000);
    printf("mutated offers: %zu taken (each as jansson reads it), %zu declined\n", taken, declined);
}

/* A digest or its answer as antientropy.c writes it: lists of n and m
 * ids made from `salt`, then the state (and a window). */
static size_t written_digest(char *out, size_t cap, int answer, size_t n, size_t m, unsigned salt)
{
    size_t off =
        (size_t)snprintf(out, cap, answer ? "{\"missing\":[" : "{\"node_id\":\"n:1\",\"ids\":[");
    for (size_t list = 0; list < (answer ? 2u : 1u); list++) {
        size_t k = list ? m : n;
        if (list)
            off += (size_t)snprintf(out + off, cap - off, "],\"extra\":[");
        for (size_t i = 0; i < k; i++) {
            uint8_t id[32];
            char hex[65];
            for (size_t b = 0; b < 32; b++)
                id[b] = (uint8_t)(salt * 29 + (i + 5 * list) * 13 + b * 3);
            hs_hash_to_hex(id, 32, hex);
            off += (size_t)snprintf(out + off, cap - off, "%s\"%s\"", i ? "," : "", hex);
        }
    }
    off += (size_t)snprintf(out + off, cap - off,
                            "],\"state\":{\"merkle_root\":\"r%u\",\"state_version\":%u}%s}", salt,
                            salt % 7, !answer && salt % 2 ? ",\"window\":42.5" : "");
    return off;
}

static int same_ids(uint8_t (*a)[32], size_t na, uint8_t (*b)[32], size_t nb)
{
    return na == nb && (na == 0 || memcmp(a, b, na * 32) == 0);
}

/* Whether a and b have the same `key`, or neither has it. */
static int same_member(const json_t *a, const json_t *b, const char *key)
{
    const json_t *x = json_object_get(a, key), *y = json_object_get(b, key);

    return x == y || json_equal(x, y);
}

/* 1 when the scanner took text and jansson's path reads the same from it
 * (the lists as hs_digest_parse_ids gives them, the state, the window),
 * 0 when the scanner declined it, -1 when they differ (reported). */
static int digest_as_jansson(const char *text, size_t len, int answer)
{
    hs_digest_text d;
    int r = hs_digest_scan(text, len, MAX, answer, &d), ok;
    json_t *tree;

    if (r != 1)
        return r == 0 ? 0 : -1;
    tree = json_loadb(text, len, 0, NULL);
    ok = json_is_object(tree) && !json_is_true(json_object_get(tree, "lazy"));
    if (ok) {
        size_t na = 0, nb = 0;
        uint8_t(*a)[32] =
            hs_digest_parse_ids(json_object_get(tree, answer ? "missing" : "ids"), MAX, &na);
        uint8_t(*b)[32] =
            answer ? hs_digest_parse_ids(json_object_get(tree, "extra"), MAX, &nb) : NULL;
        ok = a && (!answer || b) && same_ids(a, na, d.a, d.na) && same_ids(b, nb, d.b, d.nb) &&
             same_member(tree, d.rest, "state") && same_member(tree, d.rest, "window");
        free(a);
        free(b);
    }
    if (!ok)
        fprintf(stderr, "digest scanner and jansson differ on: %.*s\n", (int)len, text);
    json_decref(tree);
    hs_digest_text_free(&d);
    return ok ? 1 : -1;
}

static void digests_are_read_as_written(void)
{
    char text[4096];
    hs_digest_text d;

    for (int answer = 0; answer < 2; answer++)
        for (size_t n = 0; n <= MAX; n++) {
            size_t len = written_digest(text, sizeof text, answer, n, MAX - n, (unsigned)n);
            CHECK(digest_as_jansson(text, len, answer) == 1);
            CHECK(hs_digest_scan(text, len, MAX, answer, &d) == 1);
            CHECK(d.na == n && (answer ? d.nb == MAX - n : d.b == NULL));
            for (size_t i = 1; i < d.na; i++)
                CHECK(memcmp(d.a[i - 1], d.a[i], 32) <= 0); /* sorted */
            hs_digest_text_free(&d);
        }
    /* More than max, a list given again (the later one is jansson's), a
     * lazy offer, a request read as an answer: declined. */
    size_t len = written_digest(text, sizeof text, 0, MAX + 1, 0, 1);
    CHECK(hs_digest_scan(text, len, MAX, 0, &d) == 0);
    len = written_digest(text, sizeof text, 0, 2, 0, 2);
    strcpy(text + len - 1, ",\"ids\":[]}");
    CHECK(hs_digest_scan(text, strlen(text), MAX, 0, &d) == 0);
    strcpy(text + len - 1, ",\"lazy\":true}");
    CHECK(hs_digest_scan(text, strlen(text), MAX, 0, &d) == 0);
    len = written_digest(text, sizeof text, 0, 2, 0, 2);
    CHECK(hs_digest_scan(text, len, MAX, 1, &d) == 0);
    len = written_digest(text, sizeof text, 1, 2, 3, 2);
    strcpy(text + len - 1, ",\"extra\":[]}");
    CHECK(hs_digest_scan(text, strlen(text), MAX, 1, &d) == 0);
    CHECK(hs_digest_scan(NULL, 0, MAX, 1, &d) == 0);
}

static void mutated_digests_agree(void)
{
    char text[4200];
    size_t taken = 0, declined = 0, differ = 0;

    for (unsigned round = 0; round < 40000; round++) {
        int answer = (int)(round % 2);
        size_t len = written_digest(text, sizeof text, answer, next(MAX + 1), next(MAX + 1), round);
        len = mutate(text, len, sizeof text);
        int r = digest_as_jansson(text, len, answer);
        taken += r == 1;
        declined += r == 0;
        differ += r < 0;
    }
    CHECK(differ == 0);
    CHECK(taken > 1000);
    CHECK(declined > 1000);
    printf("mutated digests: %zu taken (each as jansson reads it), %zu declined\n", taken,
           declined);
}

int main(void)
{
    the_written_forms_are_read();
    the_edges();
    mutations_agree();
    digests_are_read_as_written();
    mutated_digests_agree();
    DONE();
}
