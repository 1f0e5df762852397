/*
 * lkeyring.h -- the cluster keyring in Lua: the body the node methods and
 * the console's keys.* share, the keyring file the shell keeps, and the
 * module functions (keygen, key_id, keyring_write, auth_header).
 */
#ifndef HS_LKEYRING_H
#define HS_LKEYRING_H

#include <lua.h>

#include "hearsay.h"

/*
 * Runs `op` ("list", "install", "use" or "remove") on node's keyring, the
 * key (for all but list) at key_idx. Pushes the list (a sequence of
 * {key, id, primary}, primary first) or true; raises "<what>: <reason>"
 * on failure. Returns the number of results (1).
 */
int hs_lua_keyring(lua_State *L, hs_node *node, const char *op, int key_idx, const char *what);

/*
 * hs_keyring_save_fn for hs_node_keyring_on_save: writes the keys to the
 * file named by ud (a path, borrowed: it must outlive the registration)
 * atomically: a temporary file beside it (mode 0600), fsync, rename over
 * it, fsync of the directory. HS_EIO (and a line on stderr saying why)
 * when any step fails; the old file is then untouched.
 */
hs_err hs_lua_keyring_save(void *ud, const char *const *keys, size_t n);

/* Adds keygen, key_id, keyring_write and auth_header to the table at -1. */
void hs_lua_keyring_register(lua_State *L);

#endif
