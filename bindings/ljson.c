/*
 * ljson.c -- jansson <-> Lua; see ljson.h.
 *
 * A Lua table is an array when its keys are exactly 1..n (n >= 1) or when it
 * carries the array metatable; otherwise it is an object and every key must
 * be a string. Cycles and absurd depth are refused.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "ljson.h"
#include "lwork.h"

#define HS_JSON_MAX_DEPTH 64
/* Values converted between two charges of a charged conversion, and the
 * units one costs (jansson allocates a node for each). */
#define WORK_BATCH 1024
#define WORK_UNITS 4

/* Registry keys: their addresses are unique, their contents never change. */
static const char null_key = 'n';
static const char array_mt_key = 'a';

static void push_null(lua_State *L)
{
    lua_rawgetp(L, LUA_REGISTRYINDEX, &null_key);
}

static void push_json(lua_State *L, const json_t *v, int depth)
{
    luaL_checkstack(L, 4, "json too deep");
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *k;
        json_t *e;
        lua_createtable(L, 0, (int)json_object_size(v));
        json_object_foreach((json_t *)v, k, e)
        {
            push_json(L, e, depth + 1);
            lua_setfield(L, -2, k);
        }
        break;
    }
    case JSON_ARRAY:
        lua_createtable(L, (int)json_array_size(v), 0);
        for (size_t i = 0; i < json_array_size(v); i++) {
            push_json(L, json_array_get(v, i), depth + 1);
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        if (json_array_size(v) == 0) {
            lua_rawgetp(L, LUA_REGISTRYINDEX, &array_mt_key);
            lua_setmetatable(L, -2);
        }
        break;
    case JSON_STRING:
        lua_pushlstring(L, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        lua_pushinteger(L, (lua_Integer)json_integer_value(v));
        break;
    case JSON_REAL:
        lua_pushnumber(L, json_real_value(v));
        break;
    case JSON_TRUE:
        lua_pushboolean(L, 1);
        break;
    case JSON_FALSE:
        lua_pushboolean(L, 0);
        break;
    case JSON_NULL:
        push_null(L);
        break;
    }
}

void hs_lua_push_json(lua_State *L, const json_t *v)
{
    if (!v)
        lua_pushnil(L);
    else
        push_json(L, v, 0);
}

/* ---- text -> Lua, for payloads the core has validated but not parsed ---- */

typedef struct text_in {
    const char *s;
    size_t len, i;
} text_in;

static void text_ws(text_in *t)
{
    while (t->i < t->len &&
           (t->s[t->i] == ' ' || t->s[t->i] == '\t' || t->s[t->i] == '\n' || t->s[t->i] == '\r'))
        t->i++;
}

/* Pushes the string at t->i (simple escapes decoded). */
static int text_string(lua_State *L, text_in *t)
{
    size_t start = ++t->i, i = start;
    int esc = 0;

    /* The common case, no escape: the closing quote is the first one, and
     * no backslash comes before it (two vectorised scans, not a test a
     * byte: a payload's text was most of what a message hook cost). */
    const char *q = start < t->len ? memchr(t->s + start, '"', t->len - start) : NULL;
    if (q && !memchr(t->s + start, '\\', (size_t)(q - (t->s + start)))) {
        t->i = (size_t)(q - t->s) + 1;
        lua_pushlstring(L, t->s + start, (size_t)(q - (t->s + start)));
        return 0;
    }
    while (i < t->len && t->s[i] != '"') {
        if (t->s[i] == '\\') {
            esc = 1;
            i++;
        }
        i++;
    }
    if (i >= t->len)
        return -1;
    t->i = i + 1;
    if (!esc) {
        lua_pushlstring(L, t->s + start, i - start);
        return 0;
    }
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (size_t k = start; k < i; k++) {
        char c = t->s[k];
        if (c == '\\') {
            switch (t->s[++k]) {
            case 'b':
                c = '\b';
                break;
            case 'f':
                c = '\f';
                break;
            case 'n':
                c = '\n';
                break;
            case 'r':
                c = '\r';
                break;
            case 't':
                c = '\t';
                break;
            case '"':
            case '\\':
            case '/':
                c = t->s[k];
                break;
            default: /* \u: not ours to decode */
                luaL_pushresult(&b);
                lua_pop(L, 1);
                return -1;
            }
        }
        luaL_addchar(&b, c);
    }
    luaL_pushresult(&b);
    return 0;
}

static int text_value(lua_State *L, text_in *t, int depth)
{
    char c;

    if (depth > HS_JSON_MAX_DEPTH || !lua_checkstack(L, 4))
        return -1;
    text_ws(t);
    if (t->i >= t->len)
        return -1;
    c = t->s[t->i];
    if (c == '{' || c == '[') {
        lua_Integer n = 0;
        lua_createtable(L, 0, 0);
        t->i++;
        text_ws(t);
        if (t->i < t->len && t->s[t->i] == (c == '{' ? '}' : ']')) {
            t->i++;
        } else {
            for (;;) {
                if (c == '{') {
                    text_ws(t);
                    if (t->i >= t->len || t->s[t->i] != '"' || text_string(L, t) != 0)
                        return -1;
                    text_ws(t);
                    if (t->i >= t->len || t->s[t->i] != ':')
                        return -1;
                    t->i++;
                    if (text_value(L, t, depth + 1) != 0)
                        return -1;
                    lua_rawset(L, -3);
                } else {
                    if (text_value(L, t, depth + 1) != 0)
                        return -1;
                    lua_rawseti(L, -2, ++n);
                }
                text_ws(t);
                if (t->i < t->len && t->s[t->i] == ',') {
                    t->i++;
                    continue;
                }
                if (t->i < t->len && t->s[t->i] == (c == '{' ? '}' : ']')) {
                    t->i++;
                    break;
                }
                return -1;
            }
        }
        if (c == '[' && n == 0) {
            lua_rawgetp(L, LUA_REGISTRYINDEX, &array_mt_key);
            lua_setmetatable(L, -2);
        }
        return 0;
    }
    if (c == '"')
        return text_string(L, t);
    if (t->len - t->i >= 4 && memcmp(t->s + t->i, "true", 4) == 0) {
        t->i += 4;
        lua_pushboolean(L, 1);
        return 0;
    }
    if (t->len - t->i >= 5 && memcmp(t->s + t->i, "false", 5) == 0) {
        t->i += 5;
        lua_pushboolean(L, 0);
        return 0;
    }
    if (t->len - t->i >= 4 && memcmp(t->s + t->i, "null", 4) == 0) {
        t->i += 4;
        push_null(L);
        return 0;
    }
    /* A number: an integer as jansson reads one (no fraction, no exponent),
     * else a real. Up to 18 digits with no fraction or exponent read here
     * (the text is valid JSON: -?(0|[1-9][0-9]*)), the rest by strtoll and
     * strtod. */
    {
        int neg = t->s[t->i] == '-';
        size_t j = t->i + (size_t)neg, d = 0;
        lua_Integer v = 0;
        while (j + d < t->len && d < 18 && t->s[j + d] >= '0' && t->s[j + d] <= '9')
            v = v * 10 + (t->s[j + d++] - '0');
        char next = j + d < t->len ? t->s[j + d] : ',';
        if (d > 0 && next != '.' && next != 'e' && next != 'E' && (next < '0' || next > '9')) {
            t->i = j + d;
            lua_pushinteger(L, neg ? -v : v);
            return 0;
        }
    }
    char buf[64];
    size_t n = 0;
    int is_int = 1;
    while (t->i + n < t->len && n < sizeof buf - 1 && strchr("-+.eE0123456789", t->s[t->i + n])) {
        if (strchr(".eE", t->s[t->i + n]))
            is_int = 0;
        n++;
    }
    if (n == 0 || n == sizeof buf - 1)
        return -1;
    memcpy(buf, t->s + t->i, n);
    buf[n] = '\0';
    t->i += n;
    if (is_int)
        lua_pushinteger(L, (lua_Integer)strtoll(buf, NULL, 10));
    else
        lua_pushnumber(L, strtod(buf, NULL));
    return 0;
}

int hs_lua_push_json_text(lua_State *L, const char *s, size_t len)
{
    text_in t = {s, len, 0};
    int top = lua_gettop(L);

    if (text_value(L, &t, 0) != 0) {
        lua_settop(L, top);
        return -1;
    }
    text_ws(&t);
    if (t.i != len) {
        lua_settop(L, top);
        return -1;
    }
    return 0;
}

static int is_array(lua_State *L, int idx, size_t *len)
{
    size_t n = 0;
    lua_Integer max = 0;

    if (lua_getmetatable(L, idx)) {
        lua_rawgetp(L, LUA_REGISTRYINDEX, &array_mt_key);
        int tagged = lua_rawequal(L, -1, -2);
        lua_pop(L, 2);
        if (tagged) {
            *len = lua_rawlen(L, idx);
            return 1;
        }
    }
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1) {
            lua_pop(L, 1);
            return 0;
        }
        if (lua_tointeger(L, -1) > max)
            max = lua_tointeger(L, -1);
        n++;
    }
    *len = n;
    return n > 0 && (lua_Integer)n == max;
}

/* A conversion's accounting: values seen, a cap (0: none), and whether
 * its work is charged to the plugin call running (lwork.h). */
typedef struct work {
    size_t n, max;
    int charged, spent;
} work;

/* Counts one value; 0 to go on, -1 (with *err set) to stop. */
static int count(lua_State *L, work *w, const char **err)
{
    if (++w->n % WORK_BATCH != 0)
        return 0;
    if (w->max && w->n > w->max) {
        *err = "value too large for JSON";
        return -1;
    }
    if (w->charged && hs_work_spend(L, WORK_BATCH * WORK_UNITS) != 0) {
        w->spent = 1;
        *err = "budget spent";
        return -1;
    }
    return 0;
}

/* Never raises: everything it allocates is jansson's, freed on failure. */
static json_t *to_json(lua_State *L, int idx, int depth, const char **err, work *w)
{
    idx = lua_absindex(L, idx);
    if (depth > HS_JSON_MAX_DEPTH) {
        *err = "value nested too deeply (or cyclic) for JSON";
        return NULL;
    }
    if (count(L, w, err) != 0)
        return NULL;
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        return json_null();
    case LUA_TBOOLEAN:
        return json_boolean(lua_toboolean(L, idx));
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx))
            return json_integer((json_int_t)lua_tointeger(L, idx));
        if (!isfinite(lua_tonumber(L, idx))) {
            *err = "NaN and infinity have no JSON form";
            return NULL;
        }
        return json_real(lua_tonumber(L, idx));
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        json_t *j = json_stringn(s, len);
        if (!j)
            *err = "string is not valid UTF-8";
        return j;
    }
    case LUA_TLIGHTUSERDATA:
        push_null(L);
        if (lua_rawequal(L, -1, idx)) {
            lua_pop(L, 1);
            return json_null();
        }
        lua_pop(L, 1);
        break;
    case LUA_TTABLE: {
        size_t len;
        if (!lua_checkstack(L, 6)) {
            *err = "value nested too deeply for JSON";
            return NULL;
        }
        if (is_array(L, idx, &len)) {
            json_t *arr = json_array();
            for (size_t i = 1; arr && i <= len; i++) {
                lua_rawgeti(L, idx, (lua_Integer)i);
                json_t *e = to_json(L, -1, depth + 1, err, w);
                lua_pop(L, 1);
                if (!e || json_array_append_new(arr, e) != 0) {
                    json_decref(arr);
                    return NULL;
                }
            }
            return arr;
        }
        json_t *obj = json_object();
        lua_pushnil(L);
        while (obj && lua_next(L, idx)) {
            if (lua_type(L, -2) != LUA_TSTRING) {
                lua_pop(L, 2);
                json_decref(obj);
                *err = "object keys must be strings";
                return NULL;
            }
            json_t *e = to_json(L, -1, depth + 1, err, w);
            if (!e || json_object_set_new(obj, lua_tostring(L, -2), e) != 0) {
                lua_pop(L, 2);
                json_decref(obj);
                if (!*err)
                    *err = "object key is not valid UTF-8";
                return NULL;
            }
            lua_pop(L, 1);
        }
        return obj;
    }
    default:
        break;
    }
    *err = "value has no JSON form (function, userdata or thread)";
    return NULL;
}

static json_t *convert(lua_State *L, int idx, work *w)
{
    const char *err = NULL;
    json_t *j = to_json(L, idx, 0, &err, w);

    if (!j)
        lua_pushstring(L, err ? err : "out of memory");
    return j;
}

json_t *hs_lua_to_json(lua_State *L, int idx)
{
    work w = {0, 0, 0, 0};
    return convert(L, idx, &w);
}

json_t *hs_lua_to_json_capped(lua_State *L, int idx, size_t max_values)
{
    work w = {0, max_values, 0, 0};
    return convert(L, idx, &w);
}

static int push_json_body(lua_State *L)
{
    hs_lua_push_json(L, lua_touserdata(L, 1));
    return 1;
}

void hs_lua_push_json_new(lua_State *L, json_t *j)
{
    int rc;

    if (!j)
        luaL_error(L, "out of memory");
    if (!lua_checkstack(L, 3)) {
        json_decref(j);
        luaL_error(L, "stack overflow");
    }
    lua_pushcfunction(L, push_json_body);
    lua_pushlightuserdata(L, j);
    rc = lua_pcall(L, 1, 1, 0);
    json_decref(j);
    if (rc != LUA_OK)
        lua_error(L);
}

static int push_text_body(lua_State *L)
{
    lua_pushlstring(L, lua_touserdata(L, 1), (size_t)lua_tointeger(L, 2));
    return 1;
}

/* json.encode(v [, sorted]); with the upvalue true, charged (lwork.h). */
static int l_encode(lua_State *L)
{
    work w = {0, 0, lua_toboolean(L, lua_upvalueindex(1)), 0};
    json_t *j;
    char *s;
    size_t len;
    int rc;

    lua_settop(L, 2);
    if (!(j = convert(L, 1, &w))) {
        if (w.spent)
            hs_work_charge(L, 0); /* raises the budget's own error */
        return luaL_error(L, "json.encode: %s", lua_tostring(L, -1));
    }
    s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY | (lua_toboolean(L, 2) ? JSON_SORT_KEYS : 0));
    json_decref(j);
    if (!s)
        return luaL_error(L, "json.encode: out of memory");
    len = strlen(s);
    lua_pushcfunction(L, push_text_body);
    lua_pushlightuserdata(L, s);
    lua_pushinteger(L, (lua_Integer)len);
    rc = lua_pcall(L, 2, 1, 0);
    free(s);
    if (rc != LUA_OK)
        return lua_error(L);
    if (w.charged)
        hs_work_charge(L, len / 16);
    return 1;
}

/* json.decode(text) -> value | nil, error; charged like encode. */
static int l_decode(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    json_error_t e;
    json_t *j;

    if (lua_toboolean(L, lua_upvalueindex(1)))
        hs_work_charge(L, len); /* jansson's parse, and a Lua value per few bytes */
    if (!(j = json_loadb(s, len, JSON_DECODE_ANY, &e))) {
        lua_pushnil(L);
        lua_pushfstring(L, "line %d column %d: %s", e.line, e.column, e.text);
        return 2;
    }
    hs_lua_push_json_new(L, j);
    return 1;
}

static int l_array(lua_State *L)
{
    if (lua_isnoneornil(L, 1))
        lua_newtable(L);
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &array_mt_key);
    lua_setmetatable(L, 1);
    return 1;
}

void hs_lua_json_register(lua_State *L, int charged)
{
    /* The null sentinel: a light userdata unique to this registry. */
    lua_pushlightuserdata(L, (void *)&null_key);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &null_key);
    /* The array marker is shared by every table it tags: getmetatable()
     * sees only `false`, so no one can change it for the others. */
    lua_newtable(L);
    lua_pushliteral(L, "json array");
    lua_setfield(L, -2, "__name");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_rawsetp(L, LUA_REGISTRYINDEX, &array_mt_key);

    push_null(L);
    lua_setfield(L, -2, "null");
    lua_pushboolean(L, charged);
    lua_pushcclosure(L, l_encode, 1);
    lua_setfield(L, -2, "json_encode");
    lua_pushboolean(L, charged);
    lua_pushcclosure(L, l_decode, 1);
    lua_setfield(L, -2, "json_decode");
    lua_pushcfunction(L, l_array);
    lua_setfield(L, -2, "array");
}
