/*
 * lhost.h -- a node's plugin host: its own Lua state, where the plugin
 * manager (lua/hearsay/plugins.lua) loads plugins and the console evaluates.
 *
 * The state's allocator enforces a memory cap, and every call into plugin
 * code runs under an instruction budget and a deadline (lbudget.h), so a
 * runaway plugin fails its call and the node goes on; a plugin that
 * overruns its time is quarantined (unloaded until the next reload). Hooks from the core (messages,
 * peer choice, peers, state, /health) are dispatched into the manager.
 */
#ifndef HS_LHOST_H
#define HS_LHOST_H

#include <lua.h>

#include "hearsay.h"
#include "lloop.h"

typedef struct hs_host hs_host;

/* Defaults of the guard's options (plugins.lua's options: timeout,
 * console_timeout, max_share, share_window; see lbudget.h). */
#define HS_PLUGIN_TIMEOUT 0.05
#define HS_CONSOLE_TIMEOUT 2.0
#define HS_PLUGIN_MAX_SHARE 0.5
#define HS_PLUGIN_SHARE_WINDOW 2.0

/*
 * Creates the host for `node` with the options table at opts_idx of L
 * (copied into the new state; see lua/hearsay/plugins.lua for its keys),
 * and loads the plugins. Returns NULL with an error message pushed on L
 * when the state cannot be made or the plugins do not load.
 */
hs_host *hs_host_new(lua_State *L, int opts_idx, hs_node *node, hs_lloop *lp);

/*
 * The world a host runs in when it is not the real one: the simulator's
 * (bindings/lsim.c) virtual clock and timers, and a seed. With it the
 * host reads no clock and sets no libuv timer: node.now(), os.time,
 * os.clock and os.date read the virtual clocks, `every` runs on the
 * virtual timers, math.random is seeded with `seed`, persist() keeps
 * nothing on disk, and no console listens. Its calls keep the memory cap
 * and the instruction budget, but no deadline and no share of the loop's
 * time (plugin_timeout, plugin_max_share): those are real time, which a
 * run that must repeat itself cannot depend on.
 */
typedef struct hs_host_env {
    void *ud;
    double (*wall)(void *ud); /* epoch s */
    double (*mono)(void *ud); /* monotonic s */
    /* fire(arg) after delay s, then every repeat s (0: once); returns a
     * handle for timer_stop (called once for every handle), or NULL. */
    void *(*timer_start)(void *ud, double delay, double repeat, void (*fire)(void *arg), void *arg);
    void (*timer_stop)(void *ud, void *timer);
    uint64_t seed;
} hs_host_env;

/* hs_host_new in `env` (copied; NULL: the real world, lp then required;
 * with env, lp may be NULL). */
hs_host *hs_host_new_env(lua_State *L, int opts_idx, hs_node *node, hs_lloop *lp,
                         const hs_host_env *env);

/* The core hooks that hand the node's events to this host's plugins
 * (ud: the host), as a node with plugins and nothing else installs them. */
void hs_host_hooks(hs_host *h, hs_hooks *out);

/* Reloads the plugin set; pushes true, or nil and the error, on L. */
int hs_host_reload(hs_host *h, lua_State *L);

/* Calls a manager function by name with the top nargs values of L as
 * arguments (popped) and copies its results (plain data) onto L; returns
 * how many, or raises on L. */
int hs_host_query(hs_host *h, lua_State *L, const char *fn, int nargs);

hs_verdict hs_host_on_message(hs_host *h, const hs_message *m, json_t **payload_out);
/* The same for a message the node is about to originate: the handlers
 * registered with {own = true}. */
hs_verdict hs_host_on_own(hs_host *h, const hs_message *m, json_t **payload_out);
/* A query reached the node: the plugin's on.query(name) answers it (1,
 * with *answer a new reference) or not (0). */
int hs_host_on_query(hs_host *h, const char *name, const json_t *payload, const char *from,
                     json_t **answer);
/* Whether a policy is set and not quarantined: hs_host_select chooses. */
int hs_host_has_policy(hs_host *h);
int hs_host_select(hs_host *h, const hs_message *m, const hs_peer_info *cands, size_t n,
                   size_t want, size_t *out);
void hs_host_on_peer(hs_host *h, const hs_peer_info *peer, int up);
void hs_host_on_state(hs_host *h, const char *old_root, uint64_t old_version, const char *new_root,
                      uint64_t new_version, const char *from);
void hs_host_on_health(hs_host *h, json_t *health);

/* Starts the console server on a unix socket (mode 0600). Returns 0, or
 * -1 with a reason in err. */
int hs_host_console_listen(hs_host *h, const char *path, char *err, size_t errlen);

/* Runs the plugins' stop hooks, closes timers and the console, and frees
 * the host once its handles are closed. The node must not call it again. */
void hs_host_close(hs_host *h);

/* For the console (lconsole.c): the state and the manager call protocol. */
lua_State *hs_host_state(hs_host *h);
uv_loop_t *hs_host_loop(hs_host *h);
int hs_host_is_closing(hs_host *h);
/* Pushes manager[fn] under nargs arguments already pushed on the host
 * state and calls it; 0 on success (nres results left), else logs. */
int hs_host_call(hs_host *h, const char *fn, int nargs, int nres);
/* Runs body(ud) on the host state under lua_pcall with the memory cap
 * raised by HS_CONSOLE_RESERVE: the operator's way in when a plugin holds
 * the state at its cap. 0 on success (nres results left), else logs. */
#define HS_CONSOLE_RESERVE (1 << 20)
int hs_host_console_run(hs_host *h, lua_CFunction body, void *ud, int nres);
void hs_host_handle_opened(hs_host *h);
void hs_host_handle_closed(hs_host *h);

/* lconsole.c */
typedef struct hs_console hs_console;
int hs_console_listen(hs_host *h, const char *path, hs_console **out, char *err, size_t errlen);
void hs_console_close(hs_console *c);
/* The later answer of session id's line (see lconsole.c); -1 when that
 * session is gone or waits for nothing. */
int hs_console_reply(hs_console *con, int id, const char *out, size_t len, const char *prompt);
/* Session id streams the node's log lines up to `level` from now on (its
 * further input is not read); -1 when there is no such session. */
int hs_console_monitor(hs_console *con, int id, int level);
/* One log line (with its newline) for the monitoring sessions. */
void hs_console_tap(hs_console *con, int level, const char *line, size_t len);
/* The node logged a line: to the console's monitoring sessions. */
void hs_host_log_tap(hs_host *h, hs_log_level level, const char *msg);
/* Clients cut off for leaving too much of their output unread. */
unsigned long hs_console_cut_off(const hs_console *c);

#endif
