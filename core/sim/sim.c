/*
 * sim.c -- see sim.h. One heap of events in virtual time: a node's
 * round coming due (WAKE), a request reaching its target (DELIVER), an
 * answer reaching the asker (ANSWER), a request's own timeout (TIMEOUT),
 * an embedder's timer (CALL: a plugin's `every`). Ties go in the order
 * the events were made, so a run is a function of the seed.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include "sim/memnet.h"
#include "hash.h"
#include "http_url.h"
#include "node.h"
#include "seen.h"
#include "sim/sim.h"

#define SIM_PORT 8080
#define SIM_NET 0x0a000000u    /* node i is 10.0.0.0 + i + 1 */
#define SIM_WALL0 1796400000.0 /* epoch s at the start */
#define SIM_MONO0 1000.0       /* the nodes' monotonic s at the start */
#define SIM_SPIN_MAX 10000     /* wakes of one node at one instant: a spin */
#define SIM_COPIES_AT 30.0 /* s after a broadcast its copies are read (the seen-cache forgets) */
#define SIM_SAMPLE 0.1     /* s between looks at who still holds a crashed node alive */

enum { EV_WAKE, EV_DELIVER, EV_ANSWER, EV_TIMEOUT, EV_CALL };

typedef struct ev {
    double at;
    uint64_t seq;
    int kind;
    size_t to, from; /* DELIVER: to serves; ANSWER, TIMEOUT: from asked */
    uint64_t id;     /* the request's id at from's client */
    unsigned epoch;  /* from's life (restarts) when it asked */
    double sent;     /* when the request left (for its round trip) */
    long status;
    char *method, *target, *header, *body;
    char *label; /* the sender's label header, or NULL */
    size_t len;
    struct hs_sim_timer *timer; /* CALL: the timer */
} ev;

/* A timer of hs_sim_timer_start. Freed once stopped and out of the heap
 * (not `pending`) and not running its fire. */
struct hs_sim_timer {
    size_t node;
    unsigned epoch; /* the node's life it belongs to */
    uint64_t id;    /* for the trace: the order timers were made in */
    double repeat;
    void (*fire)(void *arg);
    void *arg;
    int pending, firing, stopped;
};

/* A request a node answers later (hs_http_server_answer). */
typedef struct later {
    unsigned epoch;
    size_t to;
    uint64_t token;
    size_t from;
    uint64_t id;
    double sent;
    struct later *next;
} later;

/* A broadcast the simulator follows: when each node first had it. */
typedef struct tracked {
    char id[65];
    size_t origin;
    double sent;
    float *at;      /* per node: s after `sent` it arrived, or -1 */
    double copies;  /* per node reached, read SIM_COPIES_AT s after `sent`; -1 before */
    uint16_t *hops; /* per node: its hop count then */
} tracked;

/* A crash: when the nodes that held the node alive declared it dead, and
 * when (sampled every SIM_SAMPLE s) half, 99% and all of them no longer
 * held it alive (dead, or dropped from view). */
typedef struct crash_rec {
    size_t node;
    double at;
    size_t watchers; /* live nodes that held it alive when it crashed */
    size_t ndetect, capdetect;
    float *detect;  /* s after `at`, in the order they came */
    double gone[3]; /* s after `at` when 50%, 99%, 100% let go; -1: not yet */
    int restarted;  /* it came back before that */
} crash_rec;

typedef struct simnode {
    hs_sim *s;
    size_t i;
    hs_node *n;
    struct sockaddr_in addr;
    int crashed, side;
    double wake;         /* the WAKE event that counts, or HS_NEVER */
    double paused_until; /* it runs nothing before then */
    unsigned epoch;      /* restarts so far */
    later *later;        /* requests it answers later */
    double spin_at;
    unsigned spins;
    hs_hooks extra; /* the embedder's hooks (hs_sim_set_hooks), all NULL by default */
} simnode;

struct hs_sim {
    hs_sim_opts o;
    double *matrix; /* o.regions^2 one-way latencies (o.matrix, copied) */
    hs_rng rng;
    double now;
    uint64_t seq, events;
    ev *heap;
    size_t nheap, capheap;
    simnode *nodes;
    int failed;
    char error[200];
    uint64_t trace;               /* FNV-1a of every event run */
    uint64_t messages, bytes;     /* requests and answers delivered, body bytes */
    uint64_t cross, cross_pushes; /* requests delivered across regions; POST /gossip of them */
    uint64_t false_deaths;        /* a live node declared dead by a live one */
    tracked *msgs;
    size_t nmsgs, capmsgs;
    crash_rec *crashes;
    size_t ncrashes, capcrashes;
    size_t open_crashes; /* crashes some node still holds alive */
    size_t open_msgs;    /* broadcasts whose copies are not read yet */
    double next_sample;
    uint64_t timers; /* timers made so far */
    /* CPU (hs_sim_cpu), when o.cpu.per_host: when each host and each core
     * is next free; the work running now (its host, or SIZE_MAX: none) and
     * the CPU time it has taken so far, which what it sends waits for. */
    double *host_free, *core_free, *host_used;
    /* ...how long each host's work waited for a core while the host itself
     * was free (a run-queue delay), booked up to host_waited_to. */
    double *host_waited, *host_waited_to;
    size_t nhosts, working;
    double wait, lag, cpu_used;
};

static void fail(hs_sim *s, const char *fmt, ...)
{
    va_list ap;

    if (s->failed)
        return;
    s->failed = 1;
    va_start(ap, fmt);
    vsnprintf(s->error, sizeof s->error, fmt, ap);
    va_end(ap);
}

/* Grows *v (of *cap elements of size sz) to hold one more; 0, or -1. */
static int grow(void **v, size_t *cap, size_t n, size_t sz)
{
    if (n < *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 16;
    void *p = realloc(*v, c * sz);
    if (!p)
        return -1;
    *v = p;
    *cap = c;
    return 0;
}

/* ---- the heap ------------------------------------------------------------ */

static int before(const ev *a, const ev *b)
{
    return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

/* Frees what e holds: its strings, and its timer (an event dropped
 * unrun: the network is freed). */
static void ev_free(ev *e)
{
    free(e->timer);
    free(e->method);
    free(e->target);
    free(e->header);
    free(e->label);
    free(e->body);
}

static void push(hs_sim *s, ev e)
{
    if (grow((void **)&s->heap, &s->capheap, s->nheap, sizeof *s->heap) != 0) {
        fail(s, "out of memory (%zu events waiting)", s->nheap);
        if (e.timer) { /* its owner still holds it: idle, not freed */
            e.timer->pending = 0;
            e.timer = NULL;
        }
        ev_free(&e);
        return;
    }
    if (e.timer)
        e.timer->pending = 1;
    e.seq = s->seq++;
    size_t k = s->nheap++;
    while (k > 0 && before(&e, &s->heap[(k - 1) / 2])) {
        s->heap[k] = s->heap[(k - 1) / 2];
        k = (k - 1) / 2;
    }
    s->heap[k] = e;
}

static ev pop(hs_sim *s)
{
    ev top = s->heap[0], last = s->heap[--s->nheap];
    size_t k = 0;

    for (;;) {
        size_t c = 2 * k + 1;
        if (c >= s->nheap)
            break;
        if (c + 1 < s->nheap && before(&s->heap[c + 1], &s->heap[c]))
            c++;
        if (!before(&s->heap[c], &last))
            break;
        s->heap[k] = s->heap[c];
        k = c;
    }
    if (s->nheap)
        s->heap[k] = last;
    return top;
}

/* ---- links --------------------------------------------------------------- */

static double uniform(hs_sim *s)
{
    return (double)(hs_rng_next(&s->rng) >> 11) / 9007199254740992.0;
}

/* A standard normal draw (Box-Muller; one of the pair is dropped so that a
 * draw always takes two numbers of the generator). */
static double normal(hs_sim *s)
{
    double u = uniform(s), v = uniform(s);

    return sqrt(-2 * log(u > 0 ? u : 1e-300)) * cos(2 * M_PI * v);
}

/* One way across a link. */
/* One way from node `from` to node `to`. */
static double delay(hs_sim *s, size_t from, size_t to)
{
    size_t r = s->o.regions;
    double base = r ? s->matrix[(from % r) * r + to % r] : s->o.latency;

    if (s->o.model == HS_SIM_LOGNORMAL)
        return base * exp(s->o.jitter * normal(s));
    return base + s->o.jitter * uniform(s);
}

size_t hs_sim_region(const hs_sim *s, size_t i)
{
    return s->o.regions ? i % s->o.regions : 0;
}

static int lost(hs_sim *s)
{
    return s->o.loss > 0 && uniform(s) < s->o.loss;
}

static int cut(const hs_sim *s, size_t a, size_t b)
{
    return s->nodes[a].crashed || s->nodes[b].crashed || s->nodes[a].side != s->nodes[b].side;
}

/* ---- CPU ------------------------------------------------------------------ */

static int cpu_on(const hs_sim *s)
{
    return s->o.cpu.per_host > 0;
}

/* The core free soonest. */
static size_t cpu_core(const hs_sim *s)
{
    size_t c = 0;

    for (size_t k = 1; k < s->o.cpu.cores; k++)
        if (s->core_free[k] < s->core_free[c])
            c = k;
    return c;
}

/* When node i's host can start work: it and a core are free. */
static double cpu_free_at(const hs_sim *s, size_t i)
{
    double at = s->host_free[i / s->o.cpu.per_host];

    if (s->o.cpu.cores && s->core_free[cpu_core(s)] > at)
        at = s->core_free[cpu_core(s)];
    return at;
}

/* Node i starts work that costs `base` s before it sends anything. If its
 * host or every core is busy, the work waits its turn: the node acts now
 * (the order of what comes for a host is kept), but what it sends leaves
 * only once the host has done what came before and this work up to that
 * send. So a host is a queue served in the order work arrives, and no
 * event waits in the heap twice. */
static void cpu_begin(hs_sim *s, size_t i, double base)
{
    if (!cpu_on(s))
        return;
    s->working = i / s->o.cpu.per_host;
    s->wait = cpu_free_at(s, i) - s->now;
    if (s->wait < 0)
        s->wait = 0;
    s->lag = s->wait + base;
    double host_at = s->host_free[s->working] > s->now ? s->host_free[s->working] : s->now;
    if (s->now + s->wait > host_at) { /* every core busy with other hosts' work */
        s->host_waited[s->working] += s->now + s->wait - host_at;
        s->host_waited_to[s->working] = s->now + s->wait;
    }
}

/* The work ends: its host (and a core) are busy until now + lag. */
static void cpu_end(hs_sim *s)
{
    if (!cpu_on(s) || s->working == SIZE_MAX)
        return;
    double end = s->now + s->lag;
    s->cpu_used += s->lag - s->wait;
    s->host_used[s->working] += s->lag - s->wait;
    s->host_free[s->working] = end;
    if (s->o.cpu.cores)
        s->core_free[cpu_core(s)] = end;
    s->working = SIZE_MAX;
    s->lag = 0;
}

/* How long after now what the work running now says leaves: an answer
 * once the work so far is done; a request (`request`) takes `send` more
 * first. */
static double cpu_out(hs_sim *s, int request)
{
    if (!cpu_on(s) || s->working == SIZE_MAX)
        return 0;
    if (request)
        s->lag += s->o.cpu.send;
    return s->lag;
}

double hs_sim_cpu_used(const hs_sim *s, size_t *busiest, double *busiest_s)
{
    size_t b = 0;

    for (size_t h = 1; h < s->nhosts; h++)
        if (s->host_used[h] > s->host_used[b])
            b = h;
    if (busiest)
        *busiest = b;
    if (busiest_s)
        *busiest_s = s->nhosts ? s->host_used[b] : 0;
    return s->cpu_used;
}

/* Sets a WAKE for node i's earliest deadline, unless one is set for it. */
static void touch(hs_sim *s, size_t i)
{
    simnode *sn = &s->nodes[i];
    double next = hs_deadlines_next(&sn->n->due);

    if (sn->crashed || next == HS_NEVER)
        return;
    next -= SIM_MONO0;
    if (next < s->now)
        next = s->now;
    if (next == sn->wake)
        return;
    sn->wake = next;
    push(s, (ev){.at = next, .kind = EV_WAKE, .to = i});
}

/* ---- what the nodes do ----------------------------------------------------- */

/* A simulated node's io (io.h). Its timer is the network's: a WAKE at its
 * earliest deadline, set after everything it does (touch); its turns take
 * no time; it has no DNS; what it holds closes at once (the transport's
 * too, memnet.c), so a node closes within hs_node_close. */
static hs_err sim_start(hs_io *io, const hs_io_events *ev)
{
    (void)io;
    (void)ev;
    return HS_OK;
}

static void sim_arm(hs_io *io, double in_s)
{
    (void)io;
    (void)in_s;
}

static double sim_lag(const hs_io *io, double mono)
{
    (void)io;
    (void)mono;
    return 0;
}

/* A node's io: which node, for its host's CPU. */
typedef struct sim_io_node {
    hs_io base;
    hs_sim *s;
    size_t i;
} sim_io_node;

/* What io's host has booked of `sums` (one per host) so far, less what
 * is booked past now (up to `until` of the host), or -1 without a CPU
 * model. */
static double host_booked(const hs_io *io, const double *sums, const double *until)
{
    const sim_io_node *sio = (const sim_io_node *)io;
    const hs_sim *s = sio->s;

    if (!cpu_on(s))
        return -1;
    size_t h = sio->i / s->o.cpu.per_host;
    double ahead = until[h] - s->now;
    return sums[h] - (ahead > 0 ? ahead : 0);
}

/* Its host's work done so far, or -1 without a CPU model. */
static double sim_busy(const hs_io *io)
{
    const hs_sim *s = ((const sim_io_node *)io)->s;

    return host_booked(io, s->host_used, s->host_free);
}

static hs_err sim_resolve(hs_io *io, const char *entry, int tls, hs_io_resolved cb, void *ud)
{
    (void)io;
    (void)entry;
    (void)tls;
    (void)cb;
    (void)ud;
    return HS_EIO; /* (no DNS in a simulation) */
}

static void sim_close(hs_io *io, void (*done)(void *ud), void *ud)
{
    free(io);
    if (done)
        done(ud);
}

/* Its host's waits for a core so far (what is booked past now is not
 * waited yet), or -1 without a CPU model: a node on a host whose
 * machine's cores are all busy with other hosts' work waits as a starved
 * process does (membership.c, starved). */
static double sim_waited(const hs_io *io)
{
    const hs_sim *s = ((const sim_io_node *)io)->s;

    return host_booked(io, s->host_waited, s->host_waited_to);
}

static const hs_io_ops sim_io = {sim_start,  sim_arm,     sim_lag,  sim_busy,
                                 sim_waited, sim_resolve, sim_close};

static double clock_wall(void *ud)
{
    return SIM_WALL0 + ((hs_sim *)ud)->now;
}

static double clock_mono(void *ud)
{
    return SIM_MONO0 + ((hs_sim *)ud)->now;
}

static char *dup_bytes(const char *p, size_t len)
{
    char *c = malloc(len + 1);

    if (c) {
        if (len)
            memcpy(c, p, len);
        c[len] = '\0';
    }
    return c;
}

static void on_request(void *ud, const hs_memnet_request *r)
{
    simnode *sn = ud;
    hs_sim *s = sn->s;
    hs_http_url u;
    struct in_addr a;
    size_t to;

    double out = s->now + cpu_out(s, 1); /* when it leaves */

    /* Whatever happens, it times out unless answered first. */
    push(s, (ev){.at = out + r->timeout,
                 .kind = EV_TIMEOUT,
                 .from = sn->i,
                 .id = r->id,
                 .epoch = sn->epoch,
                 .sent = out});
    if (hs_http_url_parse(r->url, &u) != HS_OK || u.port != SIM_PORT ||
        inet_pton(AF_INET, u.host, &a) != 1 || ntohl(a.s_addr) <= SIM_NET ||
        (to = ntohl(a.s_addr) - SIM_NET - 1) >= s->o.nodes || lost(s))
        return;
    ev e = {.at = out + delay(s, sn->i, to),
            .kind = EV_DELIVER,
            .to = to,
            .from = sn->i,
            .id = r->id,
            .epoch = sn->epoch,
            .sent = out};
    e.method = strdup(r->method);
    e.target = u.path_len ? dup_bytes(u.path, u.path_len) : strdup("/");
    e.header = r->header ? strdup(r->header) : NULL;
    e.label = r->label ? strdup(r->label) : NULL;
    e.body = dup_bytes(r->body ? r->body : "", r->len);
    e.len = r->len;
    if (!e.method || !e.target || (r->header && !e.header) || (r->label && !e.label) || !e.body) {
        fail(s, "out of memory");
        ev_free(&e);
        return;
    }
    push(s, e);
}

static void answer_back(hs_sim *s, size_t to, size_t from, uint64_t id, unsigned epoch, double sent,
                        unsigned status, const char *body, size_t len)
{
    double out = s->now + cpu_out(s, 0);

    if (lost(s))
        return;
    ev e = {.at = out + delay(s, to, from), /* (the answer goes back) */
            .kind = EV_ANSWER,
            .to = to,
            .from = from,
            .id = id,
            .epoch = epoch,
            .sent = sent,
            .status = status,
            .body = dup_bytes(body ? body : "", len),
            .len = len};
    if (!e.body) {
        fail(s, "out of memory");
        return;
    }
    push(s, e);
}

static void on_deferred(void *ud, uint64_t token, unsigned status, const char *body, size_t len)
{
    simnode *sn = ud;
    hs_sim *s = sn->s;

    for (later **pp = &sn->later; *pp; pp = &(*pp)->next) {
        later *l = *pp;
        if (l->to == sn->i && l->token == token) {
            *pp = l->next;
            answer_back(s, l->to, l->from, l->id, l->epoch, l->sent, status, body, len);
            free(l);
            return;
        }
    }
}

/* The envelopes in a push's body, for their CPU cost: its "seen_by"
 * keys (one an envelope as nodes write them; a payload that has such a
 * key counts too, which only costs a little more time). */
static size_t envelopes(const char *body, size_t len)
{
    static const char key[] = "\"seen_by\":";
    const char *at = body, *end = body + len;
    size_t count = 0;

    while (at && at < end && (at = memmem(at, (size_t)(end - at), key, sizeof key - 1))) {
        count++;
        at += sizeof key - 1;
    }
    return count;
}

static void deliver(hs_sim *s, ev *e)
{
    simnode *sn = &s->nodes[e->to];
    const char *from = NULL, *headers[2];
    size_t nh = 0;
    hs_http_response resp;
    static const char from_name[] = "X-Hearsay-From: ";

    if (cut(s, e->from, e->to))
        return;
    double base = s->o.cpu.serve;
    if (strcmp(e->method, "POST") == 0 && strcmp(e->target, "/gossip") == 0)
        base +=
            s->o.cpu.gossip +
            (s->o.cpu.envelope > 0 ? s->o.cpu.envelope * (double)envelopes(e->body, e->len) : 0);
    cpu_begin(s, e->to, base);
    s->messages++;
    s->bytes += e->len;
    if (hs_sim_region(s, e->from) != hs_sim_region(s, e->to)) {
        s->cross++;
        s->cross_pushes += strcmp(e->method, "POST") == 0 && strcmp(e->target, "/gossip") == 0;
    }
    if (e->header && strncmp(e->header, from_name, sizeof from_name - 1) == 0)
        from = e->header + sizeof from_name - 1;
    else if (e->header)
        headers[nh++] = e->header;
    if (e->label)
        headers[nh++] = e->label;
    hs_memnet_server_remote(sn->n->server, (const struct sockaddr *)&s->nodes[e->from].addr);
    hs_memnet_server_serve(sn->n->server, e->method, e->target, from, headers, nh, e->body, e->len,
                           &resp);
    hs_memnet_server_remote(sn->n->server, NULL);
    if (resp.defer) {
        later *l = malloc(sizeof *l);
        if (!l) {
            fail(s, "out of memory");
        } else {
            *l = (later){.epoch = e->epoch,
                         .to = e->to,
                         .token = hs_memnet_server_last_token(sn->n->server),
                         .from = e->from,
                         .id = e->id,
                         .sent = e->sent,
                         .next = sn->later};
            sn->later = l;
        }
    } else {
        answer_back(s, e->to, e->from, e->id, e->epoch, e->sent, resp.status, resp.body, resp.len);
    }
    cpu_end(s);
    free(resp.body);
}

/* FNV-1a over the bytes of v. */
static uint64_t mix(uint64_t h, const void *v, size_t n)
{
    const unsigned char *p = v;

    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3u;
    return h;
}

static void push_timer(hs_sim *s, hs_sim_timer *t, double at)
{
    push(s, (ev){.at = at, .kind = EV_CALL, .to = t->node, .id = t->id, .timer = t});
}

/* A timer's event came (t is out of the heap): it runs, unless it was
 * stopped (then it goes) or its node crashed or was made again (then it
 * waits, idle, to be stopped). */
static void fire_timer(hs_sim *s, hs_sim_timer *t)
{
    simnode *sn = &s->nodes[t->node];

    if (t->stopped) {
        free(t);
        return;
    }
    if (sn->crashed || sn->epoch != t->epoch)
        return;
    t->firing = 1;
    t->fire(t->arg);
    t->firing = 0;
    if (t->stopped)
        free(t);
    else if (t->repeat > 0)
        push_timer(s, t, s->now + t->repeat);
    touch(s, t->node); /* what the fire set due */
}

/* Event e for node sn runs at `at` instead (sn is paused or busy). */
static void defer(hs_sim *s, ev *e, simnode *sn, double at)
{
    ev later_ev = *e;

    later_ev.at = at;
    if (e->kind == EV_WAKE) {
        if (e->at != sn->wake)
            return;
        sn->wake = at;
    }
    e->method = e->target = e->header = e->label = e->body = NULL; /* moved */
    e->timer = NULL;
    if (later_ev.timer && later_ev.timer->stopped) {
        free(later_ev.timer);
        return;
    }
    push(s, later_ev);
}

static void run_event(hs_sim *s, ev *e)
{
    simnode *sn;

    s->events++;
    uint64_t h = mix(s->trace, &e->at, sizeof e->at);
    uint64_t w[4] = {(uint64_t)e->kind, e->to, e->from, e->id};
    s->trace = mix(h, w, sizeof w);
    if (e->timer) /* it is out of the heap now: fire_timer decides */
        e->timer->pending = 0;
    /* A paused node does nothing: what it would do waits for its end. */
    sn = &s->nodes[e->kind == EV_DELIVER || e->kind == EV_WAKE || e->kind == EV_CALL ? e->to
                                                                                     : e->from];
    if (sn->paused_until > s->now && !sn->crashed) {
        defer(s, e, sn, sn->paused_until);
        return;
    }
    /* An answer or a timeout for a node's earlier life is nobody's. */
    if ((e->kind == EV_ANSWER || e->kind == EV_TIMEOUT) && e->epoch != s->nodes[e->from].epoch)
        return;
    switch (e->kind) {
    case EV_WAKE:
        sn = &s->nodes[e->to];
        if (sn->crashed || e->at != sn->wake)
            return; /* a later one took its place */
        sn->wake = HS_NEVER;
        if (s->now == sn->spin_at) {
            if (++sn->spins > SIM_SPIN_MAX) {
                fail(s, "node %zu woke %d times at %.6f s: a spin", e->to, SIM_SPIN_MAX, s->now);
                return;
            }
        } else {
            sn->spin_at = s->now;
            sn->spins = 0;
        }
        cpu_begin(s, e->to, s->o.cpu.round);
        hs_node_run_due(sn->n);
        cpu_end(s);
        touch(s, e->to);
        break;
    case EV_DELIVER:
        deliver(s, e);
        touch(s, e->to);
        break;
    case EV_ANSWER:
        if (cut(s, e->from, e->to))
            return;
        s->messages++;
        s->bytes += e->len;
        cpu_begin(s, e->from, s->o.cpu.answer);
        hs_memnet_client_answer_id(s->nodes[e->from].n->client, e->id, HS_OK, e->status,
                                   (s->now - e->sent) * 1000, e->body, e->len);
        cpu_end(s);
        touch(s, e->from);
        break;
    case EV_TIMEOUT:
        if (s->nodes[e->from].crashed)
            return;
        cpu_begin(s, e->from, s->o.cpu.answer);
        hs_memnet_client_answer_id(s->nodes[e->from].n->client, e->id, HS_EIO, 0,
                                   (s->now - e->sent) * 1000, "", 0);
        cpu_end(s);
        touch(s, e->from);
        break;
    case EV_CALL:
        cpu_begin(s, e->to, s->o.cpu.round);
        fire_timer(s, e->timer);
        cpu_end(s);
        e->timer = NULL;
        break;
    default:
        break;
    }
}

/* ---- what the simulator follows ---------------------------------------------- */

static tracked *find_tracked(hs_sim *s, const char *id)
{
    for (size_t k = s->nmsgs; k-- > 0;)
        if (memcmp(s->msgs[k].id, id, 64) == 0)
            return &s->msgs[k];
    return NULL;
}

/* A message reached node sn first here: it counts as delivered whatever
 * the embedder's handlers then make of it. */
static hs_verdict on_message(void *ud, hs_node *node, const hs_message *m, json_t **payload_out)
{
    simnode *sn = ud;
    hs_sim *s = sn->s;
    tracked *t = s->nmsgs ? find_tracked(s, hs_message_id(m)) : NULL;

    if (t && t->at[sn->i] < 0) {
        /* (It has it once its host got to it: sim.h, hs_sim_cpu.) */
        t->at[sn->i] = (float)(s->now + (s->working == SIZE_MAX ? 0 : s->lag) - t->sent);
        t->hops[sn->i] = (uint16_t)(hs_message_hops(m) > 65535 ? 65535 : hs_message_hops(m));
    }
    if (sn->extra.on_message)
        return sn->extra.on_message(sn->extra.ud, node, m, payload_out);
    return HS_ACCEPT;
}

/* ---- the embedder's hooks, after the simulator's ------------------------------ */

static int x_select_peers(void *ud, hs_node *node, const hs_message *m, const hs_peer_info *cands,
                          size_t n, size_t want, size_t *out)
{
    simnode *sn = ud;

    return sn->extra.select_peers(sn->extra.ud, node, m, cands, n, want, out);
}

static int x_has_policy(void *ud, hs_node *node)
{
    simnode *sn = ud;

    return sn->extra.has_policy(sn->extra.ud, node);
}

static void x_on_state(void *ud, hs_node *node, const char *old_root, uint64_t old_version,
                       const char *new_root, uint64_t new_version, const char *from)
{
    simnode *sn = ud;

    sn->extra.on_state(sn->extra.ud, node, old_root, old_version, new_root, new_version, from);
}

static void x_on_health(void *ud, hs_node *node, json_t *health)
{
    simnode *sn = ud;

    sn->extra.on_health(sn->extra.ud, node, health);
}

static hs_verdict x_on_own(void *ud, hs_node *node, const hs_message *m, json_t **payload_out)
{
    simnode *sn = ud;

    return sn->extra.on_own(sn->extra.ud, node, m, payload_out);
}

static int x_on_query(void *ud, hs_node *node, const char *name, const json_t *payload,
                      const char *from, json_t **answer)
{
    simnode *sn = ud;

    return sn->extra.on_query(sn->extra.ud, node, name, payload, from, answer);
}

/* The index of the node with this id, or SIZE_MAX. */
static size_t index_of(const hs_sim *s, const char *id)
{
    size_t i;
    char *end;

    if (strncmp(id, "sim-", 4) != 0)
        return SIZE_MAX;
    i = strtoul(id + 4, &end, 10);
    return *end == '\0' && i < s->o.nodes && strcmp(s->nodes[i].n->id, id) == 0 ? i : SIZE_MAX;
}

static void on_peer(void *ud, hs_node *node, const hs_peer_info *peer, int up)
{
    simnode *sn = ud;
    hs_sim *s = sn->s;
    size_t j = index_of(s, peer->id);

    if (sn->extra.on_peer)
        sn->extra.on_peer(sn->extra.ud, node, peer, up);
    if (up || j == SIZE_MAX || sn->crashed)
        return;
    if (!s->nodes[j].crashed) {
        s->false_deaths++;
        return;
    }
    for (size_t k = s->ncrashes; k-- > 0;) {
        crash_rec *c = &s->crashes[k];
        if (c->node != j)
            continue;
        if (grow((void **)&c->detect, &c->capdetect, c->ndetect, sizeof *c->detect) != 0) {
            fail(s, "out of memory");
            return;
        }
        c->detect[c->ndetect++] = (float)(s->now - c->at);
        return;
    }
}

/* ---- the network ------------------------------------------------------------ */

/* The nodes' log lines on stderr (opts.log), stamped with the virtual time. */
static void sim_log(void *ud, hs_log_level level, const char *node_id, const char *msg)
{
    static const char *names[] = {"error", "warn", "info", "debug"};

    fprintf(stderr, "[%10.3f] %s %s: %s\n", ((hs_sim *)ud)->now, node_id,
            (unsigned)level < 4 ? names[level] : "?", msg);
}

static void quiet(void *ud, hs_log_level level, const char *node_id, const char *msg)
{
    (void)ud;
    (void)level;
    (void)node_id;
    (void)msg;
}

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static void seed(hs_rng *r, uint64_t *x)
{
    for (int k = 0; k < 4; k++)
        r->s[k] = splitmix(x);
}

/* The simulator's hooks on sn's node, and the embedder's beside them:
 * only those it has, so a node without them pays nothing more. */
static void install_hooks(simnode *sn)
{
    const hs_hooks *x = &sn->extra;
    hs_hooks h = {.ud = sn, .on_message = on_message, .on_peer = on_peer};

    h.select_peers = x->select_peers ? x_select_peers : NULL;
    h.has_policy = x->has_policy ? x_has_policy : NULL;
    h.on_state = x->on_state ? x_on_state : NULL;
    h.on_health = x->on_health ? x_on_health : NULL;
    h.on_own = x->on_own ? x_on_own : NULL;
    h.on_query = x->on_query ? x_on_query : NULL;
    hs_node_set_hooks(sn->n, &h);
}

void hs_sim_set_hooks(hs_sim *s, size_t i, const hs_hooks *h)
{
    if (i >= s->o.nodes || !s->nodes[i].n)
        return;
    s->nodes[i].extra = h ? *h : (hs_hooks){0};
    install_hooks(&s->nodes[i]);
}

hs_sim_timer *hs_sim_timer_start(hs_sim *s, size_t i, double delay, double repeat,
                                 void (*fire)(void *arg), void *arg)
{
    hs_sim_timer *t;

    if (i >= s->o.nodes || !(t = calloc(1, sizeof *t)))
        return NULL;
    *t = (hs_sim_timer){.node = i,
                        .epoch = s->nodes[i].epoch,
                        .id = s->timers++,
                        .repeat = repeat > 0 ? repeat : 0,
                        .fire = fire,
                        .arg = arg};
    push_timer(s, t, s->now + (delay > 0 ? delay : 0));
    return t;
}

void hs_sim_timer_stop(hs_sim *s, hs_sim_timer *t)
{
    (void)s;
    if (!t)
        return;
    t->stopped = 1;
    if (!t->pending && !t->firing)
        free(t);
}

static void closed(void *ud)
{
    (*(size_t *)ud)--;
}

/* Node i goes (a restart, the end): the embedder's things on it first,
 * then the node. */
static void close_node(hs_sim *s, size_t i, size_t *open)
{
    simnode *sn = &s->nodes[i];

    if (s->o.detach)
        s->o.detach(s->o.ud, s, i, sn->n);
    sn->extra = (hs_hooks){0};
    hs_node_set_hooks(sn->n, NULL);
    hs_node_close(sn->n, closed, open);
}

/* Makes node i (again, after a restart: at the same address, with the
 * same id); it joins through node 0, or node 1 when it is node 0 coming
 * back. x: the generator state its own generator is seeded from. */
static hs_err make_node(hs_sim *s, size_t i, uint64_t *x)
{
    simnode *sn = &s->nodes[i];
    char id[32], host[32], boot_url[64];
    const char *boot[1] = {boot_url};
    hs_config cfg;
    hs_err err;

    sn->s = s;
    sn->i = i;
    sn->addr.sin_family = AF_INET;
    sn->addr.sin_port = htons(SIM_PORT);
    sn->addr.sin_addr.s_addr = htonl(SIM_NET + (uint32_t)i + 1);
    inet_ntop(AF_INET, &sn->addr.sin_addr, host, sizeof host);
    sn->wake = sn->spin_at = HS_NEVER;
    hs_config_init(&cfg);
    snprintf(id, sizeof id, "sim-%05zu", i);
    cfg.node_id = id;
    cfg.host = host;
    cfg.port = SIM_PORT;
    cfg.security = HS_SECURITY_OPEN; /* it listens beyond loopback */
    cfg.transport = &hs_memnet_transport;
    cfg.log = s->o.log ? sim_log : quiet;
    cfg.log_ud = s;
    if (s->o.log)
        cfg.log_level = s->o.log > 1 + HS_LOG_DEBUG ? HS_LOG_DEBUG : (hs_log_level)(s->o.log - 1);
    if (i > 0 || sn->epoch > 0) {
        struct in_addr a = {htonl(SIM_NET + (i > 0 ? 1u : 2u))};
        char h[32];
        inet_ntop(AF_INET, &a, h, sizeof h);
        snprintf(boot_url, sizeof boot_url, "http://%s:%d", h, SIM_PORT);
        cfg.bootstrap = boot;
        cfg.n_bootstrap = s->o.nodes > 1 ? 1 : 0;
    }
    if (s->o.configure)
        s->o.configure(s->o.ud, i, &cfg);
    sim_io_node *sio = malloc(sizeof *sio);
    if (!sio)
        return HS_ENOMEM;
    sio->s = s;
    sio->i = i;
    hs_io *io = &sio->base;
    io->ops = &sim_io;
    io->transport = &hs_memnet_transport;
    io->clock = (hs_clock){clock_wall, clock_mono, s}; /* the network's time */
    if ((err = hs_node_new_io(io, &cfg, &sn->n)) != HS_OK) {
        sn->n = NULL;
        return err;
    }
    seed(&sn->n->rng, x);
    sn->extra = (hs_hooks){0};
    install_hooks(sn);
    return HS_OK;
}

static hs_err start_node(hs_sim *s, size_t i)
{
    simnode *sn = &s->nodes[i];
    hs_err err = hs_node_start(sn->n);

    if (err != HS_OK)
        return err;
    hs_memnet_server_observe(sn->n->server, on_deferred, sn);
    hs_memnet_client_observe(sn->n->client, on_request, sn);
    /* What it asked while it started (its join) goes out now. */
    for (const hs_memnet_request *r = hs_memnet_client_oldest(sn->n->client); r; r = r->next)
        on_request(sn, r);
    if (s->o.attach && (err = s->o.attach(s->o.ud, s, i, sn->n)) != HS_OK)
        return err;
    touch(s, i);
    return HS_OK;
}

hs_sim *hs_sim_new(const hs_sim_opts *o)
{
    hs_sim *s;
    uint64_t x;

    if (o->regions > HS_SIM_REGIONS_MAX || (o->regions && !o->matrix))
        return NULL;
    for (size_t k = 0; k < o->regions * o->regions; k++)
        if (!(o->matrix[k] >= 0 && o->matrix[k] <= 60))
            return NULL;
    if (!o->nodes || o->nodes > 1000000 || !(s = calloc(1, sizeof *s)))
        return NULL;
    s->o = *o;
    if (s->o.latency <= 0 && s->o.jitter <= 0)
        s->o.latency = s->o.jitter = 0.001;
    s->o.matrix = NULL; /* (ours is s->matrix) */
    s->working = SIZE_MAX;
    if (o->cpu.per_host) {
        s->nhosts = (o->nodes + o->cpu.per_host - 1) / o->cpu.per_host;
        if (o->cpu.cores > 4096 || !(o->cpu.serve >= 0 && o->cpu.serve <= 1) ||
            !(o->cpu.answer >= 0 && o->cpu.answer <= 1) ||
            !(o->cpu.round >= 0 && o->cpu.round <= 1) || !(o->cpu.send >= 0 && o->cpu.send <= 1) ||
            !(o->cpu.gossip >= 0 && o->cpu.gossip <= 1) ||
            !(o->cpu.envelope >= 0 && o->cpu.envelope <= 1) ||
            !(s->host_free = calloc(s->nhosts, sizeof *s->host_free)) ||
            !(s->host_used = calloc(s->nhosts, sizeof *s->host_used)) ||
            !(s->host_waited = calloc(s->nhosts, sizeof *s->host_waited)) ||
            !(s->host_waited_to = calloc(s->nhosts, sizeof *s->host_waited_to)) ||
            !(s->core_free = calloc(o->cpu.cores + 1, sizeof *s->core_free)))
            goto fail;
    }
    x = o->seed;
    seed(&s->rng, &x);
    if (!(s->nodes = calloc(o->nodes, sizeof *s->nodes)))
        goto fail;
    if (o->regions) {
        if (!(s->matrix = malloc(o->regions * o->regions * sizeof *s->matrix)))
            goto fail;
        memcpy(s->matrix, o->matrix, o->regions * o->regions * sizeof *s->matrix);
    }
    for (size_t i = 0; i < o->nodes; i++)
        if (make_node(s, i, &x) != HS_OK)
            goto fail;
    /* All made, then all started: node 0 is there for the first join. */
    for (size_t i = 0; i < o->nodes; i++)
        if (start_node(s, i) != HS_OK)
            goto fail;
    return s;
fail:
    hs_sim_free(s);
    return NULL;
}

void hs_sim_free(hs_sim *s)
{
    size_t open = 0;

    if (!s)
        return;
    for (size_t i = 0; s->nodes && i < s->o.nodes; i++) {
        if (!s->nodes[i].n)
            continue;
        open++;
        close_node(s, i, &open);
    }
    /* (Nothing of a simulated node closes later: see sim_close.) */
    for (size_t k = 0; k < s->nheap; k++)
        ev_free(&s->heap[k]);
    for (size_t i = 0; s->nodes && i < s->o.nodes; i++) {
        while (s->nodes[i].later) {
            later *l = s->nodes[i].later;
            s->nodes[i].later = l->next;
            free(l);
        }
    }
    for (size_t k = 0; k < s->nmsgs; k++) {
        free(s->msgs[k].at);
        free(s->msgs[k].hops);
    }
    free(s->msgs);
    for (size_t k = 0; k < s->ncrashes; k++)
        free(s->crashes[k].detect);
    free(s->crashes);
    free(s->heap);
    free(s->nodes);
    free(s->matrix);
    free(s->host_free);
    free(s->host_used);
    free(s->host_waited);
    free(s->host_waited_to);
    free(s->core_free);
    free(s);
}

hs_node *hs_sim_node(hs_sim *s, size_t i)
{
    return i < s->o.nodes ? s->nodes[i].n : NULL;
}

size_t hs_sim_size(const hs_sim *s)
{
    return s->o.nodes;
}

double hs_sim_now(const hs_sim *s)
{
    return s->now;
}

double hs_sim_wall(const hs_sim *s)
{
    return SIM_WALL0 + s->now;
}

double hs_sim_mono(const hs_sim *s)
{
    return SIM_MONO0 + s->now;
}

uint64_t hs_sim_events(const hs_sim *s)
{
    return s->events;
}

/* Copies taken per node reached (the origin not counted), now. */
static double copies_now(const hs_sim *s, const tracked *t)
{
    double copies = 0;
    size_t n = 0;

    for (size_t i = 0; i < s->o.nodes; i++) {
        if (s->nodes[i].crashed || t->at[i] < 0 || i == t->origin)
            continue;
        copies += hs_node_copies(s->nodes[i].n, t->id);
        n++;
    }
    return n ? copies / (double)n : 0;
}

/* Who still holds each open crash's node alive; the copies of broadcasts
 * SIM_COPIES_AT old. */
static void sample(hs_sim *s)
{
    for (size_t k = 0; s->open_msgs && k < s->nmsgs; k++) {
        tracked *t = &s->msgs[k];
        if (t->copies < 0 && s->now - t->sent >= SIM_COPIES_AT) {
            t->copies = copies_now(s, t);
            s->open_msgs--;
        }
    }
    static const double share[3] = {0.5, 0.99, 1.0};

    s->next_sample = s->now + SIM_SAMPLE;
    for (size_t k = 0; k < s->ncrashes; k++) {
        crash_rec *c = &s->crashes[k];
        if (c->gone[2] >= 0 || c->restarted)
            continue;
        size_t hold = hs_sim_in_views(s, c->node, NULL);
        for (int q = 0; q < 3; q++) {
            size_t need = (size_t)ceil(share[q] * (double)c->watchers);
            if (c->gone[q] < 0 && c->watchers - (hold < c->watchers ? hold : c->watchers) >= need &&
                (q < 2 || hold == 0))
                c->gone[q] = s->now - c->at;
        }
        if (c->gone[2] >= 0)
            s->open_crashes--;
    }
}

void hs_sim_run_for(hs_sim *s, double secs)
{
    double end = s->now + secs;

    /* A test may have called a node directly (a broadcast): what that set
     * due must wake it. */
    for (size_t i = 0; i < s->o.nodes; i++)
        touch(s, i);
    while (!s->failed && s->nheap && s->heap[0].at <= end) {
        if (s->next_sample < s->now)
            s->next_sample = s->now; /* sampling was off: it starts now */
        if ((s->open_crashes || s->open_msgs) && s->heap[0].at > s->next_sample) {
            s->now = s->next_sample;
            sample(s);
            continue;
        }
        ev e = pop(s);
        s->now = e.at;
        run_event(s, &e);
        ev_free(&e);
    }
    s->now = end;
}

int hs_sim_run_until(hs_sim *s, int (*pred)(hs_sim *s, void *ud), void *ud, double step,
                     double max_s)
{
    double end = s->now + max_s;

    while (!pred(s, ud)) {
        if (s->now >= end)
            return 0;
        hs_sim_run_for(s, step);
    }
    return 1;
}

void hs_sim_crash(hs_sim *s, size_t i)
{
    size_t watchers;

    if (i >= s->o.nodes || s->nodes[i].crashed)
        return;
    watchers = hs_sim_in_views(s, i, NULL);
    s->nodes[i].crashed = 1;
    if (grow((void **)&s->crashes, &s->capcrashes, s->ncrashes, sizeof *s->crashes) != 0) {
        fail(s, "out of memory");
        return;
    }
    s->crashes[s->ncrashes++] =
        (crash_rec){.node = i, .at = s->now, .watchers = watchers, .gone = {-1, -1, -1}};
    s->open_crashes++;
}

int hs_sim_crashed(const hs_sim *s, size_t i)
{
    return i < s->o.nodes && s->nodes[i].crashed;
}

void hs_sim_side(hs_sim *s, size_t i, int side)
{
    if (i < s->o.nodes)
        s->nodes[i].side = side;
}

void hs_sim_heal(hs_sim *s)
{
    for (size_t i = 0; i < s->o.nodes; i++)
        s->nodes[i].side = 0;
}

int hs_sim_has(hs_sim *s, size_t i, const char *id)
{
    uint8_t bin[32];

    return i < s->o.nodes && hs_hash_from_hex(id, bin) == HS_OK &&
           hs_seen_contains(s->nodes[i].n->seen, bin);
}

static hs_peer *peer_of(hs_sim *s, size_t i, size_t j)
{
    return i < s->o.nodes && j < s->o.nodes
               ? hs_peers_find(&s->nodes[i].n->peers, s->nodes[j].n->id)
               : NULL;
}

int hs_sim_sees_alive(hs_sim *s, size_t i, size_t j)
{
    hs_peer *p = peer_of(s, i, j);

    return p && p->state != HS_PEER_DEAD;
}

int hs_sim_sees_dead(hs_sim *s, size_t i, size_t j)
{
    hs_peer *p = peer_of(s, i, j);

    return p && p->state == HS_PEER_DEAD;
}

size_t hs_sim_in_views(hs_sim *s, size_t i, size_t *eager)
{
    size_t views = 0, e = 0;

    for (size_t j = 0; j < s->o.nodes; j++) {
        hs_peer *p = j != i && !s->nodes[j].crashed ? peer_of(s, j, i) : NULL;
        if (p && p->state != HS_PEER_DEAD) {
            views++;
            e += p->eager != 0;
        }
    }
    if (eager)
        *eager = e;
    return views;
}

size_t hs_sim_live_peers(hs_sim *s, size_t i)
{
    size_t live = 0;

    for (size_t k = 0; i < s->o.nodes && k < s->nodes[i].n->peers.n; k++) {
        hs_peer *p = s->nodes[i].n->peers.v[k];
        live += p->state == HS_PEER_ALIVE && hs_peer_usable(p);
    }
    return live;
}

const char *hs_sim_error(const hs_sim *s)
{
    return s->failed ? s->error : NULL;
}

uint64_t hs_sim_trace(const hs_sim *s)
{
    return s->trace;
}

void hs_sim_traffic(const hs_sim *s, uint64_t *messages, uint64_t *bytes)
{
    *messages = s->messages;
    *bytes = s->bytes;
}

void hs_sim_cross_traffic(const hs_sim *s, uint64_t *requests, uint64_t *pushes)
{
    *requests = s->cross;
    *pushes = s->cross_pushes;
}

uint64_t hs_sim_false_deaths(const hs_sim *s)
{
    return s->false_deaths;
}

void hs_sim_set_loss(hs_sim *s, double loss)
{
    s->o.loss = loss < 0 ? 0 : loss > 1 ? 1 : loss;
}

hs_err hs_sim_broadcast(hs_sim *s, size_t i, const char *type, json_t *payload, char *id_out)
{
    tracked t = {.origin = i, .sent = s->now, .copies = -1};
    hs_err err;

    if (i >= s->o.nodes || s->nodes[i].crashed)
        return HS_EINVAL;
    if (grow((void **)&s->msgs, &s->capmsgs, s->nmsgs, sizeof *s->msgs) != 0 ||
        !(t.at = malloc(s->o.nodes * sizeof *t.at)) ||
        !(t.hops = calloc(s->o.nodes, sizeof *t.hops))) {
        free(t.at);
        return HS_ENOMEM;
    }
    for (size_t k = 0; k < s->o.nodes; k++)
        t.at[k] = -1;
    t.at[i] = 0;
    cpu_begin(s, i, 0);
    err = hs_node_broadcast(s->nodes[i].n, type, payload, t.id);
    cpu_end(s);
    if (err != HS_OK) {
        free(t.at);
        free(t.hops);
        return err;
    }
    s->msgs[s->nmsgs++] = t;
    s->open_msgs++;
    if (id_out)
        memcpy(id_out, t.id, 65);
    touch(s, i);
    return HS_OK;
}

size_t hs_sim_broadcasts(const hs_sim *s)
{
    return s->nmsgs;
}

static int by_time(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;

    return (x > y) - (x < y);
}

/* Of n times (sorted), when the share q of `of` nodes had been reached:
 * -1 when fewer were. */
static double quantile(const float *v, size_t n, size_t of, double q)
{
    size_t need = (size_t)ceil(q * (double)of);

    if (need == 0)
        need = 1;
    return need <= n ? v[need - 1] : -1;
}

hs_err hs_sim_delivery(const hs_sim *s, size_t k, hs_sim_delivery_info *out)
{
    const tracked *t;
    float *v;
    size_t n = 0;
    double hops = 0;

    if (k >= s->nmsgs)
        return HS_EINVAL;
    t = &s->msgs[k];
    if (!(v = malloc(s->o.nodes * sizeof *v)))
        return HS_ENOMEM;
    memset(out, 0, sizeof *out);
    memcpy(out->id, t->id, 65);
    out->origin = t->origin;
    out->sent = t->sent;
    for (size_t i = 0; i < s->o.nodes; i++) {
        if (s->nodes[i].crashed)
            continue;
        out->live++;
        if (t->at[i] < 0)
            continue;
        v[n++] = t->at[i];
        hops += t->hops[i];
        if (t->hops[i] > out->max_hops)
            out->max_hops = t->hops[i];
    }
    out->reached = n;
    qsort(v, n, sizeof *v, by_time);
    out->p50 = quantile(v, n, out->live, 0.5);
    out->p90 = quantile(v, n, out->live, 0.9);
    out->p99 = quantile(v, n, out->live, 0.99);
    out->p100 = quantile(v, n, out->live, 1.0);
    out->mean_hops = n > 1 ? hops / (double)(n - (t->at[t->origin] >= 0)) : 0;
    out->copies = t->copies >= 0 ? t->copies : copies_now(s, t);
    free(v);
    return HS_OK;
}

size_t hs_sim_crashes(const hs_sim *s)
{
    return s->ncrashes;
}

hs_err hs_sim_detection(hs_sim *s, size_t k, hs_sim_detection_info *out)
{
    const crash_rec *c;
    float *v;
    size_t views;

    if (k >= s->ncrashes)
        return HS_EINVAL;
    c = &s->crashes[k];
    if (!(v = malloc((c->ndetect ? c->ndetect : 1) * sizeof *v)))
        return HS_ENOMEM;
    if (c->ndetect) {
        memcpy(v, c->detect, c->ndetect * sizeof *v);
        qsort(v, c->ndetect, sizeof *v, by_time);
    }
    memset(out, 0, sizeof *out);
    out->node = c->node;
    out->at = c->at;
    out->watchers = c->watchers;
    out->detected = c->ndetect;
    out->p50 = quantile(v, c->ndetect, c->watchers, 0.5);
    out->p99 = quantile(v, c->ndetect, c->watchers, 0.99);
    out->p100 = quantile(v, c->ndetect, c->watchers, 1.0);
    out->gone50 = c->gone[0];
    out->gone99 = c->gone[1];
    out->gone100 = c->gone[2];
    out->restarted = c->restarted;
    free(v);
    /* Live nodes that still hold it alive. */
    views = hs_sim_in_views(s, c->node, NULL);
    out->still_alive = views;
    return HS_OK;
}

/* Walks every live node's view: returns the pairs of live nodes where the
 * first holds the second dead; with `mark` (a byte per node), ORs into
 * each node's 1 when some live node holds it dead, 2 when one holds it
 * anything else. */
static size_t views_of_live(const hs_sim *s, unsigned char *mark)
{
    size_t held = 0;

    for (size_t i = 0; i < s->o.nodes; i++) {
        const hs_node *n = s->nodes[i].n;
        if (s->nodes[i].crashed)
            continue;
        for (size_t k = 0; k < n->peers.n; k++) {
            const hs_peer *p = n->peers.v[k];
            size_t j = index_of(s, p->id);
            if (j == SIZE_MAX)
                continue;
            held += p->state == HS_PEER_DEAD && !s->nodes[j].crashed;
            if (mark)
                mark[j] |= p->state == HS_PEER_DEAD ? 1 : 2;
        }
    }
    return held;
}

size_t hs_sim_held_dead(const hs_sim *s)
{
    return views_of_live(s, NULL);
}

/* Adds node i's backlog to *out. */
static void backlog_add(hs_sim *s, size_t i, hs_sim_backlog_info *out)
{
    hs_node *n = s->nodes[i].n;

    /* (A paused node drains nothing until it runs again.) */
    if (!n || s->nodes[i].crashed || s->nodes[i].paused_until > s->now)
        return;
    double now = hs_node_mono(n);
    for (int k = 0; k < HS_REQ_KINDS; k++)
        out->inflight += hs_pending_inflight(&n->pending, (hs_pending_slot)k);
    for (size_t k = 0; k < n->peers.n; k++) {
        const hs_sendq *q = n->peers.v[k]->q;
        if (!q)
            continue;
        out->queued += q->n;
        if (q->n > out->queued_max)
            out->queued_max = q->n;
        out->offers += q->lazy.n;
        if (q->lazy.n > out->offers_max)
            out->offers_max = q->lazy.n;
        out->stuck_queues += q->n && !q->inflight && hs_node_due_in(n, HS_DUE_FLUSH) == HS_NEVER;
        for (size_t e = 0; e < q->lazy.n && q->lazy.v[e].due < now - HS_SIM_STUCK; e++)
            out->stuck_offers++;
    }
}

void hs_sim_backlog(hs_sim *s, hs_sim_backlog_info *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < s->o.nodes; i++)
        backlog_add(s, i, out);
}

void hs_sim_backlog_of(hs_sim *s, size_t i, hs_sim_backlog_info *out)
{
    memset(out, 0, sizeof *out);
    if (i < s->o.nodes)
        backlog_add(s, i, out);
}

size_t hs_sim_excluded(const hs_sim *s)
{
    size_t excluded = 0;
    unsigned char *mark = calloc(s->o.nodes, 1);

    if (!mark)
        return SIZE_MAX;
    views_of_live(s, mark);
    for (size_t j = 0; j < s->o.nodes; j++)
        excluded += !s->nodes[j].crashed && mark[j] == 1;
    free(mark);
    return excluded;
}

hs_err hs_sim_restart(hs_sim *s, size_t i)
{
    simnode *sn;
    size_t open = 1;
    uint64_t x;
    hs_err err;

    if (i >= s->o.nodes)
        return HS_EINVAL;
    sn = &s->nodes[i];
    if (!sn->crashed)
        hs_sim_crash(s, i);
    /* Its crash is over: nobody needs to let it go any more. */
    for (size_t k = 0; k < s->ncrashes; k++) {
        crash_rec *c = &s->crashes[k];
        if (c->node == i && c->gone[2] < 0 && !c->restarted) {
            c->restarted = 1;
            s->open_crashes--;
        }
    }
    close_node(s, i, &open); /* (at once) */
    sn->n = NULL;
    while (sn->later) {
        later *l = sn->later;
        sn->later = l->next;
        free(l);
    }
    sn->epoch++;
    sn->crashed = 0;
    sn->paused_until = 0;
    x = hs_rng_next(&s->rng);
    if ((err = make_node(s, i, &x)) != HS_OK || (err = start_node(s, i)) != HS_OK) {
        fail(s, "node %zu could not restart: %s", i, hs_strerror(err));
        if (sn->n) {
            open = 1;
            close_node(s, i, &open); /* (at once) */
            sn->n = NULL;
        }
        sn->crashed = 1;
        return err;
    }
    return HS_OK;
}

void hs_sim_pause(hs_sim *s, size_t i, double secs)
{
    if (i < s->o.nodes && secs > 0 && s->now + secs > s->nodes[i].paused_until)
        s->nodes[i].paused_until = s->now + secs;
}

void hs_sim_totals(const hs_sim *s, hs_metrics *out)
{
    uint64_t *sum = (uint64_t *)out;

    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < s->o.nodes; i++) {
        hs_metrics m;
        const uint64_t *v = (const uint64_t *)&m;
        if (!s->nodes[i].n)
            continue;
        hs_node_metrics(s->nodes[i].n, &m);
        for (size_t k = 0; k < sizeof m / sizeof *v; k++)
            sum[k] += v[k];
    }
}
