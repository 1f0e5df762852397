/*
 * lbudget.c -- frames, budgets, deadlines and quarantine for plugin code;
 * see lbudget.h.
 */
#include <stdio.h>
#include <time.h>

#include <lauxlib.h>
#include <uv.h>

#include "lbudget.h"

/* How old the CPU clock reading a frame starts from may be: also the
 * slack of a confirmation (a frame is blamed for at most this much CPU
 * time spent before it began). */
#define MARK_REFRESH 5000000ull
/* The least a deadline the CPU clock did not confirm moves on. */
#define MIN_EXTEND 1000000ull
/* The grace a spent frame gets once, for the error handlers on the way
 * out: instructions, and ns past its deadline. */
#define GRACE_UNITS 200000
#define GRACE_NS 10000000ull
#define NO_DEADLINE UINT64_MAX

static uint64_t ns_of(double s)
{
    return s > 0 ? (uint64_t)(s * 1e9) : 0;
}

/* The CPU time this thread has used, or 0 when the clock cannot be read
 * (then a passed deadline counts as it is). */
static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return a > NO_DEADLINE - b ? NO_DEADLINE : a + b;
}

void hs_budget_init(hs_budget *b, const hs_budget_opts *o)
{
    uint64_t manager;

    b->top = NULL;
    b->o = *o;
    b->timeout_ns = ns_of(o->timeout);
    b->console_ns = ns_of(o->console_timeout);
    b->window_ns = ns_of(o->window);
    /* The manager's own code is short; its deadline only keeps a bug in
     * it (a metamethod reached by mistake) from hanging the node. */
    manager = 4 * b->timeout_ns;
    b->manager_ns = manager > 1000000000ull ? manager : 1000000000ull;
    b->depth = 0;
    b->mark_mono = uv_hrtime();
    b->mark_cpu = thread_cpu_ns();
    b->overruns = 0;
}

int hs_budget_push(hs_budget *b, hs_frame *f, hs_frame_kind kind, hs_pslot *slot)
{
    uint64_t now = uv_hrtime();
    int budgeted = kind != HS_FRAME_MANAGER;

    if (budgeted && b->depth >= HS_BUDGET_NEST_MAX)
        return -1;
    if (now - b->mark_mono > MARK_REFRESH) {
        b->mark_cpu = thread_cpu_ns();
        b->mark_mono = now;
    }
    f->prev = b->top;
    f->kind = kind;
    f->slot = kind == HS_FRAME_PLUGIN ? slot : NULL;
    f->start = now;
    f->timeout = kind == HS_FRAME_MANAGER   ? b->manager_ns
                 : kind == HS_FRAME_CONSOLE ? b->console_ns
                                            : b->timeout_ns;
    f->deadline = f->timeout ? now + f->timeout : NO_DEADLINE;
    f->child_ns = 0;
    f->mark_cpu = b->mark_cpu;
    f->used = 0;
    f->limit = b->o.instructions;
    f->budgeted = budgeted;
    f->timed_out = f->limited = 0;
    b->top = f;
    b->depth += budgeted;
    return 0;
}

/* Quarantines s (its reason already written); 1 when it was not already. */
static int quarantine(hs_pslot *s)
{
    if (s->quarantined)
        return 0;
    s->quarantined = 1;
    s->quarantines++;
    return 1;
}

int hs_budget_pop(hs_budget *b, hs_frame *f)
{
    uint64_t now = uv_hrtime(), elapsed = now - f->start;
    uint64_t self = elapsed > f->child_ns ? elapsed - f->child_ns : 0;
    hs_pslot *s = f->slot;

    b->top = f->prev;
    b->depth -= f->budgeted;
    if (f->prev) {
        f->prev->child_ns += elapsed;
        f->prev->deadline = add_sat(f->prev->deadline, elapsed);
    }
    if (!s) {
        b->overruns += f->timed_out;
        return 0;
    }
    s->calls++;
    s->time_ns += self;
    s->limits += f->limited;
    if (f->timed_out) {
        s->timeouts++;
        if (!s->quarantined)
            snprintf(s->reason, sizeof s->reason, "a call ran %.0f ms (plugin_timeout %.0f ms)",
                     (double)self / 1e6, (double)f->timeout / 1e6);
        return quarantine(s);
    }
    if (b->o.max_share <= 0 || !b->window_ns)
        return 0;
    if (now - s->win_start > b->window_ns) {
        s->win_start = now;
        s->win_ns = 0;
    }
    s->win_ns += self;
    if ((double)s->win_ns <= b->o.max_share * (double)b->window_ns || s->quarantined)
        return 0;
    snprintf(s->reason, sizeof s->reason,
             "its calls took %.0f ms of a %.1f s window (plugin_max_share %.2f)",
             (double)s->win_ns / 1e6, (double)b->window_ns / 1e9, b->o.max_share);
    return quarantine(s);
}

/* Whether frame f, whose deadline passed at `now`, really used its time:
 * its CPU time is at least what the thread used since f's mark, less the
 * mark's slack and the time of nested frames. If not (the process was not
 * running), the deadline moves on by what f may still use. */
static int confirmed(hs_frame *f, uint64_t now)
{
    uint64_t cpu = thread_cpu_ns(), spent, floor = MARK_REFRESH + f->child_ns, mine;

    if (cpu == 0)
        return 1;
    spent = cpu > f->mark_cpu ? cpu - f->mark_cpu : 0;
    mine = spent > floor ? spent - floor : 0;
    if (mine >= f->timeout)
        return 1;
    f->deadline = now + (f->timeout - mine > MIN_EXTEND ? f->timeout - mine : MIN_EXTEND);
    return 0;
}

int hs_budget_try(hs_budget *b, size_t units)
{
    hs_frame *f = b->top;
    uint64_t now;

    if (!f)
        return 0;
    f->used += units;
    if (f->budgeted && f->used > f->limit) {
        if (!f->limited) /* the first time: the grace */
            f->limit = f->used + GRACE_UNITS;
        f->limited = 1;
        return HS_BUDGET_INSTRUCTIONS;
    }
    if (f->deadline == NO_DEADLINE)
        return 0;
    now = uv_hrtime();
    if (now < f->deadline || (!f->timed_out && !confirmed(f, now)))
        return 0;
    if (!f->timed_out)
        f->deadline = now + GRACE_NS;
    f->timed_out = 1;
    return HS_BUDGET_TIME;
}

void hs_budget_tick(hs_budget *b, lua_State *L, size_t units)
{
    int spent = hs_budget_try(b, units);

    if (spent == HS_BUDGET_INSTRUCTIONS)
        luaL_error(L, "instruction limit exceeded (%I instructions)",
                   (lua_Integer)b->o.instructions);
    if (spent == HS_BUDGET_TIME)
        luaL_error(L, "time limit exceeded (%I ms)", (lua_Integer)(b->top->timeout / 1000000));
}

void hs_pslot_release(hs_pslot *s)
{
    s->quarantined = 0;
    s->reason[0] = '\0';
    s->win_start = 0;
    s->win_ns = 0;
}
