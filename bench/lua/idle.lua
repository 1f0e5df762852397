-- idle.lua -- what an idle hearsay network costs: bytes/s and CPU% per node.
--
--   lua5.4 bench/lua/idle.lua [--nodes 100] [--seconds 60] [--config config] --dir SCRATCH
--
-- N nodes with the node settings of CONFIG/node.lua (the shipped defaults:
-- gossip_interval 30 s, health_interval 60 s, probe_interval 1 s,
-- peer_exchange_interval 60 s, and the rest), no plugins, addresses as in `hearsay demo`. They run in
-- shards of --per-proc nodes (shards.lua): with the default settings each
-- node keeps enough connections that 100 nodes in one process would run
-- out of file descriptors. After the warm-up and a --pause (so the first
-- probes and exchanges are behind us) we measure over --seconds with no
-- traffic of our own:
--   CPU: utime + stime (/proc/self/stat) of every process, per node;
--   bytes: everything sent on the loopback interface (/proc/net/dev, lo
--     tx, TCP/IP headers included): meaningful only when nothing else uses
--     lo, so bench/run runs it in a private network namespace (unshare -n)
--     and sets BENCH_NETNS=1; otherwise bytes are not reported.
-- Requests and envelopes per node come from the nodes' own counters.
local B = require "benchlib"
local Shards = require "shards"
local config = require "hearsay.config"

local o = B.args(arg, { nodes = 100, seconds = 60, config = "config", pause = 35, per_proc = 25,
  dir = "/tmp", lua = "lua5.4", worker = "bench/lua/shard_worker.lua" })
local cfg = assert(config.load(o.config))
local settings = {}
for k, v in pairs(cfg.node) do settings[k] = v end
settings.node_id, settings.node_key, settings.log_level = nil, nil, "error"
local netns = os.getenv("BENCH_NETNS") == "1"

B.log("idle: %d nodes, node settings of %s/node.lua (gossip_interval %s, health_interval %s, "
  .. "peer_exchange_interval %s, max_peers %s), no plugins; measuring %d s", o.nodes, o.config,
  tostring(settings.gossip_interval or "default"), tostring(settings.health_interval or "default"),
  tostring(settings.peer_exchange_interval or "default"), tostring(settings.max_peers or "default"),
  o.seconds)
local ctl = Shards.start({ n = o.nodes, settings = settings, per_proc = o.per_proc, dir = o.dir,
  lua = o.lua, worker = o.worker, max_seconds = o.pause + o.seconds + 600 })
local loop = ctl.loop
ctl:warm_up(math.min(o.nodes - 1, 8), 120)
loop:run_for(o.pause)

local m0, cpu0 = ctl:snap()
local lo0, t0 = B.lo_tx_bytes(), loop:now()
loop:run_for(o.seconds)
local lo1, t1 = B.lo_tx_bytes(), loop:now()
local m1, cpu1 = ctl:snap()
local sp = ctl:spread(1)
ctl:close()
local dt, n = t1 - t0, o.nodes
local function d(k) return (m1[k] or 0) - (m0[k] or 0) end

local cpu_pct = 100 * (cpu1 - cpu0) / dt / n
local req = d("http_requests") / dt / n
local env = (d("messages_received") + d("messages_duplicate")) / dt / n
B.log("idle over %.1f s in %d process(es): CPU %.3f%% of a core per node (%.1f%% for all %d); "
  .. "per node %.2f requests/s served, %.2f envelopes/s received (%.2f new), %.2f health checks/s "
  .. "sent; live peers at the end min %d median %d", dt, ctl.nshards, cpu_pct, cpu_pct * n, n, req,
  env, d("messages_received") / dt / n, d("health_checks") / dt / n, sp.min, sp.median)
-- Every counter that moved, per node per second: where the traffic comes from.
local moved = {}
for k in pairs(m1) do
  local r = d(k) / dt / n
  if r >= 0.01 then moved[#moved + 1] = ("%s %.2f"):format(k, r) end
end
table.sort(moved)
B.log("idle: counters per node per second: %s", table.concat(moved, ", "))
B.result("idle", "cpu_pct_per_node", cpu_pct)
B.result("idle", "requests_per_s_per_node", req)
B.result("idle", "envelopes_per_s_per_node", env)
B.result("idle", "new_envelopes_per_s_per_node", d("messages_received") / dt / n)
B.result("idle", "health_checks_per_s_per_node", d("health_checks") / dt / n)
B.result("idle", "processes", ctl.nshards)
B.result("idle", "nodes", n)
B.result("idle", "seconds", dt)
if netns and lo0 and lo1 then
  local bps = (lo1 - lo0) / dt / n
  B.log("idle: %.0f bytes/s per node sent on loopback (all TCP/IP bytes, private netns); "
    .. "%.0f bytes per request served", bps, req > 0 and bps / req or 0)
  B.result("idle", "bytes_per_s_per_node", bps)
  B.result("idle", "bytes_per_request", req > 0 and bps / req or 0)
else
  B.log("idle: bytes not measured (not in a private network namespace: lo is shared)")
end
