/*
 * idlist.h -- a list of node ids (an envelope's seen_by) held as its
 * compact JSON text, in one allocation.
 *
 * The text is the array without its brackets: "a","b","c". A valid node
 * id (hs_peers_valid_id: printable ASCII without space, quote or
 * backslash) needs no escape, so each entry's bytes are the id's own and
 * the text is what the wire carries: writing the list out is one copy,
 * reading it in a validation and a copy per id (no jansson string each,
 * which cost two allocations an id at every hop). Only valid ids get in.
 *
 * Cost: the text, plus 4 bytes an entry for where it starts. Lookup is a
 * scan (a list is at most max_seen_by long); a caller that checks many ids
 * against one list builds an hs_idset over it. The zeroed struct is the
 * empty list.
 */
#ifndef HS_IDLIST_H
#define HS_IDLIST_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "hearsay.h"

typedef struct hs_idlist {
    uint32_t *off; /* off[i]: where entry i starts in text (past its quote); the
                      allocation, owned (NULL: nothing reserved) */
    char *text;    /* in the same allocation */
    size_t n, len; /* entries; bytes of text */
    size_t cap_n, cap_len;
} hs_idlist;

/* Makes l an empty list with room for n ids of `bytes` bytes in all (l
 * must hold nothing: zeroed or freed). HS_ENOMEM, or HS_EINVAL for a list
 * whose text would pass 4 GiB. Reserving nothing allocates nothing. */
hs_err hs_idlist_reserve(hs_idlist *l, size_t n, size_t bytes);

/* Appends the id id[0..len) (borrowed, copied). Returns 0, or -1 when it
 * is not a valid node id (hs_peers_valid_idn) or the room reserved is
 * used up. */
int hs_idlist_push(hs_idlist *l, const char *id, size_t len);

/* Entry i (i < l->n): its bytes, not NUL-terminated (borrowed from l),
 * and their count in *len. */
static inline const char *hs_idlist_get(const hs_idlist *l, size_t i, size_t *len)
{
    size_t end = i + 1 < l->n ? l->off[i + 1] - 3 : l->len - 1; /* its closing quote */

    *len = end - l->off[i];
    return l->text + l->off[i];
}

/* Whether the list holds the id id[0..len). O(entries). */
int hs_idlist_has(const hs_idlist *l, const char *id, size_t len);

/* Whether a and b hold the same ids in the same order. */
int hs_idlist_equal(const hs_idlist *a, const hs_idlist *b);

/* A new JSON array of l's ids (a new reference), or NULL out of memory. */
json_t *hs_idlist_to_json(const hs_idlist *l);

/* Frees what l holds; l is then the empty list. */
void hs_idlist_free(hs_idlist *l);

/*
 * A hash set over a list's entries, for checking many ids against it (the
 * peers a message may go to against its seen_by). Open addressing with
 * linear probing, at most half full; the hash is a cheap one (a multiply
 * and a shift per 8 bytes) keyed with a secret of the caller's, so that
 * ids from the network cannot be aimed at one chain without it; and were
 * they, a lookup costs at most one compare per entry. Lists of up to 64
 * entries need no allocation.
 */
#define HS_IDSET_SMALL 128
typedef struct hs_idset {
    const hs_idlist *list; /* borrowed: it must outlive the set, unchanged */
    uint32_t *slot;        /* entry index + 1; 0: empty */
    size_t mask;
    uint64_t key;
    uint32_t small[HS_IDSET_SMALL];
} hs_idset;

/* Builds the set of l's entries. HS_ENOMEM. */
hs_err hs_idset_init(hs_idset *s, const hs_idlist *l, uint64_t key);
/* Whether id[0..len) is one of the list's entries. O(1) expected. */
int hs_idset_has(const hs_idset *s, const char *id, size_t len);
/* The keyed 64-bit hash the set files an id under (not cryptographic: a
 * key unknown to the sender is what spreads ids apart). */
uint64_t hs_idlist_hash(uint64_t key, const char *id, size_t len);
void hs_idset_free(hs_idset *s);

#endif
