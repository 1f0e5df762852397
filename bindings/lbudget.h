/*
 * lbudget.h -- what one call into plugin code may spend, and what happens
 * to a plugin that spends too much.
 *
 * Every call into Lua code of a plugin host runs inside a frame pushed on
 * the host's budget: a plugin call (its plugin's slot is charged), an
 * anonymous call (a plugin file loading, node.lua, a console line) or the
 * manager's own code. A frame has
 *   - an instruction budget (plugin and anonymous frames): VM instructions
 *     counted by the host's count hook, plus the work C library functions
 *     charge (lwork.h);
 *   - a deadline: the call's own time may not pass its timeout. Time spent
 *     in frames nested inside it (another plugin's hook its call set off)
 *     moves its deadline on, so each plugin answers for its own time only.
 *     A passed deadline is confirmed on the thread's CPU clock before it
 *     counts, so a process the system did not schedule blames nobody.
 * A plugin call that overruns its deadline, or a plugin whose calls take
 * more than max_share of any share window, is quarantined: its slot
 * refuses further calls until the plugin set is reloaded.
 *
 * A spent frame raises its error, then grants one grace (GRACE_UNITS,
 * GRACE_NS) so the error handlers on the way out (a traceback, the
 * console's printer) can run; past the grace it raises at every step.
 * Code that catches the error (only the host's own wrappers do: the
 * sandbox re-raises it) therefore gets nowhere.
 *
 * Cost: a push and a pop read the monotonic clock once each (vDSO); the
 * thread CPU clock (a system call) is read at most every MARK_REFRESH of
 * pushes, and when a deadline passes. No allocation.
 */
#ifndef HS_LBUDGET_H
#define HS_LBUDGET_H

#include <stddef.h>
#include <stdint.h>

#include <lua.h>

/* A plugin's record, kept across reloads (a userdata the manager holds):
 * counters and its quarantine. */
typedef struct hs_pslot {
    uint64_t calls, timeouts, limits; /* limits: calls failed on instructions */
    uint64_t time_ns;                 /* its own time in its calls */
    uint64_t win_start, win_ns;       /* the share window in progress */
    uint64_t quarantines;             /* times quarantined */
    int quarantined;
    char reason[160]; /* why, while quarantined */
} hs_pslot;

typedef enum {
    HS_FRAME_PLUGIN,  /* a plugin's hook, timer, policy: its slot answers */
    HS_FRAME_ANON,    /* plugin code no plugin answers for yet (loading) */
    HS_FRAME_CONSOLE, /* an operator's console line: the console timeout */
    HS_FRAME_MANAGER  /* the manager's own code: a deadline only */
} hs_frame_kind;

typedef struct hs_frame {
    struct hs_frame *prev;
    hs_frame_kind kind;
    hs_pslot *slot;    /* HS_FRAME_PLUGIN only */
    uint64_t start;    /* monotonic ns */
    uint64_t deadline; /* moved on by nested frames' time */
    uint64_t timeout;  /* ns of its own time allowed */
    uint64_t child_ns; /* time of frames nested in it */
    uint64_t mark_cpu; /* thread CPU ns at most MARK_REFRESH before start */
    uint64_t used;     /* instructions and charged work */
    uint64_t limit;    /* what `used` may reach (raised once, for grace) */
    int budgeted;      /* the instruction budget applies */
    int timed_out;     /* its deadline passed, confirmed */
    int limited;       /* its instruction budget ran out */
} hs_frame;

typedef struct hs_budget_opts {
    uint64_t instructions;  /* per call */
    double timeout;         /* s of its own time per plugin call */
    double console_timeout; /* s per console line */
    double max_share;       /* of a window, per plugin (0: no share limit) */
    double window;          /* s */
} hs_budget_opts;

typedef struct hs_budget {
    hs_frame *top;
    hs_budget_opts o;
    uint64_t timeout_ns, console_ns, manager_ns, window_ns;
    int depth;                    /* plugin and anonymous frames on the stack */
    uint64_t mark_cpu, mark_mono; /* the last CPU clock reading */
    uint64_t overruns;            /* frames no plugin answers for (console,
                                     loading, the manager) their deadline
                                     stopped */
} hs_budget;

/* Frames a plugin call may nest (a hook that broadcasts runs the policy,
 * one that updates the state runs the state hooks): beyond it the call
 * fails, so a chain of hooks cannot multiply the time one call may take. */
#define HS_BUDGET_NEST_MAX 4

void hs_budget_init(hs_budget *b, const hs_budget_opts *o);

/* Pushes f (owned by the caller, popped before it goes out of scope).
 * Returns 0, or -1 when plugin frames are nested HS_BUDGET_NEST_MAX deep
 * (f is not pushed). slot: the plugin answering for a HS_FRAME_PLUGIN. */
int hs_budget_push(hs_budget *b, hs_frame *f, hs_frame_kind kind, hs_pslot *slot);

/* Pops f, the top frame: counts its time to its slot and its parent.
 * Returns 1 when this call put its plugin in quarantine (the caller tells
 * the manager), else 0. */
int hs_budget_pop(hs_budget *b, hs_frame *f);

/* Charges units to the top frame: 0 when it may go on, else what is
 * spent (hs_budget_tick raises it). */
#define HS_BUDGET_INSTRUCTIONS 1
#define HS_BUDGET_TIME 2
int hs_budget_try(hs_budget *b, size_t units);

/* Charges units to the top frame; raises on L ("instruction limit
 * exceeded", "time limit exceeded") when it is spent. No-op when no frame
 * is running. */
void hs_budget_tick(hs_budget *b, lua_State *L, size_t units);

/* Lifts a slot's quarantine (the plugin set was reloaded). */
void hs_pslot_release(hs_pslot *s);

#endif
