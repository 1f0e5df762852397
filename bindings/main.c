/*
 * main.c -- the hearsay program: a Lua 5.4 state with the standard
 * libraries and the hearsay module preloaded, handing over to
 * lua/hearsay/cli.lua. Lua modules are found in $HEARSAY_LUA_DIR, then
 * beside the binary as `cmake --install` lays them out (PREFIX/bin/hearsay
 * and PREFIX/share/hearsay/lua: an installed tree works wherever it is
 * moved), then the source tree this binary was built from, then the
 * install prefix it was configured with.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

int luaopen_hearsay(lua_State *L);
int hs_lua_traceback(lua_State *L); /* lloop.c */

/* PREFIX/share/hearsay/lua for the PREFIX/bin this binary runs from, into
 * buf, when it holds hearsay's Lua files. */
static const char *beside_binary(char *buf, size_t cap)
{
    static const char rel[] = "/../share/hearsay/lua";
    char check[4096 + 64];
    ssize_t n = readlink("/proc/self/exe", buf, cap - 1);
    char *slash;

    if (n <= 0 || (size_t)n >= cap - sizeof rel)
        return NULL;
    buf[n] = '\0';
    if (!(slash = strrchr(buf, '/')))
        return NULL;
    strcpy(slash, rel);
    snprintf(check, sizeof check, "%s/hearsay/cli.lua", buf);
    return access(check, R_OK) == 0 ? buf : NULL;
}

static const char *lua_dir(char *buf, size_t cap)
{
    const char *env = getenv("HEARSAY_LUA_DIR");
    const char *beside;

    if (env && *env)
        return env;
    if ((beside = beside_binary(buf, cap)))
        return beside;
    if (access(HS_LUA_DIR "/hearsay/cli.lua", R_OK) == 0)
        return HS_LUA_DIR;
    return HS_INSTALL_LUA_DIR;
}

static int pmain(lua_State *L)
{
    int argc = (int)lua_tointeger(L, 1);
    char **argv = lua_touserdata(L, 2);
    char buf[4096];
    const char *dir = lua_dir(buf, sizeof buf);

    luaL_openlibs(L);
    lua_warning(L, "@on", 0);
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushcfunction(L, luaopen_hearsay);
    lua_setfield(L, -2, "hearsay");
    lua_pop(L, 1);

    /* package.path: our modules first, then the defaults (busted lives there). */
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "path");
    lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;%s", dir, dir, lua_tostring(L, -1));
    lua_setfield(L, -3, "path");
    lua_pop(L, 1);
    lua_pushstring(L, dir);
    lua_setfield(L, -2, "hearsay_lua_dir");
    lua_pop(L, 1);

    /* arg, as the stock interpreter builds it. */
    lua_createtable(L, argc, 1);
    for (int i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i);
    }
    lua_setglobal(L, "arg");

    lua_getglobal(L, "require");
    lua_pushliteral(L, "hearsay.cli");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "main");
    lua_createtable(L, argc, 0);
    for (int i = 1; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i);
    }
    lua_call(L, 1, 1);
    return 1;
}

/* Raises the soft limit on open descriptors to the hard one, as Go's
 * runtime does: a node holds a descriptor per connection (README, Running
 * a node: out of file descriptors), and the usual soft 1024 is a
 * convention for select(), which nothing here uses. Under soft 40 and
 * hard 4096 a node whose thirty bootstrap peers took connections and
 * never answered could not start (fd_exhaustion_spec). Best effort: a
 * failure leaves the limit as it was. */
static void raise_nofile(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int main(int argc, char **argv)
{
    lua_State *L;
    int status, code;

    raise_nofile();
    L = luaL_newstate();

    if (!L) {
        fprintf(stderr, "hearsay: cannot create a Lua state (out of memory)\n");
        return 1;
    }
    lua_pushcfunction(L, hs_lua_traceback);
    lua_pushcfunction(L, pmain);
    lua_pushinteger(L, argc);
    lua_pushlightuserdata(L, argv);
    status = lua_pcall(L, 2, 1, 1);
    if (status != LUA_OK) {
        fprintf(stderr, "hearsay: %s\n", lua_tostring(L, -1));
        code = 1;
    } else {
        code = lua_isinteger(L, -1) ? (int)lua_tointeger(L, -1) : 0;
    }
    lua_close(L);
    return code;
}
