-- cli.lua -- the hearsay command line: run, demo, help. main(argv) returns
-- the process exit code.
local args = require "hearsay.args"

-- A line about the running node on stderr, stamped as its log lines are
-- ("2026-12-05T06:48:01.123Z hearsay: ..."); with log_format = "json" (set
-- by `hearsay run`), a JSON object as the node's own lines are.
local say_json -- the node's id, when lines are JSON
local function say(...)
  local hs = require("hearsay")
  if say_json then
    local ok, line = pcall(hs.json_encode, { time = hs.stamp(), level = "info", node = say_json,
      message = table.concat({ ... }) }, true)
    if ok then
      io.stderr:write(line, "\n")
      return
    end
  end
  io.stderr:write(hs.stamp(), " hearsay: ", ...)
  io.stderr:write("\n")
end

local M = {}

local USAGE = [[
usage: hearsay <command> [options]

commands:
  run      run a node from a config directory
  console  attach a Lua console to a running node
  keys     list or change a running node's cluster keyring
  query    ask a running node's cluster a question and print the answers
  members  list a running node's cluster as it knows it
  info     what a running node says about itself
  event    broadcast a message from a running node
  join     make a running node join the cluster at a URL
  tags     show or change a running node's tags
  reachability  which members answer a running node, to find one-way links
  leave    make a running node leave its cluster gracefully, and stop
  monitor  stream a running node's log lines
  force-leave  force a failed member out of a running node's cluster
  keygen   print a fresh cluster key
  repl     a Lua console on a local node (or cluster) started for it
  demo     start a local cluster on loopback and broadcast through it
  lua      run a Lua script with the hearsay module
  sim      simulate a cluster of up to 1,000,000 nodes in virtual time
  help     show this text, or `hearsay help <command>`

`hearsay <command> --help` describes each command.
]]

local HELP = {
  sim = [[
usage: hearsay sim [options] [SCENARIO.lua]

Runs the real protocol code (membership, gossip, anti-entropy: the same C
as `hearsay run`) in whole nodes on a virtual network, in virtual time, in
this one process: a seeded generator makes every choice, so the same seed
and build give the same run, event for event (its trace hash is printed).
The nodes form for --form seconds (each joins through node 1), then the
scenario runs; --settle seconds after its last action the report is
printed: per broadcast the share of live nodes reached at 50/90/99/100%,
hops and copies per node; per crash how long the nodes that held the node
alive took to declare it dead; false deaths; traffic; events per CPU
second. The invariants checked: every live node got every broadcast, and
no live node is cut out at the end (held dead by some live node and
alive by none). A violation sets
the exit status 1, and the replay line is the command that repeats it.

Without a scenario: --broadcasts broadcasts from random live nodes,
--every seconds apart (after --crash random nodes crashed at once, if
asked, and 10 s for detection). A scenario is a Lua file:

  config { nodes = 1000, latency = 0.02, jitter = 0.01, loss = 0.01,
           settings = { fanout = 4 } }        -- node settings, node.lua's names
  at(0, function() broadcast(1, "chat", { text = "hi" }) end)
  at(5, function() crash(7); partition(0.5) end)   -- or partition({..}, {..})
  at(65, function() heal(); loss(0) end)
  at(70, function() broadcast(random(1000), "chat", { n = 2 }) end)

at(t, fn) runs fn t virtual seconds after forming. config{} may set
nodes, seed, latency, jitter, model, loss, form, settle, settings, matrix,
plugins and cpu; options given on the command line win. Inside at() functions:
crash(i), crashed(i), restart(i), pause(i, s), partition(...), heal(),
loss(p), broadcast(i, type, payload) -> id, live() -> the node numbers
not crashed, region(i), random(n) (seeded by the seed), now(),
print(...). Nodes are numbered from 1.

options:
  --nodes N        nodes (100)
  --seed S         the seed (1)
  --latency S      one way, seconds (0.02)
  --jitter S       uniform: up to this much more; lognormal: the log's sigma (0.01)
  --model M        uniform | lognormal (uniform)
  --matrix M       regions: one-way seconds between them, rows by ';' and
                   columns by ',' ("0.001,0.08;0.08,0.001": two regions,
                   1 ms within, 80 ms between); node i is in region
                   (i - 1) % rows + 1; in place of --latency (config{}:
                   matrix = {{0.001, 0.08}, {0.08, 0.001}})
  --cpu LIST       what work costs, for a network of few machines (the
                   loopback benchmark's processes): "per_host=15,cores=2,
                   serve=2e-5,answer=5e-6,round=5e-6,send=1e-5": nodes
                   1..15 share one host (one thing at a time), the next 15
                   the next, all hosts share 2 cores (0 or none: a core
                   each); seconds of CPU to serve a request (and answer
                   it), take an answer or timeout, run a round, and for
                   each request made, and gossip= more for a POST /gossip
                   served (a signature's check); what a node sends leaves
                   once that work is done
                   (config{}: cpu = {per_host = 15, ...}). Without it work
                   takes no time
  --loss P         chance each request or answer is lost (0)
  --form S         virtual seconds to form before the scenario (30)
  --broadcasts K   without a scenario: broadcasts (5)
  --every S        ...this far apart (2)
  --crash K        ...after K random nodes crash at once (0)
  --settle S       virtual seconds after the last action (15)
  --plugins DIR    every node loads the plugins of config directory DIR as
                   `hearsay run --config DIR` would (node.lua's plugins,
                   plugin_path and policy; not its node settings), in the
                   simulation's virtual time, math.random seeded by the
                   seed; with --matrix each node has the tag region = its
                   region (config{}: plugins = "DIR")
  --set NAME=VALUE a node setting for every node (again for more)
  --json FILE      the report as JSON as well (- for stdout, then no text)
  --log LEVEL      the nodes' logs on stderr: error, warn, info, debug
]],
  lua = [[
usage: hearsay lua FILE [ARG]...

Runs the Lua script FILE (- for stdin) with this hearsay's Lua 5.4, the
hearsay module as require("hearsay") and its Lua library on the path, so
a script starts nodes, loops and clusters as the README's examples do:

  local hs = require "hearsay"
  local loop = hs.loop()
  local a, b = hs.node(loop, { port = 0 }), hs.node(loop, { port = 0 })
  a:start(); b:start(); b:add_peer(a:id(), a:url())

The global `arg` holds FILE as arg[0] and the ARGs; what the script
returns, if an integer, is the exit status. An error prints with its
file and line, and the status is 1.
]],
  run = [[
usage: hearsay run [--config DIR]

Runs one node from DIR/node.lua (default: ./config). The node id is kept in
DIR/node_id (created on first run) unless node.lua sets node_id. The
plugins listed in node.lua are loaded into the node's own Lua state; they
are reloaded when a file in DIR or a plugin directory changes, on SIGHUP,
and by reload() in the console. The console listens on DIR/console.sock
(or console_socket, relative to DIR). SIGINT or SIGTERM shut the node down cleanly.
The cluster keyring is kept in DIR/keyring (or keyring_file), seeded from
node.lua's cluster_keys when it does not exist (see `hearsay keys --help`).

options:
  --config DIR   the config directory (default ./config)
  --help         this text
]],
  console = [[
usage: hearsay console [--socket PATH] [-e LINE]... [--raw]

Attaches to a running node's console (a unix socket, mode 0600) and gives
a Lua REPL inside that node: `=expr` or a bare expression prints its
value, an incomplete statement continues on the next line, errors print
and the session goes on. Helpers: peers() state() metrics() health()
broadcast(type, payload) update_state(root) reload() plugins()
plugin_state(name) block(id) help(); print() prints in the session.
Line editing and history (~/.hearsay_history) when run in a terminal; end
with Ctrl-D.

options:
  --socket PATH  the node's console socket (default ./config/console.sock)
  -e, --eval LINE  run LINE (again for more lines, one session), print
                 what it printed, and exit
  --raw          with -e: values raw, strings unquoted and tables as JSON
                 (`hearsay console -e 'state()' --raw | jq .root`); in a
                 session, `\raw on` does the same
  --help         this text
]],
  keys = [[
usage: hearsay keys list|install KEY|use KEY|remove KEY [--socket PATH]

Lists or changes the cluster keyring of a running node, through its
console socket. The first key is the primary: it signs every request the
node sends; every key in the ring verifies what it receives.

  list          the keys, primary first: id, key, "primary"
  install KEY   add KEY (from `hearsay keygen`) to the ring
  use KEY       make KEY, already installed, the primary
  remove KEY    take KEY out of the ring (never the primary)

KEY "-" reads the key from stdin: a command line is visible to every
user of the machine (ps).

The node saves each change to its keyring file (keyring_file in
node.lua, default DIR/keyring; written atomically, mode 0600) before it
makes it, and reads that file at start. To rotate a cluster's key:
install the new key on every node, then use it on every node, then remove
the old one from every node (README, Security: Cluster keys).

options:
  --socket PATH  the node's console socket (default ./config/console.sock)
  --help         this text
]],
  query = [[
usage: hearsay query NAME [PAYLOAD] [--tag K=V]... [--node ID]... [--want N]
                    [--timeout S] [--socket PATH]

Asks the cluster of a running node (through its console socket) the query
NAME with PAYLOAD (JSON; none by default) and prints the result as JSON:
{id, name, answers = {node: answer}, errors, answered, acks, expected,
duplicates, timed_out, elapsed}. Every node that gets the query responds;
those whose plugins have on.query(NAME) answer. It returns as soon as every
node expected has responded, or N answers came (--want), or at the timeout.

options:
  --tag K=V      only nodes with this tag answer (repeatable: all must hold)
  --node ID      only these nodes answer (repeatable); then exactly they are
                 waited for
  --want N       return once N answers came
  --timeout S    give up after S seconds (default: the node's query_timeout,
                 5; at most 50)
  --socket PATH  the node's console socket (default ./config/console.sock)
  --help         this text
]],
  members = [[
usage: hearsay members [--status S] [--tag K=V]... [--detailed] [--format json]
                      [--socket PATH]

Lists the members a running node knows (itself first): id, URL, state
(alive, unhealthy, suspect, dead) and tags; --detailed adds latency, score
and failures; --format json prints the list as JSON.

options:
  --status S     only members in this state
  --tag K=V      only members with this tag (repeatable: all must hold)
  --detailed     more columns, and whole ids
  --format F     text (default) or json
  --socket PATH  the node's console socket (default ./config/console.sock)
]],
  info = [[
usage: hearsay info [--format json] [--socket PATH]

What a running node says about itself: id, URL, version, uptime,
incarnation, tags, peers by state, state root and version.
]],
  event = [[
usage: hearsay event NAME [PAYLOAD] [--socket PATH]

Broadcasts a message of type NAME with PAYLOAD (JSON; {} by default) from a
running node, as node:broadcast does (handlers of its own broadcasts may
refuse it), and prints its id.
]],
  join = [[
usage: hearsay join URL... [--socket PATH]

Makes a running node join the cluster of the node(s) at URL, as bootstrap
entries do: each URL's /health names it, it becomes a peer, peer exchanges
follow.
]],
  tags = [[
usage: hearsay tags [--set K=V]... [--delete K]... [--socket PATH]

Shows a running node's tags, after setting and deleting those given. The
new tags are gossiped (signed) to every node at once; node.lua's `tags`
sets them again at the next start.
]],
  reachability = [[
usage: hearsay reachability [--timeout S] [--format json] [--socket PATH]

Asks every node to respond to a running node (an empty query,
"hs.reachability"), and lists the members that node knows, each with
whether it responded: a member the node sees alive that does not respond
has a link that works one way only (or does not vouch for this node: in
an open cluster only a node's own peers respond; in a keyed cluster every
node does). Also counts responses from nodes it does not know.

options:
  --timeout S    how long to wait for responses (default 3, at most 50)
  --format F     text (default) or json
  --socket PATH  the node's console socket (default ./config/console.sock)
]],
  leave = [[
usage: hearsay leave [--socket PATH]

Makes a running node leave its cluster gracefully: it gossips a signed
hs.leave, so every node forgets it at once (counted in peers_left) instead
of suspecting it, failing it and probing it for forget_after; then the
node stops (about a second later) and `hearsay run` exits 0.
]],
  monitor = [[
usage: hearsay monitor [--level L] [--socket PATH]

Streams a running node's log lines (those its log_level lets through, up
to L: error, warn, info (default) or debug) until interrupted or the node
stops. A monitor that does not keep up loses lines rather than slowing
the node.
]],
  ["force-leave"] = [[
usage: hearsay force-leave ID [--socket PATH]

Forces a failed member out of the cluster: the running node forgets it,
and every node that also holds it dead does the same (a live member
cannot be forced out). It comes back only by its own signed announce, or
an operator's add_peer or join.
]],
  keygen = [[
usage: hearsay keygen

Prints a fresh cluster key: the base64 of 32 random bytes, for
cluster_keys in node.lua or `hearsay keys install`.
]],
  repl = [[
usage: hearsay repl [--nodes N] [--config DIR] [--log-level LEVEL]

Starts N local nodes (default 1) on 127.0.0.1 with ephemeral ports, with
the settings and plugins of DIR/node.lua (default ./config), saying how far
the cluster has formed, and opens the console of node 1 (see `hearsay
console --help`). Besides Lua, the session takes two lines of its own:
`\node K` moves to node K's console, `\wait S` waits S seconds (the
nodes run on: between a broadcast and a look, in a piped script). Ctrl-D
ends the session and stops the nodes.

options:
  --nodes N      how many nodes, 1..50 (default 1)
  --config DIR   config directory (default ./config)
  --log-level L  the nodes' log on stderr: error (default), warn, info, debug
  --help         this text
]],
  demo = [[
usage: hearsay demo [--nodes N] [--config DIR] [--timeout S]

Starts N nodes (default 5) on 127.0.0.1 with ephemeral ports, all
bootstrapping from the first, using DIR/node.lua (default ./config) for
everything but addresses and the announce/exchange intervals (the demo uses
0.5 s so the cluster forms quickly). Once every node knows its peers it
broadcasts a message from node 1 and prints which nodes received it, after
how many ms and hops; then it sets a new state on node 1 and shows it reach
every node; then each node's metrics. Exits 0 when every node got both.

options:
  --nodes N      cluster size, 2..200 (default 5)
  --config DIR   config directory for the node settings (default ./config)
  --timeout S    give up on forming or spreading after S seconds (default 15)
  --help         this text
]],
}

local function fail(msg)
  io.stderr:write("hearsay: ", msg, "\n")
  return 2
end

-- A command's options: opts and its positional arguments; or nil and the
-- exit code when they did not parse or --help was asked for (HELP[name]
-- is written). With `none`, a positional argument is refused.
local function command_args(name, argv, spec, none)
  local opts, pos = args.parse(argv, spec)
  if not opts then return nil, fail(pos) end
  if opts.help then io.write(HELP[name]) return nil, 0 end
  if none and #pos > 0 then return nil, fail(name .. ": unexpected argument '" .. pos[1] .. "'") end
  return opts, pos
end

local function default_config_dir()
  if io.open("config/node.lua") then return "config" end
  local src = package.hearsay_lua_dir and package.hearsay_lua_dir:gsub("/lua$", "/config")
  return src or "config"
end

-- Whether a node id is a public key (64 hex digits): the ids nodes make.
local function hs_key_id(id)
  return #id == 64 and id:match("^%x+$") ~= nil
end

local function cmd_run(argv)
  local opts, pos = command_args("run", argv, { config = "string", help = "boolean" }, true)
  if not opts then return pos end
  local config = require "hearsay.config"
  local hs = require "hearsay"
  local dir = opts.config or "config"
  local cfg, err = config.load(dir)
  if not cfg then return fail(err) end
  cfg.node.log_level = cfg.node.log_level or "info"
  local loop = hs.loop()
  local keyring, kerr = M.keyring(cfg)
  if not keyring then return fail(kerr) end
  if cfg.node.security == "signed" and cfg.node.node_id and not hs_key_id(cfg.node.node_id) then
    return fail(("%s: security = \"signed\" needs the node's id to be its public key, and %s "
      .. "is not: remove node_id (and the node_id file) so the node is known by its key")
      :format(cfg.path, cfg.node.node_id))
  end
  local ok, node = pcall(hs.node, loop, cfg.node)
  if not ok then return fail(config.explain(cfg, node)) end
  node:keyring_file(keyring) -- every change is saved there first
  -- The key pair made on first run is kept (mode 0600) before the node
  -- says anything signed with it.
  if cfg.key_file then
    local saved, serr = hs.secret_write(cfg.key_file, node:secret_key() .. "\n")
    if not saved then
      node:close()
      return fail("cannot keep the node's key: " .. serr)
    end
  end

  if cfg.node.log_format == "json" then say_json = node:id() end
  -- The snapshot (README, Operations: Discovery and snapshots): restored before the start, so
  -- the node rejoins through the peers it knew and takes no message twice.
  local snap = cfg.snapshot_file or "snapshot.json"
  local snap_path = snap ~= "" and (snap:match("^/") and snap or dir .. "/" .. snap) or nil
  local snap_text = snap_path and config.read_file(snap_path)
  if snap_text then
    local rok, rwhy = node:restore(snap_text)
    if rok then
      say("restored ", snap_path)
    else
      say("warning: the snapshot ", snap_path, " is ignored: ", rwhy)
    end
  end
  local started, why = node:start()
  if not started then
    if why == hs.strerror(-4) then -- HS_EIO: the bind failed (its reason is logged above)
      why = ("cannot listen on %s:%d: is another node using that port?")
        :format(cfg.node.host or "127.0.0.1", cfg.node.port or 8080)
    end
    node:close()
    return fail("cannot start: " .. why)
  end
  local pok, perr = pcall(node.plugins, node, M.plugin_options(cfg))
  if not pok then
    node:close()
    loop:run_for(0.05)
    return fail(tostring(perr))
  end
  -- console_socket is relative to the config directory, as node_id_file.
  local sock = cfg.console_socket or "console.sock"
  if not sock:match("^/") then sock = dir .. "/" .. sock end
  local cok, cerr = pcall(node.console, node, sock)
  if not cok then
    node:close()
    loop:run_for(0.05)
    return fail(tostring(cerr))
  end
  if cfg.id_file then
    local saved, serr = config.save_id(cfg.id_file, node:id())
    if not saved then say("warning: cannot save node id: ", serr) end
  end
  local handles = M.watch_reload(loop, node, cfg)
  local snap_warned
  local function save_snapshot()
    if not snap_path then return end
    if node:is_leaving() then
      os.remove(snap_path) -- it left: a restart does not rejoin on its own
      return
    end
    -- Atomic, but not fsynced: an fsync here held the loop for 0.2-0.5 s
    -- (and a stop for seconds on a busy disk); a snapshot a power cut
    -- tears fails its checksum and is ignored.
    local sok, serr = hs.secret_write(snap_path, node:snapshot(), { fsync = false })
    if not sok and not snap_warned then
      snap_warned = true
      say("warning: cannot save the snapshot: ", tostring(serr))
    end
  end
  local function shutdown(signum)
    say(signum and ("signal %d, shutting down"):format(signum) or "left the cluster, shutting down")
    for _, h in ipairs(handles) do h:close() end
    save_snapshot()
    node:close()
  end
  if snap_path then
    local every = cfg.snapshot_interval or 30
    handles[#handles + 1] = loop:timer(every, every, save_snapshot)
  end
  -- Handlers first: whoever reads the ready line may signal at once.
  handles[#handles + 1] = loop:signal("SIGINT", shutdown)
  handles[#handles + 1] = loop:signal("SIGTERM", shutdown)
  -- leave() (hearsay leave): the node stops once its hs.leave went out
  -- (a second: its pushes and the first lazy offers).
  local leave_seen
  handles[#handles + 1] = loop:timer(0.1, 0.1, function()
    if not leave_seen and node:is_leaving() then
      leave_seen = true
      handles[#handles + 1] = loop:timer(1, 0, function() shutdown() end)
    end
  end)
  io.stdout:write(("hearsay node %s listening on %s\n"):format(node:id(), node:url()))
  io.stdout:flush()
  loop:run()
  loop:close()
  return 0
end

-- The keyring of a loaded config: its file (keyring_file, relative to the
-- config directory) becomes cfg.node.cluster_keys when it exists;
-- otherwise node.lua's cluster_keys, if any, are written to it (they only
-- seed it). Returns the file's path, or nil, error.
function M.keyring(cfg)
  local config, hs = require "hearsay.config", require "hearsay"
  local file = cfg.keyring_file or "keyring"
  if not file:match("^/") then file = cfg.dir .. "/" .. file end
  local keys, err = config.read_keyring(file)
  if err then return nil, err end
  for i, k in ipairs(keys or {}) do
    local _, why = hs.key_id(k)
    if why then return nil, ("%s: key %d: %s"):format(file, i, why) end
  end
  if keys then
    cfg.node.cluster_keys = keys
  elseif cfg.node.cluster_keys and #cfg.node.cluster_keys > 0 then
    local ok, written, werr = pcall(hs.keyring_write, file, cfg.node.cluster_keys)
    if not ok or not written then return nil, cfg.path .. ": cluster_keys: " .. (werr or written) end
  end
  local sec = cfg.node.security
  if (sec == "cluster" or sec == "signed") and #(cfg.node.cluster_keys or {}) == 0 then
    return nil, ("%s: security = %q needs a cluster key: set cluster_keys (`hearsay keygen` "
      .. "makes one) or put a keyring file at %s"):format(cfg.path, sec, file)
  end
  return file
end

-- The options for node:plugins() from a loaded config.
function M.plugin_options(cfg)
  local lua_dir = package.hearsay_lua_dir or "lua"
  return {
    dir = cfg.dir, builtin_dir = lua_dir:gsub("/lua$", "") .. "/plugins",
    memory_limit = cfg.plugin_memory, instruction_limit = cfg.plugin_instructions,
    timeout = cfg.plugin_timeout, max_share = cfg.plugin_max_share,
    share_window = cfg.plugin_share_window,
  }
end

-- Reloads the node's plugins on SIGHUP and when the config directory or a
-- plugin directory changes (debounced: an editor writes a file in bursts).
-- A plugin directory that does not exist yet (plugins/ before the first
-- plugin, a plugin_path entry) is looked for every WATCH_RETRY seconds and
-- watched once it appears, with a reload then (it may hold plugins
-- already). Returns the handles to close at shutdown.
local WATCH_RETRY = 1

function M.watch_reload(loop, node, cfg)
  local handles, pending, missing, retry = {}, nil, {}, nil
  local function reload(why)
    local ok, err = node:reload()
    if ok then
      say("plugins reloaded (", why, ")")
    else
      -- Its first line (file, line, what); the rest is the plugin host's.
      say("reload failed, keeping the running plugins: ", tostring(err):match("^[^\n]*"))
    end
  end
  -- Only Lua files matter (node.lua and plugins): logs, sockets and editor
  -- droppings in the directory change nothing.
  local function changed(file)
    if file and not file:match("^[^.].*%.lua$") then return end
    if pending then pending:close() end
    pending = loop:timer(0.1, 0, function()
      pending:close()
      pending = nil
      reload("file change")
    end)
  end
  handles[#handles + 1] = loop:signal("SIGHUP", function() reload("SIGHUP") end)
  local dirs = { cfg.dir, cfg.dir .. "/plugins" }
  for _, d in ipairs(cfg.plugin_path or {}) do
    dirs[#dirs + 1] = d:match("^/") and d or (cfg.dir .. "/" .. d)
  end
  local function watch(d)
    local ok, h = pcall(loop.watch, loop, d, changed)
    if ok then handles[#handles + 1] = h end
    return ok
  end
  for i, d in ipairs(dirs) do
    if not watch(d) then
      missing[#missing + 1] = d
      if i > 2 then
        say("plugin_path entry ", d, " does not exist (yet): ",
          "watched for, and searched when it appears")
      end
    end
  end
  if #missing > 0 then
    retry = loop:timer(WATCH_RETRY, WATCH_RETRY, function()
      for i = #missing, 1, -1 do
        if watch(missing[i]) then
          say("watching ", missing[i], " (it appeared)")
          table.remove(missing, i)
          changed(nil)
        end
      end
      if #missing == 0 then retry:close(); retry = nil end
    end)
  end
  handles[#handles + 1] = { close = function()
    if pending then pending:close() end
    if retry then retry:close(); retry = nil end
  end }
  return handles
end

local function cmd_console(argv)
  local opts, pos = command_args("console", argv,
    { socket = "list", help = "boolean", eval = "list", raw = "boolean" }, true)
  if not opts then return pos end
  -- Several --socket: one node each (hearsay repl); \node K moves among them.
  local socket = opts.socket and (#opts.socket == 1 and opts.socket[1] or opts.socket)
    or "config/console.sock"
  if opts.eval then
    if type(socket) == "table" then return fail("console: -e takes one --socket") end
    -- One session, each line's output as it comes, nothing else.
    local lines = {}
    if opts.raw then lines[1] = "\\raw on" end
    for _, l in ipairs(opts.eval) do lines[#lines + 1] = l end
    local out, err = require("hearsay").console_request(socket, lines)
    if not out then return fail(err) end
    io.write(out)
    return 0
  end
  if opts.raw then return fail("console: --raw goes with -e (in a session, type \\raw on)") end
  local code, err = require("hearsay").console_client(socket)
  if err then return fail(err) end
  return code
end

-- The line `hearsay keys` sends to the console: an expression whose value
-- (a string the console prints quoted) is "ok\n" or "error\n", then the
-- keys or the reason.
local function keys_line(op, key)
  local body
  if op == "list" then
    body = "local t = {} for _, k in ipairs(keys.list()) do "
      .. "t[#t + 1] = k.id .. '  ' .. k.key .. (k.primary and '  primary' or '') .. '\\n' end "
      .. "return table.concat(t)"
  else
    body = ("keys.%s(%q) return ''"):format(op, key)
  end
  return ("=(function() local ok, r = pcall(function() %s end) "
    .. "return (ok and 'ok\\n' or 'error\\n') .. tostring(r) end)()"):format(body)
end

local function cmd_keys(argv)
  local opts, pos = command_args("keys", argv, { socket = "string", help = "boolean" })
  if not opts then return pos end
  local op, key = pos[1], pos[2]
  local want = ({ list = 1, install = 2, use = 2, remove = 2 })[op]
  if not want or #pos ~= want then
    return fail("keys: expected list, install KEY, use KEY or remove KEY (see hearsay keys --help)")
  end
  -- "-": the key from stdin (a command line shows in `ps` to every user).
  if key == "-" then key = (io.read("l") or ""):match("^%s*(.-)%s*$") end
  -- (checked here: the key goes into a line of Lua)
  if key and not require("hearsay.config").is_key(key) then
    return fail("keys: '" .. key .. "' is not a cluster key (base64 of 32 bytes: hearsay keygen)")
  end
  local out, err = require("hearsay").console_request(opts.socket or "config/console.sock",
    keys_line(op, key))
  if not out then return fail(err) end
  -- The answer is one quoted string: read it as the literal it is.
  local chunk = load("return " .. out, "=answer", "t", {})
  local ok, text = pcall(chunk or error)
  if not ok or type(text) ~= "string" then
    return fail("keys: unexpected answer from the node: " .. out)
  end
  local status, rest = text:match("^(%a+)\n(.*)$")
  if status == "ok" then
    io.write(op == "list" and rest or (op .. ": done\n"))
    return 0
  end
  io.stderr:write("hearsay: ", rest or text, "\n")
  return 1
end

-- The console line `hearsay query` sends: one query() with its options.
local function query_line(name, payload, opts)
  local o = {}
  if opts.timeout then o[#o + 1] = ("timeout = %.17g"):format(opts.timeout) end
  if opts.want then o[#o + 1] = ("want = %d"):format(opts.want) end
  if opts.tag then
    local t = {}
    for _, kv in ipairs(opts.tag) do
      local k, v = kv:match("^([^=]+)=(.*)$")
      if not k then return nil, "query: --tag takes K=V, got '" .. kv .. "'" end
      t[#t + 1] = ("[%q] = %q"):format(k, v)
    end
    o[#o + 1] = "tags = {" .. table.concat(t, ", ") .. "}"
  end
  if opts.node then
    local t = {}
    for _, id in ipairs(opts.node) do t[#t + 1] = ("%q"):format(id) end
    o[#o + 1] = "nodes = {" .. table.concat(t, ", ") .. "}"
  end
  return ("query(%q, %s, {%s})"):format(name,
    payload and ("json.decode(%q)"):format(payload) or "nil", table.concat(o, ", "))
end

local function cmd_query(argv)
  local opts, pos = command_args("query", argv, { socket = "string", help = "boolean", tag = "list",
    node = "list", want = "number", timeout = "number" })
  if not opts then return pos end
  local name, payload = pos[1], pos[2]
  if not name or #pos > 2 then
    return fail("query: expected NAME [PAYLOAD] (see hearsay query --help)")
  end
  if payload and require("hearsay").json_decode(payload) == nil then
    return fail("query: PAYLOAD must be JSON, got '" .. payload .. "'")
  end
  if opts.timeout and not (opts.timeout > 0 and opts.timeout <= 50) then
    return fail("query: --timeout is 0 to 50 seconds")
  end
  if opts.want and (opts.want < 0 or opts.want ~= math.floor(opts.want)) then
    return fail("query: --want is a count")
  end
  local line, lerr = query_line(name, payload, opts)
  if not line then return fail(lerr) end
  local out, err = require("hearsay").console_request(opts.socket or "config/console.sock",
    { "\\raw on", line })
  if not out then return fail(err) end
  -- A result is JSON; anything else is the console's error.
  local ok, r = pcall(require("hearsay").json_decode, out)
  if not ok or type(r) ~= "table" then
    io.stderr:write("hearsay: ", out, out:sub(-1) == "\n" and "" or "\n")
    return 1
  end
  io.write(out)
  return 0
end

-- The value of a Lua expression in a running node's console, through
-- JSON: the value, or nil and the console's error.
local function console_value(socket, expr)
  local hs = require("hearsay")
  local out, err = hs.console_request(socket or "config/console.sock",
    { "\\raw on", "=json.encode(" .. expr .. ")" })
  if not out then return nil, err end
  local v = hs.json_decode(out)
  if v == nil then return nil, (out:gsub("%s+$", "")) end
  return v
end

-- K=V options into a Lua table constructor's text (for a console line).
local function pairs_text(list, what)
  local t = {}
  for _, kv in ipairs(list or {}) do
    local k, v = kv:match("^([^=]+)=(.*)$")
    if not k then return nil, what .. " takes K=V, got '" .. kv .. "'" end
    t[#t + 1] = ("[%q] = %q"):format(k, v)
  end
  return "{" .. table.concat(t, ", ") .. "}"
end

local function tags_text(tags)
  local t = {}
  for k, v in pairs(tags or {}) do t[#t + 1] = k .. "=" .. tostring(v) end
  table.sort(t)
  return table.concat(t, ",")
end

local function cmd_members(argv)
  local opts, pos = command_args("members", argv,
    { socket = "string", help = "boolean", status = "string", tag = "list", detailed = "boolean",
      format = "string" }, true)
  if not opts then return pos end
  if opts.format and opts.format ~= "json" and opts.format ~= "text" then
    return fail("members: --format is text or json")
  end
  local tags, terr = pairs_text(opts.tag, "--tag")
  if not tags then return fail("members: " .. terr) end
  local list, err = console_value(opts.socket, ("members({status = %s, tags = %s})"):format(
    opts.status and ("%q"):format(opts.status) or "nil", tags))
  if not list then io.stderr:write("hearsay: ", err, "\n") return 1 end
  if opts.format == "json" then
    io.write(require("hearsay").json_encode(list), "\n")
    return 0
  end
  for _, m in ipairs(list) do
    local id = opts.detailed and m.id or m.id:sub(1, 16)
    local line = ("%-" .. (opts.detailed and 66 or 18) .. "s %-28s %-10s %s"):format(id, m.url or "-",
      m.self and "alive*" or m.state, tags_text(m.tags))
    if opts.detailed and not m.self then
      line = line .. ("  latency %s ms  score %.1f%s  failures %d"):format(
        m.latency_ms and ("%.1f"):format(m.latency_ms) or "-", m.score or 0,
        m.graylisted and " (graylisted)" or "", m.failures or 0)
    end
    io.write(line, "\n")
  end
  return 0
end

local function cmd_info(argv)
  local opts, pos = command_args("info", argv,
    { socket = "string", help = "boolean", format = "string" }, true)
  if not opts then return pos end
  local info, err = console_value(opts.socket, "info()")
  if not info then io.stderr:write("hearsay: ", err, "\n") return 1 end
  if opts.format == "json" then
    io.write(require("hearsay").json_encode(info), "\n")
    return 0
  end
  local keys = {}
  for k in pairs(info) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local v = info[k]
    if type(v) == "table" then
      local parts = {}
      for kk, vv in pairs(v) do parts[#parts + 1] = kk .. "=" .. tostring(vv) end
      table.sort(parts)
      v = table.concat(parts, " ")
    end
    io.write(("%-13s %s\n"):format(k .. ":", tostring(v)))
  end
  return 0
end

local function cmd_event(argv)
  local opts, pos = command_args("event", argv, { socket = "string", help = "boolean" })
  if not opts then return pos end
  local name, payload = pos[1], pos[2]
  if not name or #pos > 2 then return fail("event: expected NAME [PAYLOAD]") end
  if payload and require("hearsay").json_decode(payload) == nil then
    return fail("event: PAYLOAD must be JSON, got '" .. payload .. "'")
  end
  local id, err = console_value(opts.socket, ("event(%q, %s)"):format(name,
    payload and ("json.decode(%q)"):format(payload) or "{}"))
  if not id then io.stderr:write("hearsay: ", err, "\n") return 1 end
  io.write(id, "\n")
  return 0
end

local function cmd_join(argv)
  local opts, pos = command_args("join", argv, { socket = "string", help = "boolean" })
  if not opts then return pos end
  if #pos == 0 then return fail("join: expected URL...") end
  local urls = {}
  for i, u in ipairs(pos) do urls[i] = ("%q"):format(u) end
  local n, err = console_value(opts.socket, "join(" .. table.concat(urls, ", ") .. ")")
  if not n then io.stderr:write("hearsay: ", err, "\n") return 1 end
  io.write(("joining through %d node%s\n"):format(n, n == 1 and "" or "s"))
  return 0
end

local function cmd_tags(argv)
  local opts, pos = command_args("tags", argv, { socket = "string", help = "boolean", set = "list",
    delete = "list" }, true)
  if not opts then return pos end
  local set, serr = pairs_text(opts.set, "--set")
  if not set then return fail("tags: " .. serr) end
  local del = {}
  for _, k in ipairs(opts.delete or {}) do del[#del + 1] = ("t[%q] = nil"):format(k) end
  local expr = "tags()"
  if opts.set or opts.delete then
    expr = ("(function() local t = tags() for k, v in pairs(%s) do t[k] = v end %s "
      .. "set_tags(t) return tags() end)()"):format(set, table.concat(del, " "))
  end
  local tags, err = console_value(opts.socket, expr)
  if not tags then io.stderr:write("hearsay: ", err, "\n") return 1 end
  local lines = {}
  for k, v in pairs(tags) do lines[#lines + 1] = k .. "=" .. tostring(v) end
  table.sort(lines)
  if #lines > 0 then io.write(table.concat(lines, "\n"), "\n") end
  return 0
end

local function cmd_reachability(argv)
  local opts, pos = command_args("reachability", argv,
    { socket = "string", help = "boolean", timeout = "number", format = "string" }, true)
  if not opts then return pos end
  local timeout = opts.timeout or 3
  if not (timeout > 0 and timeout <= 50) then return fail("reachability: --timeout is 0 to 50") end
  local hs = require("hearsay")
  local members, err = console_value(opts.socket, "members()")
  if not members then io.stderr:write("hearsay: ", err, "\n") return 1 end
  local out, qerr = hs.console_request(opts.socket or "config/console.sock",
    { "\\raw on", ("query(\"hs.reachability\", nil, {timeout = %.17g})"):format(timeout) })
  local r = out and hs.json_decode(out)
  if type(r) ~= "table" then io.stderr:write("hearsay: ", qerr or out, "\n") return 1 end
  local responded, known, report, missing = {}, {}, {}, 0
  for _, id in ipairs(r.responded or {}) do responded[id] = true end
  for _, m in ipairs(members) do
    known[m.id] = true
    local ok = responded[m.id] == true
    if not ok and m.state ~= "dead" and m.state ~= "left" then missing = missing + 1 end
    report[#report + 1] = { id = m.id, url = m.url, state = m.self and "self" or m.state,
      responded = ok }
  end
  local strangers = 0
  for id in pairs(responded) do if not known[id] then strangers = strangers + 1 end end
  if opts.format == "json" then
    io.write(hs.json_encode({ members = report, unknown_responders = strangers,
      missing = missing, elapsed = r.elapsed }), "\n")
    return 0
  end
  for _, m in ipairs(report) do
    io.write(("%-18s %-28s %-10s %s\n"):format(m.id:sub(1, 16), m.url or "-", m.state,
      m.responded and "responded" or "NO RESPONSE"))
  end
  io.write(("%d member(s) not dead did not respond; %d response(s) from nodes this node does "
    .. "not know; waited %.2f s\n"):format(missing, strangers, r.elapsed or 0))
  return 0
end

local function cmd_leave(argv, force)
  local opts, pos = args.parse(argv, { socket = "string", help = "boolean" })
  if not opts then return fail(pos) end
  if opts.help then io.write(HELP[force and "force-leave" or "leave"]) return 0 end
  if force and #pos ~= 1 then return fail("force-leave: expected ID") end
  if not force and #pos > 0 then return fail("leave: unexpected argument '" .. pos[1] .. "'") end
  local ok, err = console_value(opts.socket, force and ("force_leave(%q)"):format(pos[1])
    or "leave()")
  if not ok then io.stderr:write("hearsay: ", err, "\n") return 1 end
  io.write(force and ("forced %s out\n"):format(pos[1]) or "leaving; the node stops in a second\n")
  return 0
end

local function cmd_monitor(argv)
  local opts, pos = command_args("monitor", argv,
    { socket = "string", help = "boolean", level = "string" }, true)
  if not opts then return pos end
  local level = opts.level or "info"
  if not ({ error = 1, warn = 1, info = 1, debug = 1 })[level] then
    return fail("monitor: --level is error, warn, info or debug")
  end
  io.stdout:setvbuf("line")
  local code, err = require("hearsay").console_monitor(opts.socket or "config/console.sock",
    ("monitor(%q)"):format(level))
  if not code then return fail(err) end
  return code
end

local function cmd_keygen(argv)
  if argv[1] == "--help" or argv[1] == "-h" then io.write(HELP.keygen) return 0 end
  if #argv > 0 then return fail("keygen: unexpected argument '" .. argv[1] .. "'") end
  io.write(require("hearsay").keygen(), "\n")
  return 0
end

local function cmd_repl(argv)
  local opts, pos = command_args("repl", argv,
    { nodes = "number", config = "string", help = "boolean", log_level = "string" }, true)
  if not opts then return pos end
  local n = opts.nodes or 1
  if n ~= math.floor(n) or n < 1 or n > 50 then return fail("--nodes must be 1..50") end
  local config = require "hearsay.config"
  local cluster = require "hearsay.cluster"
  local dir = opts.config or default_config_dir()
  local cfg, err = config.load(dir)
  if not cfg then return fail(err) end
  cfg.node.log_level = opts.log_level or "error"
  io.stdout:setvbuf("line")
  io.write(("starting %d node%s...\n"):format(n, n == 1 and "" or "s"))
  local ok, c = pcall(cluster.new, { n = math.tointeger(n), settings = cfg.node })
  if not ok then return fail(tostring(c)) end
  local socks, argv2 = {}, { "console" }
  for i, node in ipairs(c.nodes) do
    local pok, perr = pcall(node.plugins, node, M.plugin_options(cfg))
    if not pok then
      c:close()
      return fail(tostring(perr))
    end
    socks[i] = os.tmpname()
    os.remove(socks[i])
    node:console(socks[i])
    argv2[#argv2 + 1] = "--socket"
    argv2[#argv2 + 1] = socks[i]
    io.write(("node %d: %s at %s\n"):format(i, node:id(), node:url()))
  end
  if n > 1 then
    -- How far it has formed, each second: nodes that know every other.
    local t0, last = c.loop:now(), -1
    local formed = c.loop:run_until(function()
      local full = 0
      for _, node in ipairs(c.nodes) do full = full + (#node:peers() >= n - 1 and 1 or 0) end
      local s = math.floor(c.loop:now() - t0)
      if s ~= last then
        last = s
        io.write(("forming: %d of %d nodes know every other (%d s)\n"):format(full, n, s))
      end
      return full == n
    end, 15, 0.05)
    io.write(formed and ("formed in %.1f s\n"):format(c.loop:now() - t0)
      or "not formed in 15 s: going on (peers() in the console shows who knows whom)\n")
  end
  local exit = nil
  c.loop:spawn("/proc/self/exe", argv2, function(status) exit = status end)
  c.loop:run_until(function() return exit ~= nil end, 1e9, 0.05)
  c:close()
  for _, s in ipairs(socks) do os.remove(s) end
  return 0
end

local function cmd_demo(argv)
  local opts, pos = command_args("demo", argv, {
    nodes = "number", config = "string", timeout = "number", help = "boolean",
  }, true)
  if not opts then return pos end
  local n = opts.nodes or 5
  if n ~= math.floor(n) or n < 2 or n > 200 then return fail("--nodes must be 2..200") end
  return require("hearsay.demo").run({
    nodes = math.tointeger(n), config = opts.config or default_config_dir(),
    timeout = opts.timeout or 15,
  })
end

local function cmd_lua(argv)
  if argv[1] == "--help" or argv[1] == "-h" then io.write(HELP.lua) return 0 end
  local file = argv[1]
  if not file then return fail("lua: which script? (hearsay lua FILE [ARG]...)") end
  local chunk, err = loadfile(file ~= "-" and file or nil, "t")
  if not chunk then return fail(err) end
  local a = { [0] = file }
  for i = 2, #argv do a[i - 1] = argv[i] end
  _G.arg = a
  local r = table.pack(xpcall(chunk, debug.traceback, table.unpack(a)))
  if not r[1] then
    io.stderr:write(tostring(r[2]), "\n")
    return 1
  end
  return math.type(r[2]) == "integer" and r[2] or 0
end

local function cmd_sim(argv)
  local opts, pos = args.parse(argv, {
    nodes = "number", seed = "number", latency = "number", jitter = "number", model = "string",
    loss = "number", form = "number", broadcasts = "number", every = "number", crash = "number",
    settle = "number", set = "list", json = "string", log = "string", help = "boolean",
    matrix = "string", plugins = "string", cpu = "string",
  })
  if not opts then return fail("sim: " .. pos) end
  if opts.help then io.write(HELP.sim) return 0 end
  if #pos > 1 then return fail("sim: one scenario file at most") end
  local run = { file = pos[1], settings = {}, set = opts.set, log = opts.log,
    plugins = opts.plugins }
  for _, k in ipairs({ "nodes", "seed", "latency", "jitter", "model", "loss", "form", "broadcasts",
                       "every", "crash", "settle" }) do
    run[k] = opts[k]
  end
  if opts.matrix then
    local m, e = require("hearsay.sim").parse_matrix(opts.matrix)
    if not m then return fail("sim: --" .. e) end
    run.matrix = m
  end
  if opts.cpu then
    local c, e = require("hearsay.sim").parse_cpu(opts.cpu)
    if not c then return fail("sim: --" .. e) end
    run.cpu = c
  end
  for _, k in ipairs({ "nodes", "seed", "broadcasts", "crash" }) do
    if run[k] and run[k] ~= math.floor(run[k]) then return fail("sim: --" .. k .. " takes a whole number") end
    run[k] = run[k] and math.tointeger(run[k])
  end
  for _, kv in ipairs(opts.set or {}) do
    local k, v = kv:match("^([%w_]+)=(.*)$")
    if not k then return fail("sim: --set takes NAME=VALUE, got '" .. kv .. "'") end
    local val = math.tointeger(tonumber(v)) or tonumber(v)
    if v == "true" then val = true elseif v == "false" then val = false elseif val == nil then val = v end
    run.settings[k] = val
  end
  local ok, report, err = pcall(require("hearsay.sim").run, run)
  if not ok then return fail("sim: " .. tostring(report)) end
  if not report then return fail("sim: " .. tostring(err)) end
  local text = require("hearsay.sim").format(report)
  if opts.json then
    local json = require("hearsay").json_encode(report, true)
    if opts.json == "-" then
      io.write(json, "\n")
    else
      local f, e = io.open(opts.json, "w")
      if not f then return fail("sim: " .. e) end
      f:write(json, "\n")
      f:close()
    end
  end
  if opts.json ~= "-" then io.write(text) end
  if #report.violations > 0 then
    io.stderr:write("hearsay sim: ", #report.violations, " invariant(s) violated; replay: ", report.replay, "\n")
    return 1
  end
  return 0
end

-- Internal: runs busted inside this binary, so specs use the same build.
local function cmd_busted(argv)
  local a = { [0] = "busted" }
  for i, v in ipairs(argv) do a[i] = v end
  _G.arg = a -- busted's runner reads its arguments from the global `arg`
  require "busted.runner" ({ standalone = false })
  return 0
end

function M.main(argv)
  local cmd = argv[1]
  local rest = { table.unpack(argv, 2) }
  if cmd == nil or cmd == "help" or cmd == "--help" or cmd == "-h" then
    if rest[1] and HELP[rest[1]] then io.write(HELP[rest[1]]) else io.write(USAGE) end
    return cmd == nil and 2 or 0
  elseif cmd == "--version" or cmd == "version" then
    io.write("hearsay ", require("hearsay").version, "\n")
    return 0
  elseif cmd == "run" then
    return cmd_run(rest)
  elseif cmd == "demo" then
    return cmd_demo(rest)
  elseif cmd == "console" then
    return cmd_console(rest)
  elseif cmd == "keys" then
    return cmd_keys(rest)
  elseif cmd == "query" then
    return cmd_query(rest)
  elseif cmd == "members" then
    return cmd_members(rest)
  elseif cmd == "info" then
    return cmd_info(rest)
  elseif cmd == "event" then
    return cmd_event(rest)
  elseif cmd == "join" then
    return cmd_join(rest)
  elseif cmd == "tags" then
    return cmd_tags(rest)
  elseif cmd == "reachability" then
    return cmd_reachability(rest)
  elseif cmd == "leave" then
    return cmd_leave(rest, false)
  elseif cmd == "monitor" then
    return cmd_monitor(rest)
  elseif cmd == "force-leave" then
    return cmd_leave(rest, true)
  elseif cmd == "keygen" then
    return cmd_keygen(rest)
  elseif cmd == "repl" then
    return cmd_repl(rest)
  elseif cmd == "busted" then
    return cmd_busted(rest)
  elseif cmd == "lua" then
    return cmd_lua(rest)
  elseif cmd == "sim" then
    return cmd_sim(rest)
  end
  io.stderr:write("hearsay: unknown command '", cmd, "'\n", USAGE)
  return 2
end

return M
