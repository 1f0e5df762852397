-- shards.lua -- the controller of a benchmark cluster: N hearsay nodes
-- split into shards of at most per_proc nodes (see shard.lua for why).
-- Shard 0 (nodes 1..per_proc, node 1 first) runs in this process; the
-- others are lua5.4 processes running shard_worker.lua, spawned here and
-- driven through files in a scratch directory. With N <= per_proc there
-- is a single shard and no other process: the whole cluster is in-process.
--
-- ctl:all(verb, args) runs a command on every shard (ours directly, the
-- others through DIR/cmd) and returns the results, our loop running all
-- the while so our nodes keep serving. Every wait is bounded.
local hs = require "hearsay"
local B = require "benchlib"
local Shard = require "shard"

local M = {}
M.__index = M

local write = B.write

-- opts: n, settings, per_proc (default 100), dir (scratch directory, must
-- exist), lua (interpreter, default "lua5.4"), worker (path of
-- shard_worker.lua), max_seconds (bound on the workers' lives).
function M.start(opts)
  local per = opts.per_proc or 100
  local self = setmetatable({ n = opts.n, dir = opts.dir, seq = 0, shards = {}, pids = {},
    per_proc = per }, M)
  self.nshards = math.ceil(opts.n / per)
  self.loop = hs.loop()
  write(self.dir .. "/alive", "1\n")
  write(self.dir .. "/settings.json", hs.json_encode(opts.settings))
  for _, f in ipairs({ "cmd" }) do os.remove(self.dir .. "/" .. f) end
  local t_join = self.loop:now()
  self.local_shard = Shard.new({ first = 1, count = math.min(per, opts.n),
    settings = opts.settings, loop = self.loop })
  self.node1 = self.local_shard.nodes[1]
  local exited = {}
  self.exited = exited
  -- Shard 0 joins first; then the workers, `join_group` at a time: each
  -- writes ack 0 once its nodes have bootstrapped. Joining in waves keeps
  -- node 1 from a thousand simultaneous bootstraps.
  self.loop:run_until(function()
    for _, node in ipairs(self.local_shard.nodes) do
      if #node:peers() == 0 and node ~= self.node1 then return false end
    end
    return true
  end, 15, 0.05)
  local group = opts.join_group or 4
  for s = 1, self.nshards - 1 do
    local first = s * per + 1
    local count = math.min(per, opts.n - s * per)
    os.remove(("%s/ack.%d"):format(self.dir, s))
    os.remove(("%s/count.%d"):format(self.dir, s))
    self.pids[s] = self.loop:spawn(opts.lua or "lua5.4", { opts.worker or "bench/lua/shard_worker.lua",
      self.dir, tostring(s), tostring(first), tostring(count), self.node1:url(),
      tostring(opts.max_seconds or 1800) }, function(status) exited[s] = status end)
    self.nshards_started = s + 1
    if s % group == 0 or s == self.nshards - 1 then
      if not self:wait_acks(0, 60) then error(("shards: worker %d did not start in time"):format(s)) end
    end
  end
  self.join_seconds = self.loop:now() - t_join
  return self
end

function M:ack(s)
  local line = B.read(("%s/ack.%d"):format(self.dir, s))
  local seq, json = (line or ""):match("^(%d+) (.-)%s*$")
  return tonumber(seq), json
end

function M:wait_acks(seq, timeout)
  return self.loop:run_until(function()
    for s = 1, (self.nshards_started or self.nshards) - 1 do
      if self.exited[s] then error(("shards: worker %d exited (status %s)"):format(s, tostring(self.exited[s]))) end
      local got = self:ack(s)
      if not got or got < seq then return false end
    end
    return true
  end, timeout, 0.01)
end

-- Runs verb on every shard; returns the list of results (shard 0 first).
function M:all(verb, args, timeout)
  self.seq = self.seq + 1
  local seq = self.seq
  if self.nshards > 1 then
    write(self.dir .. "/cmd", ("%d %s %s\n"):format(seq, verb, hs.json_encode(args or {})))
  end
  local results = { self.local_shard:handle(verb, args) }
  if not self:wait_acks(seq, timeout or 60) then
    error(("shards: command %s timed out"):format(verb))
  end
  for s = 1, self.nshards - 1 do
    local _, json = self:ack(s)
    local res = hs.json_decode(json)
    if res.error then error(("shards: worker %d: %s"):format(s, res.error)) end
    results[#results + 1] = res
  end
  return results
end

-- Arrivals of broadcast `rep` over all shards (the workers' part as of
-- their last count file, at most ~25 ms old).
function M:reached(rep)
  local total = self.local_shard:reached(rep)
  for s = 1, self.nshards - 1 do
    local r, c = (B.read(("%s/count.%d"):format(self.dir, s)) or ""):match("^(%d+) (%d+)")
    if tonumber(r) == rep then total = total + tonumber(c) end
  end
  return total
end

-- The shard (0 = this process) that holds node gi.
function M:shard_of(gi)
  return (gi - 1) // self.per_proc
end

-- Whether every shard knows `verb`: asked once with index 0, which names no
-- node (shard.lua's verbs that take an index answer "not ours"). A worker
-- running an older shard.lua answers "unknown command".
function M:supports(verb)
  return (pcall(self.all, self, verb, { index = 0 }, 30))
end

-- Node gi broadcasts `type` with `payload`, wherever it lives: directly when
-- it is ours, else through its worker (shard.lua's broadcast verb, which
-- the worker runs within ~25 ms of the command). Returns the time it went
-- out on the monotonic clock every shard shares (arrival times are taken
-- against it), or nil and why.
function M:broadcast(gi, type, payload)
  if self:shard_of(gi) == 0 then
    local node = self.local_shard:node(gi)
    if not node or not node:is_open() then return nil, ("node %d is not open"):format(gi) end
    local t = self.loop:now()
    local ok, err = node:broadcast(type, payload)
    if ok == nil and err then return nil, err end
    return t
  end
  for _, r in ipairs(self:all("broadcast", { index = gi, type = type, payload = payload })) do
    if r.sent then return r.t end
    if r.reason then return nil, r.reason end
  end
  return nil, ("no shard sent from node %d"):format(gi)
end

-- Counter sums and CPU seconds over every shard.
function M:snap()
  local m, cpu = {}, 0
  for _, r in ipairs(self:all("snap")) do
    for k, v in pairs(r.metrics) do m[k] = (m[k] or 0) + v end
    cpu = cpu + r.cpu
  end
  return m, cpu
end

-- Live-peer counts of every open node.
function M:spread(want)
  local all = {}
  for _, r in ipairs(self:all("spread")) do
    for _, c in ipairs(r.counts or {}) do all[#all + 1] = c end
  end
  table.sort(all)
  local ok = 0
  for _, c in ipairs(all) do if c >= want then ok = ok + 1 end end
  -- The nearest-rank (lower) median: a peer count, which the logs here and
  -- in idle.lua print with %d (a conventional median can be 7.5).
  return { min = all[1] or 0, median = B.percentile(all, 50) or 0, max = all[#all] or 0, ok = ok,
           n = #all }
end

-- Warm-up: until every node knows at least `want` live peers, or the
-- timeout. Often the joins alone get there; otherwise announce rounds
-- follow (each node announces itself once per round, in random order per
-- shard, `rate` announces per second over the whole cluster, 100 or 25
-- beyond 200 nodes: a thousand nodes announcing in the same instant would
-- bury 2 cores in a burst no deployment sees). Returns the final spread (with .rounds, .converged,
-- .seconds).
function M:warm_up(want, timeout, rate)
  local t0 = self.loop:now()
  -- Gentler for big clusters: every announce costs ~40 deliveries and
  -- probes of the peers it introduces, all on the same 2 cores.
  rate = rate or (self.n > 200 and 25 or 100)
  local interval = self.nshards / rate
  local per = math.ceil(self.n / self.nshards)
  self.loop:run_for(math.max(0.5, math.min(5, self.n / 200))) -- the joins' last probes
  local rounds, sp = 0, self:spread(want)
  while sp.ok < sp.n and self.loop:now() - t0 < timeout and rounds < 40 do
    rounds = rounds + 1
    self:all("announce", { interval = interval }, 120)
    self.loop:run_for(per * interval + 1)
    sp = self:spread(want)
  end
  sp.rounds, sp.converged, sp.seconds = rounds, sp.ok == sp.n, self.loop:now() - t0
  sp.calm_seconds, sp.calm = self:calm(math.max(10, timeout - sp.seconds))
  B.log("cluster: %d nodes in %d process(es), joined in %.1f s, then %d announce round(s) in "
    .. "%.1f s; live peers min %d, median %d, max %d; %d/%d nodes know >= %d%s; %s after %.0f s",
    self.n, self.nshards, self.join_seconds or 0, rounds, sp.seconds, sp.min, sp.median, sp.max,
    sp.ok, sp.n, want, sp.converged and "" or "  (NOT CONVERGED: measuring anyway)",
    sp.calm and "calm" or "NOT CALM (measuring anyway)", sp.calm_seconds)
  return sp
end

-- Waits (at most `timeout` s) until failure detection has settled: two
-- 5-second windows in a row without a suspicion, a late probe or a peer
-- declared dead anywhere. A warm-up on 2 cores can leave the cluster
-- suspecting its busiest nodes for a while; what is measured after it is
-- the cluster at rest, not the tail of the warm-up. Returns the seconds it
-- took and whether it got there.
function M:calm(timeout)
  local t0, quiet = self.loop:now(), 0
  local prev = self:snap()
  while quiet < 2 and self.loop:now() - t0 < timeout do
    self.loop:run_for(5)
    local m = self:snap()
    local function d(k) return (m[k] or 0) - (prev[k] or 0) end
    quiet = (d("suspicions") + d("probes_late") + d("peers_removed") == 0) and quiet + 1 or 0
    prev = m
  end
  return self.loop:now() - t0, quiet >= 2
end

function M:close()
  if self.nshards > 1 then
    pcall(self.all, self, "quit", {}, 30)
    os.remove(self.dir .. "/alive")
    self.loop:run_until(function()
      for s = 1, self.nshards - 1 do if self.exited[s] == nil then return false end end
      return true
    end, 30)
  end
  os.remove(self.dir .. "/alive")
  self.local_shard:close()
  self.loop:run_for(0.05)
  self.loop:close()
end

return M
