/*
 * lsecret.h -- writing a small secret file (a key, a keyring) so that a
 * crash leaves the old file or the new one, never half of one, and
 * nobody but the owner can read it whatever the umask: a temporary file
 * created O_EXCL|O_NOFOLLOW with mode 0600, written, fsynced, renamed
 * over the path, and the directory fsynced.
 */
#ifndef HS_LSECRET_H
#define HS_LSECRET_H

#include <stddef.h>

#include <lua.h>

/* Writes len bytes of text to path. 0, or -1 with errno set and *step
 * naming what failed ("create", "write", "fsync", "rename", "name"). */
int hs_secret_write(const char *path, const char *text, size_t len, const char **step);
/* The same; without the fsyncs when `durable` is 0 (still atomic: the old
 * file or the new one; what a power cut loses, a checksum must catch). */
int hs_secret_write_ex(const char *path, const char *text, size_t len, int durable,
                       const char **step);

/* hearsay.secret_write(path, text [, {fsync = false}]) -> true | nil, error */
int hs_lua_secret_write(lua_State *L);

#endif
