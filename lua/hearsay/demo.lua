-- demo.lua -- `hearsay demo`: a cluster on loopback, one broadcast and one
-- state update traced through it, and every node's metrics.
local cluster = require "hearsay.cluster"
local config = require "hearsay.config"

local M = {}

local function short(id) return id:sub(1, 8) end

function M.run(opts)
  local cfg, err = config.load(opts.config)
  if not cfg then
    io.stderr:write("hearsay demo: ", err, "\n")
    return 2
  end
  local settings = cfg.node
  settings.node_id, settings.node_key = nil, nil -- (each node its own key pair)
  settings.gossip_interval = 0.5
  settings.peer_exchange_interval = 0.5
  settings.log_level = "error"
  local n = opts.nodes
  local started = os.clock()
  local c = cluster.new({ n = n, settings = settings })
  local loop = c.loop
  local plugin_opts = require("hearsay.cli").plugin_options(cfg)
  for _, node in ipairs(c.nodes) do node:plugins(plugin_opts) end
  print(("hearsay demo: %d nodes on 127.0.0.1 (config %s)"):format(n, cfg.path))
  local want = math.min(n - 1, 8)
  if not c:converge(opts.timeout, want) then
    print("the cluster did not form within " .. opts.timeout .. " s")
  end
  for i, node in ipairs(c.nodes) do
    print(("  node %-3d %s  %s  %d peers"):format(i, short(node:id()), node:url(), #node:peers()))
  end

  -- Trace a broadcast: when and after how many hops each node first sees it.
  local arrivals, t0, msg_id = {}, nil, nil
  for i, node in ipairs(c.nodes) do
    node:on("message", function(m)
      if m.id == msg_id and not arrivals[i] then
        arrivals[i] = { ms = (loop:now() - t0) * 1000, hops = m.hops, from = m.sender }
      end
    end)
  end
  t0 = loop:now()
  msg_id = c.nodes[1]:broadcast("demo", { text = "hello from node 1", sent_at = os.time() })
  arrivals[1] = { ms = 0, hops = 0, origin = true }
  local function count(t) local k = 0 for _ in pairs(t) do k = k + 1 end return k end
  loop:run_until(function() return count(arrivals) == n end, opts.timeout)
  print(("\nbroadcast 'demo' %s from node 1:"):format(short(msg_id)))
  local slowest = 0
  for i = 1, n do
    local a = arrivals[i]
    if not a then
      print(("  node %-3d MISSED"):format(i))
    elseif a.origin then
      print(("  node %-3d origin"):format(i))
    else
      slowest = math.max(slowest, a.ms)
      print(("  node %-3d received in %6.2f ms, %d hop%s"):format(i, a.ms, a.hops,
        a.hops == 1 and "" or "s"))
    end
  end
  local reached = count(arrivals)
  print(("reached %d/%d nodes in %.2f ms"):format(reached, n, slowest))

  -- A state update from node 1, adopted by every node: timed by the state
  -- hook on each node, not by polling.
  -- (Random, like a real root: a timestamp's hex began with 52 zeros.)
  local root = ("%016x%016x%016x%016x"):format(math.random(0), math.random(0), math.random(0),
    math.random(0))
  local adopted_at = {}
  for i, node in ipairs(c.nodes) do
    node:on("state", function(s) if s.root == root then adopted_at[i] = loop:now() end end)
  end
  local ts = loop:now()
  local version = c.nodes[1]:update_state(root)
  local adopted = loop:run_until(function() return count(adopted_at) == n end, opts.timeout)
  local last = ts
  for _, t in pairs(adopted_at) do last = math.max(last, t) end
  print(("\nstate update on node 1: root %s... version %d -> %s in %.2f ms"):format(
    root:sub(1, 12), version, adopted and "adopted by every node" or "NOT adopted everywhere",
    (last - ts) * 1000))

  loop:run_for(0.2) -- let the last forwards land before reading counters
  print("\nmetrics:")
  print(("  %-8s %6s %9s %10s %8s %7s %11s %7s"):format("node", "sent", "received",
    "duplicate", "dropped", "rounds", "discovered", "checks"))
  for i, node in ipairs(c.nodes) do
    local m = node:metrics()
    print(("  %-8s %6d %9d %10d %8d %7d %11d %7d"):format("node " .. i, m.messages_sent,
      m.messages_received, m.messages_duplicate, m.messages_dropped, m.gossip_rounds,
      m.peers_discovered, m.health_checks))
  end
  c:close()
  local _ = started
  if reached == n and adopted then
    print("\nthe message and the state reached every node")
    return 0
  end
  print("\nsome nodes were not reached")
  return 1
end

return M
