-- cli.lua -- the hearsay command line: run, demo, help. main(argv) returns
-- the process exit code.
local args = require "hearsay.args"

local M = {}

local USAGE = [[
usage: hearsay <command> [options]

commands:
  run      run a node from a config directory
  demo     start a local cluster on loopback and broadcast through it
  help     show this text, or `hearsay help <command>`

`hearsay <command> --help` describes each command.
]]

local HELP = {
  run = [[
usage: hearsay run [--config DIR]

Runs one node from DIR/node.lua (default: ./config). The node id is kept in
DIR/node_id (created on first run) unless node.lua sets node_id.
SIGINT or SIGTERM shut the node down cleanly.

options:
  --config DIR   the config directory (default ./config)
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
  if cfg.id_file then
    local saved, serr = config.save_id(cfg.id_file, node:id())
    if not saved then io.stderr:write("hearsay: warning: cannot save node id: ", serr, "\n") end
  end
  local signals = {}
  local function shutdown(signum)
    io.stderr:write(("hearsay: signal %d, shutting down\n"):format(signum))
    for _, s in ipairs(signals) do s:close() end
    node:close()
  end
  -- Handlers first: whoever reads the ready line may signal at once.
  signals[1] = loop:signal("SIGINT", shutdown)
  signals[2] = loop:signal("SIGTERM", shutdown)
  io.stdout:write(("hearsay node %s listening on %s\n"):format(node:id(), node:url()))
  io.stdout:flush()
  loop:run()
  loop:close()
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
  elseif cmd == "busted" then
    return cmd_busted(rest)
  end
  io.stderr:write("hearsay: unknown command '", cmd, "'\n", USAGE)
  return 2
end

return M
