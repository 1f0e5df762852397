/*
 * lconfig.h -- node settings from a Lua table (lhearsay.c), for
 * hearsay.node and hearsay.sim.
 */
#ifndef HS_LCONFIG_H
#define HS_LCONFIG_H

#include <lua.h>

#include "hearsay.h"

/*
 * Sets in c each setting the table at idx names, over what c holds
 * already; raises on a name that is no node setting or a value of the
 * wrong kind ("tags" is left to the caller). Strings stay owned by the
 * table, and the C arrays of the lists by an anchor table left at -1 on
 * the stack (Lua-owned, so no error path has to free them).
 */
void hs_lua_apply_config(lua_State *L, int idx, hs_config *c);

#endif
