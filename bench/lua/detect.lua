-- detect.lua -- how long a hearsay cluster takes to notice a dead node, and
-- what its failure detector costs meanwhile.
--
--   lua5.4 bench/lua/detect.lua --nodes 50 --dir SCRATCH                 (shipped defaults)
--   lua5.4 bench/lua/detect.lua --nodes 50 --dir SCRATCH --equal lan     (Serf's lan profile)
--
-- N nodes as in dissemination.lua (hearsay.cluster, shards beyond
-- --per-proc). Two settings, each compared with Serf (bench/serf.sh detect):
--   defaults (hearsay_detect_nN): every node setting as shipped (core/proto/config.c,
--     the README's table: probe_interval 1 s, probe_timeout 1 s, dead_after 3,
--     suspicion_timeout 5 s down to suspicion_min 1 s after 3 other nodes'
--     suspicions, health_interval 60 s), beside Serf's defaults;
--   --equal PROFILE (hearsay_detect_eq_nN): the probe rate and timeouts of
--     memberlist's PROFILE (lan, Serf's default; wan; local), which is all a
--     Serf agent lets one choose: probe_interval = ProbeInterval,
--     probe_timeout = ProbeTimeout, indirect_probes = IndirectChecks,
--     dead_after 1 (memberlist suspects after one failed probe, direct and
--     indirect), suspicion_min = SuspicionMult * max(1, log10(N)) *
--     ProbeInterval, as memberlist computes it (6.8 s at 50 nodes, 8 s at
--     100 with lan), suspicion_timeout 6 times that and
--     suspicion_confirmations SuspicionMult - 2 (memberlist's Lifeguard),
--     health_interval at least max_peers * probe_interval, so
--     each node sends one probe per probe_interval, as memberlist does.
-- --health-interval, --dead-after, --probe-interval, --probe-timeout,
-- --suspicion-timeout, --gossip-interval override either (-1: the mode's).
-- After warm-up and calm, --window s are measured with nothing else going
-- on: probes sent (health_checks) per node per second, loopback bytes per
-- node per second (in a private network namespace) and CPU. Then every
-- node that has the victim (the last node) as a live peer is a watcher; we
-- close the victim with node:close() -- its port closes at once, like a
-- crash -- and each watcher's on("peer") hook records when it declares it
-- down. Reported: time until the first, half and every watcher did, and
-- every other peer declared down meanwhile (a false failure), by name.
local B = require "benchlib"
local Shards = require "shards"

local o = B.args(arg, {
  nodes = 50, max_peers = 50, timeout = 60, window = 20, equal = "", label = "",
  health_interval = -1, dead_after = -1, probe_interval = -1, probe_timeout = -1,
  suspicion_timeout = -1, gossip_interval = -1,
  per_proc = 100, dir = "/tmp", lua = "lua5.4", worker = "",
})
local n = o.nodes
local netns = os.getenv("BENCH_NETNS") == "1"

-- memberlist's profiles (config.go: DefaultLANConfig, DefaultWANConfig,
-- DefaultLocalConfig), the only timing a Serf agent can be given (-profile).
local PROFILES = {
  lan = { probe_interval = 1, probe_timeout = 0.5, suspicion_mult = 4, indirect = 3 },
  wan = { probe_interval = 5, probe_timeout = 3, suspicion_mult = 6, indirect = 3 },
  ["local"] = { probe_interval = 1, probe_timeout = 0.2, suspicion_mult = 3, indirect = 1 },
}

-- The core's defaults, read from core/proto/config.c when we run from the source
-- tree (bench/run does), so what we print is what the nodes run with.
local SHIPPED = { health_interval = 60, probe_interval = 1, probe_timeout = 1, dead_after = 3,
  suspicion_timeout = 5, suspicion_min = 1, suspicion_confirmations = 3, indirect_probes = 3,
  gossip_interval = 30 }
do
  local src = B.read("core/proto/config.c") or ""
  for k in pairs(SHIPPED) do
    local v = tonumber(src:match("c%->" .. k .. "%s*=%s*([%d%.]+)%s*;"))
    if v then SHIPPED[k] = v end
  end
end

local settings = { log_level = "error", max_peers = o.max_peers }
local eff = {} -- what each setting is for these nodes, for the log and the results
for k, v in pairs(SHIPPED) do eff[k] = v end
local mode_text, tag
if o.equal ~= "" then
  local p = PROFILES[o.equal] or error("--equal: lan, wan or local, not " .. o.equal)
  local susp = p.suspicion_mult * math.max(1, math.log(n, 10)) * p.probe_interval
  settings.probe_interval, settings.probe_timeout = p.probe_interval, p.probe_timeout
  -- memberlist's Lifeguard suspicion, as hearsay's own: from 6x its
  -- minimum down to the minimum after SuspicionMult - 2 independent
  -- suspicions (until 2026-12-06 hearsay ran the minimum alone here, with
  -- no suspicions of others to shorten it).
  local k = math.max(0, p.suspicion_mult - 2)
  settings.suspicion_timeout, settings.suspicion_min, settings.dead_after = 6 * susp, susp, 1
  settings.suspicion_confirmations = k
  settings.indirect_probes = p.indirect
  settings.health_interval = math.max(SHIPPED.health_interval, o.max_peers * p.probe_interval)
  mode_text = ("equal to Serf's %s profile: probe_interval %g s, probe_timeout %g s, "
    .. "indirect_probes %d, dead_after 1, suspicion_timeout %.2f s falling to suspicion_min "
    .. "%.2f s (%d x max(1, log10(%d)) x %g s) after suspicion_confirmations %d independent "
    .. "suspicions, as memberlist's Lifeguard does, health_interval %g s"):format(o.equal,
    p.probe_interval, p.probe_timeout, p.indirect, 6 * susp, susp, p.suspicion_mult, n,
    p.probe_interval, k, settings.health_interval)
  tag = "hearsay_detect_eq_n" .. n
else
  mode_text = "shipped defaults"
  tag = "hearsay_detect_n" .. n
end
if o.label ~= "" then tag = o.label end
for _, k in ipairs({ "health_interval", "dead_after", "probe_interval", "probe_timeout",
                     "suspicion_timeout", "gossip_interval" }) do
  if o[k] >= 0 then
    settings[k] = o[k]
    mode_text = mode_text .. (", %s %g (given)"):format(k, o[k])
  end
end
for k, v in pairs(settings) do if eff[k] ~= nil then eff[k] = v end end

B.log("detection: %d hearsay nodes, %s; in effect: probe_interval %g s, probe_timeout %g s, "
  .. "dead_after %d, indirect_probes %d, suspicion_timeout %.2f s (down to %.2f s after %d "
  .. "other nodes' suspicions), health_interval %g s, "
  .. "gossip_interval %g s, max_peers %d, everything else default", n, mode_text,
  eff.probe_interval, eff.probe_timeout, eff.dead_after, eff.indirect_probes,
  eff.suspicion_timeout, math.min(eff.suspicion_min, eff.suspicion_timeout),
  eff.suspicion_confirmations, eff.health_interval, eff.gossip_interval, o.max_peers)

local worker = o.worker
if worker == "" then
  worker = ((arg[0] or ""):match("^(.*)/") or "bench/lua") .. "/shard_worker.lua"
end
local ctl = Shards.start({ n = n, settings = settings, per_proc = o.per_proc, dir = o.dir,
  lua = o.lua, worker = worker, max_seconds = o.timeout + o.window + 900 })
local loop = ctl.loop
ctl:warm_up(math.min(n - 1, 8), 120)
loop:run_for(3) -- a few probe rounds: latencies known, nothing suspect

-- The steady window: what the detector costs at these settings.
local m0, c0 = ctl:snap()
local lo0, w0 = B.lo_tx_bytes(), loop:now()
loop:run_for(o.window)
local lo1, w1 = B.lo_tx_bytes(), loop:now()
local m1, c1 = ctl:snap()
local wdt = w1 - w0
local function wd(k) return ((m1[k] or 0) - (m0[k] or 0)) / wdt / n end
local probes, indirect = wd("health_checks"), wd("indirect_probes")
local wcpu = 100 * (c1 - c0) / wdt / n
local bps = (netns and lo0 and lo1) and (lo1 - lo0) / wdt / n or nil
B.log("%s: steady %.1f s before the kill: %.2f probes/s per node (%.3f indirect), %s bytes/s "
  .. "per node on loopback, CPU %.3f%% of a core per node; suspicions %d, probes_late %d",
  tag, wdt, probes, indirect, bps and ("%.0f"):format(bps) or "(not measured: no private netns)",
  wcpu, (m1.suspicions or 0) - (m0.suspicions or 0), (m1.probes_late or 0) - (m0.probes_late or 0))

local victim_id
for _, r in ipairs(ctl:all("id_of", { index = n })) do victim_id = victim_id or r.id end
local index_of = {}
for _, r in ipairs(ctl:all("ids")) do
  for _, e in ipairs(r.ids) do index_of[e[2]] = e[1] end
end
local watchers = 0
for _, r in ipairs(ctl:all("watch", { id = victim_id })) do watchers = watchers + r.watchers end
local _, cpu0 = ctl:snap()
local t_close, t_start = nil, loop:now()
for _, r in ipairs(ctl:all("close", { index = n })) do
  if r.closed then t_close = r.t end
end
local downs, others = {}, {}
loop:run_until(function()
  downs, others = {}, {}
  for _, r in ipairs(ctl:all("detect_dump")) do
    for _, d in ipairs(r.downs) do downs[#downs + 1] = d[2] - t_close end
    for _, e in ipairs(r.others) do others[#others + 1] = e end
  end
  return #downs >= watchers
end, o.timeout, 0.25)
local _, cpu1 = ctl:snap()
local window = loop:now() - t_start
ctl:close()

table.sort(downs)
local all = #downs >= watchers and downs[#downs] or nil
B.log("%s: %d of %d watchers declared the closed node %d down: first %.2f s, median %.2f s, "
  .. "all %s s; %d false failure(s); CPU %.0f%% of one core meanwhile",
  tag, #downs, watchers, n, downs[1] or -1, B.median(downs) or -1,
  all and ("%.2f"):format(all) or "-", #others, 100 * (cpu1 - cpu0) / window)
table.sort(others, function(a, b) return a[3] < b[3] end)
for i, e in ipairs(others) do
  if i > 20 then B.log("  ... and %d more", #others - 20) break end
  B.log("  false failure: node %d declared node %s (id %s) down at %+.2f s", e[1],
    tostring(index_of[e[2]] or "?"), tostring(e[2]):sub(1, 16), e[3] - t_close)
end
B.result(tag, "watchers", watchers)
B.result(tag, "detected", #downs)
B.result(tag, "first_s", downs[1] or "nan")
B.result(tag, "median_s", B.median(downs) or "nan")
B.result(tag, "all_s", all or "nan")
B.result(tag, "false_downs", #others)
B.result(tag, "false_failures", #others)
B.result(tag, "cpu_pct", 100 * (cpu1 - cpu0) / window)
B.result(tag, "probe_interval_s", eff.probe_interval)
B.result(tag, "probe_timeout_s", eff.probe_timeout)
-- The shortest suspicion, as Serf's side gives memberlist's minimum; and
-- the longest (no other node bearing it out).
B.result(tag, "suspicion_s", math.min(eff.suspicion_min, eff.suspicion_timeout))
B.result(tag, "suspicion_max_s", eff.suspicion_timeout)
B.result(tag, "dead_after", eff.dead_after)
B.result(tag, "health_interval_s", eff.health_interval)
B.result(tag, "window_s", wdt)
B.result(tag, "probes_per_s_per_node", probes)
B.result(tag, "indirect_probes_per_s_per_node", indirect)
B.result(tag, "cpu_pct_per_node", wcpu)
if bps then B.result(tag, "bytes_per_s_per_node", bps) end
