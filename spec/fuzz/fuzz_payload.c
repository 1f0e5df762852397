/*
 * fuzz_payload.c -- a payload as plugins see it: the text the envelope
 * scanner validated, turned into a Lua value straight from the text
 * (hs_lua_push_json_text, bindings/ljson.c) against the same payload
 * parsed by jansson and pushed from its tree (hs_lua_push_json).
 *
 * The input is the payload: it goes into an envelope, and when the
 * scanner takes that envelope, the direct conversion (which may decline)
 * must give the very value the jansson path gives: the same types (an
 * integer stays an integer), numbers, strings, keys, hearsay.null and
 * array markers. And that value, converted back (hs_lua_to_json, as a
 * plugin's rewritten payload is), must be jansson's tree again.
 */
#include <string.h>

#include <lauxlib.h>

#include "envelope.h"
#include "fuzz.h"
#include "ljson.h"

static lua_State *L;

/* Whether the values at a and b are the same JSON value in Lua. */
static int same(int a, int b, int depth)
{
    a = lua_absindex(L, a);
    b = lua_absindex(L, b);
    /* Room for what one level pushes (2 metatables, a key, its value and
     * the other side's): without it a deep payload wrote past the Lua
     * stack, and ASan found its allocator's metadata overwritten. */
    if (lua_type(L, a) != lua_type(L, b) || depth > 200 || !lua_checkstack(L, 8))
        return 0;
    switch (lua_type(L, a)) {
    case LUA_TNUMBER:
        if (lua_isinteger(L, a) != lua_isinteger(L, b))
            return 0;
        return lua_rawequal(L, a, b);
    case LUA_TTABLE: {
        int ma = lua_getmetatable(L, a), mb = lua_getmetatable(L, b);
        int ok = ma == mb && (!ma || lua_rawequal(L, -1, -2));
        lua_pop(L, ma + mb);
        if (!ok || lua_rawlen(L, a) != lua_rawlen(L, b))
            return 0;
        size_t na = 0, nb = 0;
        lua_pushnil(L);
        while (lua_next(L, a)) {
            na++;
            lua_pushvalue(L, -2);
            lua_rawget(L, b);
            ok = same(-2, -1, depth + 1);
            lua_pop(L, 2);
            if (!ok) {
                lua_pop(L, 1);
                return 0;
            }
        }
        lua_pushnil(L);
        while (lua_next(L, b)) {
            nb++;
            lua_pop(L, 1);
        }
        return na == nb;
    }
    default: /* strings, booleans, hearsay.null (a light userdata) */
        return lua_rawequal(L, a, b);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char head[] = "{\"message_id\":\"0123456789abcdef0123456789abcdef0123456789abcdef"
                               "0123456789abcdef\",\"message_type\":\"t\",\"payload\":";
    static const char tail[] = ",\"timestamp\":1,\"ttl\":1}";
    static const hs_envelope_limits lim = {64, 8};
    size_t len = strlen(head) + size + strlen(tail), pos = 0;
    char *text = malloc(len);
    hs_envelope env;

    if (!L) {
        L = luaL_newstate();
        lua_newtable(L);
        hs_lua_json_register(L, 0);
        lua_pop(L, 1);
    }
    if (!text)
        return 0;
    memcpy(text, head, strlen(head));
    memcpy(text + strlen(head), data, size);
    memcpy(text + strlen(head) + size, tail, strlen(tail));
    if (hs_envelope_scan(text, len, &pos, &lim, &env) != 0) {
        free(text);
        return 0;
    }
    if (pos != len) { /* the payload closed the envelope early */
        hs_envelope_clear(&env);
        free(text);
        return 0;
    }
    FUZZ_CHECK(env.payload_raw, "the scanner keeps the payload's text");
    const json_t *tree = hs_envelope_payload(&env);
    FUZZ_CHECK(tree, "jansson parses the payload the scanner took");

    int top = lua_gettop(L);
    hs_lua_push_json(L, tree);
    if (hs_lua_push_json_text(L, env.payload_raw, env.payload_len) == 0) {
        FUZZ_CHECK(lua_gettop(L) == top + 2, "one value pushed");
        FUZZ_CHECK(same(-2, -1, 0), "the text gives the value jansson's tree gives");
        json_t *back = hs_lua_to_json(L, -1);
        FUZZ_CHECK(back && json_equal(back, tree), "the value converts back to the tree");
        json_decref(back);
    } else {
        FUZZ_CHECK(lua_gettop(L) == top + 1, "nothing pushed when the text is declined");
    }
    lua_settop(L, top);
    lua_gc(L, LUA_GCCOLLECT);
    hs_envelope_clear(&env);
    free(text);
    return 0;
}
