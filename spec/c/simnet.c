/*
 * simnet.c -- see simnet.h. One heap of events in virtual time: a node's
 * round coming due (WAKE), a request reaching its target (DELIVER), an
 * answer reaching the asker (ANSWER), a request's own timeout (TIMEOUT).
 * Ties go in the order the events were made, so a run is a function of
 * the seed.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_net.h"
#include "hash.h"
#include "http_url.h"
#include "seen.h"
#include "simnet.h"

#define SIM_PORT 8080
#define SIM_NET 0x0a000000u    /* node i is 10.0.0.0 + i + 1 */
#define SIM_WALL0 1796400000.0 /* epoch s at the start */
#define SIM_MONO0 1000.0       /* the nodes' monotonic s at the start */
#define SIM_SPIN_MAX 10000     /* wakes of one node at one instant: a spin */

enum { EV_WAKE, EV_DELIVER, EV_ANSWER, EV_TIMEOUT };

typedef struct ev {
    double at;
    uint64_t seq;
    int kind;
    size_t to, from; /* DELIVER: to serves; ANSWER, TIMEOUT: from asked */
    uint64_t id;     /* the request's id at from's client */
    double sent;     /* when the request left (for its round trip) */
    long status;
    char *method, *target, *header, *body;
    size_t len;
} ev;

/* A request a node answers later (hs_http_server_answer). */
typedef struct later {
    size_t to;
    uint64_t token;
    size_t from;
    uint64_t id;
    double sent;
    struct later *next;
} later;

typedef struct simnode {
    sim *s;
    size_t i;
    hs_node *n;
    struct sockaddr_in addr;
    int crashed, side;
    double wake; /* the WAKE event that counts, or HS_NEVER */
    double spin_at;
    unsigned spins;
} simnode;

struct sim {
    sim_opts o;
    uv_loop_t loop;
    hs_rng rng;
    double now;
    uint64_t seq, events;
    ev *heap;
    size_t nheap, capheap;
    simnode *nodes;
    later *later;
};

/* ---- the heap ------------------------------------------------------------ */

static int before(const ev *a, const ev *b)
{
    return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void push(sim *s, ev e)
{
    if (s->nheap == s->capheap) {
        size_t cap = s->capheap ? s->capheap * 2 : 256;
        ev *h = realloc(s->heap, cap * sizeof *h);
        if (!h) {
            fprintf(stderr, "simnet: out of memory\n");
            abort(); /* a test harness: nothing sensible to go on with */
        }
        s->heap = h;
        s->capheap = cap;
    }
    e.seq = s->seq++;
    size_t k = s->nheap++;
    while (k > 0 && before(&e, &s->heap[(k - 1) / 2])) {
        s->heap[k] = s->heap[(k - 1) / 2];
        k = (k - 1) / 2;
    }
    s->heap[k] = e;
}

static ev pop(sim *s)
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

static void ev_free(ev *e)
{
    free(e->method);
    free(e->target);
    free(e->header);
    free(e->body);
}

/* ---- links --------------------------------------------------------------- */

static double uniform(sim *s)
{
    return (double)(hs_rng_next(&s->rng) >> 11) / 9007199254740992.0;
}

static double delay(sim *s)
{
    return s->o.latency + s->o.jitter * uniform(s);
}

static int lost(sim *s)
{
    return s->o.loss > 0 && uniform(s) < s->o.loss;
}

static int cut(const sim *s, size_t a, size_t b)
{
    return s->nodes[a].crashed || s->nodes[b].crashed || s->nodes[a].side != s->nodes[b].side;
}

/* Sets a WAKE for node i's earliest deadline, unless one is set for it. */
static void touch(sim *s, size_t i)
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

static double clock_wall(void *ud)
{
    return SIM_WALL0 + ((sim *)ud)->now;
}

static double clock_mono(void *ud)
{
    return SIM_MONO0 + ((sim *)ud)->now;
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

static void on_request(void *ud, const fake_request *r)
{
    simnode *sn = ud;
    sim *s = sn->s;
    hs_http_url u;
    struct in_addr a;
    size_t to;

    /* Whatever happens, it times out unless answered first. */
    push(s, (ev){.at = s->now + r->timeout,
                 .kind = EV_TIMEOUT,
                 .from = sn->i,
                 .id = r->id,
                 .sent = s->now});
    if (hs_http_url_parse(r->url, &u) != HS_OK || u.port != SIM_PORT ||
        inet_pton(AF_INET, u.host, &a) != 1 || ntohl(a.s_addr) <= SIM_NET ||
        (to = ntohl(a.s_addr) - SIM_NET - 1) >= s->o.nodes || lost(s))
        return;
    ev e = {.at = s->now + delay(s),
            .kind = EV_DELIVER,
            .to = to,
            .from = sn->i,
            .id = r->id,
            .sent = s->now};
    e.method = strdup(r->method);
    e.target = u.path_len ? dup_bytes(u.path, u.path_len) : strdup("/");
    e.header = r->header ? strdup(r->header) : NULL;
    e.body = dup_bytes(r->body ? r->body : "", r->len);
    e.len = r->len;
    push(s, e);
}

static void answer_back(sim *s, size_t to, size_t from, uint64_t id, double sent, unsigned status,
                        const char *body, size_t len)
{
    if (lost(s))
        return;
    push(s, (ev){.at = s->now + delay(s),
                 .kind = EV_ANSWER,
                 .to = to,
                 .from = from,
                 .id = id,
                 .sent = sent,
                 .status = status,
                 .body = dup_bytes(body ? body : "", len),
                 .len = len});
}

static void on_deferred(void *ud, uint64_t token, unsigned status, const char *body, size_t len)
{
    simnode *sn = ud;
    sim *s = sn->s;

    for (later **pp = &s->later; *pp; pp = &(*pp)->next) {
        later *l = *pp;
        if (l->to == sn->i && l->token == token) {
            *pp = l->next;
            answer_back(s, l->to, l->from, l->id, l->sent, status, body, len);
            free(l);
            return;
        }
    }
}

static void deliver(sim *s, ev *e)
{
    simnode *sn = &s->nodes[e->to];
    const char *from = NULL, *headers[1];
    size_t nh = 0;
    hs_http_response resp;
    static const char from_name[] = "X-Hearsay-From: ";

    if (cut(s, e->from, e->to))
        return;
    if (e->header && strncmp(e->header, from_name, sizeof from_name - 1) == 0)
        from = e->header + sizeof from_name - 1;
    else if (e->header)
        headers[nh++] = e->header;
    fake_server_remote(sn->n->server, (const struct sockaddr *)&s->nodes[e->from].addr);
    fake_server_serve(sn->n->server, e->method, e->target, from, headers, nh, e->body, e->len,
                      &resp);
    fake_server_remote(sn->n->server, NULL);
    if (resp.defer) {
        later *l = malloc(sizeof *l);
        if (l) {
            *l = (later){e->to,   fake_server_last_token(sn->n->server), e->from, e->id, e->sent,
                         s->later};
            s->later = l;
        }
    } else {
        answer_back(s, e->to, e->from, e->id, e->sent, resp.status, resp.body, resp.len);
    }
    free(resp.body);
}

static void run_event(sim *s, ev *e)
{
    simnode *sn;

    s->events++;
    switch (e->kind) {
    case EV_WAKE:
        sn = &s->nodes[e->to];
        if (sn->crashed || e->at != sn->wake)
            return; /* a later one took its place */
        sn->wake = HS_NEVER;
        if (s->now == sn->spin_at) {
            if (++sn->spins > SIM_SPIN_MAX) {
                fprintf(stderr, "simnet: node %zu woke %d times at %.6f s: a spin\n", e->to,
                        SIM_SPIN_MAX, s->now);
                abort();
            }
        } else {
            sn->spin_at = s->now;
            sn->spins = 0;
        }
        hs_node_run_due(sn->n);
        touch(s, e->to);
        break;
    case EV_DELIVER:
        deliver(s, e);
        touch(s, e->to);
        break;
    case EV_ANSWER:
        if (cut(s, e->from, e->to))
            return;
        fake_client_answer_id(s->nodes[e->from].n->client, e->id, HS_OK, e->status,
                              (s->now - e->sent) * 1000, e->body, e->len);
        touch(s, e->from);
        break;
    case EV_TIMEOUT:
        if (s->nodes[e->from].crashed)
            return;
        fake_client_answer_id(s->nodes[e->from].n->client, e->id, HS_EIO, 0,
                              (s->now - e->sent) * 1000, "", 0);
        touch(s, e->from);
        break;
    default:
        break;
    }
}

/* ---- the network ------------------------------------------------------------ */

/* SIMNET_LOG=1: the nodes' log lines on stderr, stamped with the virtual
 * time; without it, none. */
static void sim_log(void *ud, hs_log_level level, const char *node_id, const char *msg)
{
    static const char *names[] = {"error", "warn", "info", "debug"};

    fprintf(stderr, "[%10.3f] %s %s: %s\n", ((sim *)ud)->now, node_id,
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

sim *sim_new(const sim_opts *o)
{
    sim *s = calloc(1, sizeof *s);
    char url0[64], host[32];
    uint64_t x;

    if (!s || !o->nodes || o->nodes > 1000000)
        goto fail;
    s->o = *o;
    if (s->o.latency <= 0 && s->o.jitter <= 0)
        s->o.latency = s->o.jitter = 0.001;
    x = o->seed;
    seed(&s->rng, &x);
    if (uv_loop_init(&s->loop) != 0 || !(s->nodes = calloc(o->nodes, sizeof *s->nodes)))
        goto fail;
    snprintf(url0, sizeof url0, "http://10.0.0.1:%d", SIM_PORT);
    for (size_t i = 0; i < o->nodes; i++) {
        simnode *sn = &s->nodes[i];
        const char *boot[1] = {url0};
        char id[32];
        hs_config cfg;

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
        cfg.log = getenv("SIMNET_LOG") ? sim_log : quiet;
        cfg.log_ud = s;
        if (getenv("SIMNET_LOG"))
            cfg.log_level = strcmp(getenv("SIMNET_LOG"), "debug") == 0 ? HS_LOG_DEBUG : HS_LOG_INFO;
        if (i > 0) {
            cfg.bootstrap = boot;
            cfg.n_bootstrap = 1;
        }
        if (o->configure)
            o->configure(o->ud, i, &cfg);
        if (hs_node_new(&s->loop, &cfg, &sn->n) != HS_OK) {
            sn->n = NULL;
            goto fail;
        }
        seed(&sn->n->rng, &x);
        hs_node_set_clock(sn->n, &(hs_clock){clock_wall, clock_mono, s});
    }
    /* All made, then all started: node 0 is there for the first join. */
    for (size_t i = 0; i < o->nodes; i++) {
        simnode *sn = &s->nodes[i];
        if (hs_node_start(sn->n) != HS_OK)
            goto fail;
        fake_server_observe(sn->n->server, on_deferred, sn);
        fake_client_observe(sn->n->client, on_request, sn);
        /* What it asked while it started (its join) goes out now. */
        for (const fake_request *r = fake_client_oldest(sn->n->client); r; r = r->next)
            on_request(sn, r);
        touch(s, i);
    }
    return s;
fail:
    sim_free(s);
    return NULL;
}

static void closed(void *ud)
{
    (*(size_t *)ud)--;
}

void sim_free(sim *s)
{
    size_t open = 0;

    if (!s)
        return;
    for (size_t i = 0; s->nodes && i < s->o.nodes; i++) {
        if (!s->nodes[i].n)
            continue;
        open++;
        hs_node_close(s->nodes[i].n, closed, &open);
    }
    while (open && uv_run(&s->loop, UV_RUN_NOWAIT))
        ;
    while (open)
        uv_run(&s->loop, UV_RUN_ONCE);
    uv_loop_close(&s->loop);
    for (size_t k = 0; k < s->nheap; k++)
        ev_free(&s->heap[k]);
    while (s->later) {
        later *l = s->later;
        s->later = l->next;
        free(l);
    }
    free(s->heap);
    free(s->nodes);
    free(s);
}

hs_node *sim_node(sim *s, size_t i)
{
    return i < s->o.nodes ? s->nodes[i].n : NULL;
}

size_t sim_size(const sim *s)
{
    return s->o.nodes;
}

double sim_now(const sim *s)
{
    return s->now;
}

uint64_t sim_events(const sim *s)
{
    return s->events;
}

void sim_run_for(sim *s, double secs)
{
    double end = s->now + secs;

    /* A test may have called a node directly (a broadcast): what that set
     * due must wake it. */
    for (size_t i = 0; i < s->o.nodes; i++)
        touch(s, i);
    while (s->nheap && s->heap[0].at <= end) {
        ev e = pop(s);
        s->now = e.at;
        run_event(s, &e);
        ev_free(&e);
    }
    s->now = end;
}

int sim_run_until(sim *s, int (*pred)(sim *s, void *ud), void *ud, double step, double max_s)
{
    double end = s->now + max_s;

    while (!pred(s, ud)) {
        if (s->now >= end)
            return 0;
        sim_run_for(s, step);
    }
    return 1;
}

void sim_crash(sim *s, size_t i)
{
    if (i < s->o.nodes)
        s->nodes[i].crashed = 1;
}

int sim_crashed(const sim *s, size_t i)
{
    return i < s->o.nodes && s->nodes[i].crashed;
}

void sim_side(sim *s, size_t i, int side)
{
    if (i < s->o.nodes)
        s->nodes[i].side = side;
}

void sim_heal(sim *s)
{
    for (size_t i = 0; i < s->o.nodes; i++)
        s->nodes[i].side = 0;
}

int sim_has(sim *s, size_t i, const char *id)
{
    uint8_t bin[32];

    return i < s->o.nodes && hs_hash_from_hex(id, bin) == HS_OK &&
           hs_seen_contains(s->nodes[i].n->seen, bin);
}

static hs_peer *peer_of(sim *s, size_t i, size_t j)
{
    return i < s->o.nodes && j < s->o.nodes
               ? hs_peers_find(&s->nodes[i].n->peers, s->nodes[j].n->id)
               : NULL;
}

int sim_sees_alive(sim *s, size_t i, size_t j)
{
    hs_peer *p = peer_of(s, i, j);

    return p && p->state != HS_PEER_DEAD;
}

int sim_sees_dead(sim *s, size_t i, size_t j)
{
    hs_peer *p = peer_of(s, i, j);

    return p && p->state == HS_PEER_DEAD;
}

size_t sim_in_views(sim *s, size_t i, size_t *eager)
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

size_t sim_live_peers(sim *s, size_t i)
{
    size_t live = 0;

    for (size_t k = 0; i < s->o.nodes && k < s->nodes[i].n->peers.n; k++) {
        hs_peer *p = s->nodes[i].n->peers.v[k];
        live += p->state == HS_PEER_ALIVE && hs_peer_usable(p);
    }
    return live;
}
