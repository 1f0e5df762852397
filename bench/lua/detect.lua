-- detect.lua -- how long a hearsay cluster takes to notice a dead node.
--
--   lua5.4 bench/lua/detect.lua --nodes 50 --dir SCRATCH
--
-- N nodes as in dissemination.lua (hearsay.cluster, shards beyond
-- --per-proc), but with a short health_interval (0.5 s) and dead_after 2,
-- everything else at its default (failure detection is SWIM-like: failed
-- probes make a peer suspect, suspicion is gossiped, and an unrefuted
-- suspect is declared dead after the core's suspicion timeout). Once the
-- cluster has converged and run a few seconds, every node that has the
-- victim (the last node) as a live peer is a watcher; we close the victim
-- with node:close() -- its port closes at once, like a crashed process --
-- and each watcher's on("peer") hook records when it declares it down.
-- Reported: time until the first, half and every watcher did, and any
-- other peer wrongly declared down meanwhile.
local B = require "benchlib"
local Shards = require "shards"

local o = B.args(arg, {
  nodes = 50, health_interval = 0.5, dead_after = 2, max_peers = 50, timeout = 60,
  per_proc = 100, dir = "/tmp", lua = "lua5.4", worker = "bench/lua/shard_worker.lua", label = "",
  gossip_interval = 600,
})
local n = o.nodes
local tag = o.label ~= "" and o.label or ("hearsay_detect_n" .. n)
local settings = {
  log_level = "error", max_peers = o.max_peers, health_interval = o.health_interval,
  dead_after = o.dead_after, gossip_interval = o.gossip_interval,
}
B.log("detection: %d hearsay nodes, health_interval %g s, dead_after %d, max_peers %d, "
  .. "gossip_interval %g s, other settings default", n, o.health_interval, o.dead_after,
  o.max_peers, o.gossip_interval)
local ctl = Shards.start({ n = n, settings = settings, per_proc = o.per_proc, dir = o.dir,
  lua = o.lua, worker = o.worker, max_seconds = o.timeout + 600 })
local loop = ctl.loop
ctl:warm_up(math.min(n - 1, 8), 120)
loop:run_for(3) -- a few probe rounds: latencies known, nothing suspect

local victim_id
for _, r in ipairs(ctl:all("id_of", { index = n })) do victim_id = victim_id or r.id end
local watchers = 0
for _, r in ipairs(ctl:all("watch", { id = victim_id })) do watchers = watchers + r.watchers end
local _, cpu0 = ctl:snap()
local t_close, t_start = nil, loop:now()
for _, r in ipairs(ctl:all("close", { index = n })) do
  if r.closed then t_close = r.t end
end
local downs, others = {}, 0
loop:run_until(function()
  downs, others = {}, 0
  for _, r in ipairs(ctl:all("detect_dump")) do
    for _, d in ipairs(r.downs) do downs[#downs + 1] = d[2] - t_close end
    others = others + r.other_downs
  end
  return #downs >= watchers
end, o.timeout, 0.25)
local _, cpu1 = ctl:snap()
local window = loop:now() - t_start
ctl:close()

table.sort(downs)
local all = #downs >= watchers and downs[#downs] or nil
B.log("%s: %d of %d watchers declared the closed node down: first %.2f s, median %.2f s, "
  .. "all %s s; %d other peer(s) wrongly declared down; CPU %.0f%% of one core meanwhile",
  tag, #downs, watchers, downs[1] or -1, B.median(downs) or -1,
  all and ("%.2f"):format(all) or "-", others, 100 * (cpu1 - cpu0) / window)
B.result(tag, "watchers", watchers)
B.result(tag, "detected", #downs)
B.result(tag, "first_s", downs[1] or "nan")
B.result(tag, "median_s", B.median(downs) or "nan")
B.result(tag, "all_s", all or "nan")
B.result(tag, "false_downs", others)
B.result(tag, "cpu_pct", 100 * (cpu1 - cpu0) / window)
