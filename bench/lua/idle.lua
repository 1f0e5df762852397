-- idle.lua -- what an idle hearsay network costs: bytes/s and CPU% per node.
--
--   lua5.4 bench/lua/idle.lua [--nodes 100] [--seconds 60] [--config config]
--
-- N nodes in this process with the settings of config/node.lua (the
-- shipped defaults: gossip_interval 5 s, health_interval 30 s,
-- peer_exchange_interval 30 s, and whatever else it sets), no plugins.
-- After a warm-up (announce rounds, then a pause so the first probes and
-- exchanges are behind us) we measure over --seconds with no traffic of
-- our own:
--   CPU: this process's utime + stime (/proc/self/stat), per node;
--   bytes: everything sent on the loopback interface (/proc/net/dev, lo
--     tx: TCP/IP headers included). This is only meaningful when nothing
--     else uses lo, so bench/run runs it in a private network namespace
--     (unshare -n) and sets BENCH_NETNS=1; otherwise bytes are not reported.
-- Requests and envelopes per node come from the nodes' own counters.
local B = require "benchlib"
local BC = require "benchcluster"
local config = require "hearsay.config"

local o = B.args(arg, { nodes = 100, seconds = 60, config = "config", pause = 35 })
local cfg = assert(config.load(o.config))
local settings = {}
for k, v in pairs(cfg.node) do settings[k] = v end
settings.log_level = "error"
local netns = os.getenv("BENCH_NETNS") == "1"

B.log("idle: %d nodes, settings of %s/node.lua (gossip_interval %s, health_interval %s, "
  .. "peer_exchange_interval %s, max_peers %s), no plugins; measuring %d s", o.nodes, o.config,
  tostring(settings.gossip_interval or "default"), tostring(settings.health_interval or "default"),
  tostring(settings.peer_exchange_interval or "default"), tostring(settings.max_peers or "default"),
  o.seconds)
local c = BC.start({ n = o.nodes, settings = settings, timeout = 120 })
local loop, nodes = c.loop, c.nodes
-- Past the first full health-probe round, so we see steady state.
loop:run_for(o.pause)

local m0, cpu0, lo0, t0 = B.sum_metrics(nodes), B.cpu_seconds(), B.lo_tx_bytes(), loop:now()
loop:run_for(o.seconds)
local m1, cpu1, lo1, t1 = B.sum_metrics(nodes), B.cpu_seconds(), B.lo_tx_bytes(), loop:now()
local dt, n = t1 - t0, #nodes

local cpu_pct = 100 * (cpu1 - cpu0) / dt / n
local req = (m1.http_requests - m0.http_requests) / dt / n
local env = ((m1.messages_received - m0.messages_received)
  + (m1.messages_duplicate - m0.messages_duplicate)) / dt / n
local probes = (m1.health_checks - m0.health_checks) / dt / n
B.log("idle over %.1f s: CPU %.3f%% of a core per node (%.1f%% for all %d); %.2f requests/s, "
  .. "%.2f envelopes/s, %.3f health probes/s served per node", dt, cpu_pct, cpu_pct * n, n, req,
  env, probes)
B.result("idle", "cpu_pct_per_node", cpu_pct)
B.result("idle", "requests_per_s_per_node", req)
B.result("idle", "envelopes_per_s_per_node", env)
B.result("idle", "nodes", n)
B.result("idle", "seconds", dt)
if netns and lo0 and lo1 then
  local bps = (lo1 - lo0) / dt / n
  B.log("idle: %.0f bytes/s per node sent on loopback (all TCP/IP bytes, private netns)", bps)
  B.result("idle", "bytes_per_s_per_node", bps)
  -- For the record, where those bytes go: per request on average.
  B.result("idle", "bytes_per_request", req > 0 and bps / req or 0)
else
  B.log("idle: bytes not measured (not in a private network namespace: lo is shared)")
end
c:close()
loop:close()
