/*
 * lhost.c -- a node's plugin host; see lhost.h.
 *
 * Limits. The allocator refuses any growth past mem_limit, so a memory bomb
 * gets "not enough memory" in its own call. Every call into Lua runs in a
 * frame of the host's budget (lbudget.h): a count hook charges every
 * HOOK_STEP VM instructions to the frame on top, C library functions
 * charge their work (lwork.h), and the frame's instruction budget and
 * deadline end the call when spent. The sandbox's pcall/xpcall/coroutine
 * wrappers re-raise those errors, so a plugin cannot swallow one and loop
 * on (and the hook raises again at its next step if it tried). A plugin
 * whose call overruns its deadline, or whose calls take too much of the
 * loop's time, is quarantined: the manager unloads it until a reload.
 *
 * Reentrancy. Plugin code may call back into the core (broadcast,
 * update_state), which may call hooks again; those run on the thread that
 * made the call (h->cur), never on a suspended one, in frames nested in
 * the caller's.
 */
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "lbudget.h"
#include "lguard.h"
#include "ljson.h"
#include "lhost.h"
#include "lkeyring.h"
#include "ltypeset.h"
#include "lvalues.h"
#include "lwork.h"

#define HOOK_STEP 1000
#define HOOK_STATS 12
#define COPY_MAX_DEPTH 16
#define HS_PTIMER_MT "hearsay.plugin_timer"
#define HS_PSLOT_MT "hearsay.plugin_slot"

typedef struct ptimer {
    uv_timer_t t;
    void *vt; /* the virtual timer instead (hs_host_env), or NULL */
    hs_host *h;
    int fn_ref;
    struct ptimer *prev, *next;
    struct ptimer **ud; /* the userdata's pointer to us, or NULL */
} ptimer;

struct hs_host {
    lua_State *PL;
    lua_State *cur; /* the thread running plugin code now, or NULL */
    size_t mem_used, mem_limit;
    hs_budget budget;
    hs_node *node; /* NULL once closing */
    hs_lloop *lp;
    uv_loop_t *loop;
    int mgr_ref;
    int open_handles;
    int closing;
    ptimer *timers;
    hs_console *console;
    /* The message types the active plugin set handles, so a message no
     * handler wants never enters Lua; `own`: those with handlers of the
     * node's own broadcasts. */
    typeset handled, own;
    /* Calls into the plugins by hook, for /health and GET /metrics: how
     * many, how many failed, and their time. */
    struct hook_stats {
        const char *name; /* a literal: the hook's */
        uint64_t calls, errors, ns;
    } hooks[HOOK_STATS];
    size_t nhooks;
    /* The candidates of the policy call in progress (see lazy candidates). */
    const hs_message *sel_msg;
    const hs_peer_info *cands;
    size_t ncands;
    const void *msg_table, *list_table; /* the lazy tables of that call, by address */
    const void **cand_tables;           /* (NULL: that candidate not made yet) */
    int lazy_mt[3];                     /* registry refs, by LAZY_ kind */
    /* The active policy, called from C without the manager in between:
     * registry refs to its function, its plugin's slot and its record
     * (given back to the manager when it fails); LUA_NOREF when none. */
    int policy_fn, policy_slot_ref, policy_rec;
    hs_pslot *policy_slot;
    hs_host_env env; /* valid when `virtual` */
    int virtual;
};

static void make_lazy_metatables(hs_host *h, lua_State *L);

/* ---- limits ------------------------------------------------------------- */

static void *host_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    hs_host *h = ud;
    size_t old = ptr ? osize : 0;
    void *p;

    if (nsize == 0) {
        free(ptr);
        h->mem_used -= old;
        return NULL;
    }
    if (nsize > old && h->mem_used + (nsize - old) > h->mem_limit)
        return NULL; /* Lua collects garbage and retries, then fails the call */
    p = realloc(ptr, nsize);
    if (p)
        h->mem_used = h->mem_used - old + nsize;
    return p;
}

static hs_host *host_of(lua_State *L)
{
    return *(hs_host **)lua_getextraspace(L);
}

static void count_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    hs_budget_tick(&host_of(L)->budget, L, HOOK_STEP);
}

void hs_work_charge(lua_State *L, size_t units)
{
    hs_budget_tick(&host_of(L)->budget, L, units);
}

int hs_work_spend(lua_State *L, size_t units)
{
    return hs_budget_try(&host_of(L)->budget, units) ? -1 : 0;
}

/* ---- calling into the host state ------------------------------------------ */

static lua_State *cur_state(hs_host *h)
{
    return h->cur ? h->cur : h->PL;
}

lua_State *hs_host_state(hs_host *h)
{
    return cur_state(h);
}

uv_loop_t *hs_host_loop(hs_host *h)
{
    return h->loop;
}

int hs_host_is_closing(hs_host *h)
{
    return h->closing;
}

int hs_host_call(hs_host *h, const char *fn, int nargs, int nres)
{
    lua_State *L = cur_state(h);
    int base = lua_gettop(L) - nargs;
    hs_frame f;

    lua_pushcfunction(L, hs_lua_traceback);
    lua_rawgeti(L, LUA_REGISTRYINDEX, h->mgr_ref);
    lua_getfield(L, -1, fn);
    lua_remove(L, -2);
    lua_rotate(L, base + 1, 2); /* traceback, fn, args... */
    hs_budget_push(&h->budget, &f, HS_FRAME_MANAGER, NULL);
    int rc = lua_pcall(L, nargs, nres, base + 1);
    hs_budget_pop(&h->budget, &f);
    if (rc != LUA_OK) {
        if (h->node)
            hs_node_log(h->node, HS_LOG_ERROR, "plugin manager: %s: %s", fn,
                        lua_tostring(L, -1) ? lua_tostring(L, -1) : "error");
        lua_settop(L, base);
        return -1;
    }
    lua_remove(L, base + 1);
    return 0;
}

/*
 * What a hook pushes for Lua allocates, and the allocator refuses growth
 * past the memory cap: a plugin holding its memory at the cap would make
 * such a push raise an error outside any pcall, which panics the state
 * and ends the process. So each hook pushes, calls and reads back inside
 * `body` (called with ud) under lua_pcall: a refusal fails that hook, is
 * logged, and the core goes on as it would without plugins. On success
 * body's results are left on the stack.
 */
/* Counts a call into the plugins through hook `what` (a literal). */
static void hook_count(hs_host *h, const char *what, uint64_t ns, int failed)
{
    size_t i = 0;

    while (i < h->nhooks && strcmp(h->hooks[i].name, what) != 0)
        i++;
    if (i == h->nhooks) {
        if (h->nhooks == HOOK_STATS)
            return;
        h->hooks[h->nhooks++].name = what;
    }
    h->hooks[i].calls++;
    h->hooks[i].errors += failed != 0;
    h->hooks[i].ns += ns;
}

static int run_protected(hs_host *h, lua_CFunction body, void *ud, int nres, const char *what)
{
    lua_State *L = cur_state(h);
    int top = lua_gettop(L), rc;
    uint64_t t0 = uv_hrtime();

    lua_pushcfunction(L, body);
    lua_pushlightuserdata(L, ud);
    rc = lua_pcall(L, 1, nres, 0);
    hook_count(h, what, uv_hrtime() - t0, rc != LUA_OK);
    if (rc != LUA_OK) {
        if (h->node)
            hs_node_log(h->node, HS_LOG_ERROR, "plugin host: %s: %s", what,
                        lua_tostring(L, -1) ? lua_tostring(L, -1) : "error");
        lua_settop(L, top);
    }
    return rc;
}

int hs_host_console_run(hs_host *h, lua_CFunction body, void *ud, int nres)
{
    size_t limit = h->mem_limit;
    int rc;

    h->mem_limit += HS_CONSOLE_RESERVE;
    rc = run_protected(h, body, ud, nres, "console");
    h->mem_limit = limit;
    return rc;
}

/* ---- the api table given to the manager ------------------------------------ */

static hs_host *api_host(lua_State *L)
{
    hs_host *h = lua_touserdata(L, lua_upvalueindex(1));
    if (!h->node)
        luaL_error(L, "the node is closing");
    return h;
}

/* Tells the manager that the plugin of the slot at idx of L's stack was
 * quarantined, so it unloads it. */
static void report_quarantine(hs_host *h, lua_State *L, int idx)
{
    lua_State *prev = h->cur;

    h->cur = L;
    lua_pushvalue(L, idx);
    hs_host_call(h, "quarantined", 1, 0);
    h->cur = prev;
}

/* lua_pcall of plugin code on L (the thread running it from now on) in a
 * frame of the given kind; *quarantined is set when the call put its
 * plugin in quarantine. A call nested too deeply fails without running. */
static int budgeted_pcall(hs_host *h, lua_State *L, int nargs, int nres, int msgh,
                          hs_frame_kind kind, hs_pslot *slot, int *quarantined)
{
    lua_State *prev = h->cur;
    hs_frame f;
    int rc;

    *quarantined = 0;
    if (hs_budget_push(&h->budget, &f, kind, slot) != 0) {
        lua_settop(L, lua_gettop(L) - nargs - 1);
        lua_pushfstring(L, "plugin hooks nested too deeply (%d calls)", HS_BUDGET_NEST_MAX);
        return LUA_ERRRUN;
    }
    h->cur = L;
    rc = lua_pcall(L, nargs, nres, msgh);
    h->cur = prev;
    *quarantined = hs_budget_pop(&h->budget, &f);
    return rc;
}

static hs_pslot *check_slot(lua_State *L, int idx)
{
    return luaL_checkudata(L, idx, HS_PSLOT_MT);
}

/*
 * api.call(who, fn, ...) -> true, results... | false, error-with-traceback
 *                         | nil (who is a quarantined plugin: not called)
 * who: a plugin's slot (api.slot), "console" for an operator's line, or
 * nil for plugin code no plugin answers for yet (a file loading, node.lua).
 */
static int api_call(lua_State *L)
{
    hs_host *h = lua_touserdata(L, lua_upvalueindex(1));
    hs_pslot *slot = NULL;
    hs_frame_kind kind = HS_FRAME_ANON;
    int n = lua_gettop(L), rc, quarantined;

    if (lua_type(L, 1) == LUA_TSTRING) {
        kind = HS_FRAME_CONSOLE;
    } else if (!lua_isnil(L, 1)) {
        slot = check_slot(L, 1);
        kind = HS_FRAME_PLUGIN;
        if (slot->quarantined) {
            lua_pushnil(L);
            return 1;
        }
    }
    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_pushcfunction(L, hs_lua_traceback);
    lua_insert(L, 2); /* who, traceback, fn, args... */
    rc = budgeted_pcall(h, L, n - 2, LUA_MULTRET, 2, kind, slot, &quarantined);
    lua_pushboolean(L, rc == LUA_OK);
    lua_replace(L, 2); /* the traceback slot becomes the status */
    if (quarantined)
        report_quarantine(h, L, 1);
    return lua_gettop(L) - 1;
}

/* api.slot() -> a new plugin slot (counters and quarantine, lbudget.h) */
static int api_slot(lua_State *L)
{
    hs_pslot *s = lua_newuserdatauv(L, sizeof *s, 0);

    memset(s, 0, sizeof *s);
    luaL_setmetatable(L, HS_PSLOT_MT);
    return 1;
}

/* api.slot_info(slot) -> { calls, time_ms, timeouts, limits, quarantines,
 * quarantined = reason | nil } */
static int api_slot_info(lua_State *L)
{
    hs_pslot *s = check_slot(L, 1);

    lua_createtable(L, 0, 6);
    lua_pushinteger(L, (lua_Integer)s->calls);
    lua_setfield(L, -2, "calls");
    lua_pushnumber(L, (double)s->time_ns / 1e6);
    lua_setfield(L, -2, "time_ms");
    lua_pushinteger(L, (lua_Integer)s->timeouts);
    lua_setfield(L, -2, "timeouts");
    lua_pushinteger(L, (lua_Integer)s->limits);
    lua_setfield(L, -2, "limits");
    lua_pushinteger(L, (lua_Integer)s->quarantines);
    lua_setfield(L, -2, "quarantines");
    if (s->quarantined) {
        lua_pushstring(L, s->reason);
        lua_setfield(L, -2, "quarantined");
    }
    return 1;
}

/* api.slot_release(slot): its plugin was loaded afresh. */
static int api_slot_release(lua_State *L)
{
    hs_pslot_release(check_slot(L, 1));
    return 0;
}

static int api_id(lua_State *L)
{
    lua_pushstring(L, hs_node_id(api_host(L)->node));
    return 1;
}

static int api_url(lua_State *L)
{
    lua_pushstring(L, hs_node_url(api_host(L)->node));
    return 1;
}

static int api_peers(lua_State *L)
{
    hs_host *h = api_host(L);
    int all = lua_toboolean(L, 1);
    size_t total = hs_node_peer_total(h->node);
    lua_Integer k = 0;

    lua_createtable(L, (int)total, 0);
    for (size_t i = 0; i < total; i++) {
        hs_peer_info p;
        hs_node_peer_get(h->node, i, &p);
        if (p.state == HS_PEER_DEAD && !all)
            continue;
        hs_lua_push_peer(L, &p);
        lua_rawseti(L, -2, ++k);
    }
    return 1;
}

static int api_health(lua_State *L)
{
    hs_lua_push_json_new(L, hs_node_health_json(api_host(L)->node));
    return 1;
}

static int api_state(lua_State *L)
{
    hs_lua_push_json_new(L, hs_node_state_json(api_host(L)->node));
    return 1;
}

static int api_tags(lua_State *L)
{
    hs_lua_push_tags(L, api_host(L)->node);
    return 1;
}

/* Gossips them: hooks (a policy) may run, on this thread (Reentrancy). */
static int api_set_tags(lua_State *L)
{
    hs_host *h = api_host(L);
    lua_State *prev = h->cur;
    json_t *tags = hs_lua_check_tags(L, 1);
    hs_err err;

    h->cur = L;
    err = hs_node_set_tags(h->node, tags);
    h->cur = prev;
    json_decref(tags);
    hs_lua_tags_check(L, err);
    return 0;
}

/* api.join(url) -> true, or nil and why (the console's join). */
static int api_join(lua_State *L)
{
    hs_host *h = api_host(L);
    lua_State *prev = h->cur;
    hs_err err;
    const char *url = luaL_checkstring(L, 1);

    h->cur = L;
    err = hs_node_join(h->node, url);
    h->cur = prev;
    if (err != HS_OK) {
        lua_pushnil(L);
        lua_pushfstring(L, "join %s: %s", url,
                        err == HS_EINVAL ? "not an http(s) URL" : hs_strerror(err));
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* api.leave([id]) -> true, or nil and why: leave, or force id out. */
static int api_leave(lua_State *L)
{
    hs_host *h = api_host(L);
    lua_State *prev = h->cur;
    const char *id = luaL_optstring(L, 1, NULL);
    int n;

    h->cur = L; /* gossiped: hooks may run (Reentrancy) */
    n = hs_lua_leave(L, h->node, id);
    h->cur = prev;
    return n;
}

static int api_left(lua_State *L)
{
    hs_lua_push_left(L, api_host(L)->node);
    return 1;
}

/* api.set_interval(name, s | nil): node.lua's interval, applied by a
 * reload (nil: back to the default). Raises with the reason. */
static int api_set_interval(lua_State *L)
{
    hs_host *h = api_host(L);
    const char *name = luaL_checkstring(L, 1);
    double s;
    hs_err err;

    if (lua_isnoneornil(L, 2)) {
        hs_config d;
        hs_config_init(&d);
        s = strcmp(name, "gossip_interval") == 0          ? d.gossip_interval
            : strcmp(name, "health_interval") == 0        ? d.health_interval
            : strcmp(name, "probe_interval") == 0         ? d.probe_interval
            : strcmp(name, "peer_exchange_interval") == 0 ? d.peer_exchange_interval
            : strcmp(name, "rebootstrap_interval") == 0   ? d.rebootstrap_interval
            : strcmp(name, "ae_interval") == 0            ? d.ae_interval
                                                          : d.ae_max_interval;
    } else {
        s = luaL_checknumber(L, 2);
    }
    err = hs_node_set_interval(h->node, name, s);
    if (err != HS_OK)
        return luaL_error(L, "%s = %g: %s", name, s,
                          err == HS_ENOENT ? "not an interval" : "out of its range");
    return 0;
}

/* api.set_log_level(level): node.lua's log_level, applied by a reload. */
static int api_set_log_level(lua_State *L)
{
    static const char *const levels[] = {"error", "warn", "info", "debug", NULL};

    hs_node_set_log_level(api_host(L)->node, (hs_log_level)luaL_checkoption(L, 1, NULL, levels));
    return 0;
}

static int api_metrics(lua_State *L)
{
    hs_lua_push_json_new(L, hs_node_metrics_json(api_host(L)->node));
    return 1;
}

static int api_broadcast(lua_State *L)
{
    hs_host *h = api_host(L);
    size_t tlen;
    const char *type = hs_lua_check_string(L, 1, &tlen), *why = hs_message_type_check(type, tlen);
    json_t *payload = NULL;
    lua_State *prev = h->cur;
    char id[65];
    hs_err err;

    if (why)
        return luaL_error(L, "broadcast: %s", why);
    if (!lua_isnoneornil(L, 2) && !(payload = hs_lua_to_json(L, 2)))
        return luaL_error(L, "broadcast: payload: %s", lua_tostring(L, -1));
    h->cur = L;
    err = hs_node_broadcast(h->node, type, payload, id);
    h->cur = prev;
    json_decref(payload);
    if (err == HS_EREFUSED) { /* a handler of own broadcasts said no */
        lua_pushnil(L);
        lua_pushstring(L, "broadcast: refused by a handler");
        return 2;
    }
    if (err != HS_OK)
        return luaL_error(L, "broadcast: %s", hs_strerror(err));
    lua_pushstring(L, id);
    return 1;
}

static int api_update_state(lua_State *L)
{
    hs_host *h = api_host(L);
    const char *root = hs_lua_check_string(L, 1, NULL);
    lua_State *prev = h->cur;
    hs_err err;

    h->cur = L;
    err = hs_node_update_state(h->node, root);
    h->cur = prev;
    if (err != HS_OK)
        return luaL_error(L, "update_state: %s", hs_strerror(err));
    lua_pushinteger(L, (lua_Integer)hs_node_state_version(h->node));
    return 1;
}

/* block(id [, blocked]): the console's node:block (README, Security). */
static int api_block(lua_State *L)
{
    hs_host *h = api_host(L);
    hs_err err =
        hs_node_block(h->node, luaL_checkstring(L, 1), lua_isnone(L, 2) ? 1 : lua_toboolean(L, 2));

    if (err != HS_OK)
        return luaL_error(L, "block: %s", hs_strerror(err));
    return 0;
}

static int api_log(lua_State *L)
{
    static const char *const levels[] = {"error", "warn", "info", "debug", NULL};
    hs_host *h = api_host(L);
    int level = luaL_checkoption(L, 1, NULL, levels);

    hs_node_log(h->node, (hs_log_level)level, "%s", luaL_checkstring(L, 2));
    return 0;
}

static int api_now(lua_State *L)
{
    hs_host *h = lua_touserdata(L, lua_upvalueindex(1));

    lua_pushnumber(L, h->virtual ? h->env.mono(h->env.ud) : (double)uv_hrtime() / 1e9);
    return 1;
}

/* api.wall() -> epoch s, virtual (only a virtual host has it). */
static int api_wall(lua_State *L)
{
    hs_host *h = lua_touserdata(L, lua_upvalueindex(1));

    lua_pushnumber(L, h->env.wall(h->env.ud));
    return 1;
}

/* Lets go of the active policy's registry refs. */
static void unref_policy(hs_host *h, lua_State *L)
{
    luaL_unref(L, LUA_REGISTRYINDEX, h->policy_fn);
    luaL_unref(L, LUA_REGISTRYINDEX, h->policy_slot_ref);
    luaL_unref(L, LUA_REGISTRYINDEX, h->policy_rec);
    h->policy_fn = h->policy_slot_ref = h->policy_rec = LUA_NOREF;
    h->policy_slot = NULL;
}

/* api.set_policy(record, slot) -- record = { fn = policy, ... } is the
 * active policy, slot its plugin's; no record: no policy. */
static int api_set_policy(lua_State *L)
{
    hs_host *h = lua_touserdata(L, lua_upvalueindex(1));

    unref_policy(h, L);
    if (lua_isnoneornil(L, 1))
        return 0;
    luaL_checktype(L, 1, LUA_TTABLE);
    h->policy_slot = check_slot(L, 2);
    lua_getfield(L, 1, "fn");
    luaL_argcheck(L, lua_isfunction(L, -1), 1, "the policy record has no function");
    h->policy_fn = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pushvalue(L, 2);
    h->policy_slot_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pushvalue(L, 1);
    h->policy_rec = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

/* api.handled_types(list, own): the message types the active set has
 * handlers for, and handlers of the node's own broadcasts for ("*" means
 * every type). Called on every activation and whenever a handler is added
 * to the active set. */
static int api_handled_types(lua_State *L)
{
    hs_host *h = lua_touserdata(L, lua_upvalueindex(1));

    luaL_checktype(L, 1, LUA_TTABLE);
    typeset_set(&h->handled, L, 1);
    if (lua_istable(L, 2))
        typeset_set(&h->own, L, 2);
    else
        typeset_free(&h->own);
    return 0;
}

/* api.keys(op [, key]): the console's keys.* (lkeyring.c); a change is
 * saved to the keyring file by the shell's callback before it is made. */
static int api_keys(lua_State *L)
{
    hs_host *h = api_host(L);
    const char *op = luaL_checkstring(L, 1);

    lua_pushfstring(L, "keys.%s", op);
    return hs_lua_keyring(L, h->node, op, 2, lua_tostring(L, -1));
}

/* api.console_reply(session, out, prompt): the later answer of a console
 * line (a query's). */
static int api_console_reply(lua_State *L)
{
    hs_host *h = lua_touserdata(L, lua_upvalueindex(1));
    size_t len;
    const char *out = luaL_checklstring(L, 2, &len);

    lua_pushboolean(L, h->console && hs_console_reply(h->console, (int)luaL_checkinteger(L, 1), out,
                                                      len, luaL_checkstring(L, 3)) == 0);
    return 1;
}

/* api.console_monitor(session, level): that session streams the log. */
static int api_console_monitor(lua_State *L)
{
    static const char *const levels[] = {"error", "warn", "info", "debug", NULL};
    hs_host *h = lua_touserdata(L, lua_upvalueindex(1));
    int id = (int)luaL_checkinteger(L, 1);
    int level = luaL_checkoption(L, 2, "info", levels);

    lua_pushboolean(L, h->console && hs_console_monitor(h->console, id, level) == 0);
    return 1;
}

void hs_host_log_tap(hs_host *h, hs_log_level level, const char *msg)
{
    char at[HS_LOG_STAMP_MAX], line[1200];
    static const char *const names[] = {"error", "warn", "info", "debug"};
    int n;

    if (!h->console || h->closing)
        return;
    hs_log_stamp(at);
    n = snprintf(line, sizeof line, "%s %s: %s\n", at, names[(unsigned)level & 3], msg);
    /* (No control character from a peer reaches the operator's terminal.) */
    for (int i = 0; i < n - 1 && i < (int)sizeof line - 1; i++)
        if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
            line[i] = '?';
    if (n > 0)
        hs_console_tap(h->console, (int)level, line,
                       (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

/* A query a plugin or the console asked: its token for the manager. */
typedef struct host_query {
    hs_host *h;
    lua_Integer token;
    const json_t *result;
} host_query;

static int query_done_body(lua_State *L)
{
    host_query *q = lua_touserdata(L, 1);

    lua_pushinteger(L, q->token);
    hs_lua_push_json(L, q->result);
    hs_host_call(q->h, "query_done", 2, 0);
    return 0;
}

static void on_host_query(void *ud, const json_t *result)
{
    host_query *q = ud;

    if (result && !q->h->closing) {
        q->result = result;
        run_protected(q->h, query_done_body, q, 0, "query_done");
    }
    free(q);
}

/* api.query(name, payload, opts, token) -> id: the manager's
 * query_done(token, result) runs when it ends. */
static int api_query(lua_State *L)
{
    hs_host *h = api_host(L);
    hs_query_opts o = {0};
    json_t *payload = NULL, *tags;
    host_query *q;
    char id[33];
    lua_State *prev = h->cur;
    hs_err err;

    lua_Integer token = luaL_checkinteger(L, 4);

    hs_lua_query_args(L, 1, &o, &payload, &tags);
    if (!(q = malloc(sizeof *q))) {
        json_decref(payload);
        json_decref(tags);
        return luaL_error(L, "out of memory");
    }
    q->h = h;
    q->token = token;
    h->cur = L; /* the query is gossiped: hooks may run (Reentrancy) */
    err = hs_node_query(h->node, &o, on_host_query, q, id);
    h->cur = prev;
    json_decref(payload);
    json_decref(tags);
    if (err != HS_OK) {
        free(q);
        return hs_lua_query_error(L, err);
    }
    lua_pushstring(L, id);
    return 1;
}

static int api_console_cut_off(lua_State *L)
{
    hs_host *h = lua_touserdata(L, lua_upvalueindex(1));
    lua_pushinteger(L, h->console ? (lua_Integer)hs_console_cut_off(h->console) : 0);
    return 1;
}

/* api.overruns() -> console lines, node.lua loads, plugin files loading
 * and the manager's own calls stopped by their deadline (plugin calls
 * count in their slots) */
static int api_overruns(lua_State *L)
{
    hs_host *h = lua_touserdata(L, lua_upvalueindex(1));
    lua_pushinteger(L, (lua_Integer)h->budget.overruns);
    return 1;
}

static int api_memory(lua_State *L)
{
    hs_host *h = lua_touserdata(L, lua_upvalueindex(1));
    lua_pushinteger(L, (lua_Integer)h->mem_used);
    lua_pushinteger(L, (lua_Integer)h->mem_limit);
    return 2;
}

/* ---- timers in the host state -------------------------------------------- */

static void ptimer_closed(uv_handle_t *handle)
{
    ptimer *t = (ptimer *)handle;
    hs_host *h = t->h;

    free(t);
    hs_host_handle_closed(h);
}

static void ptimer_close(ptimer *t)
{
    hs_host *h = t->h;

    if (t->prev)
        t->prev->next = t->next;
    else
        h->timers = t->next;
    if (t->next)
        t->next->prev = t->prev;
    if (t->ud)
        *t->ud = NULL;
    luaL_unref(h->PL, LUA_REGISTRYINDEX, t->fn_ref);
    if (t->vt) {
        h->env.timer_stop(h->env.ud, t->vt);
        free(t);
        return;
    }
    uv_close((uv_handle_t *)&t->t, ptimer_closed);
}

static void fire_ptimer(ptimer *t)
{
    hs_host *h = t->h;
    lua_State *L;

    if (h->closing)
        return;
    L = cur_state(h);
    lua_rawgeti(L, LUA_REGISTRYINDEX, t->fn_ref);
    hs_host_call(h, "on_timer", 1, 0);
}

static void on_ptimer(uv_timer_t *ut)
{
    fire_ptimer((ptimer *)ut);
}

static void on_vtimer(void *arg)
{
    fire_ptimer(arg);
}

/* api.timer(delay_s, repeat_s, fn) -> handle with :close(); fn is called
 * through manager.on_timer(fn), which budgets and counts it. */
static int api_timer(lua_State *L)
{
    hs_host *h = api_host(L);
    double delay = luaL_checknumber(L, 1), rep = luaL_checknumber(L, 2);
    ptimer **ud;
    ptimer *t;

    luaL_checktype(L, 3, LUA_TFUNCTION);
    luaL_argcheck(L, delay >= 0 && rep >= 0, 1, "times must not be negative");
    ud = lua_newuserdatauv(L, sizeof *ud, 0);
    *ud = NULL;
    luaL_setmetatable(L, HS_PTIMER_MT);
    t = calloc(1, sizeof *t);
    if (!t)
        return luaL_error(L, "out of memory");
    t->h = h;
    lua_pushvalue(L, 3);
    t->fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    if (h->virtual && !(t->vt = h->env.timer_start(h->env.ud, delay, rep, on_vtimer, t))) {
        luaL_unref(L, LUA_REGISTRYINDEX, t->fn_ref);
        free(t);
        return luaL_error(L, "out of memory");
    }
    if (!h->virtual) {
        uv_timer_init(h->loop, &t->t);
        hs_host_handle_opened(h);
    }
    t->next = h->timers;
    if (h->timers)
        h->timers->prev = t;
    h->timers = t;
    t->ud = ud;
    *ud = t;
    if (!h->virtual)
        uv_timer_start(&t->t, on_ptimer, (uint64_t)(delay * 1000), (uint64_t)(rep * 1000));
    return 1;
}

static int ptimer_ud_close(lua_State *L)
{
    ptimer **ud = luaL_checkudata(L, 1, HS_PTIMER_MT);
    if (*ud)
        ptimer_close(*ud);
    return 0;
}

/* ---- copying plain data between states ------------------------------------ */

/*
 * Copies the value at idx. Only plain data crosses: a function, userdata
 * or thread fails the copy, unless shown is set, when it becomes the
 * text "<function>" (etc.), so a plugin's state that holds one is still
 * shown (node:plugin_state) rather than lost whole.
 */
static int copy_value(lua_State *from, int idx, lua_State *to, int depth, int shown)
{
    idx = lua_absindex(from, idx);
    luaL_checkstack(to, 4, "copy");
    switch (lua_type(from, idx)) {
    case LUA_TNIL:
        lua_pushnil(to);
        return 1;
    case LUA_TBOOLEAN:
        lua_pushboolean(to, lua_toboolean(from, idx));
        return 1;
    case LUA_TNUMBER:
        if (lua_isinteger(from, idx))
            lua_pushinteger(to, lua_tointeger(from, idx));
        else
            lua_pushnumber(to, lua_tonumber(from, idx));
        return 1;
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(from, idx, &len);
        lua_pushlstring(to, s, len);
        return 1;
    }
    case LUA_TTABLE:
        if (depth > COPY_MAX_DEPTH) {
            if (!shown)
                return 0;
            lua_pushliteral(to, "<table nested too deep>");
            return 1;
        }
        lua_newtable(to);
        lua_pushnil(from);
        while (lua_next(from, idx)) {
            if (!copy_value(from, -2, to, depth + 1, shown)) {
                lua_pop(from, 2);
                lua_pop(to, 1); /* the table: a failed copy pushes nothing */
                return 0;
            }
            if (!copy_value(from, -1, to, depth + 1, shown)) {
                lua_pop(from, 2);
                lua_pop(to, 2);
                return 0;
            }
            lua_rawset(to, -3);
            lua_pop(from, 1);
        }
        return 1;
    default: /* functions, userdata, threads stay in their state */
        if (!shown)
            return 0;
        lua_pushfstring(to, "<%s>", luaL_typename(from, idx));
        return 1;
    }
}

/* Copies the results of a host call into L as plain data (failing values
 * become nil). */
static void copy_results(lua_State *from, int n, lua_State *to)
{
    for (int i = n; i >= 1; i--)
        if (!copy_value(from, -i, to, 0, 1))
            lua_pushnil(to);
    lua_pop(from, n);
}

/* ---- creation ------------------------------------------------------------- */

static const luaL_Reg api_fns[] = {
    {"call", api_call},
    {"id", api_id},
    {"url", api_url},
    {"peers", api_peers},
    {"health", api_health},
    {"state", api_state},
    {"metrics", api_metrics},
    {"broadcast", api_broadcast},
    {"update_state", api_update_state},
    {"tags", api_tags},
    {"set_tags", api_set_tags},
    {"set_log_level", api_set_log_level},
    {"set_interval", api_set_interval},
    {"join", api_join},
    {"leave", api_leave},
    {"left", api_left},
    {"block", api_block},
    {"log", api_log},
    {"now", api_now},
    {"memory", api_memory},
    {"timer", api_timer},
    {"handled_types", api_handled_types},
    {"set_policy", api_set_policy},
    {"slot", api_slot},
    {"console_cut_off", api_console_cut_off},
    {"console_reply", api_console_reply},
    {"console_monitor", api_console_monitor},
    {"query", api_query},
    {"overruns", api_overruns},
    {"keys", api_keys},
    {"slot_info", api_slot_info},
    {"slot_release", api_slot_release},
    {NULL, NULL},
};

static const luaL_Reg host_libs[] = {
    {LUA_GNAME, luaopen_base},
    {LUA_LOADLIBNAME, luaopen_package},
    {LUA_COLIBNAME, luaopen_coroutine},
    {LUA_TABLIBNAME, luaopen_table},
    {LUA_IOLIBNAME, luaopen_io},
    {LUA_OSLIBNAME, luaopen_os},
    {LUA_STRLIBNAME, luaopen_string},
    {LUA_MATHLIBNAME, luaopen_math},
    {LUA_UTF8LIBNAME, luaopen_utf8},
    {LUA_DBLIBNAME, luaopen_debug},
    {NULL, NULL},
};

/* Runs in PL under pcall: libraries, package.path, the manager, init. */
static int host_boot(lua_State *PL)
{
    hs_host *h = lua_touserdata(PL, 1);
    const char *path = lua_tostring(PL, 2);

    for (const luaL_Reg *lib = host_libs; lib->func; lib++) {
        luaL_requiref(PL, lib->name, lib->func, 1);
        lua_pop(PL, 1);
    }
    /* The manager and console are trusted and get every library; plugins
     * see only what plugins.lua puts in their environments. */
    lua_getglobal(PL, "package");
    lua_pushstring(PL, path);
    lua_setfield(PL, -2, "path");
    lua_pop(PL, 1);
    /* Every library function whose cost is not one VM instruction charges
     * its work; string.dump is gone (see lguard.c). */
    hs_guard_open(PL);
    hs_lua_handle_metatable(PL, HS_PTIMER_MT, ptimer_ud_close, NULL);
    luaL_newmetatable(PL, HS_PSLOT_MT);
    lua_pop(PL, 1);
    make_lazy_metatables(h, PL);

    lua_getglobal(PL, "require");
    lua_pushliteral(PL, "hearsay.plugins");
    lua_call(PL, 1, 1);
    h->mgr_ref = luaL_ref(PL, LUA_REGISTRYINDEX);
    return 0;
}

/* opts[key] as a number >= min, or def when absent; raises on L. */
static double opt_number(lua_State *L, int opts_idx, const char *key, double def, double min)
{
    double v;

    lua_getfield(L, opts_idx, key);
    v = luaL_optnumber(L, -1, def);
    lua_pop(L, 1);
    if (!(v >= min))
        luaL_error(L, "plugin option %s must be a number >= %f", key, min);
    return v;
}

/* The options node:plugins() takes (README, The Lua module). */
static const char *const plugin_options[] = {"dir",
                                             "plugins",
                                             "plugin_path",
                                             "policy",
                                             "builtin_dir",
                                             "memory_limit",
                                             "instruction_limit",
                                             "timeout",
                                             "console_timeout",
                                             "max_share",
                                             "share_window",
                                             NULL};

/* Raises on L, naming it, for a key of opts that is not an option. */
static void check_options(lua_State *L, int opts_idx)
{
    lua_pushnil(L);
    while (lua_next(L, opts_idx)) {
        int known = 0;
        lua_pop(L, 1);
        for (size_t i = 0; plugin_options[i] && lua_type(L, -1) == LUA_TSTRING; i++)
            known |= strcmp(lua_tostring(L, -1), plugin_options[i]) == 0;
        if (!known) {
            /* The options named from the one list, not a copy of it. */
            luaL_Buffer b;
            luaL_buffinit(L, &b);
            for (size_t i = 0; plugin_options[i]; i++) {
                luaL_addstring(&b, i ? ", " : "");
                luaL_addstring(&b, plugin_options[i]);
            }
            luaL_pushresult(&b);
            luaL_error(L, "plugins: unknown option %s (options: %s)",
                       lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : luaL_typename(L, -2),
                       lua_tostring(L, -1));
        }
    }
}

hs_host *hs_host_new(lua_State *L, int opts_idx, hs_node *node, hs_lloop *lp)
{
    return hs_host_new_env(L, opts_idx, node, lp, NULL);
}

/* math.randomseed(seed) in PL, under pcall (a virtual host's plugins draw
 * the same numbers in every run). */
static int seed_random(lua_State *PL)
{
    lua_getglobal(PL, "math");
    lua_getfield(PL, -1, "randomseed");
    lua_pushinteger(PL, (lua_Integer) * (const uint64_t *)lua_touserdata(PL, 1));
    lua_call(PL, 1, 0);
    return 0;
}

hs_host *hs_host_new_env(lua_State *L, int opts_idx, hs_node *node, hs_lloop *lp,
                         const hs_host_env *env)
{
    hs_host *h;
    lua_State *PL;
    hs_budget_opts bo;
    double mem;

    opts_idx = lua_absindex(L, opts_idx);
    luaL_checktype(L, opts_idx, LUA_TTABLE);
    check_options(L, opts_idx);
    mem = opt_number(L, opts_idx, "memory_limit", 64 << 20, 1 << 20);
    bo.instructions = (uint64_t)opt_number(L, opts_idx, "instruction_limit", 10000000, 10000);
    bo.timeout = opt_number(L, opts_idx, "timeout", HS_PLUGIN_TIMEOUT, 0);
    bo.console_timeout = opt_number(L, opts_idx, "console_timeout", HS_CONSOLE_TIMEOUT, 0.001);
    bo.max_share = opt_number(L, opts_idx, "max_share", HS_PLUGIN_MAX_SHARE, 0);
    bo.window = opt_number(L, opts_idx, "share_window", HS_PLUGIN_SHARE_WINDOW, 0.01);
    if (bo.max_share > 1)
        luaL_error(L, "plugin option max_share must be at most 1");
    if (env) /* real time has no say in a virtual world (lhost.h) */
        bo.timeout = bo.max_share = 0;
    h = calloc(1, sizeof *h);
    if (!h) {
        lua_pushliteral(L, "out of memory");
        return NULL;
    }
    h->mem_limit = (size_t)mem;
    hs_budget_init(&h->budget, &bo);
    h->node = node;
    h->lp = lp;
    h->loop = lp ? lp->loop : NULL;
    if (env) {
        h->env = *env;
        h->virtual = 1;
    }
    h->mgr_ref = LUA_NOREF;
    h->policy_fn = h->policy_slot_ref = h->policy_rec = LUA_NOREF;
    PL = h->PL = lua_newstate(host_alloc, h);
    if (!PL) {
        free(h);
        lua_pushliteral(L, "cannot create the plugin state (memory_limit too small?)");
        return NULL;
    }
    *(hs_host **)lua_getextraspace(PL) = h;
    /* Most of what plugin hooks allocate (message and candidate tables)
     * dies young: the generational collector takes ~5% off a policy call. */
    lua_gc(PL, LUA_GCGEN, 0, 0);
    lua_sethook(PL, count_hook, LUA_MASKCOUNT, HOOK_STEP);

    /* Boot with the same module path as the state creating us. */
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "path");
    lua_pushcfunction(PL, host_boot);
    lua_pushlightuserdata(PL, h);
    lua_pushstring(PL, lua_tostring(L, -1));
    lua_pop(L, 2);
    lua_pushcfunction(PL, hs_lua_traceback);
    lua_insert(PL, 1);
    if (lua_pcall(PL, 2, 0, 1) != LUA_OK) {
        lua_pushfstring(L, "plugin host: %s", lua_tostring(PL, -1));
        lua_close(PL);
        free(h);
        return NULL;
    }
    lua_settop(PL, 0);
    if (h->virtual) {
        lua_pushcfunction(PL, seed_random);
        lua_pushlightuserdata(PL, &h->env.seed);
        if (lua_pcall(PL, 1, 0, 0) != LUA_OK) {
            lua_pushfstring(L, "plugin host: %s", lua_tostring(PL, -1));
            lua_close(PL);
            free(h);
            return NULL;
        }
    }

    /* manager.init(opts, api) -> true | nil, error */
    if (!copy_value(L, opts_idx, PL, 0, 0)) {
        lua_close(PL);
        free(h);
        lua_pushliteral(L, "plugin options must be plain data (no functions)");
        return NULL;
    }
    lua_newtable(PL);
    lua_pushlightuserdata(PL, h);
    luaL_setfuncs(PL, api_fns, 1);
    if (h->virtual) {
        lua_pushlightuserdata(PL, h);
        lua_pushcclosure(PL, api_wall, 1);
        lua_setfield(PL, -2, "wall");
        lua_pushboolean(PL, 1);
        lua_setfield(PL, -2, "virtual");
    }
    hs_lua_json_register(PL, 1);
    if (hs_host_call(h, "init", 2, 2) != 0) {
        lua_pushliteral(L, "plugin manager failed to start (see the log)");
        lua_close(PL);
        typeset_free(&h->handled);
        typeset_free(&h->own);
        free(h);
        return NULL;
    }
    if (!lua_toboolean(PL, -2)) {
        lua_pushstring(L, lua_tostring(PL, -1) ? lua_tostring(PL, -1) : "plugins failed to load");
        lua_close(PL);
        typeset_free(&h->handled);
        typeset_free(&h->own);
        free(h);
        return NULL;
    }
    lua_pop(PL, 2);
    return h;
}

int hs_host_reload(hs_host *h, lua_State *L)
{
    lua_State *PL = cur_state(h);

    if (h->closing || hs_host_call(h, "reload", 0, 2) != 0) {
        lua_pushnil(L);
        lua_pushliteral(L, "plugin manager error (see the log)");
        return 2;
    }
    copy_results(PL, 2, L);
    if (lua_toboolean(L, -2)) {
        lua_pop(L, 1);
        return 1;
    }
    return 2;
}

typedef struct query_call {
    hs_host *h;
    lua_State *from; /* the caller's state, its arguments on top */
    const char *fn;
    int nargs;
} query_call;

/* Copies the arguments over and calls the manager; only reads `from` (an
 * error raised there would unwind past this pcall). */
static int query_body(lua_State *PL)
{
    query_call *q = lua_touserdata(PL, 1);

    lua_settop(PL, 0);
    copy_results(q->from, q->nargs, PL);
    if (hs_host_call(q->h, q->fn, q->nargs, LUA_MULTRET) != 0)
        return luaL_error(PL, "manager.%s failed", q->fn);
    return lua_gettop(PL);
}

int hs_host_query(hs_host *h, lua_State *L, const char *fn, int nargs)
{
    lua_State *PL = cur_state(h);
    int top = lua_gettop(PL);
    query_call q = {h, L, fn, nargs};

    if (h->closing)
        return luaL_error(L, "the plugin host is closing");
    if (run_protected(h, query_body, &q, LUA_MULTRET, fn) != LUA_OK)
        return luaL_error(L, "plugin manager: %s failed (see the log)", fn);
    int n = lua_gettop(PL) - top;
    copy_results(PL, n, L);
    return n;
}

/* ---- hooks from the core --------------------------------------------------- */

typedef struct message_call {
    hs_host *h;
    const hs_message *m;
    json_t **payload_out;
    const char *fn; /* the manager's: on_message or on_own */
    hs_verdict v;
} message_call;

static int on_message_body(lua_State *L)
{
    message_call *c = lua_touserdata(L, 1);

    hs_lua_push_message(L, c->m);
    if (hs_host_call(c->h, c->fn, 1, 2) == 0)
        c->v = hs_lua_read_verdict(L, -2, -1, c->payload_out);
    return 0;
}

hs_verdict hs_host_on_message(hs_host *h, const hs_message *m, json_t **payload_out)
{
    message_call c = {h, m, payload_out, "on_message", HS_ACCEPT};

    if (h->closing || !typeset_has(&h->handled, hs_message_type(m)))
        return HS_ACCEPT;
    run_protected(h, on_message_body, &c, 0, "on_message");
    return c.v;
}

hs_verdict hs_host_on_own(hs_host *h, const hs_message *m, json_t **payload_out)
{
    message_call c = {h, m, payload_out, "on_own", HS_ACCEPT};

    if (h->closing || !typeset_has(&h->own, hs_message_type(m)))
        return HS_ACCEPT;
    run_protected(h, on_message_body, &c, 0, "on_own");
    return c.v;
}

typedef struct query_hook {
    hs_host *h;
    const char *name, *from;
    const json_t *payload;
    json_t **answer;
    int answered;
} query_hook;

static int on_query_body(lua_State *L)
{
    query_hook *c = lua_touserdata(L, 1);

    lua_createtable(L, 0, 3);
    lua_pushstring(L, c->name);
    lua_setfield(L, -2, "name");
    lua_pushstring(L, c->from);
    lua_setfield(L, -2, "from");
    if (!json_is_null(c->payload)) { /* a query without a payload: nil */
        hs_lua_push_json(L, c->payload);
        lua_setfield(L, -2, "payload");
    }
    if (hs_host_call(c->h, "on_query", 1, 2) == 0 && lua_toboolean(L, -2)) {
        /* (After the handler's call: capped as a rewritten payload is.) */
        json_t *j =
            lua_isnil(L, -1) ? json_null() : hs_lua_to_json_capped(L, -1, HS_REWRITE_MAX_VALUES);
        if (j) {
            *c->answer = j;
            c->answered = 1;
        }
    }
    return 0;
}

int hs_host_on_query(hs_host *h, const char *name, const json_t *payload, const char *from,
                     json_t **answer)
{
    query_hook c = {h, name, from, payload, answer, 0};

    if (h->closing)
        return 0;
    run_protected(h, on_query_body, &c, 0, "on_query");
    return c.answered;
}

/*
 * Lazy policy arguments. A policy gets its message and each candidate as a
 * table whose fields are filled in on first access -- any field, or pairs()
 * -- which then drops the metatable, leaving a plain table. Candidates
 * start with only their `index`. The candidate list is lazy too: a
 * candidate's table is made when the policy first reads its slot, and `#`
 * answers from the count. Most policies read a few fields of a few
 * candidates, or only count them; building every field of every candidate
 * (tags converted from JSON) cost ~8k instructions each, the message with
 * its payload ~6k, a candidate's bare table ~1k. Everything comes only
 * from the call in progress, which knows its tables by address: a table
 * first touched after its call returned (or during a nested call) stays as
 * it was -- a candidate keeps only its index, a list only the candidates
 * read during the call.
 *
 * The list keeps plain-table behaviour while lazy: ipairs, table.sort and
 * table.remove go through __index and __len; `#` skips slots the policy
 * emptied after reading them (h->cand_tables[i] is the address of
 * candidate i+1 once made, NULL before); storing into an empty slot
 * (__newindex) or pairs() first makes every candidate and drops the
 * metatable. Cost per call: the list and the message, no closures.
 */
enum { LAZY_CANDIDATE, LAZY_MESSAGE, LAZY_LIST, LAZY_KINDS };

static int fill_lazy(lua_State *L, int t)
{
    hs_host *h = lua_touserdata(L, lua_upvalueindex(1));
    const void *self = lua_topointer(L, t);
    int filled = 0;

    luaL_checkstack(L, 8, "policy argument");
    if (lua_tointeger(L, lua_upvalueindex(2)) == LAZY_MESSAGE) {
        if (h->sel_msg && self == h->msg_table) {
            hs_lua_fill_message(L, t, h->sel_msg);
            filled = 1;
        }
    } else {
        lua_Integer i;
        lua_pushliteral(L, "index");
        lua_rawget(L, t);
        i = lua_tointeger(L, -1);
        lua_pop(L, 1);
        if (h->cand_tables && i >= 1 && (size_t)i <= h->ncands && h->cand_tables[i - 1] == self) {
            hs_lua_fill_peer(L, t, &h->cands[i - 1]);
            filled = 1;
        }
    }
    lua_pushnil(L);
    lua_setmetatable(L, t);
    return filled;
}

static int lazy_index(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    if (!fill_lazy(L, 1))
        return 0;
    lua_pushvalue(L, 2);
    lua_rawget(L, 1);
    return 1;
}

static int lazy_pairs(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    fill_lazy(L, 1);
    lua_getglobal(L, "next");
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

/* Whether the table at t is the list of the call in progress. */
static int list_current(hs_host *h, lua_State *L, int t)
{
    return h->cand_tables && lua_topointer(L, t) == h->list_table;
}

/* Makes candidate i (from 1) of the call in progress in the list at t and
 * leaves it on the stack. */
static void make_candidate(hs_host *h, lua_State *L, int t, lua_Integer i)
{
    luaL_checkstack(L, 4, "policy argument");
    lua_createtable(L, 0, 1);
    lua_pushinteger(L, i);
    lua_setfield(L, -2, "index");
    lua_rawgeti(L, LUA_REGISTRYINDEX, h->lazy_mt[LAZY_CANDIDATE]);
    lua_setmetatable(L, -2);
    h->cand_tables[i - 1] = lua_topointer(L, -1);
    lua_pushvalue(L, -1);
    lua_rawseti(L, t, i);
}

/* Turns the list at t into a plain table: every candidate not made yet,
 * then no metatable. */
static void list_settle(hs_host *h, lua_State *L, int t)
{
    if (list_current(h, L, t))
        for (size_t i = 0; i < h->ncands; i++)
            if (!h->cand_tables[i]) {
                make_candidate(h, L, t, (lua_Integer)i + 1);
                lua_pop(L, 1);
            }
    lua_pushnil(L);
    lua_setmetatable(L, t);
}

static int list_index(lua_State *L)
{
    hs_host *h = lua_touserdata(L, lua_upvalueindex(1));
    int isint;
    lua_Integer i = lua_tointegerx(L, 2, &isint);

    luaL_checktype(L, 1, LUA_TTABLE);
    if (!isint || !list_current(h, L, 1) || i < 1 || (size_t)i > h->ncands || h->cand_tables[i - 1])
        return 0; /* not a candidate's slot, or one the policy emptied */
    make_candidate(h, L, 1, i);
    return 1;
}

static int list_len(lua_State *L)
{
    hs_host *h = lua_touserdata(L, lua_upvalueindex(1));
    size_t n;

    luaL_checktype(L, 1, LUA_TTABLE);
    if (!list_current(h, L, 1)) {
        lua_pushinteger(L, (lua_Integer)lua_rawlen(L, 1));
        return 1;
    }
    for (n = h->ncands; n > 0 && h->cand_tables[n - 1]; n--) {
        int present = lua_rawgeti(L, 1, (lua_Integer)n) != LUA_TNIL;
        lua_pop(L, 1);
        if (present)
            break;
    }
    lua_pushinteger(L, (lua_Integer)n);
    return 1;
}

static int list_newindex(lua_State *L)
{
    hs_host *h = lua_touserdata(L, lua_upvalueindex(1));

    luaL_checktype(L, 1, LUA_TTABLE);
    list_settle(h, L, 1);
    lua_settop(L, 3);
    lua_rawset(L, 1);
    return 0;
}

static int list_pairs(lua_State *L)
{
    hs_host *h = lua_touserdata(L, lua_upvalueindex(1));

    luaL_checktype(L, 1, LUA_TTABLE);
    list_settle(h, L, 1);
    lua_getglobal(L, "next");
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

/* Makes the metatables (once, at boot). */
static void make_lazy_metatables(hs_host *h, lua_State *L)
{
    static const luaL_Reg item[] = {{"__index", lazy_index}, {"__pairs", lazy_pairs}, {NULL, NULL}};
    static const luaL_Reg list[] = {{"__index", list_index},
                                    {"__len", list_len},
                                    {"__newindex", list_newindex},
                                    {"__pairs", list_pairs},
                                    {NULL, NULL}};

    for (int kind = 0; kind < LAZY_KINDS; kind++) {
        const luaL_Reg *f = kind == LAZY_LIST ? list : item;
        lua_createtable(L, 0, 5);
        for (; f->name; f++) {
            lua_pushlightuserdata(L, h);
            lua_pushinteger(L, kind);
            lua_pushcclosure(L, f->func, 2);
            lua_setfield(L, -2, f->name);
        }
        lua_pushliteral(L, "hearsay.policy_argument");
        lua_setfield(L, -2, "__name");
        /* Shared by every policy call: getmetatable() sees only `false`,
         * so no plugin can change it (a __gc added to it would run, hooks
         * off, for each candidate made after). */
        lua_pushboolean(L, 0);
        lua_setfield(L, -2, "__metatable");
        h->lazy_mt[kind] = luaL_ref(L, LUA_REGISTRYINDEX);
    }
}

/* Pushes the message, then the candidate list; records their addresses
 * (tables[n] must have room for n). */
static void push_lazy_arguments(hs_host *h, lua_State *L, size_t n, const void **tables)
{
    lua_createtable(L, 0, 0);
    lua_rawgeti(L, LUA_REGISTRYINDEX, h->lazy_mt[LAZY_MESSAGE]);
    lua_setmetatable(L, -2);
    h->msg_table = lua_topointer(L, -1);
    lua_createtable(L, 0, 0);
    lua_rawgeti(L, LUA_REGISTRYINDEX, h->lazy_mt[LAZY_LIST]);
    lua_setmetatable(L, -2);
    h->list_table = lua_topointer(L, -1);
    for (size_t i = 0; i < n; i++)
        tables[i] = NULL;
}

typedef struct select_call {
    hs_host *h;
    size_t want, *out;
    int got; /* -2: the policy returned something other than a table */
} select_call;

/* Pushes the arguments, calls the policy and reads its choice: all of it
 * in the policy's frame and protected (see run_protected). */
static int select_body(lua_State *L)
{
    select_call *c = lua_touserdata(L, 1);
    hs_host *h = c->h;

    lua_settop(L, 0);
    lua_rawgeti(L, LUA_REGISTRYINDEX, h->policy_fn);
    push_lazy_arguments(h, L, h->ncands, h->cand_tables);
    lua_pushinteger(L, (lua_Integer)c->want);
    lua_call(L, 3, 1);
    if (lua_type(L, -1) != LUA_TTABLE) {
        c->got = -2;
        return 0;
    }
    if (list_current(h, L, -1))
        list_settle(h, L, lua_absindex(L, -1)); /* it returned its candidates */
    c->got = hs_lua_read_selection(L, -1, h->cands, h->ncands, c->want, c->out);
    return 0;
}

int hs_host_has_policy(hs_host *h)
{
    return !h->closing && h->policy_fn != LUA_NOREF && !h->policy_slot->quarantined;
}

/*
 * The policy is called straight from here, not through the manager: the
 * manager's wrapper and api.call were about a third of a cheap policy's
 * cost. A failure -- an error, or anything but a table returned -- is
 * handed to manager.policy_failed(record, error-or-nil) to be counted and
 * logged, and the core picks peers itself.
 */
int hs_host_select(hs_host *h, const hs_message *m, const hs_peer_info *cands, size_t n,
                   size_t want, size_t *out)
{
    lua_State *L = cur_state(h);
    const hs_message *prev_msg = h->sel_msg;
    const hs_peer_info *prev_cands = h->cands;
    size_t prev_n = h->ncands;
    const void *prev_msg_table = h->msg_table, *prev_list = h->list_table;
    const void **prev_tables = h->cand_tables;
    const void *small[16], **tables = small;
    int base = lua_gettop(L), rc, quarantined;
    select_call c = {h, want, out, -1};

    if (h->closing || h->policy_fn == LUA_NOREF || h->policy_slot->quarantined ||
        !lua_checkstack(L, 8))
        return -1;
    if (n > sizeof small / sizeof *small && !(tables = malloc(n * sizeof *tables)))
        return -1;
    h->sel_msg = m;
    h->cands = cands;
    h->ncands = n;
    h->cand_tables = tables;
    /* The slot's userdata stays on the stack through the call: the budget
     * writes to it when the frame pops, even if the plugin set was
     * replaced (and the registry's reference dropped) meanwhile. */
    hs_pslot *slot = h->policy_slot;
    lua_rawgeti(L, LUA_REGISTRYINDEX, h->policy_slot_ref);
    lua_pushcfunction(L, hs_lua_traceback);
    lua_pushcfunction(L, select_body);
    lua_pushlightuserdata(L, &c);
    uint64_t t0 = uv_hrtime();
    rc = budgeted_pcall(h, L, 1, 0, base + 2, HS_FRAME_PLUGIN, slot, &quarantined);
    hook_count(h, "select_peers", uv_hrtime() - t0, rc != LUA_OK || c.got == -2);
    if (rc != LUA_OK || c.got == -2) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, h->policy_rec);
        if (rc == LUA_OK)
            lua_pushnil(L);
        else
            lua_pushvalue(L, -2);
        hs_host_call(h, "policy_failed", 2, 0);
        c.got = -1;
    }
    if (quarantined)
        report_quarantine(h, L, base + 1);
    lua_settop(L, base);
    h->sel_msg = prev_msg;
    h->cands = prev_cands;
    h->ncands = prev_n;
    h->msg_table = prev_msg_table;
    h->list_table = prev_list;
    h->cand_tables = prev_tables;
    if (tables != small)
        free(tables);
    return c.got;
}

typedef struct peer_call {
    hs_host *h;
    const hs_peer_info *peer;
    int up;
} peer_call;

static int on_peer_body(lua_State *L)
{
    peer_call *c = lua_touserdata(L, 1);

    hs_lua_push_peer(L, c->peer);
    lua_pushboolean(L, c->up);
    hs_host_call(c->h, "on_peer", 2, 0);
    return 0;
}

void hs_host_on_peer(hs_host *h, const hs_peer_info *peer, int up)
{
    peer_call c = {h, peer, up};

    if (!h->closing)
        run_protected(h, on_peer_body, &c, 0, "on_peer");
}

typedef struct state_call {
    hs_host *h;
    const char *old_root, *new_root, *from;
    uint64_t old_version, new_version;
} state_call;

static int on_state_body(lua_State *L)
{
    state_call *c = lua_touserdata(L, 1);

    hs_lua_push_state_change(L, c->old_root, c->old_version, c->new_root, c->new_version, c->from);
    hs_host_call(c->h, "on_state", 1, 0);
    return 0;
}

void hs_host_on_state(hs_host *h, const char *old_root, uint64_t old_version, const char *new_root,
                      uint64_t new_version, const char *from)
{
    state_call c = {h, old_root, new_root, from, old_version, new_version};

    if (!h->closing)
        run_protected(h, on_state_body, &c, 0, "on_state");
}

static int on_health_body(lua_State *L)
{
    json_t *health = lua_touserdata(L, 1), *j;
    hs_host *h = host_of(L);

    if (hs_host_call(h, "health", 0, 1) == 0 && (j = hs_lua_to_json(L, -1))) {
        json_t *hooks = json_object();
        /* (A simulated node's /health travels its virtual network: real
         * time in it would make no two runs alike.) */
        for (size_t i = 0; hooks && i < h->nhooks; i++)
            json_object_set_new(hooks, h->hooks[i].name,
                                json_pack("{s:I, s:I, s:f}", "calls", (json_int_t)h->hooks[i].calls,
                                          "errors", (json_int_t)h->hooks[i].errors, "seconds",
                                          h->virtual ? 0.0 : (double)h->hooks[i].ns / 1e9));
        if (hooks)
            json_object_set_new(j, "hooks", hooks);
        json_object_set_new(health, "plugins", j);
    }
    return 0;
}

void hs_host_on_health(hs_host *h, json_t *health)
{
    if (!h->closing)
        run_protected(h, on_health_body, health, 0, "health");
}

int hs_host_console_listen(hs_host *h, const char *path, char *err, size_t errlen)
{
    if (!h->loop) {
        snprintf(err, errlen, "a simulated node has no console");
        return -1;
    }
    if (h->console) {
        snprintf(err, errlen, "the console is already listening");
        return -1;
    }
    return hs_console_listen(h, path, &h->console, err, errlen);
}

/* ---- closing ---------------------------------------------------------------- */

void hs_host_handle_opened(hs_host *h)
{
    h->open_handles++;
}

void hs_host_handle_closed(hs_host *h)
{
    if (--h->open_handles == 0 && h->closing) {
        lua_close(h->PL);
        typeset_free(&h->handled);
        typeset_free(&h->own);
        free(h);
    }
}

void hs_host_close(hs_host *h)
{
    if (h->closing)
        return;
    hs_host_call(h, "stop", 0, 0);
    h->closing = 1;
    h->node = NULL;
    while (h->timers)
        ptimer_close(h->timers);
    if (h->console) {
        hs_console_close(h->console);
        h->console = NULL;
    }
    /* One count for ourselves, so the state outlives this function. */
    h->open_handles++;
    hs_host_handle_closed(h);
}

/* ---- the hooks a node with plugins installs -------------------------------------- */

static hs_verdict hooks_message(void *ud, hs_node *node, const hs_message *m, json_t **payload_out)
{
    (void)node;
    return hs_host_on_message(ud, m, payload_out);
}

static int hooks_select(void *ud, hs_node *node, const hs_message *m, const hs_peer_info *cands,
                        size_t n, size_t want, size_t *out)
{
    (void)node;
    return hs_host_select(ud, m, cands, n, want, out);
}

static int hooks_has_policy(void *ud, hs_node *node)
{
    (void)node;
    return hs_host_has_policy(ud);
}

static void hooks_peer(void *ud, hs_node *node, const hs_peer_info *peer, int up)
{
    (void)node;
    hs_host_on_peer(ud, peer, up);
}

static void hooks_state(void *ud, hs_node *node, const char *old_root, uint64_t old_version,
                        const char *new_root, uint64_t new_version, const char *from)
{
    (void)node;
    hs_host_on_state(ud, old_root, old_version, new_root, new_version, from);
}

static void hooks_health(void *ud, hs_node *node, json_t *health)
{
    (void)node;
    hs_host_on_health(ud, health);
}

static hs_verdict hooks_own(void *ud, hs_node *node, const hs_message *m, json_t **payload_out)
{
    (void)node;
    return hs_host_on_own(ud, m, payload_out);
}

static int hooks_query(void *ud, hs_node *node, const char *name, const json_t *payload,
                       const char *from, json_t **answer)
{
    (void)node;
    return hs_host_on_query(ud, name, payload, from, answer);
}

void hs_host_hooks(hs_host *h, hs_hooks *out)
{
    *out = (hs_hooks){.ud = h,
                      .on_message = hooks_message,
                      .select_peers = hooks_select,
                      .has_policy = hooks_has_policy,
                      .on_peer = hooks_peer,
                      .on_state = hooks_state,
                      .on_health = hooks_health,
                      .on_own = hooks_own,
                      .on_query = hooks_query};
}
