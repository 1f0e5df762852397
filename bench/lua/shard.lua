-- shard.lua -- the nodes one process hosts in a benchmark cluster, and the
-- commands the controller (bench/lua/shards.lua) sends them.
--
-- Why shards: every hearsay node keeps HTTP connections to its peers, and
-- when both ends live in one process each connection costs that process
-- two file descriptors. This machine allows a process 20000 at most, which
-- a few hundred in-process nodes exhaust. So a large cluster is split over
-- several processes (shards) of at most --per-proc nodes; shard 0 lives in
-- the controller's process and holds node 1, the one every other node
-- bootstraps from (hearsay.cluster, as in `hearsay demo`). Timestamps are
-- loop:now(), the monotonic clock, which all processes share, so arrival
-- times taken in different shards compare directly.
local hs = require "hearsay"
local cluster = require "hearsay.cluster"
local B = require "benchlib"

local M = {}
M.__index = M

-- opts: first (global index of our first node), count, settings, seed
-- (node 1's URL; nil for shard 0, which starts node 1 itself), loop.
function M.new(opts)
  local self = setmetatable({ first = opts.first, count = opts.count, arrivals = {},
    counts = {}, downs = {}, other_downs = 0, load = {}, load_done = {} }, M)
  local seed = opts.seed
  -- settings.bench_plugins = { dir, list }: plugins every node loads (a
  -- benchmark's, not a node setting).
  local settings, plugins = {}, nil
  for k, v in pairs(opts.settings) do settings[k] = v end
  plugins, settings.bench_plugins = settings.bench_plugins, nil
  self.cluster = cluster.new({
    n = opts.count, settings = settings, loop = opts.loop,
    each = seed and function(_, s) s.bootstrap = { seed } end or nil,
  })
  self.loop, self.nodes = self.cluster.loop, self.cluster.nodes
  if plugins then
    for _, node in ipairs(self.nodes) do
      node:plugins({ plugin_path = { plugins.dir }, plugins = plugins.list })
    end
  end
  -- Arrival of every "bench" message (payload.rep identifies the broadcast).
  for k, node in ipairs(self.nodes) do
    local gi = self.first + k - 1
    node:on("message", function(m)
      if m.type == "load" then return self:load_arrival(m.payload, m.hops) end
      if m.type ~= "bench" or type(m.payload) ~= "table" then return end
      local rep = m.payload.rep
      if type(rep) ~= "number" then return end
      local a = self.arrivals[rep]
      if not a then a = {}; self.arrivals[rep] = a end
      if not a[gi] then
        a[gi] = { self.loop:now(), m.hops, m.sender, m.ttl }
        self.counts[rep] = (self.counts[rep] or 0) + 1
      end
    end)
  end
  return self
end

function M:node(gi)
  return self.nodes[gi - self.first + 1]
end

-- The load benchmark (bench/lua/load.lua): payload { s = step, o = origin,
-- k = sequence number at that origin, t = when it went out (the monotonic
-- clock all shards share) }. Per step we keep a histogram of delivery
-- latencies in whole milliseconds and each message's deliveries among our
-- nodes: a table of counters, not a record per arrival (a step can be
-- 40,000 messages times 100 nodes).
local function new_step()
  return { hist = {}, hops = {}, got = {}, deliveries = 0, sent = 0, failed = 0, lag_max = 0, fds_max = 0 }
end

function M:load_arrival(p, hops)
  if type(p) ~= "table" or type(p.s) ~= "number" or type(p.t) ~= "number" then return end
  -- A step's first broadcasts can come before this process's load_start
  -- (the shards are told one after another): their record starts here.
  -- Steps end by load_dump, which drops the record; one already dumped
  -- (a straggler after the drain) is not counted.
  if self.load_done[p.s] then return end
  local st = self.load[p.s]
  if not st then
    st = new_step()
    self.load[p.s] = st
  end
  local ms = (self.loop:now() - p.t) * 1000
  local b = ms < 0 and 0 or math.floor(ms)
  st.hist[b] = (st.hist[b] or 0) + 1
  if type(hops) == "number" then st.hops[hops] = (st.hops[hops] or 0) + 1 end
  local key = (p.o or 0) * 10000000 + (p.k or 0)
  st.got[key] = (st.got[key] or 0) + 1
  st.deliveries = st.deliveries + 1
end

-- Open descriptors of this process.
local function open_fds()
  local n = 0
  local p = io.popen("ls /proc/" .. (B.pid() or "self") .. "/fd 2>/dev/null | wc -l")
  if p then
    n = tonumber(p:read("a")) or 0
    p:close()
  end
  return n
end

-- Commands: each takes a table of arguments and returns a table.
local verbs = {}

-- Live-peer counts of our open nodes.
function verbs.spread(self)
  local counts = {}
  for _, node in ipairs(self.nodes) do
    if node:is_open() then counts[#counts + 1] = #node:peers() end
  end
  return { counts = counts }
end

-- One announce round: each of our nodes announces itself, in random order,
-- one every `interval` seconds (a loop timer, so we answer at once and the
-- round goes on in the background): a whole cluster announcing in the same
-- instant would bury the 2 cores in a burst no deployment sees.
function verbs.announce(self, args)
  local order = {}
  for k = 1, #self.nodes do order[k] = k end
  B.shuffle(order)
  local next_k, timer = 1, nil
  local function tick()
    local k = order[next_k]
    if k and self.nodes[k]:is_open() then B.announce(self.nodes[k]) end
    next_k = next_k + 1
    if next_k > #order and timer then timer:close() end
  end
  if self.announcer then self.announcer:close() end
  timer = self.loop:timer(0, math.max(0.001, args.interval or 0.001), tick)
  self.announcer = timer
  return { count = #order }
end

-- Peers by state and probes under way, summed over our open nodes (what
-- /health says of each): { alive, unhealthy, dead, in_flight, waiting }.
function verbs.peer_states(self)
  local t = { alive = 0, unhealthy = 0, dead = 0, in_flight = 0, waiting = 0 }
  for _, node in ipairs(self.nodes) do
    if node:is_open() then
      local h = node:health()
      for k in pairs(t) do t[k] = t[k] + ((h.peers or {})[k] or (h.probes or {})[k] or 0) end
    end
  end
  return t
end

-- Counter sums of our nodes and this process's CPU seconds.
function verbs.snap(self)
  return { metrics = B.sum_metrics(self.nodes), cpu = B.cpu_seconds(), rss_kb = B.rss_kb() }
end

-- Every arrival recorded: { {global index, rep, time, hops, sender id, ttl}, ... }.
function verbs.dump(self)
  local out = {}
  for rep, a in pairs(self.arrivals) do
    for gi, v in pairs(a) do out[#out + 1] = { gi, rep, v[1], v[2] or 0, v[3] or "", v[4] or 0 } end
  end
  return { arrivals = out }
end

-- Every open node's id, the ids of its live peers (its view), of those on
-- eager (tree) links, of its peers in another state than alive, and of
-- those it believes push to it (feeding), by global index: { nodes = {
-- {gi, id, {peer id, ...}, {eager peer id, ...}, {peer id = state, ...},
-- {feeder id, ...}}, ... } }.
function verbs.views(self)
  local out = {}
  for k, node in ipairs(self.nodes) do
    if node:is_open() then
      local ids, eager, other, feeds = {}, {}, {}, {}
      for _, p in ipairs(node:peers()) do
        if p.state == "alive" then ids[#ids + 1] = p.id else other[p.id] = p.state end
        if p.eager then eager[#eager + 1] = p.id end
        if p.feeds then feeds[#feeds + 1] = p.id end
      end
      out[#out + 1] = { self.first + k - 1, node:id(), ids, eager, other, feeds }
    end
  end
  return { nodes = out }
end

-- Every numeric metric summed over our open nodes: { name = sum, ... }.
function verbs.metricsum(self)
  return B.sum_metrics(self.nodes)
end

-- Feeding (README, How it works: Feeding) as our nodes see it: how many
-- believe nobody pushes to them ("hungry"), which, and how many of those
-- have no probed live peer to ask (the feeding metrics: `metricsum`).
function verbs.feeding(self)
  local r = { nodes = 0, hungry = 0, hungry_unprobed = 0, hungry_gi = {} }
  for k, node in ipairs(self.nodes) do
    if node:is_open() then
      local fed, probed = false, 0
      for _, p in ipairs(node:peers()) do
        if p.feeds then fed = true end
        if p.state == "alive" and p.latency_ms then probed = probed + 1 end
      end
      r.nodes = r.nodes + 1
      if not fed then
        r.hungry = r.hungry + 1
        r.hungry_gi[#r.hungry_gi + 1] = self.first + k - 1
        if probed == 0 then r.hungry_unprobed = r.hungry_unprobed + 1 end
      end
    end
  end
  return r
end

-- The id of node gi, if it is ours.
function verbs.id_of(self, args)
  local node = self:node(args.index)
  return { id = node and node:id() or nil }
end

-- Node gi, if it is ours, broadcasts `type` with `payload` (the
-- dissemination benchmark's origins beyond this process: shards.lua
-- M:broadcast). t: when it went out, on the monotonic clock all shards
-- share, against which every arrival is timed.
function verbs.broadcast(self, args)
  local node = self:node(args.index)
  if not node or not node:is_open() then return { sent = false } end
  local t = self.loop:now()
  local id, err = node:broadcast(args.type, args.payload)
  if not id then return { sent = false, reason = tostring(err) } end
  return { sent = true, t = t, id = id }
end

-- Failure detection: watch for `id` being declared down by our nodes (and
-- name every other peer declared down meanwhile). Returns how many of our
-- open nodes have it as a live peer right now.
function verbs.watch(self, args)
  local watchers = 0
  self.downs, self.other_downs, self.named_others = {}, 0, {}
  for k, node in ipairs(self.nodes) do
    local gi = self.first + k - 1
    if node:is_open() and node:id() ~= args.id then
      for _, p in ipairs(node:peers()) do
        if p.id == args.id then watchers = watchers + 1 break end
      end
      node:on("peer", function(peer, up)
        if up then return end
        local t = self.loop:now()
        if peer.id == args.id then
          if not self.downs[gi] then self.downs[gi] = t end
        else
          self.other_downs = self.other_downs + 1
          self.named_others[#self.named_others + 1] = { gi, peer.id, t }
        end
      end)
    end
  end
  return { watchers = watchers }
end

-- Closes node gi if it is ours (like a crash: its port closes at once).
function verbs.close(self, args)
  local node = self:node(args.index)
  if not node then return { closed = false } end
  local t = self.loop:now()
  node:close()
  return { closed = true, t = t }
end

-- What `watch` saw: the first down of `id` per node, { gi, t }, and every
-- other peer declared down meanwhile, { gi, peer id, t } (false failures).
function verbs.detect_dump(self)
  local out = {}
  for gi, t in pairs(self.downs) do out[#out + 1] = { gi, t } end
  return { downs = out, other_downs = self.other_downs, others = self.named_others or {} }
end

-- { ids = { {gi, id}, ... } } for our nodes, open or not.
function verbs.ids(self)
  local out = {}
  for k, node in ipairs(self.nodes) do out[#out + 1] = { self.first + k - 1, node:id() } end
  return { ids = out }
end

-- Load step `step`: our nodes among `origins` (global indices) send
-- `rate` messages per second between them (each origin rate / #origins),
-- open loop: on a fixed schedule from now, for `seconds`, whatever the
-- deliveries do. A 1 ms timer sends what is due; if the loop falls behind
-- it sends the backlog at once and the step records how far behind it
-- was. `bytes` of random text ride in each payload. Returns at once.
function verbs.load_start(self, args)
  local st = self.load[args.step] or new_step()
  st.fds_max = math.max(st.fds_max, open_fds())
  self.load[args.step] = st
  local mine = {}
  for _, gi in ipairs(args.origins) do
    local node = self:node(gi)
    if node and node:is_open() then mine[#mine + 1] = gi end
  end
  -- The text is drawn once per step (a draw per message would cost this
  -- process more than the node's own work); the ids differ anyway.
  local text = B.random_text(args.bytes or 400)
  local per_s = args.rate * #mine / #args.origins
  if #mine == 0 or per_s <= 0 then return { origins = 0 } end
  local t0 = self.loop:now()
  local seq, turn, timer = 0, 0, nil
  local function tick()
    local now = self.loop:now()
    local el = math.min(now - t0, args.seconds)
    local due = math.floor(el * per_s)
    if due - seq > 1 then st.lag_max = math.max(st.lag_max, (due - seq) / per_s) end
    while seq < due do
      seq = seq + 1
      turn = turn % #mine + 1
      local gi = mine[turn]
      local id = self:node(gi):broadcast("load", { s = args.step, o = gi, k = seq, t = self.loop:now(),
        x = text })
      if id then st.sent = st.sent + 1 else st.failed = st.failed + 1 end
    end
    if now - t0 >= args.seconds and timer then
      timer:close()
      timer = nil
    end
  end
  timer = self.loop:timer(0, 0.001, tick)
  -- Descriptors: sampled every 0.5 s until the step's end and drain.
  local fd_timer
  fd_timer = self.loop:timer(0.5, 0.5, function()
    st.fds_max = math.max(st.fds_max, open_fds())
    if self.loop:now() - t0 > args.seconds + (args.drain or 0) and fd_timer then
      fd_timer:close()
      fd_timer = nil
    end
  end)
  return { origins = #mine, per_s = per_s }
end

-- What step `step` saw here: sent and failed broadcasts, the worst lag of
-- the sender behind its schedule (s), the histogram { {ms, count}, ... },
-- the deliveries per message { {key, count}, ... }, the most descriptors
-- this process held, and its CPU seconds so far. The step's records are
-- dropped.
function verbs.load_dump(self, args)
  local st = self.load[args.step]
  if not st then return { missing = true } end
  local hist, got, hops = {}, {}, {}
  for b, c in pairs(st.hist) do hist[#hist + 1] = { b, c } end
  for h, c in pairs(st.hops) do hops[#hops + 1] = { h, c } end
  for key, c in pairs(st.got) do got[#got + 1] = { key, c } end
  self.load[args.step] = nil
  self.load_done[args.step] = true
  return { sent = st.sent, failed = st.failed, lag_max = st.lag_max, hist = hist, hops = hops, got = got,
    deliveries = st.deliveries, fds_max = st.fds_max, cpu = B.cpu_seconds() }
end

function verbs.quit() return {} end

function M:handle(verb, args)
  local f = verbs[verb]
  if not f then error("shard: unknown command " .. tostring(verb)) end
  return f(self, args or {})
end

-- Arrivals of broadcast `rep` so far.
function M:reached(rep)
  return self.counts[rep] or 0
end

function M:close()
  for _, node in ipairs(self.nodes) do
    if node:is_open() then node:close() end
  end
end

M.json_encode, M.json_decode = hs.json_encode, hs.json_decode
return M
