/*
 * lguard.h -- the standard library as a plugin host's state has it: every
 * function whose cost is not about one VM instruction charges its work
 * (lwork.h), so one call cannot block the loop for long inside a budget.
 */
#ifndef HS_LGUARD_H
#define HS_LGUARD_H

#include <lua.h>

/* Patches the opened string, table, utf8 and os libraries and `load` of
 * L's globals in place (their tables stay the same, so the string
 * metatable's methods get the same functions), and removes string.dump.
 * Run once at boot, before any plugin loads. */
void hs_guard_open(lua_State *L);

#endif
