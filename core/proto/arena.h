/*
 * arena.h -- bytes kept in large chunks and let go of roughly in the order
 * they came: the seen-cache's retained envelopes (seen.c).
 *
 * Each retained envelope used to be a malloc of its own, freed 16 MiB of
 * envelopes later, oldest first: at 50 nodes a process, 800 MB of ~1 KB
 * blocks freed in the order they were made while short-lived ones came
 * and went between them. glibc's free lists then took a tenth of a loaded
 * node's CPU (`_int_malloc` 10-12% on loopback at 400-500 broadcasts a
 * second), and a long step tore where the same step under jemalloc held
 * (bench/RESULTS.md, Load, "The names in seen_by"). Here a piece is
 * copied to the end of the newest chunk (64 KiB, or one of its own for a
 * bigger piece); a chunk is given back when the last of its pieces is let
 * go, and one empty chunk is kept for the next.
 */
#ifndef HS_ARENA_H
#define HS_ARENA_H

#include <stddef.h>

typedef struct hs_arena_chunk hs_arena_chunk;

typedef struct hs_arena {
    hs_arena_chunk *head, *tail; /* oldest and newest chunk in use */
    hs_arena_chunk *spare;       /* an empty chunk kept for the next */
    size_t bytes;                /* allocated, the spare too */
} hs_arena;

/* A piece's bytes in parts, copied one after the other. */
typedef struct hs_arena_part {
    const char *p;
    size_t len;
} hs_arena_part;

/* Copies data[0..len) and a NUL into the arena: where it now is (the
 * chunk holding it in *chunk), or NULL out of memory. */
char *hs_arena_put(hs_arena *a, const char *data, size_t len, hs_arena_chunk **chunk);

/* The same for the n parts one after the other, as one piece (a kept
 * envelope is the bytes that came with its ttl spliced: no copy of its
 * own first). */
char *hs_arena_put_parts(hs_arena *a, const hs_arena_part *parts, size_t n, hs_arena_chunk **chunk);

/* Lets go of one piece that hs_arena_put placed in chunk. */
void hs_arena_drop(hs_arena *a, hs_arena_chunk *chunk);

/* Frees every chunk (pieces still held are gone too). */
void hs_arena_free(hs_arena *a);

#endif
