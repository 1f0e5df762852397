-- live_peers.lua -- real peers for memory.lua --part live: COUNT hearsay
-- nodes in this process, each knowing one peer, the measured node (in
-- memory.lua's own process, so that its RSS is its alone).
--
--   lua5.4 bench/lua/live_peers.lua --url URL --id ID --count N --list FILE --alive FILE
--          [--probe-interval S] [--seconds S]
--
-- Each node add_peers the measured node, so its first probe opens a
-- connection to it at once, and probes it every --probe-interval s (5:
-- the connection stays in use, well inside the server's 150 s idle
-- timeout, for a fifth of the probing a 1 s interval costs). Announces
-- and peer exchanges are off (gossip_interval and peer_exchange_interval
-- an hour, join_exchanges 0): the measured node's seen cache and view hold
-- nothing but these peers. Once every node listens, "id url" per node goes
-- to --list (written whole). Runs until --alive disappears, our parent
-- dies, or --seconds pass.
local hs = require "hearsay"
local B = require "benchlib"

local o = B.args(arg, { url = "", id = "", count = 50, list = "", alive = "", probe_interval = 5,
  seconds = 600 })
assert(o.url ~= "" and o.id ~= "" and o.list ~= "" and o.alive ~= "",
  "--url, --id, --list and --alive are required")

local loop = hs.loop()
local nodes, lines = {}, {}
for i = 1, o.count do
  local node = hs.node(loop, { host = "127.0.0.1", port = 0, log_level = "error",
    gossip_interval = 3600, peer_exchange_interval = 3600, join_exchanges = 0,
    probe_interval = o.probe_interval })
  assert(node:start())
  node:add_peer(o.id, o.url)
  nodes[i], lines[i] = node, node:id() .. " " .. node:url()
end
local f = assert(io.open(o.list .. ".tmp", "w"))
f:write(table.concat(lines, "\n"), "\n")
f:close()
assert(os.rename(o.list .. ".tmp", o.list))

local function ppid() return (B.read("/proc/self/stat") or ""):match("%) %S+ (%d+)") end
local parent = ppid()
loop:run_until(function() return not B.read(o.alive) or ppid() ~= parent end, o.seconds, 0.5)
for _, node in ipairs(nodes) do node:close() end
loop:run_for(0.05)
loop:close()
