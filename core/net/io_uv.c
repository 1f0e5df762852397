/*
 * io_uv.c -- see io_uv.h.
 */
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dns.h"
#include "http_client.h"
#include "http_server.h"
#include "io_uv.h"
#include "realtime.h"

typedef struct io_uv {
    hs_io base;
    uv_loop_t *loop;
    hs_io_events ev;
    int started;
    uv_timer_t timer;
    uv_prepare_t prepare;                        /* the two ends of a poll: how long a turn */
    uv_check_t check;                            /* takes, and how long its poll blocked */
    double iter_prepare, iter_check, iter_block; /* monotonic s; s (-1: none) */
    unsigned open;                               /* handles not closed yet */
    void (*done)(void *ud);
    void *done_ud;
} io_uv;

static const hs_io_ops ops;

static double real_wall(void *ud)
{
    (void)ud;
    return hs_clock_wall();
}

static double real_mono(void *ud)
{
    (void)ud;
    return hs_clock_mono();
}

static void on_timer(uv_timer_t *t)
{
    io_uv *io = t->data;

    io->ev.fire(io->ev.ud);
}

/*
 * A stall shows as callbacks running longer than HS_STALL_LAG between two
 * polls (check -> prepare), or a poll returning that much later than the
 * loop asked it to block (prepare -> check, which also covers the I/O
 * callbacks).
 */
static void on_prepare(uv_prepare_t *h)
{
    io_uv *io = h->data;
    double now = hs_clock_mono();
    int block_ms = uv_backend_timeout(io->loop);

    if (io->iter_check > 0 && now - io->iter_check > HS_STALL_LAG)
        io->ev.stalled(io->ev.ud, now);
    io->iter_prepare = now;
    io->iter_block = block_ms < 0 ? -1 : block_ms / 1000.0;
}

static void on_check(uv_check_t *h)
{
    io_uv *io = h->data;
    double now = hs_clock_mono();

    if (io->iter_prepare > 0 && io->iter_block >= 0 &&
        now - io->iter_prepare > io->iter_block + HS_STALL_LAG)
        io->ev.stalled(io->ev.ud, now);
    io->iter_check = now;
}

static hs_err start(hs_io *base, const hs_io_events *ev)
{
    io_uv *io = (io_uv *)base;

    if (io->started)
        return HS_ESTATE;
    io->ev = *ev;
    uv_timer_init(io->loop, &io->timer);
    uv_prepare_init(io->loop, &io->prepare);
    uv_check_init(io->loop, &io->check);
    io->timer.data = io->prepare.data = io->check.data = io;
    uv_prepare_start(&io->prepare, on_prepare);
    uv_check_start(&io->check, on_check);
    /* Neither keeps the loop alive by itself. */
    uv_unref((uv_handle_t *)&io->prepare);
    uv_unref((uv_handle_t *)&io->check);
    /* The loop's time in epoll_wait from now on (busy); every node on the
     * loop asks the same, which is harmless. */
    uv_loop_configure(io->loop, UV_METRICS_IDLE_TIME);
    io->started = 1;
    return HS_OK;
}

static void arm(hs_io *base, double in_s)
{
    io_uv *io = (io_uv *)base;

    if (!io->started)
        return;
    if (in_s < 0) {
        uv_timer_stop(&io->timer);
        return;
    }
    /* Whole milliseconds, rounded up: the timer never fires before it is
     * due by more than the loop's own millisecond steps. */
    double ms = ceil(in_s * 1000);
    uv_timer_start(&io->timer, on_timer, ms < 1e15 ? (uint64_t)ms : (uint64_t)1e15, 0);
}

static double lag(const hs_io *base, double mono)
{
    const io_uv *io = (const io_uv *)base;

    /* uv_now: when this turn began, or its poll returned (ms). */
    return mono - (double)uv_now(io->loop) / 1000;
}

/* The loop's time minus its time blocked in the kernel's poll. */
static double busy(const hs_io *base)
{
    const io_uv *io = (const io_uv *)base;

    return hs_clock_mono() - (double)uv_metrics_idle_time(io->loop) / 1e9;
}

/* The calling thread's run-queue delay (the node's: it runs on the loop's
 * thread): the second number of Linux's /proc/thread-self/schedstat, in
 * ns, which the kernel keeps whenever it keeps scheduler statistics at
 * all; -1 elsewhere. Three system calls, made when a probe goes out and
 * when one fails: a few a second. */
static double waited(const hs_io *base)
{
    char buf[96], *p, *end;
    ssize_t got = -1;
    int fd;

    (void)base;
    if ((fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC)) >= 0) {
        got = read(fd, buf, sizeof buf - 1);
        close(fd);
    }
    if (got <= 0)
        return -1;
    buf[got] = '\0';
    if (!(p = strchr(buf, ' ')))
        return -1;
    unsigned long long ns = strtoull(p + 1, &end, 10);
    return end == p + 1 ? -1 : (double)ns / 1e9;
}

typedef struct lookup {
    uv_work_t work;
    hs_io_resolved cb;
    void *ud;
    char entry[HS_URL_MAX + 1];
    hs_dns_answer answer;
} lookup;

static void run_lookup(uv_work_t *w)
{
    lookup *l = w->data;

    hs_dns_lookup(l->entry, &l->answer);
}

static void looked_up(uv_work_t *w, int status)
{
    lookup *l = w->data;
    const char *urls[HS_DNS_MAX];

    for (size_t i = 0; i < l->answer.n_urls; i++)
        urls[i] = l->answer.urls[i];
    l->cb(l->ud, status == 0 ? HS_OK : HS_ESTATE, urls, status == 0 ? l->answer.n_urls : 0,
          l->answer.error);
    free(l);
}

static hs_err resolve(hs_io *base, const char *entry, int tls, hs_io_resolved cb, void *ud)
{
    io_uv *io = (io_uv *)base;
    lookup *l;

    if (strlen(entry) > HS_URL_MAX)
        return HS_EINVAL;
    if (!(l = calloc(1, sizeof *l)))
        return HS_ENOMEM;
    l->work.data = l;
    l->cb = cb;
    l->ud = ud;
    l->answer.tls = tls;
    strcpy(l->entry, entry);
    if (uv_queue_work(io->loop, &l->work, run_lookup, looked_up) != 0) {
        free(l);
        return HS_EIO;
    }
    return HS_OK;
}

static void handle_closed(uv_handle_t *h)
{
    io_uv *io = h->data;

    if (--io->open == 0) {
        void (*done)(void *) = io->done;
        void *ud = io->done_ud;
        free(io);
        if (done)
            done(ud);
    }
}

static void io_close(hs_io *base, void (*done)(void *ud), void *ud)
{
    io_uv *io = (io_uv *)base;

    if (!io->started) {
        free(io);
        if (done)
            done(ud);
        return;
    }
    io->done = done;
    io->done_ud = ud;
    io->open = 3;
    uv_close((uv_handle_t *)&io->timer, handle_closed);
    uv_close((uv_handle_t *)&io->prepare, handle_closed);
    uv_close((uv_handle_t *)&io->check, handle_closed);
}

static const hs_io_ops ops = {start, arm, lag, busy, waited, resolve, io_close};

/* ---- the transport of sockets --------------------------------------------- */

static hs_err http_server_start(void *ud, hs_io *io, const hs_http_server_opts *opts,
                                hs_http_server **out)
{
    uv_loop_t *loop = hs_io_uv_loop(io);

    (void)ud;
    return loop ? hs_http_server_start(loop, opts, out) : HS_EINVAL;
}

static hs_err http_client_new(void *ud, hs_io *io, const hs_http_client_opts *opts,
                              hs_http_client **out)
{
    uv_loop_t *loop = hs_io_uv_loop(io);

    (void)ud;
    return loop ? hs_http_client_new(loop, opts, out) : HS_EINVAL;
}

const hs_transport hs_transport_http = {"http", http_server_start, http_client_new, NULL};

hs_err hs_io_uv_new(uv_loop_t *loop, hs_io **out)
{
    io_uv *io;

    if (!loop || !out)
        return HS_EINVAL;
    if (!(io = calloc(1, sizeof *io)))
        return HS_ENOMEM;
    io->base.ops = &ops;
    io->base.transport = &hs_transport_http;
    io->base.clock = (hs_clock){real_wall, real_mono, NULL};
    io->loop = loop;
    *out = &io->base;
    return HS_OK;
}

uv_loop_t *hs_io_uv_loop(const hs_io *io)
{
    return io && io->ops == &ops ? ((const io_uv *)io)->loop : NULL;
}
