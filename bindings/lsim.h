/*
 * lsim.h -- hearsay.sim, the simulator in Lua (lsim.c).
 */
#ifndef HS_LSIM_H
#define HS_LSIM_H

#include <lua.h>

/* Adds `sim` to the module table at -1. */
void hs_lua_sim_register(lua_State *L);

#endif
