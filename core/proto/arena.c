/*
 * arena.c -- chunked bytes let go of in about the order they came
 * (arena.h).
 */
#include <stdlib.h>
#include <string.h>

#include "arena.h"

#define CHUNK (64 * 1024)

struct hs_arena_chunk {
    hs_arena_chunk *prev, *next;
    size_t cap, used, live; /* live: pieces not let go of yet */
    char data[];
};

/* A chunk of at least `need` bytes: the spare when it will do. */
static hs_arena_chunk *chunk_new(hs_arena *a, size_t need)
{
    size_t cap = need > CHUNK ? need : CHUNK;
    hs_arena_chunk *c = a->spare;

    if (c && c->cap >= cap) {
        a->spare = NULL;
    } else {
        if (cap > (size_t)-1 - sizeof *c || !(c = malloc(sizeof *c + cap)))
            return NULL;
        c->cap = cap;
        a->bytes += sizeof *c + cap;
    }
    c->used = c->live = 0;
    c->prev = a->tail;
    c->next = NULL;
    if (a->tail)
        a->tail->next = c;
    else
        a->head = c;
    a->tail = c;
    return c;
}

char *hs_arena_put_parts(hs_arena *a, const hs_arena_part *parts, size_t n, hs_arena_chunk **chunk)
{
    hs_arena_chunk *c = a->tail;
    size_t len = 0, off = 0;
    char *at;

    for (size_t i = 0; i < n; i++) {
        if (parts[i].len >= (size_t)-1 - len)
            return NULL;
        len += parts[i].len;
    }
    if (!c || c->cap - c->used < len + 1) {
        if (!(c = chunk_new(a, len + 1)))
            return NULL;
    }
    at = c->data + c->used;
    for (size_t i = 0; i < n; i++) {
        memcpy(at + off, parts[i].p, parts[i].len);
        off += parts[i].len;
    }
    at[len] = '\0';
    c->used += len + 1;
    c->live++;
    *chunk = c;
    return at;
}

char *hs_arena_put(hs_arena *a, const char *data, size_t len, hs_arena_chunk **chunk)
{
    hs_arena_part part = {data, len};

    return hs_arena_put_parts(a, &part, 1, chunk);
}

static void release(hs_arena *a, hs_arena_chunk *c)
{
    a->bytes -= sizeof *c + c->cap;
    free(c);
}

void hs_arena_drop(hs_arena *a, hs_arena_chunk *c)
{
    if (!c || --c->live > 0)
        return;
    if (c == a->tail) { /* the newest: it takes the next pieces from its start */
        c->used = 0;
        return;
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        a->head = c->next;
    c->next->prev = c->prev; /* (not the tail: it has a next) */
    if (c->cap == CHUNK && !a->spare)
        a->spare = c;
    else
        release(a, c);
}

void hs_arena_free(hs_arena *a)
{
    for (hs_arena_chunk *c = a->head, *next; c; c = next) {
        next = c->next;
        release(a, c);
    }
    if (a->spare)
        release(a, a->spare);
    memset(a, 0, sizeof *a);
}
