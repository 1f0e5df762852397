-- cli.lua -- the hearsay command line: run, demo, help. main(argv) returns
-- the process exit code.
local args = require "hearsay.args"

local M = {}

local USAGE = [[
usage: hearsay <command> [options]

commands:
  run      run a node from a config directory
  console  attach a Lua console to a running node
  repl     a Lua console on a local node (or cluster) started for it
  demo     start a local cluster on loopback and broadcast through it
  help     show this text, or `hearsay help <command>`

`hearsay <command> --help` describes each command.
]]

local HELP = {
  run = [[
usage: hearsay run [--config DIR]

Runs one node from DIR/node.lua (default: ./config). The node id is kept in
DIR/node_id (created on first run) unless node.lua sets node_id. The
plugins listed in node.lua are loaded into the node's own Lua state; they
are reloaded when a file in DIR or a plugin directory changes, on SIGHUP,
and by reload() in the console. The console listens on DIR/console.sock
(or console_socket). SIGINT or SIGTERM shut the node down cleanly.

options:
  --config DIR   the config directory (default ./config)
  --help         this text
]],
  console = [[
usage: hearsay console [--socket PATH]

Attaches to a running node's console (a unix socket, mode 0600) and gives
a Lua REPL inside that node: `=expr` or a bare expression prints its
value, an incomplete statement continues on the next line, errors print
and the session goes on. Helpers: peers() state() metrics() health()
broadcast(type, payload) update_state(root) reload() plugins()
plugin_state(name). Line editing and history (~/.hearsay_history) when
run in a terminal; end with Ctrl-D.

options:
  --socket PATH  the node's console socket (default ./config/console.sock)
  --help         this text
]],
  repl = [[
usage: hearsay repl [--nodes N] [--config DIR]

Starts N local nodes (default 1) on 127.0.0.1 with ephemeral ports, with
the settings and plugins of DIR/node.lua (default ./config), and opens the
console of node 1 (see `hearsay console --help`). Ctrl-D ends the session
and stops the nodes.

options:
  --nodes N      how many nodes, 1..50 (default 1)
  --config DIR   config directory (default ./config)
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

local function default_config_dir()
  if io.open("config/node.lua") then return "config" end
  local src = package.hearsay_lua_dir and package.hearsay_lua_dir:gsub("/lua$", "/config")
  return src or "config"
end

local function cmd_run(argv)
  local opts, pos = args.parse(argv, { config = "string", help = "boolean" })
  if not opts then return fail(pos) end
  if opts.help then io.write(HELP.run) return 0 end
  if #pos > 0 then return fail("run: unexpected argument '" .. pos[1] .. "'") end
  local config = require "hearsay.config"
  local hs = require "hearsay"
  local dir = opts.config or "config"
  local cfg, err = config.load(dir)
  if not cfg then return fail(err) end
  cfg.node.log_level = cfg.node.log_level or "info"
  local loop = hs.loop()
  local ok, node = pcall(hs.node, loop, cfg.node)
  if not ok then return fail(dir .. "/node.lua: " .. tostring(node)) end
  local started, why = node:start()
  if not started then return fail("cannot start: " .. why) end
  local pok, perr = pcall(node.plugins, node, M.plugin_options(cfg))
  if not pok then
    node:close()
    loop:run_for(0.05)
    return fail(tostring(perr))
  end
  local sock = cfg.console_socket or (dir .. "/console.sock")
  local cok, cerr = pcall(node.console, node, sock)
  if not cok then
    node:close()
    loop:run_for(0.05)
    return fail(tostring(cerr))
  end
  if cfg.id_file then
    local saved, serr = config.save_id(cfg.id_file, node:id())
    if not saved then io.stderr:write("hearsay: warning: cannot save node id: ", serr, "\n") end
  end
  local handles = M.watch_reload(loop, node, cfg)
  local function shutdown(signum)
    io.stderr:write(("hearsay: signal %d, shutting down\n"):format(signum))
    for _, h in ipairs(handles) do h:close() end
    node:close()
  end
  -- Handlers first: whoever reads the ready line may signal at once.
  handles[#handles + 1] = loop:signal("SIGINT", shutdown)
  handles[#handles + 1] = loop:signal("SIGTERM", shutdown)
  io.stdout:write(("hearsay node %s listening on %s\n"):format(node:id(), node:url()))
  io.stdout:flush()
  loop:run()
  loop:close()
  return 0
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
-- Returns the handles to close at shutdown.
function M.watch_reload(loop, node, cfg)
  local handles, pending = {}, nil
  local function reload(why)
    local ok, err = node:reload()
    if ok then
      io.stderr:write("hearsay: plugins reloaded (", why, ")\n")
    else
      io.stderr:write("hearsay: reload failed, keeping the running plugins: ", tostring(err), "\n")
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
  for _, d in ipairs(dirs) do
    local ok, h = pcall(loop.watch, loop, d, changed)
    if ok then handles[#handles + 1] = h end
  end
  handles[#handles + 1] = { close = function() if pending then pending:close() end end }
  return handles
end

local function cmd_console(argv)
  local opts, pos = args.parse(argv, { socket = "string", help = "boolean" })
  if not opts then return fail(pos) end
  if opts.help then io.write(HELP.console) return 0 end
  if #pos > 0 then return fail("console: unexpected argument '" .. pos[1] .. "'") end
  local code, err = require("hearsay").console_client(opts.socket or "config/console.sock")
  if err then return fail(err) end
  return code
end

local function cmd_repl(argv)
  local opts, pos = args.parse(argv, { nodes = "number", config = "string", help = "boolean" })
  if not opts then return fail(pos) end
  if opts.help then io.write(HELP.repl) return 0 end
  if #pos > 0 then return fail("repl: unexpected argument '" .. pos[1] .. "'") end
  local n = opts.nodes or 1
  if n ~= math.floor(n) or n < 1 or n > 50 then return fail("--nodes must be 1..50") end
  local config = require "hearsay.config"
  local cluster = require "hearsay.cluster"
  local dir = opts.config or default_config_dir()
  local cfg, err = config.load(dir)
  if not cfg then return fail(err) end
  cfg.node.log_level = "error"
  local ok, c = pcall(cluster.new, { n = math.tointeger(n), settings = cfg.node })
  if not ok then return fail(tostring(c)) end
  local sock = os.tmpname()
  os.remove(sock)
  for i, node in ipairs(c.nodes) do
    local pok, perr = pcall(node.plugins, node, M.plugin_options(cfg))
    if not pok then
      c:close()
      return fail(tostring(perr))
    end
    if i == 1 then node:console(sock) end
  end
  if n > 1 then c:converge(5) end
  for i, node in ipairs(c.nodes) do
    io.write(("node %d: %s at %s\n"):format(i, node:id(), node:url()))
  end
  local exit = nil
  c.loop:spawn("/proc/self/exe", { "console", "--socket", sock },
    function(status) exit = status end)
  c.loop:run_until(function() return exit ~= nil end, 1e9, 0.05)
  c:close()
  os.remove(sock)
  return 0
end

local function cmd_demo(argv)
  local opts, pos = args.parse(argv, {
    nodes = "number", config = "string", timeout = "number", help = "boolean",
  })
  if not opts then return fail(pos) end
  if opts.help then io.write(HELP.demo) return 0 end
  if #pos > 0 then return fail("demo: unexpected argument '" .. pos[1] .. "'") end
  local n = opts.nodes or 5
  if n ~= math.floor(n) or n < 2 or n > 200 then return fail("--nodes must be 2..200") end
  return require("hearsay.demo").run({
    nodes = math.tointeger(n), config = opts.config or default_config_dir(),
    timeout = opts.timeout or 15,
  })
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
  elseif cmd == "repl" then
    return cmd_repl(rest)
  elseif cmd == "busted" then
    return cmd_busted(rest)
  end
  io.stderr:write("hearsay: unknown command '", cmd, "'\n", USAGE)
  return 2
end

return M
