/*
 * lloop.c -- hearsay.loop(): a libuv loop with timers, signals and run
 * helpers, for the CLI and for specs that drive whole clusters in-process.
 *
 * Handles created from Lua (timers, signals) are malloc'd beside their
 * userdata and closed with a close callback that frees them, so a handle is
 * never freed while libuv still holds it. Closing the loop closes every
 * handle on it and runs the loop until they are gone.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "lloop.h"

#define HS_TIMER_MT "hearsay.timer"
#define HS_SIGNAL_MT "hearsay.signal"
#define HS_WATCH_MT "hearsay.watch"

/* A Lua-owned handle: the uv handle plus the callback's registry ref. */
typedef struct lhandle {
    union {
        uv_timer_t timer;
        uv_signal_t signal;
        uv_fs_event_t fs_event;
        uv_handle_t handle;
    } u;
    hs_lloop *lp;
    lua_State *L; /* main thread, for luaL_unref at close */
    int fn_ref;
    struct lhandle_ud *ud; /* NULL once the userdata let go */
} lhandle;

typedef struct lhandle_ud {
    lhandle *h; /* NULL once closed */
} lhandle_ud;

/* Marks handles created from Lua (in handle->data) apart from the nodes'. */
static const char lhandle_marker = 'h';

static void lhandle_closed(uv_handle_t *h);

int hs_lua_traceback(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (!msg)
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    luaL_traceback(L, L, msg, 1);
    return 1;
}

int hs_lua_pcall(lua_State *L, int nargs, int nresults, const char *where)
{
    int base = lua_gettop(L) - nargs;
    int rc;

    lua_pushcfunction(L, hs_lua_traceback);
    lua_insert(L, base);
    rc = lua_pcall(L, nargs, nresults, base);
    lua_remove(L, base);
    if (rc != LUA_OK) {
        lua_warning(L, where, 1);
        lua_warning(L, ": ", 1);
        lua_warning(L, lua_tostring(L, -1) ? lua_tostring(L, -1) : "error", 0);
        lua_pop(L, 1);
    }
    return rc;
}

hs_lloop *hs_lloop_check(lua_State *L, int idx)
{
    hs_lloop *lp = luaL_checkudata(L, idx, HS_LOOP_MT);
    if (lp->closed)
        luaL_error(L, "loop is closed");
    return lp;
}

lua_State *hs_lloop_state(hs_lloop *lp)
{
    return lp->cur_L ? lp->cur_L : lp->L;
}

static int l_loop_new(lua_State *L)
{
    hs_lloop *lp = lua_newuserdatauv(L, sizeof *lp, 0);

    memset(lp, 0, sizeof *lp);
    lp->closed = 1; /* until initialised, so __gc does nothing */
    luaL_setmetatable(L, HS_LOOP_MT);
    lp->loop = malloc(sizeof *lp->loop);
    if (!lp->loop)
        return luaL_error(L, "out of memory");
    if (uv_loop_init(lp->loop) != 0) {
        free(lp->loop);
        lp->loop = NULL;
        return luaL_error(L, "uv_loop_init failed");
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
    lp->L = lua_tothread(L, -1);
    lua_pop(L, 1);
    lp->closed = 0;
    return 1;
}

/* Runs the loop once per call with cur_L set; restores the previous one. */
static int run(lua_State *L, hs_lloop *lp, uv_run_mode mode)
{
    lua_State *prev = lp->cur_L;
    int r;

    lp->cur_L = L;
    r = uv_run(lp->loop, mode);
    lp->cur_L = prev;
    return r;
}

static void stop_cb(uv_timer_t *t)
{
    uv_stop(t->loop);
}

static void free_handle_cb(uv_handle_t *h)
{
    free(h);
}

/* loop:run([mode]) -- "default" until loop:stop(), "once" or "nowait". */
static int l_loop_run(lua_State *L)
{
    hs_lloop *lp = hs_lloop_check(L, 1);
    static const char *const modes[] = {"default", "once", "nowait", NULL};
    static const uv_run_mode m[] = {UV_RUN_DEFAULT, UV_RUN_ONCE, UV_RUN_NOWAIT};
    int i = luaL_checkoption(L, 2, "default", modes);

    lua_pushboolean(L, run(L, lp, m[i]) != 0);
    return 1;
}

/* loop:run_for(seconds) -- runs the loop for that long. */
static int l_loop_run_for(lua_State *L)
{
    hs_lloop *lp = hs_lloop_check(L, 1);
    double s = luaL_checknumber(L, 2);
    uv_timer_t *t = malloc(sizeof *t);

    if (!t)
        return luaL_error(L, "out of memory");
    uv_timer_init(lp->loop, t);
    uv_timer_start(t, stop_cb, s > 0 ? (uint64_t)(s * 1000) : 0, 0);
    run(L, lp, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)t, free_handle_cb);
    uv_run(lp->loop, UV_RUN_NOWAIT);
    return 0;
}

typedef struct until_ctx {
    uv_timer_t timer;
    lua_State *L;
    int pred_idx;
    double deadline; /* uv_now ms */
    int met, failed;
    char *error; /* the predicate's error, with its traceback (malloc'd) */
} until_ctx;

static void until_cb(uv_timer_t *t)
{
    until_ctx *u = t->data;
    lua_State *L = u->L;

    lua_pushcfunction(L, hs_lua_traceback);
    lua_pushvalue(L, u->pred_idx);
    if (lua_pcall(L, 0, 1, -2) != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        u->failed = 1;
        u->error = strdup(msg ? msg : "(an error that is not a string)");
        lua_pop(L, 2);
        uv_stop(t->loop);
        return;
    }
    lua_remove(L, -2);
    u->met = lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (u->met || (double)uv_now(t->loop) >= u->deadline)
        uv_stop(t->loop);
}

/*
 * loop:run_until(pred, timeout_s [, step_s]) -- runs the loop, calling pred
 * every step (default 10 ms), until it returns true (-> true) or the
 * timeout passes (-> false). Always bounded by the timeout.
 */
static int l_loop_run_until(lua_State *L)
{
    hs_lloop *lp = hs_lloop_check(L, 1);
    double timeout = luaL_checknumber(L, 3);
    double step = luaL_optnumber(L, 4, 0.01);
    until_ctx *u;

    luaL_checktype(L, 2, LUA_TFUNCTION);
    /* A true predicate needs no loop run at all. */
    lua_pushvalue(L, 2);
    lua_call(L, 0, 1);
    if (lua_toboolean(L, -1)) {
        lua_pushboolean(L, 1);
        return 1;
    }
    lua_pop(L, 1);
    u = malloc(sizeof *u);
    if (!u)
        return luaL_error(L, "out of memory");
    u->L = L;
    u->pred_idx = 2;
    u->met = u->failed = 0;
    u->error = NULL;
    uv_update_time(lp->loop);
    u->deadline = (double)uv_now(lp->loop) + timeout * 1000;
    uv_timer_init(lp->loop, &u->timer);
    u->timer.data = u;
    uint64_t st = step < 0.001 ? 1 : (uint64_t)(step * 1000);
    uv_timer_start(&u->timer, until_cb, st, st);
    run(L, lp, UV_RUN_DEFAULT);
    int met = u->met, failed = u->failed;
    char *error = u->error;
    uv_close((uv_handle_t *)&u->timer, free_handle_cb);
    uv_run(lp->loop, UV_RUN_NOWAIT);
    if (failed) {
        /* The predicate's own words, not just that it failed. */
        lua_pushfstring(L, "run_until: the predicate raised an error: %s",
                        error ? error : "out of memory");
        free(error);
        return lua_error(L);
    }
    lua_pushboolean(L, met);
    return 1;
}

static int l_loop_stop(lua_State *L)
{
    uv_stop(hs_lloop_check(L, 1)->loop);
    return 0;
}

/* loop:now() -- monotonic seconds with nanosecond resolution. */
static int l_loop_now(lua_State *L)
{
    hs_lloop_check(L, 1);
    lua_pushnumber(L, (double)uv_hrtime() / 1e9);
    return 1;
}

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    /* Only Lua-owned handles: a node's handles close with the node. */
    if (!uv_is_closing(h) && h->data == &lhandle_marker)
        uv_close(h, lhandle_closed);
}

static void loop_close(hs_lloop *lp)
{
    if (lp->closed)
        return;
    lp->closed = 1;
    /* Let pending closes (nodes, handles) finish, then force the rest. */
    uv_run(lp->loop, UV_RUN_NOWAIT);
    uv_walk(lp->loop, close_walk, NULL);
    for (int i = 0; i < 1000; i++) {
        if (uv_loop_close(lp->loop) == 0) {
            free(lp->loop);
            lp->loop = NULL;
            return;
        }
        uv_run(lp->loop, UV_RUN_NOWAIT);
    }
    /* A node still open holds handles: leaking the loop beats freeing
     * memory libuv still points into. */
    lua_warning(lp->L, "hearsay: loop closed with nodes still open", 0);
}

static int l_loop_close(lua_State *L)
{
    hs_lloop *lp = luaL_checkudata(L, 1, HS_LOOP_MT);
    loop_close(lp);
    return 0;
}

static int l_loop_gc(lua_State *L)
{
    loop_close(luaL_checkudata(L, 1, HS_LOOP_MT));
    return 0;
}

/* ---- timers and signals ------------------------------------------------ */

static void lhandle_closed(uv_handle_t *h)
{
    lhandle *lh = (lhandle *)h;
    if (lh->ud)
        lh->ud->h = NULL;
    luaL_unref(lh->L, LUA_REGISTRYINDEX, lh->fn_ref);
    free(lh);
}

static void lhandle_call(lhandle *lh, const char *where, int signum)
{
    lua_State *L = hs_lloop_state(lh->lp);

    lua_rawgeti(L, LUA_REGISTRYINDEX, lh->fn_ref);
    if (signum) {
        lua_pushinteger(L, signum);
        hs_lua_pcall(L, 1, 0, where);
    } else {
        hs_lua_pcall(L, 0, 0, where);
    }
}

static void on_ltimer(uv_timer_t *t)
{
    lhandle_call((lhandle *)t, "timer callback", 0);
}

static void on_lsignal(uv_signal_t *s, int signum)
{
    lhandle_call((lhandle *)s, "signal callback", signum);
}

static void on_lfs_event(uv_fs_event_t *w, const char *filename, int events, int status)
{
    lhandle *lh = (lhandle *)w;
    lua_State *L = hs_lloop_state(lh->lp);

    (void)events;
    lua_rawgeti(L, LUA_REGISTRYINDEX, lh->fn_ref);
    if (filename)
        lua_pushstring(L, filename);
    else
        lua_pushnil(L);
    if (status < 0)
        lua_pushstring(L, uv_strerror(status));
    else
        lua_pushnil(L);
    hs_lua_pcall(L, 2, 0, "watch callback");
}

static int l_handle_close(lua_State *L);

static lhandle *new_lhandle(lua_State *L, hs_lloop *lp, int fn_idx, const char *mt)
{
    lhandle_ud *ud = lua_newuserdatauv(L, sizeof *ud, 0);
    lhandle *lh;

    ud->h = NULL;
    luaL_setmetatable(L, mt);
    lh = calloc(1, sizeof *lh);
    if (!lh)
        luaL_error(L, "out of memory");
    lh->lp = lp;
    lh->L = lp->L;
    lua_pushvalue(L, fn_idx);
    lh->fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lh->ud = ud;
    ud->h = lh;
    return lh;
}

/* loop:timer(delay_s, repeat_s, fn) -> timer; repeat 0 fires once. */
static int l_loop_timer(lua_State *L)
{
    hs_lloop *lp = hs_lloop_check(L, 1);
    double delay = luaL_checknumber(L, 2), rep = luaL_checknumber(L, 3);
    lhandle *lh;

    luaL_checktype(L, 4, LUA_TFUNCTION);
    luaL_argcheck(L, delay >= 0 && rep >= 0, 2, "times must not be negative");
    lh = new_lhandle(L, lp, 4, HS_TIMER_MT);
    uv_timer_init(lp->loop, &lh->u.timer);
    lh->u.handle.data = (void *)&lhandle_marker;
    uv_timer_start(&lh->u.timer, on_ltimer, (uint64_t)(delay * 1000), (uint64_t)(rep * 1000));
    return 1;
}

/* loop:watch(path, fn(filename, err)) -> handle: fn runs when something in
 * the directory (or the file) at path changes. Keep the handle. */
static int l_loop_watch(lua_State *L)
{
    hs_lloop *lp = hs_lloop_check(L, 1);
    const char *path = luaL_checkstring(L, 2);
    lhandle *lh;
    int rc;

    luaL_checktype(L, 3, LUA_TFUNCTION);
    lh = new_lhandle(L, lp, 3, HS_WATCH_MT);
    uv_fs_event_init(lp->loop, &lh->u.fs_event);
    lh->u.handle.data = (void *)&lhandle_marker;
    if ((rc = uv_fs_event_start(&lh->u.fs_event, on_lfs_event, path, 0)) != 0) {
        lua_pushcfunction(L, l_handle_close);
        lua_pushvalue(L, -2);
        lua_call(L, 1, 0);
        return luaL_error(L, "watch %s: %s", path, uv_strerror(rc));
    }
    return 1;
}

typedef struct lproc {
    uv_process_t proc;
    lua_State *L; /* main thread */
    hs_lloop *lp;
    int fn_ref;
} lproc;

static void lproc_closed(uv_handle_t *h)
{
    free(h->data);
}

static void on_lproc_exit(uv_process_t *p, int64_t status, int signum)
{
    lproc *lpr = p->data;
    lua_State *L = hs_lloop_state(lpr->lp);

    lua_rawgeti(L, LUA_REGISTRYINDEX, lpr->fn_ref);
    luaL_unref(L, LUA_REGISTRYINDEX, lpr->fn_ref);
    lua_pushinteger(L, (lua_Integer)status);
    lua_pushinteger(L, signum);
    uv_close((uv_handle_t *)p, lproc_closed);
    hs_lua_pcall(L, 2, 0, "process exit callback");
}

/* loop:spawn(file, {args...}, fn(status, signal)) -> pid. The child shares
 * our stdin, stdout and stderr. */
static int l_loop_spawn(lua_State *L)
{
    hs_lloop *lp = hs_lloop_check(L, 1);
    const char *file = luaL_checkstring(L, 2);
    uv_process_options_t o;
    uv_stdio_container_t stdio[3];
    char *argv[64];
    lproc *lpr;
    int n, rc;

    luaL_checktype(L, 3, LUA_TTABLE);
    luaL_checktype(L, 4, LUA_TFUNCTION);
    n = (int)lua_rawlen(L, 3);
    luaL_argcheck(L, n < 62, 3, "too many arguments");
    argv[0] = (char *)file;
    for (int i = 1; i <= n; i++) {
        lua_rawgeti(L, 3, i);
        argv[i] = (char *)luaL_checkstring(L, -1);
        lua_pop(L, 1); /* the string stays alive in the args table */
    }
    argv[n + 1] = NULL;
    memset(&o, 0, sizeof o);
    for (int i = 0; i < 3; i++) {
        stdio[i].flags = UV_INHERIT_FD;
        stdio[i].data.fd = i;
    }
    o.file = file;
    o.args = argv;
    o.stdio = stdio;
    o.stdio_count = 3;
    o.exit_cb = on_lproc_exit;
    lpr = calloc(1, sizeof *lpr);
    if (!lpr)
        return luaL_error(L, "out of memory");
    lpr->lp = lp;
    lpr->proc.data = lpr;
    if ((rc = uv_spawn(lp->loop, &lpr->proc, &o)) != 0) {
        free(lpr);
        return luaL_error(L, "spawn %s: %s", file, uv_strerror(rc));
    }
    lua_pushvalue(L, 4);
    lpr->fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pushinteger(L, lpr->proc.pid);
    return 1;
}

/* loop:signal("SIGINT"|"SIGTERM"|"SIGHUP"|number, fn) -> signal handle. */
static int l_loop_signal(lua_State *L)
{
    hs_lloop *lp = hs_lloop_check(L, 1);
    static const char *const names[] = {"SIGINT", "SIGTERM", "SIGHUP", "SIGUSR1", "SIGUSR2", NULL};
    static const int nums[] = {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2};
    int signum =
        lua_isinteger(L, 2) ? (int)lua_tointeger(L, 2) : nums[luaL_checkoption(L, 2, NULL, names)];
    lhandle *lh;

    luaL_checktype(L, 3, LUA_TFUNCTION);
    lh = new_lhandle(L, lp, 3, HS_SIGNAL_MT);
    uv_signal_init(lp->loop, &lh->u.signal);
    lh->u.handle.data = (void *)&lhandle_marker;
    uv_signal_start(&lh->u.signal, on_lsignal, signum);
    /* Signal watchers should not keep a loop alive by themselves. */
    uv_unref(&lh->u.handle);
    return 1;
}

/* handle:close() and __gc: a handle lives as long as its userdata. */
static int l_handle_close(lua_State *L)
{
    lhandle_ud *ud = lua_touserdata(L, 1);
    if (ud && ud->h) {
        ud->h->ud = NULL;
        if (!uv_is_closing(&ud->h->u.handle))
            uv_close(&ud->h->u.handle, lhandle_closed);
        ud->h = NULL;
    }
    return 0;
}

static int l_timer_stop(lua_State *L)
{
    lhandle_ud *ud = luaL_checkudata(L, 1, HS_TIMER_MT);
    if (ud->h)
        uv_timer_stop(&ud->h->u.timer);
    return 0;
}

static const luaL_Reg loop_methods[] = {
    {"run", l_loop_run},
    {"run_for", l_loop_run_for},
    {"run_until", l_loop_run_until},
    {"stop", l_loop_stop},
    {"now", l_loop_now},
    {"timer", l_loop_timer},
    {"signal", l_loop_signal},
    {"close", l_loop_close},
    {"watch", l_loop_watch},
    {"spawn", l_loop_spawn},
    {NULL, NULL},
};

void hs_lua_handle_metatable(lua_State *L, const char *name, lua_CFunction close,
                             lua_CFunction stop)
{
    luaL_newmetatable(L, name);
    lua_newtable(L);
    lua_pushcfunction(L, close);
    lua_setfield(L, -2, "close");
    if (stop) {
        lua_pushcfunction(L, stop);
        lua_setfield(L, -2, "stop");
    }
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, close);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
}

void hs_lloop_register(lua_State *L)
{
    luaL_newmetatable(L, HS_LOOP_MT);
    luaL_newlib(L, loop_methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_loop_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);

    hs_lua_handle_metatable(L, HS_TIMER_MT, l_handle_close, l_timer_stop);
    hs_lua_handle_metatable(L, HS_WATCH_MT, l_handle_close, NULL);
    hs_lua_handle_metatable(L, HS_SIGNAL_MT, l_handle_close, NULL);

    lua_pushcfunction(L, l_loop_new);
    lua_setfield(L, -2, "loop");
}
