/*
 * test_feedpath.c -- the chains of feeders (feedpath.h): tags the same at
 * every node, chains read strictly (a short or bad tag, a stray comma,
 * never past the text's end), kept per feeder with the chain our own
 * goes through never the one replaced, and written cut at their length.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "feedpath.h"

static void tags_are_fnv1a(void)
{
    /* FNV-1a 32's published values: every node computes the same tag. */
    CHECK(hs_feedpath_tag("") == 0x811c9dc5u);
    CHECK(hs_feedpath_tag("a") == 0xe40c292cu);
    CHECK(hs_feedpath_tag("foobar") == 0xbf9cf968u);
    CHECK(hs_feedpath_tag("node-1") != hs_feedpath_tag("node-2"));
}

static void chains_are_read_strictly(void)
{
    uint32_t t[HS_FEEDPATH_UP];

    CHECK(hs_feedpath_parse("", t, HS_FEEDPATH_UP) == 0);
    CHECK(hs_feedpath_parse("0000000a", t, HS_FEEDPATH_UP) == 1 && t[0] == 10);
    CHECK(hs_feedpath_parse("deadbeef,00000001", t, HS_FEEDPATH_UP) == 2 && t[0] == 0xdeadbeefu &&
          t[1] == 1);
    CHECK(hs_feedpath_parse("DEADBEEF", t, HS_FEEDPATH_UP) == -1);  /* as written: lower case */
    CHECK(hs_feedpath_parse("deadbee", t, HS_FEEDPATH_UP) == -1);   /* short */
    CHECK(hs_feedpath_parse("deadbeef,", t, HS_FEEDPATH_UP) == -1); /* stray comma */
    CHECK(hs_feedpath_parse(",deadbeef", t, HS_FEEDPATH_UP) == -1);
    CHECK(hs_feedpath_parse("deadbeefa", t, HS_FEEDPATH_UP) == -1);
    CHECK(hs_feedpath_parse("deadbeeg", t, HS_FEEDPATH_UP) == -1);
    CHECK(hs_feedpath_parse("dead beef", t, HS_FEEDPATH_UP) == -1);
    CHECK(hs_feedpath_parse("deadbeef;00000001", t, HS_FEEDPATH_UP) == -1);
    /* A short tag at the text's very end: read within its bytes (a
     * buffer of exactly these bytes, for the sanitizers to watch). */
    char tail[] = {'0', '0', '0', '0', '0', '0', '0', '1', ',', 'a', 'b', '\0'};
    CHECK(hs_feedpath_parse(tail, t, HS_FEEDPATH_UP) == -1);
    /* Longer than max: the first max kept, the rest still checked. */
    char text[40 * 9];
    size_t at = 0;
    for (unsigned i = 0; i < 40; i++)
        at += (size_t)snprintf(text + at, sizeof text - at, "%s%08x", i ? "," : "", i + 1);
    CHECK(hs_feedpath_parse(text, t, 3) == 3 && t[0] == 1 && t[2] == 3);
    text[at - 1] = 'x';
    CHECK(hs_feedpath_parse(text, t, 3) == -1);
    uint32_t up[] = {5, 7, 9};
    CHECK(hs_feedpath_has(up, 3, 9) && !hs_feedpath_has(up, 2, 9) && !hs_feedpath_has(up, 3, 6));
}

/* The test's own "no way in any more": ids starting with 'x'. */
static int gone_x(const char *id, void *arg)
{
    (void)arg;
    return id[0] == 'x';
}

static void feeders_are_kept_and_replaced(void)
{
    hs_feedpath f;
    uint32_t a[] = {1, 2}, b[] = {3};
    char id[16];

    memset(&f, 0, sizeof f);
    hs_feedpath_set(&f, "a", a, 2, 1, "", gone_x, NULL);
    hs_feedpath_set(&f, "b", NULL, 0, 0, "", gone_x, NULL);
    const hs_feedway *w = hs_feedpath_find(&f, "a");
    CHECK(w && w->said && w->n == 2 && w->up[1] == 2);
    w = hs_feedpath_find(&f, "b");
    CHECK(w && !w->said && w->n == 0);
    hs_feedpath_set(&f, "a", b, 1, 1, "", gone_x, NULL); /* the same feeder: replaced */
    w = hs_feedpath_find(&f, "a");
    CHECK(w && w->n == 1 && w->up[0] == 3);
    hs_feedpath_drop(&f, "b");
    CHECK(!hs_feedpath_find(&f, "b"));
    /* Full: a feeder no way in any more goes first... */
    hs_feedpath_set(&f, "x1", a, 2, 1, "", gone_x, NULL);
    for (int i = 0; i < HS_FEEDPATH_WAYS - 2; i++) {
        snprintf(id, sizeof id, "c%d", i);
        hs_feedpath_set(&f, id, a, 2, 1, "", gone_x, NULL);
    }
    hs_feedpath_set(&f, "d", b, 1, 1, "a", gone_x, NULL);
    CHECK(!hs_feedpath_find(&f, "x1") && hs_feedpath_find(&f, "d") && hs_feedpath_find(&f, "a"));
    /* ...else the first, but never the one our chain goes through. */
    CHECK(strcmp(f.way[0].id, "a") == 0);
    hs_feedpath_set(&f, "e", b, 1, 1, "a", gone_x, NULL);
    CHECK(hs_feedpath_find(&f, "a") && hs_feedpath_find(&f, "e"));
    hs_feedpath_set(&f, "g", b, 1, 1, "e", gone_x, NULL);
    CHECK(hs_feedpath_find(&f, "e") && hs_feedpath_find(&f, "g"));
    /* An id longer than a peer's is not kept. */
    char big[HS_PEER_ID_MAX + 2];
    memset(big, 'y', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    hs_feedpath_set(&f, big, a, 2, 1, "", gone_x, NULL);
    CHECK(!hs_feedpath_find(&f, big));
}

static void chains_are_written_cut(void)
{
    hs_feedway w;
    char out[HS_FEEDPATH_TEXT];
    uint32_t t[HS_FEEDPATH_UP + 1];
    char want[16];

    memset(&w, 0, sizeof w);
    hs_feedpath_write("a", NULL, out);
    CHECK(strcmp(out, "e40c292c") == 0);
    w.said = 1;
    w.n = 2;
    w.up[0] = 0xabc;
    w.up[1] = 0xdeadbeef;
    hs_feedpath_write("a", &w, out);
    CHECK(strcmp(out, "e40c292c,00000abc,deadbeef") == 0);
    /* A full chain above the feeder: the feeder's tag and all but its
     * last, HS_FEEDPATH_UP in all, and it reads back. */
    w.n = HS_FEEDPATH_UP;
    for (unsigned i = 0; i < HS_FEEDPATH_UP; i++)
        w.up[i] = 0x10000000u + i;
    hs_feedpath_write("a", &w, out);
    CHECK(strlen(out) == HS_FEEDPATH_UP * 9 - 1);
    CHECK(hs_feedpath_parse(out, t, HS_FEEDPATH_UP + 1) == HS_FEEDPATH_UP);
    snprintf(want, sizeof want, "%08x", 0x10000000u + HS_FEEDPATH_UP - 2);
    CHECK(strcmp(out + strlen(out) - 8, want) == 0);
}

int main(void)
{
    tags_are_fnv1a();
    chains_are_read_strictly();
    feeders_are_kept_and_replaced();
    chains_are_written_cut();
    DONE();
}
