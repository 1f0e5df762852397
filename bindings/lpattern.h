/*
 * lpattern.h -- string.find, match, gmatch and gsub with Lua 5.4's
 * semantics, whose matching work is charged through hs_work_charge()
 * (lwork.h), so a plugin call with an instruction budget cannot spend
 * unbounded time inside one pattern match.
 */
#ifndef HS_LPATTERN_H
#define HS_LPATTERN_H

#include <lua.h>

/* Sets `find`, `match`, `gmatch` and `gsub` into the table at stack index
 * idx (a plugin environment's copy of `string`, say). They take the same
 * arguments, return the same results and raise the same errors as Lua
 * 5.4.4's string functions; each call charges its work, in units of about
 * one VM instruction, to the budgeted call running on the lua_State that
 * calls it, and fails with the budget's error when that is spent. */
void hs_pattern_register(lua_State *L, int idx);

#endif
