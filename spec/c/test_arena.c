/*
 * test_arena.c -- the retained envelopes' chunked storage (arena.h): what
 * is put reads back with a NUL after it; a chunk goes back once all of its
 * pieces are let go of, whatever their order, one empty chunk is kept and
 * used again; a piece bigger than a chunk gets one of its own; the bytes
 * counted are the bytes held.
 */
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "check.h"

#define N 2000

static void pieces_read_back_and_chunks_go_back(void)
{
    static char text[1000];
    static char *at[N];
    static hs_arena_chunk *in[N];
    hs_arena a = {0};
    int bad = 0;

    for (size_t i = 0; i < sizeof text; i++)
        text[i] = (char)('a' + i % 26);
    /* 2000 pieces of 1-1000 bytes: about 1 MB, some 16 chunks. */
    for (int i = 0; i < N; i++) {
        size_t len = 1 + (size_t)(i * 7919) % sizeof text;
        at[i] = hs_arena_put(&a, text + (sizeof text - len), len, &in[i]);
        bad += !at[i] || memcmp(at[i], text + (sizeof text - len), len) != 0 || at[i][len] != '\0';
    }
    CHECK(bad == 0);
    size_t full = a.bytes;
    CHECK(full >= 1000000 && full < 1300000);
    /* Let go of the first half, oldest first (as the seen-cache does):
     * the chunks they filled go back, but for one kept. */
    for (int i = 0; i < N / 2; i++)
        hs_arena_drop(&a, in[i]);
    CHECK(a.bytes < full * 6 / 10 + 70000);
    CHECK(a.spare != NULL);
    /* The rest read back untouched. */
    for (int i = N / 2; i < N; i++) {
        size_t len = 1 + (size_t)(i * 7919) % sizeof text;
        bad += memcmp(at[i], text + (sizeof text - len), len) != 0;
    }
    CHECK(bad == 0);
    /* New pieces take the spare before any new chunk. */
    size_t before = a.bytes;
    hs_arena_chunk *c;
    for (int i = 0; i < 100; i++)
        CHECK(hs_arena_put(&a, text, 500, &c) != NULL);
    CHECK(a.bytes == before);
    /* Out of order: every other piece, then the others. */
    for (int i = N / 2; i < N; i += 2)
        hs_arena_drop(&a, in[i]);
    for (int i = N / 2 + 1; i < N; i += 2)
        hs_arena_drop(&a, in[i]);
    hs_arena_free(&a);
    CHECK(a.bytes == 0 && !a.head && !a.tail && !a.spare);
}

static void a_big_piece_gets_its_own_chunk(void)
{
    hs_arena a = {0};
    hs_arena_chunk *small, *big, *after;
    size_t len = 200000;
    char *data = malloc(len);

    CHECK(data != NULL);
    if (!data)
        return;
    memset(data, 'x', len);
    CHECK(hs_arena_put(&a, "abc", 3, &small) != NULL);
    char *b = hs_arena_put(&a, data, len, &big);
    CHECK(b && big != small && memcmp(b, data, len) == 0 && b[len] == '\0');
    CHECK(a.bytes >= 64 * 1024 + len);
    /* The next small piece goes after it, in a chunk of the usual size. */
    CHECK(hs_arena_put(&a, "def", 3, &after) != NULL && after != big && after != small);
    hs_arena_drop(&a, big);
    CHECK(a.bytes < 2 * (64 * 1024) + 1024); /* the big chunk is freed, not kept */
    /* The newest chunk emptied takes the next pieces from its start. */
    hs_arena_drop(&a, small);
    hs_arena_drop(&a, after);
    char *again = hs_arena_put(&a, "ghi", 3, &after);
    CHECK(again && strcmp(again, "ghi") == 0);
    hs_arena_free(&a);
    free(data);
}

/* A piece in parts reads back as the parts one after the other, one
 * piece: a kept envelope, the ttl spliced on the way (antientropy.c). */
static void parts_make_one_piece(void)
{
    hs_arena a = {0};
    hs_arena_chunk *c1, *c2, *c3;
    hs_arena_part parts[3] = {{"{\"ttl\":", 7}, {"0", 1}, {",\"x\":1}", 7}};

    char *one = hs_arena_put_parts(&a, parts, 3, &c1);
    CHECK(one && strcmp(one, "{\"ttl\":0,\"x\":1}") == 0);
    /* Empty parts, and none at all. */
    hs_arena_part empty[2] = {{"", 0}, {"ab", 2}};
    char *two = hs_arena_put_parts(&a, empty, 2, &c2);
    CHECK(two && strcmp(two, "ab") == 0 && two > one);
    char *none = hs_arena_put_parts(&a, NULL, 0, &c3);
    CHECK(none && none[0] == '\0' && none > two);
    CHECK(c1 == c2 && c2 == c3);
    /* One piece, let go of once each. */
    hs_arena_drop(&a, c1);
    hs_arena_drop(&a, c2);
    hs_arena_drop(&a, c3);
    char *again = hs_arena_put(&a, "z", 1, &c1);
    CHECK(again == one); /* the emptied newest chunk starts over */
    /* Lengths that add up past size_t: refused, nothing taken. */
    size_t before = a.bytes;
    hs_arena_part huge[2] = {{"a", (size_t)-1 / 2 + 1}, {"b", (size_t)-1 / 2 + 1}};
    CHECK(hs_arena_put_parts(&a, huge, 2, &c2) == NULL && a.bytes == before);
    hs_arena_free(&a);
}

int main(void)
{
    pieces_read_back_and_chunks_go_back();
    a_big_piece_gets_its_own_chunk();
    parts_make_one_piece();
    DONE();
}
