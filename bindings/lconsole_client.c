/*
 * lconsole_client.c -- hearsay.console_client(path): the interactive side
 * of the console. A blocking client (it runs in its own process, never in
 * a node's loop): it reads lines with libedit (line editing, history kept
 * in ~/.hearsay_history) when stdin is a terminal, or plain lines
 * otherwise, sends them to the node's console socket and prints each
 * answer up to the prompt marker (see lconsole.c for the protocol).
 * hearsay.console_request(path, line | {lines}) is the one-shot form: the
 * lines in (one session), their output back, for `hearsay console -e` and
 * commands such as `hearsay keys`.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <editline/readline.h>
#include <lauxlib.h>

#define ANSWER_MAX (16 * 1024 * 1024)
#define ANSWER_TIMEOUT_MS 60000

typedef struct conn {
    int fd;
    char *buf;
    size_t len, cap;
} conn;

static int connect_unix(const char *path)
{
    struct sockaddr_un sa;
    int fd;

    if (strlen(path) >= sizeof sa.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    strcpy(sa.sun_path, path);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* Reads one answer: writes the output to out (NULL: drops it), copies
 * the prompt. 0, or -1 when the node went away or took too long. */
static int read_answer(conn *c, char *prompt, size_t plen, FILE *out)
{
    for (;;) {
        char *mark = c->len ? memchr(c->buf, '\x1e', c->len) : NULL;
        char *nl = mark ? memchr(mark, '\n', c->len - (size_t)(mark - c->buf)) : NULL;
        if (nl) {
            if (out) {
                fwrite(c->buf, 1, (size_t)(mark - c->buf), out);
                fflush(out);
            }
            snprintf(prompt, plen, "%.*s", (int)(nl - mark - 1), mark + 1);
            size_t used = (size_t)(nl - c->buf) + 1;
            memmove(c->buf, c->buf + used, c->len - used);
            c->len -= used;
            return 0;
        }
        if (c->len == c->cap) {
            size_t cap = c->cap ? c->cap * 2 : 4096;
            char *b = cap <= ANSWER_MAX ? realloc(c->buf, cap) : NULL;
            if (!b)
                return -1;
            c->buf = b;
            c->cap = cap;
        }
        struct pollfd p = {c->fd, POLLIN, 0};
        if (poll(&p, 1, ANSWER_TIMEOUT_MS) <= 0)
            return -1;
        ssize_t n = read(c->fd, c->buf + c->len, c->cap - c->len);
        if (n <= 0)
            return -1;
        c->len += (size_t)n;
    }
}

static int send_all(int fd, const char *s, size_t len)
{
    while (len) {
        ssize_t n = send(fd, s, len, MSG_NOSIGNAL);
        if (n <= 0)
            return -1;
        s += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Returns a malloc'd line without its newline, or NULL at end of input. */
static char *next_line(int tty, const char *prompt)
{
    if (tty)
        return readline(prompt);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);
    if (n < 0) {
        free(line);
        return NULL;
    }
    if (n > 0 && line[n - 1] == '\n')
        line[n - 1] = '\0';
    return line;
}

#define CONSOLE_NODES_MAX 64

/* A line for the client itself, not the node: "\wait S" sleeps S seconds
 * (the node runs on; in a script, between a broadcast and a look), "\node
 * K" attaches to the K-th socket given (hearsay repl --nodes N). Returns 1
 * when line was one (done, or *next set to the socket to attach to). */
static int client_command(const char *line, size_t nsocks, int *next)
{
    double s;
    int k;
    char end;

    line += strspn(line, " \t");
    if (sscanf(line, "\\wait %lf %c", &s, &end) == 1) {
        if (s > 0 && s <= 3600)
            usleep((useconds_t)(s * 1e6));
        else
            fprintf(stdout, "\\wait takes 0 to 3600 seconds\n");
        return 1;
    }
    if (sscanf(line, "\\node %d %c", &k, &end) == 1) {
        if (k >= 1 && (size_t)k <= nsocks)
            *next = k - 1;
        else
            fprintf(stdout, "\\node takes 1 to %zu\n", nsocks);
        return 1;
    }
    return 0;
}

/* hearsay.console_client(path | {paths}) -> exit code; with several
 * sockets (one per node), "\node K" moves to the K-th. */
static int l_console_client(lua_State *L)
{
    const char *socks[CONSOLE_NODES_MAX];
    size_t nsocks = 0;
    const char *path;
    char prompt[64] = "> ", history[4096] = "";
    int tty = isatty(0) && isatty(1), next = -1;
    conn c = {-1, NULL, 0, 0};

    if (lua_istable(L, 1)) {
        for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(L, 1) && nsocks < CONSOLE_NODES_MAX;
             i++) {
            lua_rawgeti(L, 1, i);
            socks[nsocks++] = luaL_checkstring(L, -1); /* kept alive by the table */
            lua_pop(L, 1);
        }
        luaL_argcheck(L, nsocks > 0, 1, "no socket");
    } else {
        socks[nsocks++] = luaL_checkstring(L, 1);
    }
    path = socks[0];
    /* Answers and node logs in the order they came, even into a pipe. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    c.fd = connect_unix(path);
    if (c.fd < 0) {
        lua_pushinteger(L, 1);
        lua_pushfstring(L,
                        "cannot reach a console at %s: %s (is the node running, with "
                        "console_socket set?)",
                        path, strerror(errno));
        return 2;
    }
    if (tty) {
        const char *home = getenv("HOME");
        if (home)
            snprintf(history, sizeof history, "%s/.hearsay_history", home);
        using_history();
        stifle_history(1000);
        if (history[0])
            read_history(history);
    }
    int code = 0;
    if (read_answer(&c, prompt, sizeof prompt, stdout) != 0)
        code = 1;
    while (code == 0) {
        char *line = next_line(tty, prompt);
        if (!line)
            break;
        if (tty && line[strspn(line, " \t")])
            add_history(line);
        if (client_command(line, nsocks, &next)) {
            free(line);
            if (next >= 0) {
                close(c.fd);
                c.len = 0;
                path = socks[next];
                next = -1;
                if ((c.fd = connect_unix(path)) < 0 ||
                    read_answer(&c, prompt, sizeof prompt, stdout) != 0) {
                    fprintf(stderr, "hearsay console: cannot reach %s\n", path);
                    code = 1;
                }
            }
            continue;
        }
        size_t len = strlen(line);
        line[len] = '\n';
        int rc = send_all(c.fd, line, len + 1);
        free(line);
        if (rc != 0 || read_answer(&c, prompt, sizeof prompt, stdout) != 0) {
            fprintf(stderr, "hearsay console: the node closed the session\n");
            code = 1;
        }
    }
    if (tty && history[0])
        write_history(history);
    close(c.fd);
    free(c.buf);
    lua_pushinteger(L, code);
    return 1;
}

/* hearsay.console_request(path, line | {lines}) -> output | nil, error:
 * the lines one after the other in one session; otherwise as before, one
 * evaluated in a running node's console (the greeting is dropped), for
 * commands that do one thing (`hearsay keys`). */
static int l_console_request(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    size_t len;
    char prompt[64], *text = NULL;
    size_t tlen = 0;
    conn c = {-1, NULL, 0, 0};
    FILE *out;
    int rc, many = lua_istable(L, 2);
    lua_Integer n = many ? (lua_Integer)lua_rawlen(L, 2) : 1;

    for (lua_Integer i = 1; i <= n; i++) {
        const char *line;
        if (many) {
            lua_rawgeti(L, 2, i);
            if (!lua_isstring(L, -1))
                return luaL_error(L, "console_request: line %d is not a string", (int)i);
            line = lua_tolstring(L, -1, &len);
            lua_pop(L, 1); /* (still referenced by the table) */
        } else {
            line = luaL_checklstring(L, 2, &len);
        }
        if (memchr(line, '\n', len))
            return luaL_error(L, "console_request: one line at a time");
    }
    if ((c.fd = connect_unix(path)) < 0) {
        lua_pushnil(L);
        lua_pushfstring(L, "cannot reach a console at %s: %s (is the node running?)", path,
                        strerror(errno));
        return 2;
    }
    if (!(out = open_memstream(&text, &tlen))) {
        close(c.fd);
        return luaL_error(L, "out of memory");
    }
    rc = read_answer(&c, prompt, sizeof prompt, NULL);
    for (lua_Integer i = 1; rc == 0 && i <= n; i++) {
        const char *line;
        if (many) {
            lua_rawgeti(L, 2, i);
            line = lua_tolstring(L, -1, &len);
        } else {
            line = lua_tolstring(L, 2, &len);
        }
        rc = send_all(c.fd, line, len) != 0 || send_all(c.fd, "\n", 1) != 0 ? -1 : 0;
        if (many)
            lua_pop(L, 1);
        if (rc == 0)
            rc = read_answer(&c, prompt, sizeof prompt, out);
    }
    fclose(out);
    close(c.fd);
    free(c.buf);
    if (rc != 0) {
        free(text);
        lua_pushnil(L);
        lua_pushfstring(L, "the node at %s closed the console session", path);
        return 2;
    }
    lua_pushlstring(L, text ? text : "", text ? tlen : 0);
    free(text);
    return 1;
}

/* hearsay.console_monitor(path, line) -> exit code: sends one line (a
 * monitor() call) and copies what comes back to stdout, without the
 * marker lines, until the node closes the session or stdout fails. The
 * answer to the line never comes: the session streams the node's log. */
static int l_console_monitor(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    size_t len;
    const char *line = luaL_checklstring(L, 2, &len);
    char prompt[64], buf[4096];
    conn c = {-1, NULL, 0, 0};
    int at_line_start = 1, skipping = 0;

    if (memchr(line, '\n', len))
        return luaL_error(L, "console_monitor: one line");
    if ((c.fd = connect_unix(path)) < 0) {
        lua_pushnil(L);
        lua_pushfstring(L, "cannot reach a console at %s: %s (is the node running?)", path,
                        strerror(errno));
        return 2;
    }
    if (read_answer(&c, prompt, sizeof prompt, NULL) != 0 || send_all(c.fd, line, len) != 0 ||
        send_all(c.fd, "\n", 1) != 0) {
        close(c.fd);
        free(c.buf);
        lua_pushnil(L);
        lua_pushfstring(L, "the node at %s closed the console session", path);
        return 2;
    }
    free(c.buf);
    for (;;) {
        ssize_t n = read(c.fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++) {
            if (at_line_start)
                skipping = buf[i] == '\x1e';
            if (!skipping && putchar(buf[i]) == EOF) {
                close(c.fd);
                lua_pushinteger(L, 1);
                return 1;
            }
            at_line_start = buf[i] == '\n';
        }
        fflush(stdout);
    }
    close(c.fd);
    lua_pushinteger(L, 0);
    return 1;
}

void hs_console_client_register(lua_State *L)
{
    lua_pushcfunction(L, l_console_monitor);
    lua_setfield(L, -2, "console_monitor");
    lua_pushcfunction(L, l_console_request);
    lua_setfield(L, -2, "console_request");
    lua_pushcfunction(L, l_console_client);
    lua_setfield(L, -2, "console_client");
}
