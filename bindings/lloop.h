/*
 * lloop.h -- the Lua face of a libuv loop (hearsay.loop()), shared by the
 * node bindings: callbacks into Lua run on the lua_State that is running
 * the loop, so coroutines (busted's among them) may drive it.
 */
#ifndef HS_LLOOP_H
#define HS_LLOOP_H

#include <lua.h>
#include <uv.h>

#define HS_LOOP_MT "hearsay.loop"

typedef struct hs_lloop {
    uv_loop_t *loop; /* malloc'd: handles may outlive Lua objects briefly */
    lua_State *L;    /* the main thread; cur_L while running */
    lua_State *cur_L;
    int closed;
} hs_lloop;

hs_lloop *hs_lloop_check(lua_State *L, int idx);

/* The state to call Lua on from a loop callback. */
lua_State *hs_lloop_state(hs_lloop *lp);

/* Calls the function under nargs arguments on L's stack with a traceback;
 * on error prints "where: message" through the warn function and returns
 * non-zero. Leaves nresults values on success. */
int hs_lua_pcall(lua_State *L, int nargs, int nresults, const char *where);

void hs_lloop_register(lua_State *L);

/* A message handler for lua_pcall: the error message with a traceback. */
int hs_lua_traceback(lua_State *L);

/* Registers a metatable `name` for a closeable handle userdata: close()
 * and __gc call `close`; `stop` (may be NULL) becomes a stop() method. */
void hs_lua_handle_metatable(lua_State *L, const char *name, lua_CFunction close,
                             lua_CFunction stop);

#endif
