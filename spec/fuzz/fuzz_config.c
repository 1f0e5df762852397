/*
 * fuzz_config.c -- node.lua's settings: lua/hearsay/config.lua's validate
 * and then hs.node(loop, opts) (bindings/lhearsay.c), which turns the
 * table into a hs_config for the core (core/proto/node.c).
 *
 * The input is decoded into a Lua table of settings, deterministically:
 * entries of [key byte][kind byte][value bytes...], the key one of the
 * settings config.lua knows (or an unknown name, a string of the input's
 * own, an integer), the value an integer (small, 16-bit, any 64-bit, or
 * an edge like math.maxinteger), a float (from its 8 bytes: NaN, inf,
 * -0.0 and all), a boolean, a string (the input's own, or one of a list
 * of hosts, URLs, ids and levels), a list of strings or a table of them.
 * validate must answer true or nil plus "node.lua:LINE: why" (never
 * raise); when it says true the node is built from the node settings, as
 * config.load does, and must either be refused with an error or work: a
 * peer added by hand before it starts, started (on the fake transport of
 * fake_net.c, so nothing is bound), its /health, a peer added, closed.
 */
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "fuzz.h"

int luaopen_hearsay(lua_State *L);

#define MAX_ENTRIES 48

static const char *const strings[] = {
    "",
    "127.0.0.1",
    "0.0.0.0",
    "::1",
    "localhost",
    "http://127.0.0.1:8080",
    "https://node.example:443/",
    "http://[::1]:9000",
    "http://127.0.0.1:8080/base/",
    "http://",
    "ftp://x",
    "http://a b",
    "error",
    "warn",
    "info",
    "debug",
    "node-1",
    "a\"quote",
    "back\\slash",
    "random",
    "plumtree",
    "node_id",
    "x-very-long-name-that-goes-on-and-on-and-on-and-on-and-on-and-on-and-on-",
};

static const char *const odd_keys[] = {"unknown_setting", "%", "[", "(", ".-", "%d+", "node_id "};

static const lua_Integer edge_ints[] = {0,
                                        1,
                                        -1,
                                        65535,
                                        65536,
                                        1000000000,
                                        1000000001,
                                        (lua_Integer)1 << 31,
                                        (lua_Integer)1 << 32,
                                        (lua_Integer)1 << 53,
                                        LUA_MAXINTEGER,
                                        LUA_MININTEGER};

static lua_State *L;
static int driver_ref, keys_ref;
static lua_Integer n_keys;

typedef struct reader {
    const uint8_t *p;
    size_t n;
} reader;

static unsigned byte(reader *r)
{
    if (!r->n)
        return 0;
    r->n--;
    return *r->p++;
}

static uint64_t bytes8(reader *r)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | byte(r);
    return v;
}

static void push_string(reader *r)
{
    unsigned kind = byte(r);

    if (kind & 1) {
        lua_pushstring(L, strings[(kind >> 1) % (sizeof strings / sizeof *strings)]);
        return;
    }
    size_t n = (kind >> 1) % 64;
    if (n > r->n)
        n = r->n;
    lua_pushlstring(L, (const char *)r->p, n);
    r->p += n;
    r->n -= n;
}

static void push_value(reader *r, int depth)
{
    unsigned kind = byte(r) % 11;
    double d;
    uint64_t bits;

    switch (kind) {
    case 0:
        lua_pushinteger(L, byte(r));
        break;
    case 1: {
        unsigned hi = byte(r);
        lua_pushinteger(L, (lua_Integer)(hi << 8 | byte(r)));
        break;
    }
    case 2:
        lua_pushinteger(L, (lua_Integer)bytes8(r));
        break;
    case 3:
        bits = bytes8(r);
        memcpy(&d, &bits, sizeof d);
        lua_pushnumber(L, d);
        break;
    case 4:
        lua_pushnumber(L, byte(r) / 4.0); /* a float, even when whole */
        break;
    case 5:
        lua_pushboolean(L, byte(r) & 1);
        break;
    case 6:
        lua_pushinteger(L, edge_ints[byte(r) % (sizeof edge_ints / sizeof *edge_ints)]);
        break;
    case 7:
    case 8:
        push_string(r);
        break;
    case 9: { /* a list (bootstrap, plugins, plugin_path) */
        unsigned n = byte(r) % 6;
        lua_createtable(L, (int)n, 0);
        for (unsigned i = 1; i <= n; i++) {
            if (depth < 2 && (byte(r) & 3) == 0)
                push_value(r, depth + 1);
            else
                push_string(r);
            lua_rawseti(L, -2, i);
        }
        break;
    }
    default: { /* a map (tags), values of any kind */
        unsigned n = byte(r) % 6;
        lua_createtable(L, 0, (int)n);
        for (unsigned i = 0; i < n; i++) {
            push_string(r);
            if (depth < 2)
                push_value(r, depth + 1);
            else
                push_string(r);
            lua_rawset(L, -3);
        }
        break;
    }
    }
}

/* The key of an entry: mostly a setting config.lua knows. */
static void push_key(reader *r)
{
    unsigned k = byte(r);

    if (k < 224) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, keys_ref);
        lua_rawgeti(L, -1, (lua_Integer)(k % n_keys) + 1);
        lua_remove(L, -2);
    } else if (k < 240) {
        lua_pushstring(L, odd_keys[k % (sizeof odd_keys / sizeof *odd_keys)]);
    } else if (k < 248) {
        push_string(r);
    } else {
        lua_pushinteger(L, k - 247);
    }
}

static const char driver[] =
    "local hs = require 'hearsay'\n"
    "local config = require 'hearsay.config'\n"
    "local loop = hs.loop()\n"
    "local keys = {}\n"
    "for k in pairs(config.node_keys) do keys[#keys + 1] = k end\n"
    "for k in pairs(config.shell_keys) do keys[#keys + 1] = k end\n"
    "table.sort(keys)\n"
    "local function run(t)\n"
    "  local ok, why = config.validate(t, 'node.lua', 'return {\\n}\\n')\n"
    "  if not ok then\n"
    "    assert(ok == nil and type(why) == 'string' and why:match('^node%.lua:%d+: .'),\n"
    "           'validate must say node.lua:LINE: why, not ' .. tostring(why))\n"
    "    return 'refused'\n"
    "  end\n"
    "  local settings = {}\n"
    "  for k, v in pairs(t) do\n"
    "    if config.node_keys[k] then settings[k] = v end\n"
    "  end\n"
    "  local made, node = pcall(hs.node, loop, settings)\n"
    "  if not made then\n"
    "    assert(type(node) == 'string', 'hs.node raises a message')\n"
    "    return 'core refused'\n"
    "  end\n"
    "  pcall(node.add_peer, node, 'fuzz-peer', 'http://127.0.0.1:9')\n"
    "  assert(type(node:health()) == 'table')\n"
    "  local started = node:start()\n"
    "  if started then\n"
    "    pcall(node.add_peer, node, 'fuzz-peer-2', 'http://127.0.0.1:10')\n"
    "    assert(type(node:health()) == 'table')\n"
    "    loop:run('nowait')\n"
    "  end\n"
    "  node:close()\n"
    "  loop:run('nowait')\n"
    "  loop:run('nowait')\n"
    "  return 'built'\n"
    "end\n"
    "local function show(v, depth)\n"
    "  if type(v) == 'string' then return ('%q'):format(v) end\n"
    "  if type(v) ~= 'table' or depth > 2 then return tostring(v) end\n"
    "  local parts = {}\n"
    "  for k, x in pairs(v) do parts[#parts + 1] = '[' .. show(k, 3) .. '] = ' .. show(x, depth + "
    "1) end\n"
    "  table.sort(parts)\n"
    "  return '{ ' .. table.concat(parts, ', ') .. ' }'\n"
    "end\n"
    "return function(t)\n"
    "  local ok, what = xpcall(run, debug.traceback, t)\n"
    "  if not ok then error(what .. '\\nsettings: ' .. show(t, 0), 0) end\n"
    "  return what\n"
    "end, keys\n";

static void setup(void)
{
    L = luaL_newstate();
    FUZZ_CHECK(L, "a Lua state");
    luaL_openlibs(L);
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushcfunction(L, luaopen_hearsay);
    lua_setfield(L, -2, "hearsay");
    lua_pop(L, 1);
    lua_getglobal(L, "package");
    lua_pushstring(L, HS_FUZZ_LUA_DIR "/?.lua");
    lua_setfield(L, -2, "path");
    lua_pop(L, 1);
    if (luaL_loadstring(L, driver) != LUA_OK || lua_pcall(L, 0, 2, 0) != LUA_OK) {
        fprintf(stderr, "fuzz_config: %s\n", lua_tostring(L, -1));
        abort();
    }
    keys_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    driver_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_rawgeti(L, LUA_REGISTRYINDEX, keys_ref);
    n_keys = (lua_Integer)lua_rawlen(L, -1);
    lua_pop(L, 1);
    FUZZ_CHECK(n_keys > 0, "config.lua lists settings");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reader r = {data, size};

    if (!L)
        setup();
    lua_rawgeti(L, LUA_REGISTRYINDEX, driver_ref);
    lua_newtable(L);
    for (int i = 0; i < MAX_ENTRIES && r.n; i++) {
        push_key(&r);
        push_value(&r, 0);
        lua_rawset(L, -3);
    }
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        fprintf(stderr, "fuzz_config: %s\n", lua_tostring(L, -1));
        FUZZ_CHECK(0, "the config path raised");
    }
    lua_pop(L, 1);
    /* What this input made is freed with it: libFuzzer counts mallocs
     * against frees per input, and looks for leaks when they differ. */
    lua_gc(L, LUA_GCCOLLECT);
    return 0;
}
