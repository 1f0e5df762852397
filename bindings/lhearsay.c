/*
 * lhearsay.c -- luaopen_hearsay: the Lua module over core's public header.
 *
 *   local hs = require "hearsay"
 *   local loop = hs.loop()
 *   local node = hs.node(loop, { port = 0, bootstrap = { url } })
 *   node:start(); node:broadcast("chat", { text = "hi" })
 *   loop:run_until(function() return ... end, 5)
 *
 * A node userdata keeps its loop alive (user value 1) and holds registry
 * references to its Lua hooks. Hooks are cleared when the node closes, so
 * no callback ever reaches a collected userdata.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "hearsay.h"
#include "lconfig.h"
#include "lhost.h"
#include "ljson.h"
#include "lkeyring.h"
#include "lloop.h"
#include "lsim.h"
#include "lvalues.h"

#define HS_NODE_MT "hearsay.node"

void hs_console_client_register(lua_State *L); /* lconsole_client.c */

enum { HOOK_MESSAGE, HOOK_POLICY, HOOK_PEER, HOOK_STATE, HOOK_COUNT };

typedef struct lnode {
    hs_node *node;  /* NULL once closed */
    hs_log_fn sink; /* where the node's log lines go (stderr, text or JSON) */
    hs_lloop *lp;
    lua_State *L; /* main thread */
    int refs[HOOK_COUNT];
    hs_host *host;      /* the node's plugins, or NULL */
    char *keyring_file; /* where keyring changes are saved, or NULL */
} lnode;

/* The node's log: stderr as configured, and the console's monitoring
 * sessions (hearsay monitor). */
static void lnode_log(void *ud, hs_log_level level, const char *node_id, const char *msg)
{
    lnode *ln = ud;

    ln->sink(NULL, level, node_id, msg);
    if (ln->host)
        hs_host_log_tap(ln->host, level, msg);
}

static lnode *check_lnode(lua_State *L, int idx)
{
    lnode *ln = luaL_checkudata(L, idx, HS_NODE_MT);
    if (!ln->node)
        luaL_error(L, "node is closed");
    return ln;
}

/* ---- hooks: C -> Lua ---------------------------------------------------- */

static lua_State *hook_fn(lnode *ln, int hook)
{
    lua_State *L;

    if (ln->refs[hook] == LUA_NOREF)
        return NULL;
    L = hs_lloop_state(ln->lp);
    lua_rawgeti(L, LUA_REGISTRYINDEX, ln->refs[hook]);
    return L;
}

static hs_verdict hook_message(void *ud, hs_node *node, const hs_message *m, json_t **payload_out)
{
    lnode *ln = ud;
    hs_verdict v = HS_ACCEPT, observed;
    lua_State *L;

    (void)node;
    /* Plugins decide first; an observer in the main state sees what they
     * let through, with their rewritten payload. */
    if (ln->host && (v = hs_host_on_message(ln->host, m, payload_out)) != HS_ACCEPT && v != HS_STOP)
        return v;
    if (!(L = hook_fn(ln, HOOK_MESSAGE)))
        return v;
    hs_lua_push_message(L, m);
    if (*payload_out) {
        hs_lua_push_json(L, *payload_out);
        lua_setfield(L, -2, "payload");
    }
    if (hs_lua_pcall(L, 1, 2, "message hook") != LUA_OK)
        return v;
    json_t *rewritten = NULL;
    observed = hs_lua_read_verdict(L, -2, -1, &rewritten);
    lua_pop(L, 2);
    if (rewritten) {
        json_decref(*payload_out);
        *payload_out = rewritten;
    }
    return observed == HS_ACCEPT ? v : observed;
}

static int hook_policy(void *ud, hs_node *node, const hs_message *m, const hs_peer_info *cands,
                       size_t n, size_t want, size_t *out)
{
    lnode *ln = ud;
    lua_State *L;
    int got;

    (void)node;
    if (ln->host && (got = hs_host_select(ln->host, m, cands, n, want, out)) >= 0)
        return got;
    if (!(L = hook_fn(ln, HOOK_POLICY)))
        return -1;
    hs_lua_push_message(L, m);
    hs_lua_push_candidates(L, cands, n);
    lua_pushinteger(L, (lua_Integer)want);
    if (hs_lua_pcall(L, 3, 1, "peer-selection policy") != LUA_OK)
        return -1;
    got = hs_lua_read_selection(L, -1, cands, n, want, out);
    lua_pop(L, 1);
    return got;
}

/* A node with plugins but no policy set keeps its tree and lazy offers. */
static int hook_has_policy(void *ud, hs_node *node)
{
    lnode *ln = ud;

    (void)node;
    return (ln->host && hs_host_has_policy(ln->host)) || ln->refs[HOOK_POLICY] != LUA_NOREF;
}

static void hook_peer(void *ud, hs_node *node, const hs_peer_info *peer, int up)
{
    lnode *ln = ud;
    lua_State *L;

    (void)node;
    if (ln->host)
        hs_host_on_peer(ln->host, peer, up);
    if (!(L = hook_fn(ln, HOOK_PEER)))
        return;
    hs_lua_push_peer(L, peer);
    lua_pushboolean(L, up);
    hs_lua_pcall(L, 2, 0, "peer hook");
}

static void hook_state(void *ud, hs_node *node, const char *old_root, uint64_t old_version,
                       const char *new_root, uint64_t new_version, const char *from)
{
    lnode *ln = ud;
    lua_State *L;

    (void)node;
    if (ln->host)
        hs_host_on_state(ln->host, old_root, old_version, new_root, new_version, from);
    if (!(L = hook_fn(ln, HOOK_STATE)))
        return;
    hs_lua_push_state_change(L, old_root, old_version, new_root, new_version, from);
    hs_lua_pcall(L, 1, 0, "state hook");
}

static void hook_health(void *ud, hs_node *node, json_t *health)
{
    lnode *ln = ud;

    (void)node;
    if (ln->host)
        hs_host_on_health(ln->host, health);
}

static int hook_query(void *ud, hs_node *node, const char *name, const json_t *payload,
                      const char *from, json_t **answer)
{
    lnode *ln = ud;

    (void)node;
    return ln->host ? hs_host_on_query(ln->host, name, payload, from, answer) : 0;
}

static hs_verdict hook_own(void *ud, hs_node *node, const hs_message *m, json_t **payload_out)
{
    lnode *ln = ud;

    (void)node;
    return ln->host ? hs_host_on_own(ln->host, m, payload_out) : HS_ACCEPT;
}

/* Only the hooks someone listens to are installed: a node without plugins
 * or observers pays nothing per message. */
static void install_hooks(lnode *ln)
{
    hs_hooks h = {0};
    int plugins = ln->host != NULL;

    h.ud = ln;
    if (plugins || ln->refs[HOOK_MESSAGE] != LUA_NOREF)
        h.on_message = hook_message;
    if (plugins || ln->refs[HOOK_POLICY] != LUA_NOREF) {
        h.select_peers = hook_policy;
        h.has_policy = hook_has_policy;
    }
    if (plugins || ln->refs[HOOK_PEER] != LUA_NOREF)
        h.on_peer = hook_peer;
    if (plugins || ln->refs[HOOK_STATE] != LUA_NOREF)
        h.on_state = hook_state;
    if (plugins) {
        h.on_health = hook_health;
        h.on_own = hook_own;
        h.on_query = hook_query;
    }
    hs_node_set_hooks(ln->node, &h);
}

/* ---- configuration: Lua table -> hs_config ------------------------------ */

typedef enum { F_STR, F_UINT, F_U16, F_SIZE, F_NUM, F_BOOL, F_LIST, F_SECURITY } field_kind;

typedef struct field {
    const char *name;
    field_kind kind;
    size_t offset, count; /* F_LIST: the array, and its length's offset */
} field;

/* clang-format off */
#define FIELD(n, k) {#n, k, offsetof(hs_config, n), 0}
#define LIST(n) {#n, F_LIST, offsetof(hs_config, n), offsetof(hs_config, n_##n)}
/* clang-format on */

static const field fields[] = {
    FIELD(node_id, F_STR),
    FIELD(host, F_STR),
    FIELD(port, F_U16),
    FIELD(public_url, F_STR),
    FIELD(fanout, F_UINT),
    FIELD(tree, F_BOOL),
    FIELD(feed_chains, F_BOOL),
    FIELD(ttl, F_UINT),
    FIELD(max_ttl, F_UINT),
    FIELD(announce_ttl, F_UINT),
    FIELD(join_exchanges, F_UINT),
    FIELD(max_peers, F_UINT),
    FIELD(min_peers, F_UINT),
    FIELD(gossip_interval, F_NUM),
    FIELD(health_interval, F_NUM),
    FIELD(peer_exchange_interval, F_NUM),
    FIELD(rebootstrap_interval, F_NUM),
    FIELD(discovery_interval, F_NUM),
    FIELD(rebootstrap_max, F_UINT),
    FIELD(request_timeout, F_NUM),
    FIELD(dead_after, F_UINT),
    FIELD(dead_timeout, F_NUM),
    FIELD(retry_min, F_NUM),
    FIELD(retry_max, F_NUM),
    FIELD(forget_after, F_NUM),
    FIELD(probe_timeout, F_NUM),
    FIELD(probe_interval, F_NUM),
    FIELD(indirect_probes, F_UINT),
    FIELD(suspicion_timeout, F_NUM),
    FIELD(suspicion_min, F_NUM),
    FIELD(suspicion_confirmations, F_UINT),
    FIELD(max_probes_in_flight, F_UINT),
    FIELD(seen_ttl, F_NUM),
    FIELD(seen_cap, F_SIZE),
    FIELD(max_body, F_SIZE),
    FIELD(max_seen_by, F_SIZE),
    FIELD(max_batch, F_SIZE),
    FIELD(max_connections, F_SIZE),
    FIELD(peer_connections, F_SIZE),
    FIELD(curl_for_http, F_BOOL),
    FIELD(batch_window, F_NUM),
    FIELD(batch_interval, F_NUM),
    FIELD(lazy_fanout, F_UINT),
    FIELD(lazy_delay, F_NUM),
    FIELD(ae_interval, F_NUM),
    FIELD(ae_window, F_NUM),
    FIELD(ae_max_interval, F_NUM),
    FIELD(max_digest, F_SIZE),
    FIELD(retain_ttl, F_NUM),
    FIELD(retain_bytes, F_SIZE),
    FIELD(security, F_SECURITY),
    FIELD(node_key, F_STR),
    LIST(bootstrap),
    LIST(cluster_keys),
    LIST(writers),
    LIST(peer_allow),
    LIST(trust_forwarded),
    FIELD(auth_window, F_NUM),
    FIELD(learn_rate, F_NUM),
    FIELD(learn_burst, F_UINT),
    FIELD(probe_new_rate, F_NUM),
    FIELD(score_delivery, F_NUM),
    FIELD(score_reject, F_NUM),
    FIELD(score_invalid, F_NUM),
    FIELD(score_failure, F_NUM),
    FIELD(score_max, F_NUM),
    FIELD(score_half_life, F_NUM),
    FIELD(score_forward, F_NUM),
    FIELD(score_graylist, F_NUM),
    FIELD(graylist_time, F_NUM),
    FIELD(cluster_label, F_STR),
    FIELD(query_timeout, F_NUM),
    FIELD(query_answer_max, F_SIZE),
    FIELD(query_answer_rate, F_NUM),
    FIELD(tls_cert, F_STR),
    FIELD(tls_key, F_STR),
    FIELD(tls_ca, F_STR),
    FIELD(tls_client_auth, F_BOOL),
};

/* A list of strings at idx as a C array kept alive by a userdata (its
 * strings by the table, which the userdata holds): stored in the anchor
 * table at `anchor`, so every error path frees it with the anchor. */
static void set_list(lua_State *L, hs_config *c, const field *f, int idx, int anchor)
{
    size_t n;
    const char **v;

    idx = lua_absindex(L, idx);
    if (!lua_istable(L, idx))
        luaL_error(L, "config.%s must be a list of strings", f->name);
    n = lua_rawlen(L, idx);
    v = lua_newuserdatauv(L, (n ? n : 1) * sizeof *v, 1);
    lua_pushvalue(L, idx);
    lua_setiuservalue(L, -2, 1);
    for (size_t i = 0; i < n; i++) {
        lua_rawgeti(L, idx, (lua_Integer)i + 1);
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "config.%s[%d] must be a string", f->name, (int)i + 1);
        v[i] = lua_tostring(L, -1);
        lua_pop(L, 1);
    }
    lua_rawseti(L, anchor, (lua_Integer)lua_rawlen(L, anchor) + 1);
    *(const char *const **)((char *)c + f->offset) = v;
    *(size_t *)((char *)c + f->count) = n;
}

static void set_field(lua_State *L, hs_config *c, const field *f, int idx)
{
    static const char *const security[] = {"protected", "open", "cluster", "signed", NULL};
    char *base = (char *)c + f->offset;

    if (f->kind == F_SECURITY) {
        *(hs_security *)base = (hs_security)luaL_checkoption(L, idx, NULL, security);
        return;
    }
    if (f->kind == F_STR) {
        if (lua_type(L, idx) != LUA_TSTRING)
            luaL_error(L, "config.%s must be a string", f->name);
        *(const char **)base = lua_tostring(L, idx);
        return;
    }
    if (f->kind == F_BOOL) {
        if (lua_type(L, idx) != LUA_TBOOLEAN)
            luaL_error(L, "config.%s must be a boolean", f->name);
        *(int *)base = lua_toboolean(L, idx);
        return;
    }
    if (f->kind == F_NUM) {
        if (lua_type(L, idx) != LUA_TNUMBER)
            luaL_error(L, "config.%s must be a number", f->name);
        *(double *)base = lua_tonumber(L, idx);
        return;
    }
    if (!lua_isinteger(L, idx) || lua_tointeger(L, idx) < 0)
        luaL_error(L, "config.%s must be a non-negative integer", f->name);
    lua_Integer v = lua_tointeger(L, idx);
    if (f->kind == F_U16) {
        if (v > 65535)
            luaL_error(L, "config.%s must be at most 65535", f->name);
        *(uint16_t *)base = (uint16_t)v;
    } else if (f->kind == F_UINT) {
        if (v > 1000000000)
            luaL_error(L, "config.%s is too large", f->name);
        *(unsigned *)base = (unsigned)v;
    } else {
        *(size_t *)base = (size_t)v;
    }
}

/* Reads the table at idx into c (defaults first; lconfig.h). */
static void read_config(lua_State *L, int idx, hs_config *c)
{
    hs_config_init(c);
    hs_lua_apply_config(L, idx, c);
}

void hs_lua_apply_config(lua_State *L, int idx, hs_config *c)
{
    static const char *const levels[] = {"error", "warn", "info", "debug", NULL};
    int anchor;

    idx = lua_absindex(L, idx);
    lua_newtable(L);
    anchor = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        const char *key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
        size_t i;
        if (!key)
            luaL_error(L, "config keys must be strings");
        for (i = 0; i < sizeof fields / sizeof *fields; i++)
            if (strcmp(fields[i].name, key) == 0)
                break;
        if (i < sizeof fields / sizeof *fields && fields[i].kind == F_LIST) {
            set_list(L, c, &fields[i], -1, anchor);
        } else if (i < sizeof fields / sizeof *fields) {
            set_field(L, c, &fields[i], -1);
        } else if (strcmp(key, "log_level") == 0) {
            c->log_level = (hs_log_level)luaL_checkoption(L, -1, NULL, levels);
        } else if (strcmp(key, "log_format") == 0) {
            static const char *const formats[] = {"text", "json", NULL};
            c->log_format = (hs_log_format)luaL_checkoption(L, -1, NULL, formats);
        } else if (strcmp(key, "tags") != 0) {
            luaL_error(L, "config.%s is not a node setting", key);
        }
        lua_pop(L, 1);
    }
}

/* hearsay.node(loop, config) -> node */
static int l_node_new(lua_State *L)
{
    hs_lloop *lp = hs_lloop_check(L, 1);
    hs_config cfg;
    lnode *ln;
    hs_err err;
    char why[256];

    if (lua_isnoneornil(L, 2)) {
        lua_settop(L, 1);
        lua_newtable(L);
    }
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    read_config(L, 2, &cfg); /* pushes the lists' anchor at 3 */
    ln = lua_newuserdatauv(L, sizeof *ln, 1);
    memset(ln, 0, sizeof *ln);
    for (int i = 0; i < HOOK_COUNT; i++)
        ln->refs[i] = LUA_NOREF;
    luaL_setmetatable(L, HS_NODE_MT);
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, -2, 1);
    ln->lp = lp;
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
    ln->L = lua_tothread(L, -1);
    lua_pop(L, 1);
    lua_getfield(L, 2, "tags");
    if (!lua_isnil(L, -1)) {
        if (!lua_istable(L, -1) || !(cfg.tags = hs_lua_to_json(L, -1)))
            return luaL_error(L, "config.tags must be a table of short strings");
    }
    lua_pop(L, 1);
    if (hs_config_check(&cfg, why, sizeof why) == HS_EINVAL) {
        json_decref(cfg.tags);
        return luaL_error(L, "hearsay.node: %s", why);
    }
    ln->sink = cfg.log_format == HS_LOG_JSON ? hs_log_stderr_json : hs_log_stderr;
    cfg.lua_version = LUA_RELEASE;
    cfg.log = lnode_log;
    cfg.log_ud = ln;
    err = hs_node_new(lp->loop, &cfg, &ln->node);
    json_decref(cfg.tags);
    if (err != HS_OK)
        return luaL_error(L, "hearsay.node: %s", hs_strerror(err));
    return 1;
}

static int l_node_start(lua_State *L)
{
    lnode *ln = check_lnode(L, 1);
    hs_err err = hs_node_start(ln->node);

    if (err != HS_OK) {
        lua_pushnil(L);
        lua_pushstring(L, hs_strerror(err));
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

static void close_lnode(lnode *ln)
{
    if (!ln->node)
        return;
    hs_node_set_hooks(ln->node, NULL);
    if (ln->host) {
        hs_host_close(ln->host); /* runs the plugins' stop hooks */
        ln->host = NULL;
    }
    hs_node_keyring_on_save(ln->node, NULL, NULL);
    free(ln->keyring_file);
    ln->keyring_file = NULL;
    hs_node_close(ln->node, NULL, NULL);
    ln->node = NULL;
    for (int i = 0; i < HOOK_COUNT; i++) {
        luaL_unref(ln->L, LUA_REGISTRYINDEX, ln->refs[i]);
        ln->refs[i] = LUA_NOREF;
    }
}

static int l_node_close(lua_State *L)
{
    lnode *ln = luaL_checkudata(L, 1, HS_NODE_MT);
    close_lnode(ln);
    return 0;
}

static int l_node_gc(lua_State *L)
{
    lnode *ln = luaL_checkudata(L, 1, HS_NODE_MT);
    if (ln->node && !ln->lp->closed)
        close_lnode(ln);
    free(ln->keyring_file); /* (a node on a closed loop is never used again) */
    ln->keyring_file = NULL;
    return 0;
}

static int l_node_tostring(lua_State *L)
{
    lnode *ln = luaL_checkudata(L, 1, HS_NODE_MT);
    if (ln->node)
        lua_pushfstring(L, "hearsay.node(%s %s)", hs_node_id(ln->node), hs_node_url(ln->node));
    else
        lua_pushliteral(L, "hearsay.node(closed)");
    return 1;
}

/* node:public_key() -> 64 hex chars; node:secret_key() -> the seed the
 * shell keeps in the node's key file (a secret). */
static int l_node_public_key(lua_State *L)
{
    lua_pushstring(L, hs_node_public_key(check_lnode(L, 1)->node));
    return 1;
}

static int l_node_secret_key(lua_State *L)
{
    lua_pushstring(L, hs_node_secret_key(check_lnode(L, 1)->node));
    return 1;
}

static int l_node_id(lua_State *L)
{
    lua_pushstring(L, hs_node_id(check_lnode(L, 1)->node));
    return 1;
}

static int l_node_url(lua_State *L)
{
    lua_pushstring(L, hs_node_url(check_lnode(L, 1)->node));
    return 1;
}

static int l_node_port(lua_State *L)
{
    lua_pushinteger(L, hs_node_port(check_lnode(L, 1)->node));
    return 1;
}

static int l_node_is_open(lua_State *L)
{
    lua_pushboolean(L, ((lnode *)luaL_checkudata(L, 1, HS_NODE_MT))->node != NULL);
    return 1;
}

/* node:broadcast(type [, payload]) -> message id */
static int l_node_broadcast(lua_State *L)
{
    lnode *ln = check_lnode(L, 1);
    size_t tlen;
    const char *type = hs_lua_check_string(L, 2, &tlen), *why = hs_message_type_check(type, tlen);
    json_t *payload = NULL;
    char id[65];
    hs_err err;

    if (why)
        return luaL_error(L, "broadcast: %s", why);
    if (!lua_isnoneornil(L, 3) && !(payload = hs_lua_to_json(L, 3)))
        return luaL_error(L, "broadcast: payload: %s", lua_tostring(L, -1));
    err = hs_node_broadcast(ln->node, type, payload, id);
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

static int l_node_update_state(lua_State *L)
{
    lnode *ln = check_lnode(L, 1);
    hs_err err = hs_node_update_state(ln->node, hs_lua_check_string(L, 2, NULL));

    if (err != HS_OK)
        return luaL_error(L, "update_state: %s", hs_strerror(err));
    lua_pushinteger(L, (lua_Integer)hs_node_state_version(ln->node));
    return 1;
}

static int l_node_tags(lua_State *L)
{
    hs_lua_push_tags(L, check_lnode(L, 1)->node);
    return 1;
}

static int l_node_set_tags(lua_State *L)
{
    lnode *ln = check_lnode(L, 1);
    json_t *tags = hs_lua_check_tags(L, 2);
    hs_err err = hs_node_set_tags(ln->node, tags);

    json_decref(tags);
    hs_lua_tags_check(L, err);
    return 0;
}

/* node:snapshot() -> text (README, Running a node: snapshots) */
static int l_node_snapshot(lua_State *L)
{
    size_t len;
    char *text = hs_node_snapshot(check_lnode(L, 1)->node, &len);

    if (!text)
        return luaL_error(L, "snapshot: out of memory");
    lua_pushlstring(L, text, len);
    free(text);
    return 1;
}

/* node:restore(text) -> true, or nil and why (before start) */
static int l_node_restore(lua_State *L)
{
    lnode *ln = check_lnode(L, 1);
    size_t len;
    const char *text = luaL_checklstring(L, 2, &len);
    char why[160];
    hs_err err = hs_node_restore(ln->node, text, len, why, sizeof why);

    if (err == HS_OK) {
        lua_pushboolean(L, 1);
        return 1;
    }
    lua_pushnil(L);
    lua_pushstring(L, err == HS_ESTATE ? "restore: the node has started already" : why);
    return 2;
}

static int l_node_leave(lua_State *L)
{
    return hs_lua_leave(L, check_lnode(L, 1)->node, NULL);
}

static int l_node_force_leave(lua_State *L)
{
    lnode *ln = check_lnode(L, 1);
    return hs_lua_leave(L, ln->node, luaL_checkstring(L, 2));
}

static int l_node_is_leaving(lua_State *L)
{
    lua_pushboolean(L, hs_node_is_leaving(check_lnode(L, 1)->node));
    return 1;
}

static int l_node_left(lua_State *L)
{
    hs_lua_push_left(L, check_lnode(L, 1)->node);
    return 1;
}

/* node:join(url) -> true, or nil and why */
static int l_node_join(lua_State *L)
{
    hs_err err = hs_node_join(check_lnode(L, 1)->node, luaL_checkstring(L, 2));

    if (err != HS_OK) {
        lua_pushnil(L);
        lua_pushfstring(L, "join: %s", err == HS_EINVAL ? "not an http(s) URL" : hs_strerror(err));
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

static int l_node_add_peer(lua_State *L)
{
    lnode *ln = check_lnode(L, 1);
    hs_err err = hs_node_add_peer(ln->node, luaL_checkstring(L, 2), luaL_checkstring(L, 3));

    if (err != HS_OK)
        return luaL_error(L, "add_peer: %s", hs_strerror(err));
    return 0;
}

/* node:peers([include_dead]) -> list of peer tables */
static int l_node_peers(lua_State *L)
{
    lnode *ln = check_lnode(L, 1);
    int all = lua_toboolean(L, 2);
    size_t total = hs_node_peer_total(ln->node);
    lua_Integer k = 0;

    lua_createtable(L, (int)total, 0);
    for (size_t i = 0; i < total; i++) {
        hs_peer_info p;
        hs_node_peer_get(ln->node, i, &p);
        if (p.state == HS_PEER_DEAD && !all)
            continue;
        hs_lua_push_peer(L, &p);
        lua_rawseti(L, -2, ++k);
    }
    return 1;
}

static int l_node_health(lua_State *L)
{
    hs_lua_push_json_new(L, hs_node_health_json(check_lnode(L, 1)->node));
    return 1;
}

static int l_node_state(lua_State *L)
{
    hs_lua_push_json_new(L, hs_node_state_json(check_lnode(L, 1)->node));
    return 1;
}

static int l_node_metrics(lua_State *L)
{
    hs_lua_push_json_new(L, hs_node_metrics_json(check_lnode(L, 1)->node));
    return 1;
}

/* node:on("message"|"peer"|"state", fn|nil) */
static int l_node_on(lua_State *L)
{
    static const char *const events[] = {"message", "policy", "peer", "state", NULL};
    lnode *ln = check_lnode(L, 1);
    int hook = luaL_checkoption(L, 2, NULL, events);

    if (!lua_isnil(L, 3))
        luaL_checktype(L, 3, LUA_TFUNCTION);
    luaL_unref(L, LUA_REGISTRYINDEX, ln->refs[hook]);
    ln->refs[hook] = LUA_NOREF;
    if (!lua_isnoneornil(L, 3)) {
        lua_pushvalue(L, 3);
        ln->refs[hook] = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    install_hooks(ln);
    return 0;
}

/* node:set_policy(fn|nil) == node:on("policy", fn) */
static int l_node_set_policy(lua_State *L)
{
    lua_settop(L, 2);
    lua_pushliteral(L, "policy");
    lua_insert(L, 2);
    return l_node_on(L);
}

typedef struct fetch_ud {
    hs_lloop *lp;
    int fn_ref;
} fetch_ud;

/* Pushes f's callback onto the loop's current state and frees f; or, when
 * the node closed first (`closed`), only frees f and returns NULL. */
static lua_State *take_callback(fetch_ud *f, int closed)
{
    lua_State *L = hs_lloop_state(f->lp);

    if (closed) {
        luaL_unref(f->lp->L, LUA_REGISTRYINDEX, f->fn_ref);
        free(f);
        return NULL;
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, f->fn_ref);
    luaL_unref(L, LUA_REGISTRYINDEX, f->fn_ref);
    free(f);
    return L;
}

static void on_fetch(void *ud, hs_err err, long status, const char *body, size_t len)
{
    lua_State *L = take_callback(ud, err == HS_ESTATE);

    if (!L)
        return;
    if (err == HS_OK) {
        lua_pushinteger(L, status);
        lua_pushlstring(L, body, len);
        lua_pushnil(L);
    } else {
        lua_pushinteger(L, 0);
        lua_pushnil(L);
        lua_pushlstring(L, body, len);
    }
    hs_lua_pcall(L, 3, 0, "fetch callback");
}

/* node:fetch(method, url, body|nil, fn(status, body, err) [, timeout_s [, header]]) */
static int l_node_fetch(lua_State *L)
{
    lnode *ln = check_lnode(L, 1);
    const char *method = luaL_checkstring(L, 2);
    const char *url = luaL_checkstring(L, 3);
    size_t len = 0;
    const char *body = luaL_optlstring(L, 4, NULL, &len);
    double timeout = luaL_optnumber(L, 6, 5.0);
    const char *header = luaL_optstring(L, 7, NULL);
    fetch_ud *f;
    hs_err err;

    luaL_checktype(L, 5, LUA_TFUNCTION);
    f = malloc(sizeof *f);
    if (!f)
        return luaL_error(L, "out of memory");
    f->lp = ln->lp;
    lua_pushvalue(L, 5);
    f->fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    err = hs_node_fetch(ln->node, method, url, body, len, header, timeout, on_fetch, f);
    if (err != HS_OK) {
        luaL_unref(L, LUA_REGISTRYINDEX, f->fn_ref);
        free(f);
        return luaL_error(L, "fetch: %s", hs_strerror(err));
    }
    return 0;
}

static void on_query_done(void *ud, const json_t *result)
{
    lua_State *L = take_callback(ud, result == NULL);

    if (!L)
        return;
    hs_lua_push_json(L, result);
    hs_lua_pcall(L, 1, 0, "query callback");
}

/* node:query(name, payload, opts|nil, fn(result)) -> id; opts: timeout,
 * tags, nodes, want (README, Write a plugin: Queries). */
static int l_node_query(lua_State *L)
{
    lnode *ln = check_lnode(L, 1);
    hs_query_opts o = {0};
    json_t *payload = NULL, *tags = NULL;
    char id[33];
    fetch_ud *f;
    hs_err err;

    luaL_checktype(L, 5, LUA_TFUNCTION);
    hs_lua_query_args(L, 2, &o, &payload, &tags);
    if (!(f = malloc(sizeof *f))) {
        json_decref(payload);
        json_decref(tags);
        return luaL_error(L, "out of memory");
    }
    f->lp = ln->lp;
    lua_pushvalue(L, 5);
    f->fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    err = hs_node_query(ln->node, &o, on_query_done, f, id);
    json_decref(payload);
    json_decref(tags);
    if (err != HS_OK) {
        luaL_unref(L, LUA_REGISTRYINDEX, f->fn_ref);
        free(f);
        return hs_lua_query_error(L, err);
    }
    lua_pushstring(L, id);
    return 1;
}

/* node:block(id [, blocked = true]) */
static int l_node_block(lua_State *L)
{
    lnode *ln = check_lnode(L, 1);
    hs_err err =
        hs_node_block(ln->node, luaL_checkstring(L, 2), lua_isnone(L, 3) ? 1 : lua_toboolean(L, 3));
    if (err != HS_OK)
        return luaL_error(L, "block: %s", hs_strerror(err));
    return 0;
}

/* node:copies(id) -> copies of that message that reached this node */
static int l_node_copies(lua_State *L)
{
    lua_pushinteger(L, hs_node_copies(check_lnode(L, 1)->node, luaL_checkstring(L, 2)));
    return 1;
}

static int l_node_state_version(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)hs_node_state_version(check_lnode(L, 1)->node));
    return 1;
}

static int l_node_merkle_root(lua_State *L)
{
    lua_pushstring(L, hs_node_merkle_root(check_lnode(L, 1)->node));
    return 1;
}

/* node:plugins(opts) -- starts the node's plugin host (see plugins.lua for
 * opts); raises with the loading error (file:line) when a plugin fails. */
static int l_node_plugins(lua_State *L)
{
    lnode *ln = check_lnode(L, 1);

    luaL_checktype(L, 2, LUA_TTABLE);
    if (ln->host)
        return luaL_error(L, "plugins are already loaded: use node:reload()");
    ln->host = hs_host_new(L, 2, ln->node, ln->lp);
    if (!ln->host)
        return lua_error(L);
    install_hooks(ln);
    lua_pushboolean(L, 1);
    return 1;
}

static hs_host *check_host(lua_State *L, lnode *ln)
{
    if (!ln->host)
        luaL_error(L, "this node has no plugins: call node:plugins(opts) first");
    return ln->host;
}

/* node:reload() -> true | nil, error */
static int l_node_reload(lua_State *L)
{
    lnode *ln = check_lnode(L, 1);
    return hs_host_reload(check_host(L, ln), L);
}

/* node:plugin_info() -> the manager's info(): loaded plugins and counters */
static int l_node_plugin_info(lua_State *L)
{
    lnode *ln = check_lnode(L, 1);
    return hs_host_query(check_host(L, ln), L, "info", 0);
}

/* node:plugin_state(name) -> a copy of that plugin's `state` table */
static int l_node_plugin_state(lua_State *L)
{
    lnode *ln = check_lnode(L, 1);
    luaL_checkstring(L, 2);
    lua_settop(L, 2);
    return hs_host_query(check_host(L, ln), L, "state_of", 1);
}

/* node:console(path) -- serves the console on a unix socket (mode 0600). */
static int l_node_console(lua_State *L)
{
    lnode *ln = check_lnode(L, 1);
    char err[256];

    if (hs_host_console_listen(check_host(L, ln), luaL_checkstring(L, 2), err, sizeof err) != 0)
        return luaL_error(L, "console: %s", err);
    return 0;
}

/* node:keys() -> {{key, id, primary}...}; node:key_install(k),
 * key_use(k), key_remove(k) -> true (raise with the reason) */
static int l_node_keys(lua_State *L)
{
    return hs_lua_keyring(L, check_lnode(L, 1)->node, "list", 2, "keys");
}

static int l_node_key_install(lua_State *L)
{
    return hs_lua_keyring(L, check_lnode(L, 1)->node, "install", 2, "key_install");
}

static int l_node_key_use(lua_State *L)
{
    return hs_lua_keyring(L, check_lnode(L, 1)->node, "use", 2, "key_use");
}

static int l_node_key_remove(lua_State *L)
{
    return hs_lua_keyring(L, check_lnode(L, 1)->node, "remove", 2, "key_remove");
}

/* node:keyring_file(path|nil) -- from now on every keyring change, from
 * here or the console, is saved to path first (lkeyring.c), and made only
 * if that worked. */
static int l_node_keyring_file(lua_State *L)
{
    lnode *ln = check_lnode(L, 1);
    const char *path = luaL_optstring(L, 2, NULL);
    char *copy = path ? strdup(path) : NULL;

    if (path && !copy)
        return luaL_error(L, "out of memory");
    hs_node_keyring_on_save(ln->node, copy ? hs_lua_keyring_save : NULL, copy);
    free(ln->keyring_file);
    ln->keyring_file = copy;
    return 0;
}

/* hearsay.sign_message(seed, type, payload, timestamp, origin) -> id,
 * signature: a message as origin would sign it with the key of seed (for
 * tools and tests: only the origin's own key makes it one nodes accept). */
static int l_sign_message(lua_State *L)
{
    const char *seed = luaL_checkstring(L, 1), *type = luaL_checkstring(L, 2);
    double ts = luaL_checknumber(L, 4);
    const char *origin = luaL_checkstring(L, 5);
    char id[65], sig[129];
    json_t *payload = hs_lua_to_json(L, 3);
    hs_err err;

    if (!payload)
        return luaL_error(L, "sign_message: payload: %s", lua_tostring(L, -1));
    err = hs_message_sign(seed, type, payload, ts, origin, id, sig);
    json_decref(payload);
    if (err != HS_OK)
        return luaL_error(L, "sign_message: %s", hs_strerror(err));
    lua_pushstring(L, id);
    lua_pushstring(L, sig);
    return 2;
}

/* hs.seen_hash(message_id, node_id) -> the 8 hex digits node_id goes by in
 * that message's seen_by_hash (for tools and tests). */
static int l_seen_hash(lua_State *L)
{
    char out[9];

    if (hs_message_seen_hash(luaL_checkstring(L, 1), luaL_checkstring(L, 2), out) != HS_OK)
        return luaL_error(
            L, "seen_hash: a message id is 64 hex digits, a node id 1-128 printable characters");
    lua_pushstring(L, out);
    return 1;
}

static const luaL_Reg node_methods[] = {
    {"keys", l_node_keys},
    {"key_install", l_node_key_install},
    {"key_use", l_node_key_use},
    {"key_remove", l_node_key_remove},
    {"keyring_file", l_node_keyring_file},
    {"plugins", l_node_plugins},
    {"reload", l_node_reload},
    {"plugin_info", l_node_plugin_info},
    {"plugin_state", l_node_plugin_state},
    {"console", l_node_console},
    {"start", l_node_start},
    {"close", l_node_close},
    {"is_open", l_node_is_open},
    {"id", l_node_id},
    {"public_key", l_node_public_key},
    {"secret_key", l_node_secret_key},
    {"url", l_node_url},
    {"port", l_node_port},
    {"broadcast", l_node_broadcast},
    {"update_state", l_node_update_state},
    {"tags", l_node_tags},
    {"join", l_node_join},
    {"leave", l_node_leave},
    {"snapshot", l_node_snapshot},
    {"restore", l_node_restore},
    {"force_leave", l_node_force_leave},
    {"is_leaving", l_node_is_leaving},
    {"left", l_node_left},
    {"set_tags", l_node_set_tags},
    {"add_peer", l_node_add_peer},
    {"peers", l_node_peers},
    {"health", l_node_health},
    {"state", l_node_state},
    {"metrics", l_node_metrics},
    {"merkle_root", l_node_merkle_root},
    {"state_version", l_node_state_version},
    {"copies", l_node_copies},
    {"block", l_node_block},
    {"on", l_node_on},
    {"set_policy", l_node_set_policy},
    {"fetch", l_node_fetch},
    {"query", l_node_query},
    {NULL, NULL},
};

/* hs.stamp() -> "2026-12-05T06:48:01.123Z": now, as log lines carry it. */
static int l_stamp(lua_State *L)
{
    char at[HS_LOG_STAMP_MAX];

    hs_log_stamp(at);
    lua_pushstring(L, at);
    return 1;
}

static int l_strerror(lua_State *L)
{
    lua_pushstring(L, hs_strerror((hs_err)luaL_checkinteger(L, 1)));
    return 1;
}

int luaopen_hearsay(lua_State *L)
{
    /* A peer that closes its end while we write must cost an EPIPE, not
     * the process (what luasocket does too). Only the default action is
     * replaced: a host program's own SIGPIPE handler stays. */
    struct sigaction sa;
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
        signal(SIGPIPE, SIG_IGN);

    luaL_newmetatable(L, HS_NODE_MT);
    luaL_newlib(L, node_methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_node_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, l_node_close);
    lua_setfield(L, -2, "__close");
    lua_pushcfunction(L, l_node_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1);

    lua_newtable(L);
    hs_lloop_register(L);
    hs_lua_json_register(L, 0);
    hs_console_client_register(L);
    hs_lua_keyring_register(L);
    hs_lua_sim_register(L);
    lua_pushcfunction(L, l_node_new);
    lua_setfield(L, -2, "node");
    lua_pushcfunction(L, l_sign_message);
    lua_setfield(L, -2, "sign_message");
    lua_pushcfunction(L, l_seen_hash);
    lua_setfield(L, -2, "seen_hash");
    lua_pushcfunction(L, l_strerror);
    lua_setfield(L, -2, "strerror");
    lua_pushcfunction(L, l_stamp);
    lua_setfield(L, -2, "stamp");
    lua_pushliteral(L, "0.1.0");
    lua_setfield(L, -2, "version");
    return 1;
}
