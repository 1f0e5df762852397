/*
 * lwork.h -- charging the work of C library functions to the plugin call
 * in progress.
 *
 * The instruction budget counts Lua VM instructions; C functions a plugin
 * calls (pattern matching, string.rep, table.sort, json, ...) do their
 * work where no count hook sees it. Those functions, in the versions
 * plugins get, tell the plugin host what they did (or are about to do)
 * in units of about one VM instruction's cost, and the host fails the
 * call when its budget or its time is spent. Implemented by the plugin
 * host (lhost.c); outside a budgeted plugin call it only counts.
 */
#ifndef HS_LWORK_H
#define HS_LWORK_H

#include <stddef.h>

#include <lua.h>

/* Charges `units` to the budgeted call running on L. Returns when the
 * call may go on; raises a Lua error on L ("instruction limit exceeded"
 * or "time limit exceeded") when it may not. L must be a thread of a
 * plugin host's state. */
void hs_work_charge(lua_State *L, size_t units);

/* The same for code that must not raise (it holds memory Lua does not
 * own): returns 0 when the call may go on, else -1 -- then the caller
 * frees what it holds and calls hs_work_charge(L, 0), which raises. */
int hs_work_spend(lua_State *L, size_t units);

#endif
