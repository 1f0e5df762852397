/*
 * lconsole.c -- the console server: a unix socket (mode 0600, never HTTP)
 * whose clients get a Lua REPL in the node's plugin state.
 *
 * Protocol, line based: the client sends one line of input per "\n"; the
 * server answers with the output of that line followed by a marker line
 * "\x1e<prompt>\n" (prompt "> " or ">> " while a statement is incomplete).
 * The first answer, right after connecting, is a greeting. Lines are capped
 * at 64 KiB; a longer one closes the session. An answer is capped at
 * ANSWER_MAX (the rest is cut, and says so), and what a client has not
 * read yet at QUEUE_MAX: a client that does not read its answers is cut
 * off (counted), so it cannot make the node buffer without end.
 *
 * A line may answer later (a query in the console waits for the cluster):
 * the manager returns no prompt, the session's next lines wait unread,
 * and hs_console_reply sends the answer and its marker when it comes.
 *
 * The socket path is ours only if we made it: a stale socket (no one
 * serving) is replaced, anything else there is refused, and at close the
 * path is removed only while it is still the socket we bound.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <lauxlib.h>

#include "lhost.h"

#define LINE_MAX_BYTES (64 * 1024)
#define ANSWER_MAX (1024 * 1024)
#define QUEUE_MAX (4 * 1024 * 1024)

typedef struct cclient {
    uv_pipe_t pipe;
    hs_console *con;
    int id;
    char *buf;
    size_t len, cap;
    int closing;
    int waiting; /* its last line answers later (hs_console_reply) */
    int monitor; /* the log lines up to this level stream to it (-1: none) */
    struct cclient *prev, *next;
} cclient;

struct hs_console {
    uv_pipe_t server;
    hs_host *h;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    dev_t dev; /* the socket file we bound, to remove only that */
    ino_t ino;
    cclient *clients;
    int next_id;
    unsigned long cut_off;         /* clients cut off for not reading */
    unsigned long monitor_dropped; /* log lines a monitoring client missed */
};

typedef struct wreq {
    uv_write_t req;
    char *data;
} wreq;

static void on_written(uv_write_t *req, int status)
{
    wreq *w = (wreq *)req;
    (void)status;
    free(w->data);
    free(w);
}

static void client_closed(uv_handle_t *handle)
{
    cclient *cl = handle->data;
    hs_host *h = cl->con->h;

    free(cl->buf);
    free(cl);
    hs_host_handle_closed(h);
}

static void client_close(cclient *cl)
{
    hs_console *con = cl->con;

    if (cl->closing)
        return;
    cl->closing = 1;
    if (cl->prev)
        cl->prev->next = cl->next;
    else
        con->clients = cl->next;
    if (cl->next)
        cl->next->prev = cl->prev;
    if (!hs_host_is_closing(con->h)) {
        lua_State *L = hs_host_state(con->h);
        lua_pushinteger(L, cl->id);
        hs_host_call(con->h, "console_close", 1, 0);
    }
    uv_close((uv_handle_t *)&cl->pipe, client_closed);
}

/* Sends output (cut at ANSWER_MAX) then the prompt marker; cuts the
 * client off when its unread answers would pass QUEUE_MAX. */
static void send_answer(cclient *cl, const char *out, size_t outlen, const char *prompt)
{
    static const char cut[] = "\n... (answer cut at 1 MiB)\n";
    size_t plen = strlen(prompt), extra = 0, total;
    wreq *w;
    char *data;
    uv_buf_t buf;

    if (outlen > ANSWER_MAX) {
        outlen = ANSWER_MAX;
        extra = sizeof cut - 1;
    }
    total = outlen + extra + plen + 2;
    if (uv_stream_get_write_queue_size((uv_stream_t *)&cl->pipe) + total > QUEUE_MAX) {
        cl->con->cut_off++;
        client_close(cl);
        return;
    }
    w = malloc(sizeof *w);
    data = malloc(total);
    if (!w || !data) {
        free(w);
        free(data);
        client_close(cl);
        return;
    }
    memcpy(data, out, outlen);
    memcpy(data + outlen, cut, extra);
    data[outlen + extra] = '\x1e';
    memcpy(data + outlen + extra + 1, prompt, plen);
    data[total - 1] = '\n';
    w->data = data;
    buf = uv_buf_init(data, (unsigned)total);
    if (uv_write(&w->req, (uv_stream_t *)&cl->pipe, &buf, 1, on_written) != 0) {
        free(data);
        free(w);
        client_close(cl);
    }
}

typedef struct exchange_call {
    cclient *cl;
    const char *fn, *line;
    size_t len;
} exchange_call;

static int exchange_body(lua_State *L)
{
    exchange_call *x = lua_touserdata(L, 1);
    int nargs = 1;

    lua_settop(L, 0);
    lua_pushinteger(L, x->cl->id);
    if (x->line) {
        lua_pushlstring(L, x->line, x->len);
        nargs = 2;
    }
    if (hs_host_call(x->cl->con->h, x->fn, nargs, 2) != 0)
        return luaL_error(L, "manager.%s failed", x->fn);
    return 2;
}

/* Calls manager[fn](id [, line]) -> output, prompt and sends them; in
 * protected mode and with the memory reserve (hs_host_console_run), so
 * that a plugin holding the state at its memory cap cannot lock the
 * operator out. */
static void exchange(cclient *cl, const char *fn, const char *line, size_t len)
{
    hs_host *h = cl->con->h;
    lua_State *L = hs_host_state(h);
    exchange_call x = {cl, fn, line, len};

    if (hs_host_console_run(h, exchange_body, &x, 2) != 0) {
        static const char msg[] = "console error (see the node's log)\n";
        send_answer(cl, msg, sizeof msg - 1, "> ");
        return;
    }
    size_t outlen = 0;
    const char *out = lua_tolstring(L, -2, &outlen);
    const char *prompt = lua_tostring(L, -1);
    if (!prompt && strcmp(fn, "console_feed") == 0)
        cl->waiting = 1; /* the answer comes later (hs_console_reply) */
    else
        send_answer(cl, out ? out : "", out ? outlen : 0, prompt ? prompt : "> ");
    lua_pop(L, 2);
}

/* Feeds the complete lines buffered, until one answers later. */
static void feed_lines(cclient *cl)
{
    size_t start = 0;

    for (size_t i = 0; i < cl->len && !cl->closing && !cl->waiting; i++) {
        if (cl->buf[i] != '\n')
            continue;
        size_t end = i;
        if (end > start && cl->buf[end - 1] == '\r')
            end--;
        exchange(cl, "console_feed", cl->buf + start, end - start);
        start = i + 1;
    }
    if (!cl->closing) {
        memmove(cl->buf, cl->buf + start, cl->len - start);
        cl->len -= start;
    }
}

int hs_console_monitor(hs_console *con, int id, int level)
{
    cclient *cl = con ? con->clients : NULL;

    while (cl && cl->id != id)
        cl = cl->next;
    if (!cl)
        return -1;
    cl->monitor = level;
    cl->waiting = 1; /* its next lines wait: it only listens now */
    return 0;
}

void hs_console_tap(hs_console *con, int level, const char *line, size_t len)
{
    /* Written here, never closed here (this runs inside the node's logging,
     * perhaps inside a Lua call): a client that does not read loses lines,
     * counted, and is cut off when it next has something to say. */
    for (cclient *cl = con ? con->clients : NULL; cl; cl = cl->next) {
        wreq *w;
        char *data;
        uv_buf_t buf;
        if (cl->closing || cl->monitor < level)
            continue;
        if (uv_stream_get_write_queue_size((uv_stream_t *)&cl->pipe) + len > QUEUE_MAX) {
            con->monitor_dropped++;
            continue;
        }
        w = malloc(sizeof *w);
        data = malloc(len);
        if (!w || !data) {
            free(w);
            free(data);
            con->monitor_dropped++;
            continue;
        }
        memcpy(data, line, len);
        w->data = data;
        buf = uv_buf_init(data, (unsigned)len);
        if (uv_write(&w->req, (uv_stream_t *)&cl->pipe, &buf, 1, on_written) != 0) {
            free(data);
            free(w);
            con->monitor_dropped++;
        }
    }
}

int hs_console_reply(hs_console *con, int id, const char *out, size_t len, const char *prompt)
{
    cclient *cl = con ? con->clients : NULL;

    while (cl && cl->id != id)
        cl = cl->next;
    if (!cl || !cl->waiting)
        return -1;
    cl->waiting = 0;
    send_answer(cl, out, len, prompt);
    if (!cl->closing)
        feed_lines(cl);
    return 0;
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    (void)handle;
    buf->base = malloc(suggested);
    buf->len = buf->base ? suggested : 0;
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    cclient *cl = stream->data;

    if (nread < 0 || hs_host_is_closing(cl->con->h)) {
        free(buf->base);
        client_close(cl);
        return;
    }
    if (cl->len + (size_t)nread > LINE_MAX_BYTES) {
        static const char msg[] = "line too long: the console closes this session\n";
        free(buf->base);
        send_answer(cl, msg, sizeof msg - 1, "> ");
        client_close(cl);
        return;
    }
    if (cl->len + (size_t)nread > cl->cap) {
        size_t cap = cl->cap ? cl->cap : 1024;
        while (cap < cl->len + (size_t)nread)
            cap *= 2;
        char *b = realloc(cl->buf, cap);
        if (!b) {
            free(buf->base);
            client_close(cl);
            return;
        }
        cl->buf = b;
        cl->cap = cap;
    }
    memcpy(cl->buf + cl->len, buf->base, (size_t)nread);
    cl->len += (size_t)nread;
    free(buf->base);

    feed_lines(cl);
}

static void on_connection(uv_stream_t *server, int status)
{
    hs_console *con = server->data;
    cclient *cl;

    if (status < 0 || hs_host_is_closing(con->h))
        return;
    cl = calloc(1, sizeof *cl);
    if (!cl)
        return;
    cl->con = con;
    cl->id = ++con->next_id;
    cl->monitor = -1;
    uv_pipe_init(hs_host_loop(con->h), &cl->pipe, 0);
    cl->pipe.data = cl;
    hs_host_handle_opened(con->h);
    if (uv_accept(server, (uv_stream_t *)&cl->pipe) != 0) {
        cl->closing = 1;
        uv_close((uv_handle_t *)&cl->pipe, client_closed);
        return;
    }
    cl->next = con->clients;
    if (con->clients)
        con->clients->prev = cl;
    con->clients = cl;
    exchange(cl, "console_open", NULL, 0);
    if (!cl->closing)
        uv_read_start((uv_stream_t *)&cl->pipe, on_alloc, on_read);
}

/* Is someone serving on this socket path right now? */
static int socket_in_use(const char *path)
{
    struct sockaddr_un sa;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), in_use;

    if (fd < 0)
        return 0;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    in_use = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    return in_use;
}

/* Removes the socket file, if it is still the one we bound. */
static void remove_own(hs_console *con)
{
    struct stat st;

    if (con->path[0] && con->ino && lstat(con->path, &st) == 0 && S_ISSOCK(st.st_mode) &&
        st.st_dev == con->dev && st.st_ino == con->ino)
        unlink(con->path);
}

static void server_closed(uv_handle_t *handle)
{
    hs_console *con = handle->data;
    hs_host *h = con->h;

    free(con);
    hs_host_handle_closed(h);
}

/* A unix stream socket bound at con->path, its file's identity noted;
 * the fd, or a negative libuv error. */
static int bind_socket(hs_console *con)
{
    struct sockaddr_un sa;
    struct stat st;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), e;

    if (fd < 0)
        return uv_translate_sys_error(errno);
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, con->path, strlen(con->path) + 1);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        e = errno;
        close(fd);
        return uv_translate_sys_error(e);
    }
    if (lstat(con->path, &st) == 0) {
        con->dev = st.st_dev;
        con->ino = st.st_ino;
    }
    return fd;
}

int hs_console_listen(hs_host *h, const char *path, hs_console **out, char *err, size_t errlen)
{
    hs_console *con;
    struct stat st;
    int rc = 0, fd;

    if (strlen(path) == 0 || strlen(path) >= sizeof con->path) {
        snprintf(err, errlen, "console socket path is empty or too long: %s", path);
        return -1;
    }
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            snprintf(err, errlen,
                     "%s exists and is not a socket: the console will not replace it "
                     "(set console_socket to another path)",
                     path);
            return -1;
        }
        if (socket_in_use(path)) {
            snprintf(err, errlen, "%s: another process is serving a console there", path);
            return -1;
        }
        unlink(path); /* a stale socket from a node that died */
    }
    con = calloc(1, sizeof *con);
    if (!con) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    con->h = h;
    strcpy(con->path, path);
    uv_pipe_init(hs_host_loop(h), &con->server, 0);
    con->server.data = con;
    hs_host_handle_opened(h);
    /* Bound by hand and handed to libuv with uv_pipe_open: a pipe libuv
     * bound itself is unlinked by path when it closes, whatever is at
     * that path by then. Between bind and listen nobody can connect, so
     * chmod is race-free. */
    if ((fd = bind_socket(con)) < 0)
        rc = fd;
    else if ((rc = uv_pipe_open(&con->server, fd)) != 0)
        close(fd);
    if (rc == 0 && chmod(path, 0600) != 0)
        rc = uv_translate_sys_error(errno);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&con->server, 16, on_connection);
    if (rc != 0) {
        snprintf(err, errlen, "%s: %s", path, uv_strerror(rc));
        remove_own(con);
        con->path[0] = '\0';
        uv_close((uv_handle_t *)&con->server, server_closed);
        return -1;
    }
    *out = con;
    return 0;
}

void hs_console_close(hs_console *con)
{
    while (con->clients)
        client_close(con->clients);
    remove_own(con);
    uv_close((uv_handle_t *)&con->server, server_closed);
}

unsigned long hs_console_cut_off(const hs_console *con)
{
    return con->cut_off;
}
