/*
 * ltypeset.c -- see ltypeset.h.
 */
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "ltypeset.h"

static int cmp_type(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void typeset_free(typeset *ts)
{
    for (size_t i = 0; i < ts->n; i++)
        free(ts->v[i]);
    free(ts->v);
    ts->v = NULL;
    ts->n = 0;
    ts->all = 0;
}

void typeset_set(typeset *ts, lua_State *L, int idx)
{
    lua_Integer n = luaL_len(L, idx);
    char **types = malloc((size_t)(n > 0 ? n : 1) * sizeof *types);
    size_t k = 0;
    int all = 0;

    idx = lua_absindex(L, idx);
    for (lua_Integer i = 1; types && i <= n; i++) {
        const char *t;
        lua_rawgeti(L, idx, i);
        t = lua_tostring(L, -1);
        if (t && strcmp(t, "*") == 0) {
            all = 1;
        } else if (t) {
            if (!(types[k] = strdup(t))) {
                lua_pop(L, 1);
                for (size_t j = 0; j < k; j++)
                    free(types[j]);
                free(types);
                types = NULL;
                break;
            }
            k++;
        }
        lua_pop(L, 1);
    }
    typeset_free(ts);
    if (!types) {
        /* Out of memory: let every message through to Lua, which decides
         * as it always did. */
        ts->all = 1;
        return;
    }
    qsort(types, k, sizeof *types, cmp_type);
    ts->v = types;
    ts->n = k;
    ts->all = all;
}

int typeset_has(const typeset *ts, const char *type)
{
    return ts->all || (ts->n && bsearch(&type, ts->v, ts->n, sizeof *ts->v, cmp_type));
}
