/*
 * lsim.c -- hearsay.sim: the simulator (core/sim/sim.h) in Lua, for
 * `hearsay sim` (lua/hearsay/sim.lua). Nodes are numbered from 1 here, as
 * Lua counts; the C side counts from 0.
 *
 *   local s = hearsay.sim{nodes = 1000, seed = 7, latency = 0.02,
 *                         jitter = 0.01, model = "uniform", loss = 0.01,
 *                         log = "warn", settings = {fanout = 4},
 *                         matrix = {{0.001, 0.08}, {0.08, 0.001}},  -- regions
 *                         cpu = {per_host = 15, cores = 2, serve = 20e-6,
 *                                answer = 5e-6, round = 5e-6, send = 10e-6}}
 *   s:region(i)                     -- node i's region (1-based)
 *   s:run(10)                       -- 10 virtual seconds
 *   local id = s:broadcast(1, "chat", {text = "hi"})
 *   s:crash(7); s:restart(7); s:pause(4, 2); s:side(3, 1); s:heal();
 *   s:loss(0.05)
 *   s:deliveries(), s:detections(), s:false_deaths(), s:held_dead(),
 *   s:excluded(),
 *   s:traffic(), s:cross(), s:totals(), s:cpu(),
 *   s:events(), s:trace(), s:now(), s:size(), s:has(i, id),
 *   s:crashed(i), s:sees(i, j), s:error(), s:close()
 *   s:plugin_info(i), s:plugin_state(i, name)   -- with plugins
 *
 * plugins = {dir = DIR, ...} (what node:plugins takes) loads plugins into
 * every node through the plugin host real nodes use (lhost.c, plugins.lua),
 * in a world of the simulation's (hs_host_env): its clocks, its timers,
 * math.random seeded from the seed. With a matrix, each node then carries
 * the tag region = its region ("1", "2", ...), as node.lua's tags would.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "lconfig.h"
#include "lhost.h"
#include "ljson.h"
#include "lsim.h"
#include "lvalues.h"
#include "sim.h"

#define HS_SIM_MT "hearsay.sim"

typedef struct lsim lsim;

/* Node i's plugins: its host, and what its virtual world needs. */
typedef struct lsim_host {
    lsim *ls;
    size_t i;
    hs_host *host; /* NULL: none (no plugins, or not made yet) */
} lsim_host;

struct lsim {
    hs_sim *sim;
    lua_State *L;     /* the caller of whatever may make nodes (new, restart) */
    int settings_ref; /* the node settings table in the registry, or LUA_NOREF */
    int plugins_ref;  /* the plugin options in the registry, or LUA_NOREF */
    lsim_host *hosts; /* one per node, with plugins */
    uint64_t seed;
    uint64_t hosts_made; /* hosts made so far: each one's random seed differs */
    size_t regions;
    json_t *tags;  /* the region tag of the node being made */
    char err[512]; /* why a host could not be made */
};

static lsim *check_open(lua_State *L)
{
    lsim *ls = luaL_checkudata(L, 1, HS_SIM_MT);

    if (!ls->sim)
        luaL_error(L, "the simulation is closed");
    return ls;
}

/* A node number (1-based) at idx, as the C side's index. */
static size_t check_index(lua_State *L, lsim *ls, int idx)
{
    lua_Integer i = luaL_checkinteger(L, idx);

    if (i < 1 || (lua_Unsigned)i > hs_sim_size(ls->sim))
        luaL_error(L, "no node %d (there are %d)", (int)i, (int)hs_sim_size(ls->sim));
    return (size_t)(i - 1);
}

static double opt_number(lua_State *L, int t, const char *k, double def, double lo, double hi)
{
    double v = def;

    lua_getfield(L, t, k);
    if (!lua_isnil(L, -1)) {
        if (lua_type(L, -1) != LUA_TNUMBER)
            luaL_error(L, "sim.%s must be a number", k);
        v = lua_tonumber(L, -1);
        if (!(v >= lo && v <= hi))
            luaL_error(L, "sim.%s must be between %g and %g", k, lo, hi);
    }
    lua_pop(L, 1);
    return v;
}

/* Node i's settings, from the table the simulation keeps: applied once in
 * hearsay.sim before any node is made, so applying cannot raise here (a
 * raise would leave a half-made network behind). The table and the
 * anchor of its lists stay on the caller's stack until the node is made
 * (it copies them); the caller resets its stack after. */
static void configure(void *ud, size_t i, hs_config *cfg)
{
    lsim *ls = ud;

    if (ls->plugins_ref != LUA_NOREF && ls->regions) {
        char r[24];
        snprintf(r, sizeof r, "%zu", i % ls->regions + 1);
        json_decref(ls->tags);
        /* (NULL, out of memory: the node goes without, and the policy
         * sees no region) */
        ls->tags = json_pack("{ss}", "region", r);
        cfg->tags = ls->tags;
    }
    if (ls->settings_ref == LUA_NOREF)
        return;
    lua_checkstack(ls->L, 4);
    lua_rawgeti(ls->L, LUA_REGISTRYINDEX, ls->settings_ref);
    hs_lua_apply_config(ls->L, -1, cfg);
}

/* ---- plugins: each node's host, in the simulation's world ------------------ */

static double host_wall(void *ud)
{
    return hs_sim_wall(((lsim_host *)ud)->ls->sim);
}

static double host_mono(void *ud)
{
    return hs_sim_mono(((lsim_host *)ud)->ls->sim);
}

static void *host_timer_start(void *ud, double delay, double repeat, void (*fire)(void *arg),
                              void *arg)
{
    lsim_host *lh = ud;

    return hs_sim_timer_start(lh->ls->sim, lh->i, delay, repeat, fire, arg);
}

static void host_timer_stop(void *ud, void *timer)
{
    hs_sim_timer_stop(((lsim_host *)ud)->ls->sim, timer);
}

static uint64_t splitmix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15u;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

/* Under lua_pcall: makes node (2)'s host (node pointer at 3) from the
 * plugin options; raises with why not. */
static int attach_body(lua_State *L)
{
    lsim_host *lh = lua_touserdata(L, 1);
    hs_node *n = lua_touserdata(L, 2);
    lsim *ls = lh->ls;
    hs_host_env env = {.ud = lh,
                       .wall = host_wall,
                       .mono = host_mono,
                       .timer_start = host_timer_start,
                       .timer_stop = host_timer_stop,
                       .seed = splitmix(ls->seed ^ splitmix(ls->hosts_made++))};
    hs_hooks hooks;

    lua_rawgeti(L, LUA_REGISTRYINDEX, ls->plugins_ref);
    if (!(lh->host = hs_host_new_env(L, -1, n, NULL, &env)))
        return lua_error(L);
    hs_host_hooks(lh->host, &hooks);
    hs_sim_set_hooks(ls->sim, lh->i, &hooks);
    return 0;
}

static hs_err attach(void *ud, hs_sim *s, size_t i, hs_node *n)
{
    lsim *ls = ud;
    lua_State *L = ls->L;

    if (ls->plugins_ref == LUA_NOREF)
        return HS_OK;
    ls->sim = s; /* (hs_sim_new has not returned it yet) */
    ls->hosts[i] = (lsim_host){.ls = ls, .i = i};
    if (!lua_checkstack(L, 4))
        return HS_ENOMEM;
    lua_pushcfunction(L, attach_body);
    lua_pushlightuserdata(L, &ls->hosts[i]);
    lua_pushlightuserdata(L, n);
    if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
        snprintf(ls->err, sizeof ls->err, "node %zu: %s", i + 1,
                 lua_tostring(L, -1) ? lua_tostring(L, -1) : "the plugins did not load");
        lua_pop(L, 1);
        return HS_EINVAL;
    }
    return HS_OK;
}

static void detach(void *ud, hs_sim *s, size_t i, hs_node *n)
{
    lsim *ls = ud;

    (void)n;
    if (!ls->hosts || !ls->hosts[i].host)
        return;
    hs_sim_set_hooks(s, i, NULL);
    hs_host_close(ls->hosts[i].host); /* its stop hooks run */
    ls->hosts[i].host = NULL;
}

/* hearsay.sim(opts) -> sim */
static int l_sim_new(lua_State *L)
{
    static const char *const models[] = {"uniform", "lognormal", NULL};
    static const char *const levels[] = {"none", "error", "warn", "info", "debug", NULL};
    hs_sim_opts o = {0};
    lsim *ls;
    int top;

    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    o.nodes = (size_t)opt_number(L, 1, "nodes", 10, 1, 1000000);
    o.seed = (uint64_t)opt_number(L, 1, "seed", 1, 0, 9007199254740991.0);
    o.latency = opt_number(L, 1, "latency", 0.001, 0, 60);
    o.jitter = opt_number(L, 1, "jitter", 0.001, 0, 60);
    o.loss = opt_number(L, 1, "loss", 0, 0, 1);
    /* matrix = {{a->a, a->b}, {b->a, b->b}}: one-way s between regions. */
    double matrix[HS_SIM_REGIONS_MAX * HS_SIM_REGIONS_MAX];
    lua_getfield(L, 1, "matrix");
    if (!lua_isnil(L, -1)) {
        luaL_checktype(L, -1, LUA_TTABLE);
        o.regions = (size_t)lua_rawlen(L, -1);
        luaL_argcheck(L, o.regions >= 1 && o.regions <= HS_SIM_REGIONS_MAX, 1,
                      "matrix: 1 to 64 rows, one per region");
        for (size_t a = 0; a < o.regions; a++) {
            lua_rawgeti(L, -1, (lua_Integer)a + 1);
            luaL_argcheck(L, lua_istable(L, -1) && lua_rawlen(L, -1) == o.regions, 1,
                          "matrix: a square table of tables");
            for (size_t b = 0; b < o.regions; b++) {
                lua_rawgeti(L, -1, (lua_Integer)b + 1);
                int isnum;
                double v = lua_tonumberx(L, -1, &isnum);
                luaL_argcheck(L, isnum && v >= 0 && v <= 60, 1, "matrix: one-way seconds, 0 to 60");
                matrix[a * o.regions + b] = v;
                lua_pop(L, 1);
            }
            lua_pop(L, 1);
        }
        o.matrix = matrix;
    }
    lua_pop(L, 1);
    /* cpu = {per_host = N, cores = C, serve = s, answer = s, round = s,
     * send = s, gossip = s, envelope = s}: what work costs (sim.h,
     * hs_sim_cpu). */
    lua_getfield(L, 1, "cpu");
    if (!lua_isnil(L, -1)) {
        int t = lua_gettop(L);
        luaL_argcheck(L, lua_istable(L, t), 1, "sim.cpu is a table");
        o.cpu.per_host = (size_t)opt_number(L, t, "per_host", 1, 1, 1000000);
        o.cpu.cores = (size_t)opt_number(L, t, "cores", 0, 0, 4096);
        o.cpu.serve = opt_number(L, t, "serve", 0, 0, 1);
        o.cpu.answer = opt_number(L, t, "answer", 0, 0, 1);
        o.cpu.round = opt_number(L, t, "round", 0, 0, 1);
        o.cpu.send = opt_number(L, t, "send", 0, 0, 1);
        o.cpu.gossip = opt_number(L, t, "gossip", 0, 0, 1);
        o.cpu.envelope = opt_number(L, t, "envelope", 0, 0, 1);
    }
    lua_pop(L, 1);
    lua_getfield(L, 1, "model");
    o.model = luaL_checkoption(L, -1, "uniform", models) == 1 ? HS_SIM_LOGNORMAL : HS_SIM_UNIFORM;
    lua_getfield(L, 1, "log");
    o.log = luaL_checkoption(L, -1, "none", levels); /* 0 none, 1 + level */
    lua_pop(L, 2);
    ls = lua_newuserdatauv(L, sizeof *ls, 0); /* at 2 */
    memset(ls, 0, sizeof *ls);
    ls->L = L;
    ls->settings_ref = ls->plugins_ref = LUA_NOREF;
    ls->seed = o.seed;
    ls->regions = o.regions;
    luaL_setmetatable(L, HS_SIM_MT);
    lua_getfield(L, 1, "plugins");
    if (!lua_isnil(L, -1)) {
        luaL_argcheck(L, lua_istable(L, -1), 1,
                      "sim.plugins takes the options node:plugins takes ({dir = DIR, ...})");
        if (!(ls->hosts = calloc(o.nodes, sizeof *ls->hosts)))
            return luaL_error(L, "hearsay.sim: out of memory");
        ls->plugins_ref = luaL_ref(L, LUA_REGISTRYINDEX);
        o.attach = attach;
        o.detach = detach;
    } else {
        lua_pop(L, 1);
    }
    lua_getfield(L, 1, "settings");
    if (!lua_isnil(L, -1)) {
        hs_config probe;
        luaL_checktype(L, -1, LUA_TTABLE);
        hs_config_init(&probe);
        hs_lua_apply_config(L, -1, &probe); /* raises now, before any node is made */
        lua_pop(L, 1);
        ls->settings_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    } else {
        lua_pop(L, 1);
    }
    o.configure = configure;
    o.ud = ls;
    top = lua_gettop(L);
    ls->sim = hs_sim_new(&o);
    lua_settop(L, top);
    if (!ls->sim && ls->err[0])
        return luaL_error(L, "hearsay.sim: plugins: %s", ls->err);
    if (!ls->sim)
        return luaL_error(L, "hearsay.sim: the network could not be made (out of memory, or a "
                             "setting the nodes refused)");
    return 1;
}

static int l_sim_run(lua_State *L)
{
    lsim *ls = check_open(L);
    double secs = luaL_checknumber(L, 2);

    if (!(secs >= 0 && secs <= 1e7))
        return luaL_error(L, "sim:run takes 0 to 1e7 virtual seconds");
    hs_sim_run_for(ls->sim, secs);
    if (hs_sim_error(ls->sim)) {
        lua_pushnil(L);
        lua_pushstring(L, hs_sim_error(ls->sim));
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

static int l_sim_now(lua_State *L)
{
    lua_pushnumber(L, hs_sim_now(check_open(L)->sim));
    return 1;
}

static int l_sim_size(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)hs_sim_size(check_open(L)->sim));
    return 1;
}

/* sim:region(i) -> its region, 1-based (node i is in region (i - 1) % #matrix + 1) */
static int l_sim_region(lua_State *L)
{
    lsim *ls = check_open(L);

    lua_pushinteger(L, (lua_Integer)hs_sim_region(ls->sim, check_index(L, ls, 2)) + 1);
    return 1;
}

static int l_sim_events(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)hs_sim_events(check_open(L)->sim));
    return 1;
}

static int l_sim_trace(lua_State *L)
{
    char hex[17];

    snprintf(hex, sizeof hex, "%016" PRIx64, hs_sim_trace(check_open(L)->sim));
    lua_pushstring(L, hex);
    return 1;
}

static int l_sim_error(lua_State *L)
{
    const char *e = hs_sim_error(check_open(L)->sim);

    if (e)
        lua_pushstring(L, e);
    else
        lua_pushnil(L);
    return 1;
}

static int l_sim_crash(lua_State *L)
{
    lsim *ls = check_open(L);

    hs_sim_crash(ls->sim, check_index(L, ls, 2));
    return 0;
}

static int l_sim_restart(lua_State *L)
{
    lsim *ls = check_open(L);
    size_t i = check_index(L, ls, 2);
    int top = lua_gettop(L);
    hs_err err;

    ls->L = L;
    ls->err[0] = '\0';
    err = hs_sim_restart(ls->sim, i);
    lua_settop(L, top);

    if (err != HS_OK)
        return luaL_error(L, "sim:restart: %s", ls->err[0] ? ls->err : hs_strerror(err));
    return 0;
}

static int l_sim_pause(lua_State *L)
{
    lsim *ls = check_open(L);
    size_t i = check_index(L, ls, 2);
    double secs = luaL_checknumber(L, 3);

    if (!(secs > 0 && secs <= 1e6))
        return luaL_error(L, "sim:pause takes 0 to 1e6 virtual seconds");
    hs_sim_pause(ls->sim, i, secs);
    return 0;
}

static int l_sim_crashed(lua_State *L)
{
    lsim *ls = check_open(L);

    lua_pushboolean(L, hs_sim_crashed(ls->sim, check_index(L, ls, 2)));
    return 1;
}

static int l_sim_side(lua_State *L)
{
    lsim *ls = check_open(L);
    size_t i = check_index(L, ls, 2);
    lua_Integer side = luaL_checkinteger(L, 3);

    if (side < 0 || side > 1000000)
        return luaL_error(L, "a side is 0 to 1000000");
    hs_sim_side(ls->sim, i, (int)side);
    return 0;
}

static int l_sim_heal(lua_State *L)
{
    hs_sim_heal(check_open(L)->sim);
    return 0;
}

static int l_sim_loss(lua_State *L)
{
    lsim *ls = check_open(L);
    double p = luaL_checknumber(L, 2);

    if (!(p >= 0 && p <= 1))
        return luaL_error(L, "loss is a chance, 0 to 1");
    hs_sim_set_loss(ls->sim, p);
    return 0;
}

/* sim:broadcast(i, type, payload) -> id */
static int l_sim_broadcast(lua_State *L)
{
    lsim *ls = check_open(L);
    size_t i = check_index(L, ls, 2);
    const char *type = luaL_checkstring(L, 3);
    char id[65];
    json_t *payload;
    hs_err err;

    luaL_checkany(L, 4);
    if (!(payload = hs_lua_to_json(L, 4)))
        return luaL_error(L, "sim:broadcast: the payload is not JSON");
    err = hs_sim_broadcast(ls->sim, i, type, payload, id);
    json_decref(payload);
    if (err != HS_OK)
        return luaL_error(L, "sim:broadcast: %s",
                          err == HS_EINVAL && hs_sim_crashed(ls->sim, i) ? "the node has crashed"
                                                                         : hs_strerror(err));
    lua_pushstring(L, id);
    return 1;
}

static int l_sim_has(lua_State *L)
{
    lsim *ls = check_open(L);
    size_t i = check_index(L, ls, 2);

    lua_pushboolean(L, hs_sim_has(ls->sim, i, luaL_checkstring(L, 3)));
    return 1;
}

/* sim:metrics(i) -> node i's counters, as node:metrics() gives them. */
static int l_sim_metrics(lua_State *L)
{
    lsim *ls = check_open(L);
    hs_node *n = hs_sim_node(ls->sim, check_index(L, ls, 2));

    if (!n)
        return luaL_error(L, "sim:metrics: node %d is not running", (int)lua_tointeger(L, 2));
    hs_lua_push_json_new(L, hs_node_metrics_json(n));
    return 1;
}

/* sim:in_views(i) -> holders, eager: how many live nodes hold node i in
 * their view, and how many of those push to it (the tree's way in). */
static int l_sim_in_views(lua_State *L)
{
    lsim *ls = check_open(L);
    size_t eager = 0, holders = hs_sim_in_views(ls->sim, check_index(L, ls, 2), &eager);

    lua_pushinteger(L, (lua_Integer)holders);
    lua_pushinteger(L, (lua_Integer)eager);
    return 2;
}

/* sim:peers(i) -> node i's peers, as node:peers() gives them (eager,
 * feeds, state, ...), each with `index`, the peer's node number. */
static int l_sim_peers(lua_State *L)
{
    lsim *ls = check_open(L);
    size_t i = check_index(L, ls, 2);
    hs_node *n = hs_sim_node(ls->sim, i);
    size_t count = n ? hs_node_peer_count(n) : 0;

    lua_createtable(L, (int)count, 0);
    for (size_t k = 0; k < count; k++) {
        hs_peer_info info;
        unsigned j;
        if (hs_node_peer_get(n, k, &info) != HS_OK)
            continue;
        hs_lua_push_peer(L, &info);
        if (sscanf(info.id, "sim-%u", &j) == 1) {
            lua_pushinteger(L, (lua_Integer)j + 1);
            lua_setfield(L, -2, "index");
        }
        lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
    }
    return 1;
}

/* sim:sees(i, j) -> "alive" | "dead" | nil: how node i holds node j. */
static int l_sim_sees(lua_State *L)
{
    lsim *ls = check_open(L);
    size_t i = check_index(L, ls, 2), j = check_index(L, ls, 3);

    if (hs_sim_sees_alive(ls->sim, i, j))
        lua_pushliteral(L, "alive");
    else if (hs_sim_sees_dead(ls->sim, i, j))
        lua_pushliteral(L, "dead");
    else
        lua_pushnil(L);
    return 1;
}

static void set_num(lua_State *L, const char *k, double v)
{
    lua_pushnumber(L, v);
    lua_setfield(L, -2, k);
}

static void set_int(lua_State *L, const char *k, lua_Integer v)
{
    lua_pushinteger(L, v);
    lua_setfield(L, -2, k);
}

/* A time, or false when that share was not reached. */
static void set_time(lua_State *L, const char *k, double v)
{
    if (v < 0)
        lua_pushboolean(L, 0);
    else
        lua_pushnumber(L, v);
    lua_setfield(L, -2, k);
}

static int l_sim_deliveries(lua_State *L)
{
    lsim *ls = check_open(L);
    size_t n = hs_sim_broadcasts(ls->sim);

    lua_createtable(L, (int)n, 0);
    for (size_t k = 0; k < n; k++) {
        hs_sim_delivery_info d;
        if (hs_sim_delivery(ls->sim, k, &d) != HS_OK)
            return luaL_error(L, "sim:deliveries: out of memory");
        lua_createtable(L, 0, 12);
        lua_pushstring(L, d.id);
        lua_setfield(L, -2, "id");
        set_int(L, "origin", (lua_Integer)d.origin + 1);
        set_num(L, "sent", d.sent);
        set_int(L, "live", (lua_Integer)d.live);
        set_int(L, "reached", (lua_Integer)d.reached);
        set_time(L, "p50", d.p50);
        set_time(L, "p90", d.p90);
        set_time(L, "p99", d.p99);
        set_time(L, "p100", d.p100);
        set_int(L, "max_hops", d.max_hops);
        set_num(L, "mean_hops", d.mean_hops);
        set_num(L, "copies", d.copies);
        lua_rawseti(L, -2, (lua_Integer)k + 1);
    }
    return 1;
}

static int l_sim_detections(lua_State *L)
{
    lsim *ls = check_open(L);
    size_t n = hs_sim_crashes(ls->sim);

    lua_createtable(L, (int)n, 0);
    for (size_t k = 0; k < n; k++) {
        hs_sim_detection_info d;
        if (hs_sim_detection(ls->sim, k, &d) != HS_OK)
            return luaL_error(L, "sim:detections: out of memory");
        lua_createtable(L, 0, 11);
        set_int(L, "node", (lua_Integer)d.node + 1);
        set_num(L, "at", d.at);
        set_int(L, "watchers", (lua_Integer)d.watchers);
        set_int(L, "detected", (lua_Integer)d.detected);
        set_time(L, "p50", d.p50);
        set_time(L, "p99", d.p99);
        set_time(L, "p100", d.p100);
        set_time(L, "gone50", d.gone50);
        set_time(L, "gone99", d.gone99);
        set_time(L, "gone100", d.gone100);
        set_int(L, "still_alive", (lua_Integer)d.still_alive);
        lua_pushboolean(L, d.restarted);
        lua_setfield(L, -2, "restarted");
        lua_rawseti(L, -2, (lua_Integer)k + 1);
    }
    return 1;
}

static int l_sim_false_deaths(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)hs_sim_false_deaths(check_open(L)->sim));
    return 1;
}

static int l_sim_held_dead(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)hs_sim_held_dead(check_open(L)->sim));
    return 1;
}

/* sim:backlog([i]) -> {queued, queued_max, offers, offers_max, inflight,
 * stuck_offers, stuck_queues}: what waits in the live nodes' queues now,
 * or in node i's (sim.h). */
static int l_sim_backlog(lua_State *L)
{
    lsim *ls = check_open(L);
    hs_sim_backlog_info b;

    if (lua_isnoneornil(L, 2))
        hs_sim_backlog(ls->sim, &b);
    else
        hs_sim_backlog_of(ls->sim, check_index(L, ls, 2), &b);
    lua_createtable(L, 0, 7);
    set_int(L, "queued", (lua_Integer)b.queued);
    set_int(L, "queued_max", (lua_Integer)b.queued_max);
    set_int(L, "offers", (lua_Integer)b.offers);
    set_int(L, "offers_max", (lua_Integer)b.offers_max);
    set_int(L, "inflight", (lua_Integer)b.inflight);
    set_int(L, "stuck_offers", (lua_Integer)b.stuck_offers);
    set_int(L, "stuck_queues", (lua_Integer)b.stuck_queues);
    return 1;
}

static int l_sim_excluded(lua_State *L)
{
    size_t n = hs_sim_excluded(check_open(L)->sim);

    if (n == SIZE_MAX)
        return luaL_error(L, "sim:excluded: out of memory");
    lua_pushinteger(L, (lua_Integer)n);
    return 1;
}

/* sim:totals() -> the counters of every node added up (a few: repairs,
 * the tree's repairs, membership's work). */
static int l_sim_totals(lua_State *L)
{
    hs_metrics m;

    hs_sim_totals(check_open(L)->sim, &m);
    lua_createtable(L, 0, 25);
    set_int(L, "ae_pushed", (lua_Integer)m.ae_pushed);
    set_int(L, "ae_fetched", (lua_Integer)m.ae_fetched);
    set_int(L, "ae_catchups", (lua_Integer)m.ae_catchups);
    set_int(L, "lazy_offered", (lua_Integer)m.lazy_offered);
    set_int(L, "lazy_pushed", (lua_Integer)m.lazy_pushed);
    set_int(L, "lazy_deferred", (lua_Integer)m.lazy_deferred);
    set_int(L, "pushes_late", (lua_Integer)m.pushes_late);
    set_int(L, "pushes_stuck", (lua_Integer)m.pushes_stuck);
    set_int(L, "lazy_answered", (lua_Integer)m.lazy_answered);
    set_int(L, "grafts", (lua_Integer)m.grafts);
    set_int(L, "prunes", (lua_Integer)m.prunes);
    set_int(L, "messages_duplicate", (lua_Integer)m.messages_duplicate);
    set_int(L, "health_checks", (lua_Integer)m.health_checks);
    set_int(L, "indirect_probes", (lua_Integer)m.indirect_probes);
    set_int(L, "suspicions", (lua_Integer)m.suspicions);
    set_int(L, "refutations", (lua_Integer)m.refutations);
    set_int(L, "confirmations", (lua_Integer)m.confirmations);
    set_int(L, "peers_recovered", (lua_Integer)m.peers_recovered);
    set_int(L, "probe_sweeps", (lua_Integer)m.probe_sweeps);
    set_int(L, "messages_sent", (lua_Integer)m.messages_sent);
    set_int(L, "batches_sent", (lua_Integer)m.batches_sent);
    set_int(L, "feeds", (lua_Integer)m.feeds);
    set_int(L, "feed_asks", (lua_Integer)m.feed_asks);
    set_int(L, "shortcuts", (lua_Integer)m.shortcuts);
    set_int(L, "lazy_refetched", (lua_Integer)m.lazy_refetched);
    set_int(L, "send_errors", (lua_Integer)m.send_errors);
    return 1;
}

/* sim:traffic() -> messages, bytes (requests and answers delivered) */
static int l_sim_traffic(lua_State *L)
{
    uint64_t m, b;

    hs_sim_traffic(check_open(L)->sim, &m, &b);
    lua_pushinteger(L, (lua_Integer)m);
    lua_pushinteger(L, (lua_Integer)b);
    return 2;
}

/* sim:cpu() -> the CPU s the nodes' work took (0 without sim.cpu), the
 * busiest host (1-based: nodes 1..per_host are host 1) and its CPU s */
static int l_sim_cpu(lua_State *L)
{
    size_t h;
    double hs_;
    double used = hs_sim_cpu_used(check_open(L)->sim, &h, &hs_);

    lua_pushnumber(L, used);
    lua_pushinteger(L, (lua_Integer)h + 1);
    lua_pushnumber(L, hs_);
    return 3;
}

/* sim:cross() -> requests delivered from one region to another, and of
 * them gossip pushes (POST /gossip) */
static int l_sim_cross(lua_State *L)
{
    uint64_t r, p;

    hs_sim_cross_traffic(check_open(L)->sim, &r, &p);
    lua_pushinteger(L, (lua_Integer)r);
    lua_pushinteger(L, (lua_Integer)p);
    return 2;
}

static int l_sim_close(lua_State *L)
{
    lsim *ls = luaL_checkudata(L, 1, HS_SIM_MT);

    hs_sim_free(ls->sim); /* (the hosts close first: detach) */
    ls->sim = NULL;
    free(ls->hosts);
    ls->hosts = NULL;
    json_decref(ls->tags);
    ls->tags = NULL;
    if (ls->settings_ref != LUA_NOREF) {
        luaL_unref(L, LUA_REGISTRYINDEX, ls->settings_ref);
        ls->settings_ref = LUA_NOREF;
    }
    if (ls->plugins_ref != LUA_NOREF) {
        luaL_unref(L, LUA_REGISTRYINDEX, ls->plugins_ref);
        ls->plugins_ref = LUA_NOREF;
    }
    return 0;
}

static hs_host *check_host(lua_State *L, lsim *ls, size_t i)
{
    if (!ls->hosts)
        luaL_error(L, "this simulation has no plugins (sim{plugins = {...}})");
    if (!ls->hosts[i].host)
        luaL_error(L, "node %d has no plugins now", (int)i + 1);
    return ls->hosts[i].host;
}

/* sim:plugin_info(i) -> node i's plugin manager's info() (node:plugin_info) */
static int l_sim_plugin_info(lua_State *L)
{
    lsim *ls = check_open(L);
    hs_host *h = check_host(L, ls, check_index(L, ls, 2));

    lua_settop(L, 0);
    return hs_host_query(h, L, "info", 0);
}

/* sim:plugin_state(i, name) -> a copy of that plugin's `state` on node i */
static int l_sim_plugin_state(lua_State *L)
{
    lsim *ls = check_open(L);
    hs_host *h = check_host(L, ls, check_index(L, ls, 2));

    luaL_checkstring(L, 3);
    lua_settop(L, 3);
    lua_remove(L, 1);
    lua_remove(L, 1);
    return hs_host_query(h, L, "state_of", 1);
}

static const luaL_Reg sim_methods[] = {
    {"run", l_sim_run},
    {"now", l_sim_now},
    {"size", l_sim_size},
    {"region", l_sim_region},
    {"events", l_sim_events},
    {"trace", l_sim_trace},
    {"error", l_sim_error},
    {"crash", l_sim_crash},
    {"crashed", l_sim_crashed},
    {"restart", l_sim_restart},
    {"pause", l_sim_pause},
    {"side", l_sim_side},
    {"heal", l_sim_heal},
    {"loss", l_sim_loss},
    {"broadcast", l_sim_broadcast},
    {"has", l_sim_has},
    {"sees", l_sim_sees},
    {"in_views", l_sim_in_views},
    {"metrics", l_sim_metrics},
    {"peers", l_sim_peers},
    {"backlog", l_sim_backlog},
    {"deliveries", l_sim_deliveries},
    {"detections", l_sim_detections},
    {"false_deaths", l_sim_false_deaths},
    {"held_dead", l_sim_held_dead},
    {"excluded", l_sim_excluded},
    {"traffic", l_sim_traffic},
    {"cpu", l_sim_cpu},
    {"cross", l_sim_cross},
    {"totals", l_sim_totals},
    {"plugin_info", l_sim_plugin_info},
    {"plugin_state", l_sim_plugin_state},
    {"close", l_sim_close},
    {NULL, NULL},
};

void hs_lua_sim_register(lua_State *L)
{
    luaL_newmetatable(L, HS_SIM_MT);
    luaL_newlib(L, sim_methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_sim_close);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, l_sim_close);
    lua_setfield(L, -2, "__close");
    lua_pop(L, 1);
    lua_pushcfunction(L, l_sim_new);
    lua_setfield(L, -2, "sim");
}
