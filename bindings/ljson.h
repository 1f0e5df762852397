/*
 * ljson.h -- conversion between jansson values and Lua values.
 *
 * Objects become tables with string keys; arrays become sequences (an
 * empty array and an empty object both become {}, tagged by a metatable so
 * they round-trip); null becomes hearsay.null. Depth and size are bounded
 * on the way in from Lua.
 */
#ifndef HS_LJSON_H
#define HS_LJSON_H

#include <jansson.h>
#include <lua.h>

/* Pushes v (borrowed) as a Lua value. */
void hs_lua_push_json(lua_State *L, const json_t *v);

/* Pushes the JSON text s (valid JSON whose strings hold no \u escapes, as
 * hs_message_payload_text() gives) as the same Lua value hs_lua_push_json
 * would push for it. Returns 0, or -1 (nothing pushed) on text it does not
 * take; the caller then goes through jansson. */
int hs_lua_push_json_text(lua_State *L, const char *s, size_t len);

/* Pushes j as a Lua value and releases it (takes the reference), also
 * when the push raises (Lua's memory cap): no jansson memory leaks. */
void hs_lua_push_json_new(lua_State *L, json_t *j);

/* Converts the value at idx; returns a new reference, or NULL with an error
 * message pushed on the stack. Never raises. */
json_t *hs_lua_to_json(lua_State *L, int idx);

/* The same, refusing a value of more than about max_values tables and
 * scalars ("value too large for JSON"): for conversions no budget covers. */
json_t *hs_lua_to_json_capped(lua_State *L, int idx, size_t max_values);

/* Registers json helpers (null, array marker, encode, decode) into the
 * table at -1. charged: encode and decode charge their work to the plugin
 * call running (lwork.h; only in a plugin host's state). */
void hs_lua_json_register(lua_State *L, int charged);

#endif
