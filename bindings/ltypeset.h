/*
 * ltypeset.h -- a set of message types from a Lua list, for the plugin
 * host: the types the active plugin set has handlers for, so that a
 * message no handler wants never enters Lua.
 */
#ifndef HS_LTYPESET_H
#define HS_LTYPESET_H

#include <stddef.h>

#include <lua.h>

typedef struct typeset {
    char **v; /* sorted, owned */
    size_t n;
    int all; /* a "*" in the list, or the list could not be stored (fail open) */
} typeset;

/* Replaces ts with the strings of the list at idx. */
void typeset_set(typeset *ts, lua_State *L, int idx);
int typeset_has(const typeset *ts, const char *type);
/* Empties ts (a zeroed typeset is empty). */
void typeset_free(typeset *ts);

#endif
