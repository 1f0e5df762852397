/*
 * lvalues.h -- core values as Lua tables (see lvalues.c).
 */
#ifndef HS_LVALUES_H
#define HS_LVALUES_H

#include <lua.h>

#include "hearsay.h"

/* The string at idx, a string and not a number turned into one (a type
 * of 42 is a caller's mistake, not "42"); raises Lua's "string expected"
 * otherwise. len may be NULL. */
const char *hs_lua_check_string(lua_State *L, int idx, size_t *len);

/* Pushes {id, url, merkle_root, last_seen, latency_ms?, state, healthy,
 * failures, tags}. */
void hs_lua_push_peer(lua_State *L, const hs_peer_info *p);

/* Sets the same fields in the table at idx. */
void hs_lua_fill_peer(lua_State *L, int idx, const hs_peer_info *p);

/* Pushes {id, type, payload, origin, sender, ttl, hops, timestamp}. */
void hs_lua_push_message(lua_State *L, const hs_message *m);

/* Sets the same fields in the table at idx. */
void hs_lua_fill_message(lua_State *L, int idx, const hs_message *m);

/* Pushes the candidate list a policy sees: peers with an `index` field. */
void hs_lua_push_candidates(lua_State *L, const hs_peer_info *cands, size_t n);

/* Pushes {old_root, old_version, root, version, from?}. */
void hs_lua_push_state_change(lua_State *L, const char *old_root, uint64_t old_version,
                              const char *new_root, uint64_t new_version, const char *from);

/* Values (tables and scalars) a rewritten payload may hold. */
#define HS_REWRITE_MAX_VALUES (1 << 18)

/* node:tags() and node:set_tags(t) for both the module and plugins: the
 * node's tags as a table ({} when none); the table at idx as tags to set
 * (a new reference; raises when it is not a table of plain values); and
 * raises on hs_node_set_tags's error unless it is HS_OK. */
void hs_lua_push_tags(lua_State *L, const hs_node *node);
json_t *hs_lua_check_tags(lua_State *L, int idx);
void hs_lua_tags_check(lua_State *L, hs_err err);

/* A query's arguments -- name, payload, opts (nil, or {timeout, want,
 * nodes, tags}) at first, first + 1, first + 2 -- into o. The node ids
 * stay owned by the list, which a userdata left on the stack holds;
 * *payload and *tags get the references made (NULL: none) for the caller
 * to release after hs_node_query. Raises, holding none, on a value of the
 * wrong kind. */
void hs_lua_query_args(lua_State *L, int first, hs_query_opts *o, json_t **payload, json_t **tags);
/* Raises hs_node_query's error, in words. */
int hs_lua_query_error(lua_State *L, hs_err err);

/* node:leave() and node:force_leave(id) for the module and the console:
 * true, or nil and why; node:left(): {{id, at}...}. */
int hs_lua_leave(lua_State *L, hs_node *node, const char *force_id);
void hs_lua_push_left(lua_State *L, const hs_node *node);

/* Reads a handler's answer: the verdict at vidx ("accept"/nil, "drop" or
 * false, "stop", "reject", "ignore") and an optional replacement payload at pidx. Only reads
 * strings and booleans as such and tables raw: runs no metamethod. */
hs_verdict hs_lua_read_verdict(lua_State *L, int vidx, int pidx, json_t **payload_out);

/* Reads a policy's answer at idx: a list of candidate indices (1-based),
 * peer ids or candidate tables. Returns how many it wrote to out, or -1
 * when the answer is not a list (meaning: choose at random). */
int hs_lua_read_selection(lua_State *L, int idx, const hs_peer_info *cands, size_t n, size_t want,
                          size_t *out);

#endif
