-- load.lua -- sustained broadcasts: an open-loop stepped load on a hearsay
-- cluster on loopback (issue 17).
--
--   lua5.4 bench/lua/load.lua --nodes 100 --rates 50,100,200,500 --seconds 20 --dir SCRATCH
--
-- The cluster is the dissemination benchmark's (shards.lua: --per-proc
-- nodes per process, node 1 in this one; the same warm-up and settings:
-- long gossip and health intervals, the rest at the core's defaults).
-- Each step offers --rates[i] broadcasts per second for --seconds, from
-- --origins K nodes spread evenly over the cluster (each K-th of the
-- rate), on a fixed schedule that does not wait for deliveries (open
-- loop: a sender that falls behind sends its backlog at once, and we
-- report how far behind it fell). Each payload carries --payload bytes of
-- text and the time it went out (the monotonic clock all processes share).
-- After the step, --drain more seconds for late deliveries; then, per
-- step:
--   offered_per_s     broadcasts sent / --seconds
--   delivered_pct     deliveries / (sent x (N - 1)): every node but the
--                     origin (a node's on("message") hook, first copy only)
--   complete_pct      broadcasts that reached all N - 1 other nodes
--   lat_p50/p99/p100  over all deliveries: arrival - sent, in ms
--   copies_per_node   envelopes received (new + duplicate) / deliveries
--   hops_p50/p99/max  the hops each first copy had come (how deep the tree
--                     runs under load)
--   repairs           envelopes moved by anti-entropy (ae_pushed + ae_fetched)
--   cpu_pct_max       the busiest process's CPU over the step and drain
--                     (100 = one core), and cpu_pct_per_node (all / N)
--   cpu_pct_sending   each process's CPU while the step sends, by shard
--                     (the first: this process, which holds node 1 and
--                     drives the load), and cpu_pct_max_sending, the
--                     busiest's (the table's "busy%"). Over step and drain a process
--                     pegged at 100% while sending reads 78% (20 s of 25):
--                     cpu_pct_max alone made a saturated process look idle
--   fds_max           most descriptors one process held
--   bytes_per_node_s  loopback bytes per node per second (in a private
--                     network namespace only: BENCH_NETNS=1)
-- --timeline: besides, the cluster's counters that say how the tree
-- fares (new and duplicate copies, lazy pushes, late pushes offered, stuck pushes,
-- grafts, prunes, anti-entropy rounds and repairs, probes gone wrong,
-- requests), summed over the nodes and logged every
-- second of each step: where a step gives way, what moved first.
-- --graph: besides, after each step (and its drain) the tree as the nodes
-- hold it: the eager links (a node pushes new messages to its eager
-- peers), how many of them go both ways (and of the others, how many
-- point at a node that does not hold the sender), how many nodes cannot be reached
-- from each origin along eager links alone (those get a message only by a
-- lazy offer or anti-entropy, hundreds of ms late), and how many nodes
-- believe nobody feeds them.
-- --pause S [--pause-at T]: T seconds (default 8) into each step, the
-- first worker process (half the nodes of a 100-node run) is stopped
-- (SIGSTOP) for S seconds and resumed, as a collector's pause or an
-- overcommitted host stops a process: whether the tree takes it and
-- settles again, or falls apart (bench/RESULTS.md, Load, "A half-second
-- pause").
-- Steps go on while delivered_pct stays at or above --stop-below; the
-- highest step at 100% delivery with p99 <= --p99-target and copies <=
-- --copies-target is the sustained rate (`sustained_per_s`).
local B = require "benchlib"
local Shards = require "shards"

local o = B.args(arg, {
  nodes = 100, rates = "50,100,200", seconds = 20, drain = 5, payload = 400, origins = 10,
  max_peers = 50, gossip_interval = 600, health_interval = 600, peer_exchange_interval = 30,
  warmup_timeout = 240, label = "", per_proc = 50, dir = "/tmp", lua = "lua5.4",
  worker = "bench/lua/shard_worker.lua", stop_below = 90, p99_target = 250,
  copies_target = 1.2, gap = 2, set = "", metrics = false, timeline = false, graph = false,
  pause = 0, pause_at = 8,
})
local n = o.nodes
local tag = o.label ~= "" and o.label or ("hearsay_load_n" .. n .. (o.payload ~= 400 and ("_p" .. o.payload) or ""))

local settings = {
  log_level = "error", max_peers = o.max_peers,
  gossip_interval = o.gossip_interval, health_interval = o.health_interval,
  peer_exchange_interval = o.peer_exchange_interval,
}
-- --set k=v,k=v: more node settings (numbers or strings), named in the log.
for kv in o.set:gmatch("[^,]+") do
  local key, v = kv:match("^([%w_]+)=(.*)$")
  assert(key, "--set: k=v,k=v")
  settings[key] = tonumber(v) or v
end
local rates = {}
for r in o.rates:gmatch("[^,]+") do rates[#rates + 1] = assert(tonumber(r), "--rates: numbers") end

B.log("load: %d hearsay nodes (%d per process), max_peers %d, gossip_interval %g s, "
  .. "health_interval %g s, %s; steps %s /s, %g s each + %g s drain, %d "
  .. "origins, %d-byte payloads", n, o.per_proc, o.max_peers, o.gossip_interval, o.health_interval,
  o.set ~= "" and (o.set .. ", other settings default") or "other settings default", o.rates, o.seconds, o.drain, o.origins, o.payload)
local ctl = Shards.start({ n = n, settings = settings, per_proc = o.per_proc, dir = o.dir,
  lua = o.lua, worker = o.worker, max_seconds = 7200 })
local loop = ctl.loop
local sp = ctl:warm_up(math.min(n - 1, 8), o.warmup_timeout)
loop:run_for(1)
B.result(tag, "processes", ctl.nshards)
B.result(tag, "converged", sp.converged and 1 or 0)
B.result(tag, "payload_bytes", o.payload)
B.result(tag, "origins", o.origins)

local origins, k = {}, math.max(1, math.min(o.origins, n))
for i = 1, k do
  local gi = 1 + (i - 1) * n // k
  if gi ~= origins[#origins] then origins[#origins + 1] = gi end
end

-- The eager links now (a link: one node pushing to another), from every
-- shard's views: { edges, both_ways (links whose reverse is one too),
-- one_way, unheld (one-way links whose target does not hold their sender
-- alive, so cannot push back), unreachable = {per origin}, unfed }.
local function eager_graph(origins)
  local id2gi, adj, holds = {}, {}, {}
  local views = {}
  for _, r in ipairs(ctl:all("views", {}, 60)) do
    for _, v in ipairs(r.nodes or {}) do
      id2gi[v[2]] = v[1]
      views[#views + 1] = v
    end
  end
  local g = { edges = 0, both_ways = 0, one_way = 0, unheld = 0, unreachable = {}, unfed = 0 }
  for _, v in ipairs(views) do
    adj[v[1]], holds[v[1]] = {}, {}
    for _, id in ipairs(v[3]) do if id2gi[id] then holds[v[1]][id2gi[id]] = true end end
    for _, id in ipairs(v[4]) do
      local to = id2gi[id]
      if to then adj[v[1]][to] = true; g.edges = g.edges + 1 end
    end
    if #v[6] == 0 then g.unfed = g.unfed + 1 end
  end
  for from, out in pairs(adj) do
    for to in pairs(out) do
      if adj[to] and adj[to][from] then
        g.both_ways = g.both_ways + 1
      else
        g.one_way = g.one_way + 1
        -- the other end cannot push back: it does not hold the sender alive
        if not (holds[to] and holds[to][from]) then g.unheld = g.unheld + 1 end
      end
    end
  end
  for _, o in ipairs(origins) do
    local seen, queue, head, missed = { [o] = true }, { o }, 1, 0
    while head <= #queue do
      local u = queue[head]
      head = head + 1
      for to in pairs(adj[u] or {}) do
        if not seen[to] then seen[to] = true; queue[#queue + 1] = to end
      end
    end
    for gi in pairs(adj) do if not seen[gi] then missed = missed + 1 end end
    g.unreachable[#g.unreachable + 1] = missed
  end
  return g
end

local netns = os.getenv("BENCH_NETNS") == "1"
local sustained, ceiling_hit = 0, nil
B.log("%8s %9s %9s %9s %8s %8s %8s %7s %8s %7s %6s %9s", "offered", "sent/s", "deliv%",
  "complete%", "p50 ms", "p99 ms", "p100 ms", "copies", "repairs", "busy%", "fds", "lag s")
for step, rate in ipairs(rates) do
  local m0 = ctl:snap()
  local cpu0 = {}
  for i, r in ipairs(ctl:all("snap")) do cpu0[i] = r.cpu end
  local lo0 = netns and B.lo_tx_bytes()
  local t0 = loop:now()
  -- Each process's CPU share while the step sends (read once its
  -- --seconds are over, before the drain).
  local cpu_send = {}
  local function sending_cpu()
    local dt = loop:now() - t0
    for i, r in ipairs(ctl:all("snap")) do cpu_send[i] = 100 * (r.cpu - (cpu0[i] or 0)) / dt end
  end
  local function busiest() return #cpu_send > 0 and math.max(table.unpack(cpu_send)) or 0 end
  ctl:all("load_start", { step = step, origins = origins, rate = rate, seconds = o.seconds,
    bytes = o.payload, drain = o.drain })
  -- A process we started, stopped and resumed by its pid.
  local pauses = {}
  local victim = ctl.pids[1]
  if o.pause > 0 and victim then
    pauses[1] = loop:timer(o.pause_at, 0, function() os.execute("kill -STOP " .. victim) end)
    pauses[2] = loop:timer(o.pause_at + o.pause, 0, function() os.execute("kill -CONT " .. victim) end)
  end
  if o.timeline then
    local keys = { "messages_received", "messages_duplicate", "lazy_pushed", "pushes_late", "pushes_stuck", "grafts",
      "prunes", "shortcuts", "ae_rounds", "ae_pushed", "ae_fetched", "indirect_probes", "suspicions", "probe_sweeps",
      "send_errors", "http_requests" }
    local names = { "new", "duplicate", "lazy_push", "late_push", "stuck", "grafts", "prunes", "shortcuts", "ae_rounds",
      "ae_push", "ae_fetch", "indirect", "suspect", "sweeps", "send_err", "requests" }
    local prev = m0
    B.log("  timeline, per second: %s", table.concat(names, " "))
    for sec = 1, math.ceil(o.seconds + o.drain) do
      loop:run_for(1)
      if sec == math.ceil(o.seconds) then sending_cpu() end
      local cur, row = ctl:snap(), {}
      for k, key in ipairs(keys) do row[k] = ("%" .. #names[k] .. "d"):format((cur[key] or 0) - (prev[key] or 0)) end
      B.log("  %3d %s", sec, table.concat(row, " "))
      prev = cur
    end
  else
    loop:run_for(o.seconds)
    sending_cpu()
    loop:run_for(o.drain)
  end
  for _, h in ipairs(pauses) do h:close() end
  if #pauses > 0 then os.execute("kill -CONT " .. victim) end -- (a step shorter than its pause)
  local wall = loop:now() - t0
  local lo1 = netns and B.lo_tx_bytes()
  local m1 = ctl:snap()
  local graph = o.graph and eager_graph(origins)
  local res = ctl:all("load_dump", { step = step }, 120)
  local sent, failed, lag, fds, cpu_max, cpu_all, deliveries = 0, 0, 0, 0, 0, 0, 0
  local hist, got, hops = {}, {}, {}
  for i, r in ipairs(res) do
    sent, failed = sent + (r.sent or 0), failed + (r.failed or 0)
    lag, fds = math.max(lag, r.lag_max or 0), math.max(fds, r.fds_max or 0)
    local c = (r.cpu - (cpu0[i] or 0)) / wall
    cpu_max, cpu_all = math.max(cpu_max, c), cpu_all + c
    deliveries = deliveries + (r.deliveries or 0)
    for _, hb in ipairs(r.hist or {}) do hist[hb[1]] = (hist[hb[1]] or 0) + hb[2] end
    for _, hb in ipairs(r.hops or {}) do hops[hb[1]] = (hops[hb[1]] or 0) + hb[2] end
    for _, g in ipairs(r.got or {}) do got[g[1]] = (got[g[1]] or 0) + g[2] end
  end
  -- Latency percentiles from the merged histogram (nearest rank).
  local buckets = {}
  for b in pairs(hist) do buckets[#buckets + 1] = b end
  table.sort(buckets)
  local function lat(p)
    if deliveries == 0 then return math.huge end
    local need, acc = math.max(1, math.ceil(p / 100 * deliveries)), 0
    for _, b in ipairs(buckets) do
      acc = acc + hist[b]
      if acc >= need then return b + 1 end -- the bucket's upper edge
    end
    return math.huge
  end
  -- Hops of the first copies (the envelope's own count): how deep the
  -- tree runs under load.
  local hop_keys, hop_n = {}, 0
  for h, c in pairs(hops) do hop_keys[#hop_keys + 1] = h; hop_n = hop_n + c end
  table.sort(hop_keys)
  local function hop(p)
    local need, acc = math.max(1, math.ceil(p / 100 * hop_n)), 0
    for _, h in ipairs(hop_keys) do
      acc = acc + hops[h]
      if acc >= need then return h end
    end
    return 0
  end
  local complete = 0
  for _, c in pairs(got) do if c >= n - 1 then complete = complete + 1 end end
  local function d(key) return (m1[key] or 0) - (m0[key] or 0) end
  local delivered = sent > 0 and 100 * deliveries / (sent * (n - 1)) or 0
  local copies = deliveries > 0 and (d("messages_received") + d("messages_duplicate")) / deliveries or 0
  local t = tag .. "_r" .. rate
  local p50, p99, p100 = lat(50), lat(99), lat(100)
  B.result(t, "offered_per_s", sent / o.seconds)
  B.result(t, "sent", sent)
  B.result(t, "send_failed", failed)
  B.result(t, "sender_lag_max_s", lag)
  B.result(t, "delivered_pct", delivered)
  B.result(t, "complete_pct", sent > 0 and 100 * complete / sent or 0)
  B.result(t, "lat_p50_ms", p50)
  B.result(t, "lat_p99_ms", p99)
  B.result(t, "lat_p100_ms", p100)
  B.result(t, "copies_per_node", copies)
  B.result(t, "hops_p50", hop(50))
  B.result(t, "hops_p99", hop(99))
  B.result(t, "hops_max", hop(100))
  B.result(t, "repairs", d("ae_pushed") + d("ae_fetched"))
  B.result(t, "lazy_offered", d("lazy_offered"))
  B.result(t, "grafts", d("grafts"))
  B.result(t, "prunes", d("prunes"))
  B.result(t, "cpu_pct_max", 100 * cpu_max)
  B.result(t, "cpu_pct_per_node", 100 * cpu_all / n)
  B.result(t, "cpu_pct_max_sending", busiest())
  local shares = {}
  for i, c in ipairs(cpu_send) do shares[i] = ("%.1f"):format(c) end
  B.result(t, "cpu_pct_sending", table.concat(shares, ","))
  B.result(t, "fds_max", fds)
  if netns then B.result(t, "bytes_per_node_s", (lo1 - lo0) / n / wall) end
  if graph then
    local worst = 0
    for _, m in ipairs(graph.unreachable) do worst = math.max(worst, m) end
    B.result(t, "eager_links", graph.edges)
    B.result(t, "eager_one_way", graph.one_way)
    B.result(t, "eager_one_way_unheld", graph.unheld)
    B.result(t, "unreachable_max", worst)
    B.result(t, "unfed", graph.unfed)
  end
  B.log("%8d %9.1f %9.2f %9.2f %8s %8s %8s %7.2f %8d %7.0f %6d %9.2f", rate, sent / o.seconds,
    delivered, sent > 0 and 100 * complete / sent or 0, B.fmt(p50), B.fmt(p99), B.fmt(p100),
    copies, d("ae_pushed") + d("ae_fetched"), busiest(), fds, lag)
  if graph then
    B.log("  eager links: %d (%d in pairs, %d one way, %d of those to a node that does not hold the "
      .. "sender alive); nodes no eager path reaches, per origin: %s; nodes fed by nobody: %d",
      graph.edges, graph.both_ways, graph.one_way, graph.unheld, table.concat(graph.unreachable, ","),
      graph.unfed)
  end
  -- --metrics: every counter that moved during the step, summed over the nodes.
  if o.metrics then
    local keys = {}
    for key in pairs(m1) do if d(key) ~= 0 then keys[#keys + 1] = key end end
    table.sort(keys)
    local parts = {}
    for _, key in ipairs(keys) do parts[#parts + 1] = ("%s %g"):format(key, d(key)) end
    B.log("  metrics: %s", table.concat(parts, ", "))
  end
  if delivered >= 100 - 1e-9 and complete == sent and p99 <= o.p99_target
      and copies <= o.copies_target and sent >= 0.95 * rate * o.seconds then
    sustained = math.max(sustained, sent / o.seconds)
  end
  if delivered < o.stop_below then
    ceiling_hit = rate
    B.log("delivered %.1f%% < %g%%: no higher step", delivered, o.stop_below)
    break
  end
  loop:run_for(o.gap)
end
B.result(tag, "sustained_per_s", sustained)
B.result(tag, "stopped_at", ceiling_hit or 0)
B.log("%s: sustained %.0f broadcasts/s (100%% delivered to every node, p99 <= %g ms, copies <= "
  .. "%g)", tag, sustained, o.p99_target, o.copies_target)
ctl:close()
