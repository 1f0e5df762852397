/*
 * lvalues.c -- how core values look in Lua: a peer and a message as plain
 * tables. Shared by the main state's node bindings and the plugin states.
 */
#include <string.h>

#include <lauxlib.h>

#include "ljson.h"
#include "lvalues.h"

const char *hs_lua_check_string(lua_State *L, int idx, size_t *len)
{
    if (lua_type(L, idx) != LUA_TSTRING)
        luaL_typeerror(L, idx, "string");
    return lua_tolstring(L, idx, len);
}

void hs_lua_fill_peer(lua_State *L, int idx, const hs_peer_info *p)
{
    idx = lua_absindex(L, idx);
    lua_pushstring(L, p->id);
    lua_setfield(L, idx, "id");
    lua_pushstring(L, p->url);
    lua_setfield(L, idx, "url");
    lua_pushstring(L, p->merkle_root);
    lua_setfield(L, idx, "merkle_root");
    lua_pushnumber(L, p->last_seen);
    lua_setfield(L, idx, "last_seen");
    if (p->latency_ms >= 0) {
        lua_pushnumber(L, p->latency_ms);
        lua_setfield(L, idx, "latency_ms");
    }
    lua_pushstring(L, hs_peer_state_name(p->state));
    lua_setfield(L, idx, "state");
    lua_pushboolean(L, p->state == HS_PEER_ALIVE);
    lua_setfield(L, idx, "healthy");
    lua_pushinteger(L, p->failures);
    lua_setfield(L, idx, "failures");
    lua_pushboolean(L, p->eager);
    lua_setfield(L, idx, "eager");
    lua_pushboolean(L, p->feeds_us);
    lua_setfield(L, idx, "feeds");
    lua_pushnumber(L, p->score);
    lua_setfield(L, idx, "score");
    lua_pushboolean(L, p->graylisted);
    lua_setfield(L, idx, "graylisted");
    if (p->tags) {
        hs_lua_push_json(L, p->tags);
    } else {
        lua_newtable(L);
    }
    lua_setfield(L, idx, "tags");
}

void hs_lua_push_peer(lua_State *L, const hs_peer_info *p)
{
    /* Room for a candidate's `index` too, so adding it does not rehash. */
    lua_createtable(L, 0, 14);
    hs_lua_fill_peer(L, -1, p);
}

/* The payload straight from its text when the core has not parsed it (no
 * jansson tree on the way), else from the tree. */
static void push_payload(lua_State *L, const hs_message *m)
{
    size_t len;
    const char *text = hs_message_payload_text(m, &len);

    if (!text || hs_lua_push_json_text(L, text, len) != 0)
        hs_lua_push_json(L, hs_message_payload(m));
}

void hs_lua_fill_message(lua_State *L, int idx, const hs_message *m)
{
    idx = lua_absindex(L, idx);
    lua_pushstring(L, hs_message_id(m));
    lua_setfield(L, idx, "id");
    lua_pushstring(L, hs_message_type(m));
    lua_setfield(L, idx, "type");
    push_payload(L, m);
    lua_setfield(L, idx, "payload");
    lua_pushstring(L, hs_message_origin(m));
    lua_setfield(L, idx, "origin");
    lua_pushstring(L, hs_message_sender(m));
    lua_setfield(L, idx, "sender");
    lua_pushinteger(L, hs_message_ttl(m));
    lua_setfield(L, idx, "ttl");
    lua_pushinteger(L, hs_message_hops(m));
    lua_setfield(L, idx, "hops");
    lua_pushnumber(L, hs_message_timestamp(m));
    lua_setfield(L, idx, "timestamp");
}

void hs_lua_push_message(lua_State *L, const hs_message *m)
{
    lua_createtable(L, 0, 8);
    hs_lua_fill_message(L, -1, m);
}

void hs_lua_push_tags(lua_State *L, const hs_node *node)
{
    if (hs_node_tags(node))
        hs_lua_push_json(L, hs_node_tags(node));
    else
        lua_newtable(L);
}

json_t *hs_lua_check_tags(lua_State *L, int idx)
{
    json_t *tags;

    luaL_checktype(L, idx, LUA_TTABLE);
    if (!(tags = hs_lua_to_json(L, idx)))
        luaL_error(L, "tags: %s", lua_tostring(L, -1));
    if (json_is_array(tags) && json_array_size(tags) == 0) {
        json_decref(tags); /* {} reads as an empty list */
        if (!(tags = json_object()))
            luaL_error(L, "tags: out of memory");
    }
    return tags;
}

void hs_lua_tags_check(lua_State *L, hs_err err)
{
    if (err == HS_EINVAL)
        luaL_error(L, "set_tags: tags map at most 16 names (up to 32 bytes) to strings (up to "
                      "128 bytes)");
    if (err != HS_OK)
        luaL_error(L, "set_tags: %s", hs_strerror(err));
}

static json_t *query_opts(lua_State *L, int idx, hs_query_opts *o)
{
    json_t *tags = NULL;

    if (lua_isnoneornil(L, idx))
        return NULL;
    idx = lua_absindex(L, idx);
    luaL_checktype(L, idx, LUA_TTABLE);
    lua_getfield(L, idx, "timeout");
    o->timeout = luaL_optnumber(L, -1, 0);
    lua_getfield(L, idx, "want");
    lua_Integer want = luaL_optinteger(L, -1, 0);
    if (want < 0)
        luaL_error(L, "query: opts.want must be a count (0: every answer)");
    o->want = (size_t)want;
    lua_pop(L, 2);
    lua_getfield(L, idx, "nodes");
    if (!lua_isnil(L, -1)) {
        int list = lua_gettop(L);
        const char **v;
        if (!lua_istable(L, list))
            luaL_error(L, "query: opts.nodes must be a list of node ids");
        o->n_nodes = lua_rawlen(L, list);
        v = lua_newuserdatauv(L, (o->n_nodes ? o->n_nodes : 1) * sizeof *v, 1);
        lua_pushvalue(L, list);
        lua_setiuservalue(L, -2, 1); /* the strings stay alive with the list */
        for (size_t i = 0; i < o->n_nodes; i++) {
            lua_rawgeti(L, list, (lua_Integer)i + 1);
            if (lua_type(L, -1) != LUA_TSTRING)
                luaL_error(L, "query: opts.nodes must be a list of node ids");
            v[i] = lua_tostring(L, -1);
            lua_pop(L, 1);
        }
        o->nodes = v;
        lua_remove(L, list); /* the userdata holds it */
    } else {
        lua_pop(L, 1);
    }
    lua_getfield(L, idx, "tags");
    if (!lua_isnil(L, -1))
        tags = hs_lua_check_tags(L, -1);
    lua_pop(L, 1);
    o->tags = tags;
    return tags;
}

void hs_lua_query_args(lua_State *L, int first, hs_query_opts *o, json_t **payload, json_t **tags)
{
    o->name = hs_lua_check_string(L, first, NULL);
    *payload = NULL;
    *tags = query_opts(L, first + 2, o);
    if (!lua_isnoneornil(L, first + 1) && !(*payload = hs_lua_to_json(L, first + 1))) {
        json_decref(*tags);
        *tags = NULL;
        luaL_error(L, "query: payload: %s", lua_tostring(L, -1));
    }
    o->payload = *payload;
}

int hs_lua_query_error(lua_State *L, hs_err err)
{
    return luaL_error(L, "query: %s",
                      err == HS_EINVAL ? "a name is 1 to 64 bytes, tags a table of strings, "
                                         "nodes at most 1024 ids, a timeout at most 3600 s"
                                       : hs_strerror(err));
}

int hs_lua_leave(lua_State *L, hs_node *node, const char *force_id)
{
    hs_err err = force_id ? hs_node_force_leave(node, force_id) : hs_node_leave(node);

    if (err == HS_OK) {
        lua_pushboolean(L, 1);
        return 1;
    }
    lua_pushnil(L);
    if (force_id && err == HS_ESTATE)
        lua_pushfstring(L, "force_leave %s: it is not failed here (only a dead peer is forced out)",
                        force_id);
    else if (force_id && err == HS_ENOENT)
        lua_pushfstring(L, "force_leave %s: no such peer", force_id);
    else
        lua_pushfstring(L, "%s: %s", force_id ? "force_leave" : "leave", hs_strerror(err));
    return 2;
}

void hs_lua_push_left(lua_State *L, const hs_node *node)
{
    size_t n = hs_node_left_count(node);

    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        double at;
        const char *id = hs_node_left_get(node, i, &at);
        lua_createtable(L, 0, 2);
        lua_pushstring(L, id);
        lua_setfield(L, -2, "id");
        lua_pushnumber(L, at);
        lua_setfield(L, -2, "at");
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

hs_verdict hs_lua_read_verdict(lua_State *L, int vidx, int pidx, json_t **payload_out)
{
    hs_verdict v = HS_ACCEPT;

    vidx = lua_absindex(L, vidx);
    pidx = lua_absindex(L, pidx);
    if (lua_type(L, vidx) == LUA_TBOOLEAN && !lua_toboolean(L, vidx)) {
        v = HS_DROP;
    } else if (lua_type(L, vidx) == LUA_TSTRING) {
        const char *s = lua_tostring(L, vidx);
        v = strcmp(s, "drop") == 0     ? HS_DROP
            : strcmp(s, "stop") == 0   ? HS_STOP
            : strcmp(s, "reject") == 0 ? HS_REJECT
            : strcmp(s, "ignore") == 0 ? HS_IGNORE
                                       : HS_ACCEPT;
    }
    if ((v == HS_ACCEPT || v == HS_STOP) && !lua_isnoneornil(L, pidx)) {
        /* After the handler's call: no budget covers this conversion, so
         * it has a cap of its own (a payload that large could not be
         * forwarded anyway: max_body is 1 MiB by default). */
        json_t *j = hs_lua_to_json_capped(L, pidx, HS_REWRITE_MAX_VALUES);
        if (j)
            *payload_out = j;
        else
            lua_pop(L, 1); /* the conversion error: keep the payload as it was */
    }
    return v;
}

int hs_lua_read_selection(lua_State *L, int idx, const hs_peer_info *cands, size_t n, size_t want,
                          size_t *out)
{
    int got = 0;

    idx = lua_absindex(L, idx);
    if (!lua_istable(L, idx))
        return -1;
    for (lua_Integer k = 1; (size_t)got < want; k++) {
        int t = lua_rawgeti(L, idx, k);
        lua_Integer i = 0;
        if (t == LUA_TNIL) {
            lua_pop(L, 1);
            break;
        }
        if (t == LUA_TNUMBER && lua_isinteger(L, -1)) {
            i = lua_tointeger(L, -1);
        } else if (t == LUA_TSTRING) {
            const char *id = lua_tostring(L, -1);
            for (size_t c = 0; c < n; c++)
                if (strcmp(cands[c].id, id) == 0)
                    i = (lua_Integer)c + 1;
        } else if (t == LUA_TTABLE) {
            lua_getfield(L, -1, "index");
            i = lua_tointeger(L, -1);
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
        if (i >= 1 && (size_t)i <= n)
            out[got++] = (size_t)(i - 1);
    }
    return got;
}

void hs_lua_push_candidates(lua_State *L, const hs_peer_info *cands, size_t n)
{
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        hs_lua_push_peer(L, &cands[i]);
        lua_pushinteger(L, (lua_Integer)i + 1);
        lua_setfield(L, -2, "index");
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

void hs_lua_push_state_change(lua_State *L, const char *old_root, uint64_t old_version,
                              const char *new_root, uint64_t new_version, const char *from)
{
    lua_createtable(L, 0, 5);
    lua_pushstring(L, old_root);
    lua_setfield(L, -2, "old_root");
    lua_pushinteger(L, (lua_Integer)old_version);
    lua_setfield(L, -2, "old_version");
    lua_pushstring(L, new_root);
    lua_setfield(L, -2, "root");
    lua_pushinteger(L, (lua_Integer)new_version);
    lua_setfield(L, -2, "version");
    if (from) {
        lua_pushstring(L, from);
        lua_setfield(L, -2, "from");
    }
}
