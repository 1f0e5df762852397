/*
 * lsecret.c -- atomic, private file writes; see lsecret.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>

#include "lsecret.h"

static int write_all(int fd, const char *s, size_t len)
{
    while (len) {
        ssize_t w = write(fd, s, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        s += w;
        len -= (size_t)w;
    }
    return 0;
}

int hs_secret_write(const char *path, const char *text, size_t len, const char **step)
{
    return hs_secret_write_ex(path, text, len, 1, step);
}

int hs_secret_write_ex(const char *path, const char *text, size_t len, int durable,
                       const char **step)
{
    char tmp[PATH_MAX], dir[PATH_MAX];
    const char *slash;
    int fd, e, bad;

    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp) {
        *step = "name";
        errno = ENAMETOOLONG;
        return -1;
    }
    unlink(tmp); /* a leftover of a crash; O_EXCL below refuses anything else */
    *step = "create";
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -1;
    *step = "write";
    bad = fchmod(fd, 0600) != 0 || write_all(fd, text, len) != 0;
    if (!bad && durable) {
        *step = "fsync";
        bad = fsync(fd) != 0;
    }
    e = errno;
    if (close(fd) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (!bad) {
        *step = "rename";
        bad = rename(tmp, path) != 0;
        e = errno;
    }
    if (bad) {
        unlink(tmp);
        errno = e;
        return -1;
    }
    if (!durable)
        return 0;
    /* The rename itself must reach the disk too. */
    slash = strrchr(path, '/');
    if (!slash)
        strcpy(dir, ".");
    else
        snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
        fsync(fd);
        close(fd);
    }
    return 0;
}

int hs_lua_secret_write(lua_State *L)
{
    size_t len;
    const char *path = luaL_checkstring(L, 1), *text = luaL_checklstring(L, 2, &len), *step = "";
    int durable = 1;

    if (lua_istable(L, 3)) {
        lua_getfield(L, 3, "fsync");
        durable = lua_isnil(L, -1) || lua_toboolean(L, -1);
        lua_pop(L, 1);
    }
    if (hs_secret_write_ex(path, text, len, durable, &step) != 0) {
        lua_pushnil(L);
        lua_pushfstring(L, "cannot write %s (%s): %s", path, step, strerror(errno));
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}
