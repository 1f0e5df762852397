/*
 * lkeyring.c -- the cluster keyring for Lua (see lkeyring.h): one body for
 * node:keys()/key_install()/key_use()/key_remove() and the console's
 * keys.*, the atomic writer of the keyring file, and the module's
 * hearsay.keygen(), key_id(), keyring_write(), auth_header().
 *
 * The keyring file: a comment, then one key per line, primary first. It
 * is replaced, never rewritten in place, so a crash leaves the old ring or
 * the new one, never half of one; it is mode 0600 whatever the umask.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>

#include "lkeyring.h"
#include "lsecret.h"

static const char FILE_HEAD[] =
    "# hearsay cluster keyring: one key per line; the first is the primary\n"
    "# (it signs), every key verifies. The node rewrites this file whenever\n"
    "# its keyring changes (`hearsay keys ...`): edit it only while the node\n"
    "# is stopped. Keep it secret (mode 0600).\n";

static void push_list(lua_State *L, hs_node *node)
{
    const char *keys[HS_KEYRING_MAX];
    size_t n = hs_node_keyring_list(node, keys, HS_KEYRING_MAX);
    char id[9];

    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n && i < HS_KEYRING_MAX; i++) {
        lua_createtable(L, 0, 3);
        lua_pushstring(L, keys[i]);
        lua_setfield(L, -2, "key");
        if (hs_keyring_id(keys[i], id) == HS_OK) {
            lua_pushstring(L, id);
            lua_setfield(L, -2, "id");
        }
        lua_pushboolean(L, i == 0);
        lua_setfield(L, -2, "primary");
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

int hs_lua_keyring(lua_State *L, hs_node *node, const char *op, int key_idx, const char *what)
{
    const char *key;
    hs_err err;

    if (strcmp(op, "list") == 0) {
        push_list(L, node);
        return 1;
    }
    key = luaL_checkstring(L, key_idx);
    if (strcmp(op, "install") == 0)
        err = hs_node_keyring_install(node, key);
    else if (strcmp(op, "use") == 0)
        err = hs_node_keyring_use(node, key);
    else if (strcmp(op, "remove") == 0)
        err = hs_node_keyring_remove(node, key);
    else
        return luaL_error(L, "%s: no such keyring operation '%s'", what, op);
    if (err != HS_OK)
        return luaL_error(L, "%s: %s", what, hs_keyring_strerror(err));
    lua_pushboolean(L, 1);
    return 1;
}

/* The file's text: its head, then one key per line (malloc'd). */
static char *keyring_text(const char *const *keys, size_t n, size_t *len)
{
    size_t total = sizeof FILE_HEAD - 1;
    char *text, *p;

    for (size_t i = 0; i < n; i++)
        total += strlen(keys[i]) + 1;
    if (!(p = text = malloc(total + 1)))
        return NULL;
    memcpy(p, FILE_HEAD, sizeof FILE_HEAD - 1);
    p += sizeof FILE_HEAD - 1;
    for (size_t i = 0; i < n; i++) {
        size_t k = strlen(keys[i]);
        memcpy(p, keys[i], k);
        p[k] = '\n';
        p += k + 1;
    }
    *p = '\0';
    *len = total;
    return text;
}

/* Writes the file; 0, or -1 with errno set and *step naming what failed. */
static int save(const char *path, const char *const *keys, size_t n, const char **step)
{
    size_t len;
    char *text = keyring_text(keys, n, &len);
    int rc;

    if (!text) {
        *step = "memory";
        errno = ENOMEM;
        return -1;
    }
    rc = hs_secret_write(path, text, len, step);
    free(text);
    return rc;
}

hs_err hs_lua_keyring_save(void *ud, const char *const *keys, size_t n)
{
    const char *path = ud, *step = "";

    if (save(path, keys, n, &step) == 0)
        return HS_OK;
    fprintf(stderr, "hearsay: cannot save the keyring to %s (%s): %s\n", path, step,
            strerror(errno));
    return HS_EIO;
}

/* hearsay.keygen() -> a fresh key (base64 of 32 random bytes) */
static int l_keygen(lua_State *L)
{
    char key[HS_KEY_TEXT];

    if (hs_keyring_generate(key) != HS_OK)
        return luaL_error(L, "keygen: no randomness available");
    lua_pushstring(L, key);
    return 1;
}

/* hearsay.key_id(key) -> its 8-hex id | nil, why */
static int l_key_id(lua_State *L)
{
    char id[9];

    if (hs_keyring_id(luaL_checkstring(L, 1), id) != HS_OK) {
        lua_pushnil(L);
        lua_pushstring(L, hs_keyring_strerror(HS_EINVAL));
        return 2;
    }
    lua_pushstring(L, id);
    return 1;
}

/* hearsay.keyring_write(path, {key...}) -> true | nil, why: the keyring
 * file, written as the node does (atomically, mode 0600). */
static int l_keyring_write(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1), *step = "";
    const char *keys[HS_KEYRING_MAX];
    char id[9];
    size_t n;

    luaL_checktype(L, 2, LUA_TTABLE);
    n = lua_rawlen(L, 2);
    if (n > HS_KEYRING_MAX)
        return luaL_error(L, "keyring_write: at most %d keys", HS_KEYRING_MAX);
    for (size_t i = 0; i < n; i++) {
        lua_rawgeti(L, 2, (lua_Integer)i + 1);
        keys[i] = lua_tostring(L, -1);
        if (!keys[i] || hs_keyring_id(keys[i], id) != HS_OK)
            return luaL_error(L, "keyring_write: key %d: %s", (int)i + 1,
                              hs_keyring_strerror(HS_EINVAL));
        lua_pop(L, 1); /* the table keeps the string */
    }
    if (save(path, keys, n, &step) != 0) {
        lua_pushnil(L);
        lua_pushfstring(L, "cannot write %s (%s): %s", path, step, strerror(errno));
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* hearsay.auth_header(key, method, target [, from [, body [, at]]]) ->
 * "X-Hearsay-Auth: ..." as a member signing that request would send it
 * (at: epoch seconds, default now). For tools and tests. */
static int l_auth_header(lua_State *L)
{
    const char *key = luaL_checkstring(L, 1), *method = luaL_checkstring(L, 2);
    const char *target = luaL_checkstring(L, 3), *from = luaL_optstring(L, 4, NULL);
    size_t len = 0;
    const char *body = luaL_optlstring(L, 5, NULL, &len);
    double at = luaL_optnumber(L, 6, 0);
    char out[256];

    if (at == 0) { /* now */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        at = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    }
    hs_err err = hs_auth_header(key, method, target, from, body, len, at, out, sizeof out);

    if (err != HS_OK)
        return luaL_error(L, "auth_header: %s",
                          err == HS_EINVAL ? hs_keyring_strerror(err) : hs_strerror(err));
    lua_pushstring(L, out);
    return 1;
}

void hs_lua_keyring_register(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"keygen", l_keygen},
        {"key_id", l_key_id},
        {"keyring_write", l_keyring_write},
        {"auth_header", l_auth_header},
        {"secret_write", hs_lua_secret_write},
        {NULL, NULL},
    };
    luaL_setfuncs(L, fns, 0);
}
