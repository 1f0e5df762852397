-- dissemination.lua -- how fast one broadcast reaches a hearsay cluster on
-- loopback, and at what cost in copies.
--
--   lua5.4 bench/lua/dissemination.lua --nodes 100 --repeats 20 --dir SCRATCH
--
-- N nodes (hearsay.cluster: all bootstrap from node 1), in this process or,
-- beyond --per-proc nodes, in shards of several processes (shards.lua).
-- Warm-up: announce rounds until every node knows min(N-1, 8) live peers.
-- The nodes run with long gossip and health intervals, so no periodic
-- announce or probe traffic mixes with the measurement; anti-entropy and
-- everything else stay at the core's defaults (they are part of how a
-- message reaches everyone).
--
-- Then, one message at a time, a node broadcasts and every node's
-- on("message") hook records when the message first arrived (loop:now(),
-- the monotonic clock) and after how many hops. The broadcasts rotate over
-- --origins K nodes (5) spread evenly over the cluster, node 1 first (the
-- bootstrap node, where the tree grew from; 1 + floor((k-1) N / K) for
-- k = 1..K: over several processes once the cluster is sharded);
-- --origins 1 is node 1 alone, as before. Per message: the time until 50%,
-- 90%, 99% and 100% of the N nodes have it (the origin at t = 0; we wait
-- up to --timeout for everyone before the next broadcast, but a late
-- arrival still counts whenever it comes during the run), the hops, and
-- the copies delivered per node reached: the growth of messages_received
-- + messages_duplicate summed over all nodes, divided by the nodes reached
-- other than the origin, read once the message has settled.
-- Reported: the median (of an even count, the mean of the two middle
-- values) and p99 of each over the repeats; the first broadcast's own
-- times (first_t*_ms: a cold start does not hide in the median); the share
-- of broadcasts whose 100% took over 1 s (over_1s_pct).
local B = require "benchlib"
local Shards = require "shards"

local o = B.args(arg, {
  nodes = 10, repeats = 20, timeout = 10, max_peers = 50, settle = 0.3, gap = 0.2,
  gossip_interval = 600, health_interval = 600, peer_exchange_interval = 30,
  warmup_timeout = 240, label = "", per_proc = 100, dir = "/tmp", lua = "lua5.4",
  worker = "bench/lua/shard_worker.lua", ttl = 0, security = "", key = "", mix = 0,
  queries = 0, plugin_dir = "bench/plugins", origins = 5, idle_window = 5,
})
local n = o.nodes
local tag = o.label ~= "" and o.label or ("hearsay_n" .. n)

local settings = {
  log_level = "error", max_peers = o.max_peers,
  gossip_interval = o.gossip_interval, health_interval = o.health_interval,
  peer_exchange_interval = o.peer_exchange_interval,
}
if o.ttl > 0 then settings.ttl = o.ttl end -- else the default
-- --security signed --key K: every node checks every request's MAC and
-- every message's signature (the trust benchmark's signed side).
if o.security ~= "" then settings.security, settings.cluster_keys = o.security, { o.key } end
-- --queries K: after the broadcasts, node 1 asks K queries that every node
-- answers (bench/plugins/bench_query.lua, loaded in every shard).
if o.queries > 0 then
  settings.bench_plugins = { dir = o.plugin_dir, list = { "bench_query" } }
end
B.log("dissemination: %d hearsay nodes, max_peers %d, gossip_interval %g s, health_interval %g s, "
  .. "peer_exchange_interval %g s, other settings default; %d repeats, %g s timeout each",
  n, o.max_peers, o.gossip_interval, o.health_interval, o.peer_exchange_interval, o.repeats,
  o.timeout)
local ctl = Shards.start({ n = n, settings = settings, per_proc = o.per_proc, dir = o.dir,
  lua = o.lua, worker = o.worker, max_seconds = 3600 })
local loop = ctl.loop
local sp = ctl:warm_up(math.min(n - 1, 8), o.warmup_timeout)
loop:run_for(1) -- let the warm-up traffic drain
-- --mix S: S more seconds of the cluster running on its own (shuffles,
-- candidates taken) before the first broadcast: views as they are minutes
-- after forming rather than right after.
if o.mix > 0 then
  B.log("mixing: %g s before the first broadcast", o.mix)
  loop:run_for(o.mix)
end
B.result(tag, "mix_seconds", o.mix)
B.result(tag, "processes", ctl.nshards)
B.result(tag, "converged", sp.converged and 1 or 0)
B.result(tag, "peers_min", sp.min)
B.result(tag, "peers_median", sp.median)
B.result(tag, "calm", sp.calm and 1 or 0)
B.result(tag, "calm_seconds", sp.calm_seconds)

-- The origins: K nodes spread evenly over 1..n, node 1 first. A worker
-- broadcasts through shard.lua's broadcast verb; a worker without it (an
-- older shard.lua) leaves only this process's nodes as origins, said loud.
local origins, k_origins = {}, math.max(1, math.min(o.origins, n))
local remote_ok = ctl.nshards == 1 or ctl:supports("broadcast")
local span = remote_ok and n or math.min(n, ctl.per_proc)
if not remote_ok then
  B.log("NOTE: the shard workers have no broadcast verb (shard.lua): origins only among nodes "
    .. "1..%d, in this process", span)
end
for k = 1, k_origins do
  local gi = 1 + (k - 1) * span // k_origins
  if gi ~= origins[#origins] then origins[#origins + 1] = gi end
end
local procs = {}
for _, gi in ipairs(origins) do procs[ctl:shard_of(gi)] = true end
local nprocs = 0
for _ in pairs(procs) do nprocs = nprocs + 1 end
local origin_of = {}
for rep = 1, o.repeats do origin_of[rep] = origins[(rep - 1) % #origins + 1] end
local origin_list = {}
for i, gi in ipairs(origins) do origin_list[i] = ("%d (process %d)"):format(gi, ctl:shard_of(gi)) end
B.log("origins, in turn: nodes %s", table.concat(origin_list, ", "))
B.result(tag, "origins", #origins)
B.result(tag, "origin_processes", nprocs)

local sent_at, copies, repairs, lo_bytes = {}, {}, {}, {}
local netns = os.getenv("BENCH_NETNS") == "1"
local poll = ctl.nshards > 1 and 0.01 or 0.005
-- 400 characters of random base64: the same kind of payload serf.sh sends.
local random_text = B.random_text
-- The cluster's CPU with nothing broadcast (probes, the processes' own
-- loops, and this script's reads of every process, as often as the run
-- below makes them), over --idle_window s: what the run uses beyond it is
-- what the broadcasts cost.
local idle_rate = 0
if o.idle_window > 0 then
  local c0, t0 = select(2, ctl:snap()), loop:now()
  while loop:now() - t0 < o.idle_window do
    loop:run_for(0.25)
    ctl:snap()
  end
  idle_rate = (select(2, ctl:snap()) - c0) / (loop:now() - t0)
end
local cpu0 = select(2, ctl:snap())
local t_run = loop:now()
for rep = 1, o.repeats do
  local before = ctl:snap()
  local lo0 = B.lo_tx_bytes()
  local t_cmd = loop:now()
  local t, err = ctl:broadcast(origin_of[rep], "bench", { rep = rep, text = random_text(400) })
  if not t then B.log("  #%-3d node %d did not broadcast: %s", rep, origin_of[rep], tostring(err)) end
  sent_at[rep] = t or t_cmd
  -- Arrival times come from the hooks; polling only decides when to stop.
  loop:run_until(function() return ctl:reached(rep) + 1 >= n end, o.timeout, poll)
  loop:run_for(o.settle) -- duplicates still in flight count as copies too
  local after = ctl:snap()
  local function d(k) return (after[k] or 0) - (before[k] or 0) end
  copies[rep] = d("messages_received") + d("messages_duplicate")
  -- Envelopes moved by anti-entropy (pushed to or fetched by a node that
  -- lacked them): the part of the spread that push gossip missed.
  repairs[rep] = d("ae_pushed") + d("ae_fetched")
  if netns then lo_bytes[rep] = B.lo_tx_bytes() - lo0 end
  loop:run_for(o.gap)
end
local cpu1 = select(2, ctl:snap())
local run_s = loop:now() - t_run

-- Queries: when the last response came (every node answers) and when the
-- call returned (it waits a settling time past the nodes node 1 knows:
-- README, Queries), as the result reports them.
local q_last, q_return, q_answered, q_timed_out = {}, {}, {}, 0
for k = 1, o.queries do
  local r
  ctl.node1:query("bench", { k = k }, { timeout = o.timeout }, function(res) r = res end)
  loop:run_until(function() return r ~= nil end, o.timeout + 5, poll)
  if r then
    q_last[k], q_return[k], q_answered[k] = r.last_response * 1000, r.elapsed * 1000, r.answered
    if r.timed_out then q_timed_out = q_timed_out + 1 end
    B.log("  query #%-3d answered %4d/%d  acks %4d  all answers %8.2f ms  returned %8.2f ms%s", k,
      r.answered, n, r.acks, q_last[k], q_return[k], r.timed_out and "  (timed out)" or "")
  end
  loop:run_for(o.gap)
end
local rss_kb = 0
for _, r in ipairs(ctl:all("snap")) do rss_kb = rss_kb + (r.rss_kb or 0) end

-- Gather every arrival: arr[rep] = { {t, hops}, ... } (the origin at t = 0).
local arr = {}
for rep = 1, o.repeats do arr[rep] = { { 0, 0 } } end
for _, res in ipairs(ctl:all("dump", {}, 120)) do
  for _, a in ipairs(res.arrivals) do
    local gi, rep, t, hops = a[1], a[2], a[3], a[4]
    if arr[rep] and gi ~= origin_of[rep] then arr[rep][#arr[rep] + 1] = { t - sent_at[rep], hops } end
  end
end
ctl:close()

local per = { t50 = {}, t90 = {}, t99 = {}, t100 = {}, hops_med = {}, hops_max = {},
              copies = {}, reach = {}, push = {}, repairs = {}, bytes = {} }
local by_origin = {} -- origin -> its broadcasts' 100% times (ms)
local complete, over_1s = 0, 0
local function ms(t) return t and ("%8.2f"):format(t * 1000) or "       -" end
for rep = 1, o.repeats do
  local times, hops = {}, {}
  for k, a in ipairs(arr[rep]) do
    times[k] = a[1]
    if k > 1 then hops[#hops + 1] = a[2] end
  end
  table.sort(times)
  local got = #times
  local function t_at(frac) local need = math.ceil(frac * n) return need <= got and times[need] or nil end
  local t50, t90, t99, t100 = t_at(0.5), t_at(0.9), t_at(0.99), t_at(1)
  local cpn = got > 1 and copies[rep] / (got - 1) or 0
  -- Nodes reached within 100 ms: the push phase, before any repair round.
  local fast = 0
  for _, t in ipairs(times) do if t <= 0.1 then fast = fast + 1 end end
  per.push[#per.push + 1] = 100 * fast / n
  per.repairs[#per.repairs + 1] = repairs[rep]
  if lo_bytes[rep] and got > 1 then per.bytes[#per.bytes + 1] = lo_bytes[rep] / (got - 1) end
  B.log("  #%-3d from node %-4d reached %4d/%d  50%% %s ms  90%% %s ms  99%% %s ms  100%% %s ms"
    .. "  hops med %s max %s  copies/node %.2f  in 100 ms %.0f%%  repaired %d", rep, origin_of[rep],
    got, n, ms(t50), ms(t90), ms(t99), ms(t100), tostring(B.median(hops)),
    tostring(B.percentile(hops, 100)), cpn, 100 * fast / n, repairs[rep])
  -- Arrivals count until the end of the run (a straggler may arrive after
  -- the next broadcast went out); a share never reached counts as
  -- infinitely late, so a median over the repeats stays honest.
  for key, t in pairs({ t50 = t50 or false, t90 = t90 or false, t99 = t99 or false, t100 = t100 or false }) do
    per[key][#per[key] + 1] = t and t * 1000 or math.huge
  end
  if t100 then complete = complete + 1 end
  -- Never reaching everyone counts as over 1 s too.
  if not t100 or t100 > 1 then over_1s = over_1s + 1 end
  local bo = by_origin[origin_of[rep]] or {}
  by_origin[origin_of[rep]] = bo
  bo[#bo + 1] = t100 and t100 * 1000 or math.huge
  per.hops_med[#per.hops_med + 1] = B.median(hops) or 0
  per.hops_max[#per.hops_max + 1] = B.percentile(hops, 100) or 0
  per.copies[#per.copies + 1] = cpn
  per.reach[#per.reach + 1] = got / n
end

local function emit(key, list, unit)
  local med, p99 = B.median(list), B.percentile(list, 99)
  B.result(tag, key .. "_median", med or "nan")
  B.result(tag, key .. "_p99", p99 or "nan")
  B.log("  %-20s median %10s   p99 %10s %s", key, B.fmt(med), B.fmt(p99), unit)
end
B.log("%s: %d nodes, %d repeats (p99 over %d repeats is the largest value; \"never\": not "
  .. "reached within %g s)", tag, n, o.repeats, o.repeats, o.timeout)
emit("t50_ms", per.t50, "ms")
emit("t90_ms", per.t90, "ms")
emit("t99_ms", per.t99, "ms")
emit("t100_ms", per.t100, "ms")
emit("hops_median", per.hops_med, "hops")
emit("hops_max", per.hops_max, "hops")
emit("copies_per_node", per.copies, "copies")
emit("reached_in_100ms_pct", per.push, "%")
emit("ae_repairs", per.repairs, "envelopes")
if #per.bytes > 0 then emit("lo_bytes_per_node", per.bytes, "bytes") end
-- The first broadcast alone: the cold start (the tree not yet grown, first
-- connections), which a median over the repeats would hide.
if o.repeats > 0 then
  for _, key in ipairs({ "t50", "t90", "t99", "t100" }) do
    B.result(tag, "first_" .. key .. "_ms", per[key][1])
  end
  B.log("  %-20s 50%% %s  90%% %s  99%% %s  100%% %s ms (from node %d)", "first broadcast",
    B.fmt(per.t50[1]), B.fmt(per.t90[1]), B.fmt(per.t99[1]), B.fmt(per.t100[1]), origin_of[1])
  B.result(tag, "over_1s_pct", 100 * over_1s / o.repeats)
  B.log("  %-20s %d of %d broadcasts (%.0f%%) took over 1 s to reach 100%% (or never did)",
    "over 1 s", over_1s, o.repeats, 100 * over_1s / o.repeats)
  local parts = {}
  for _, gi in ipairs(origins) do
    local list = by_origin[gi]
    if list then parts[#parts + 1] = ("node %d: %s (%d)"):format(gi, B.fmt(B.median(list)), #list) end
  end
  B.log("  %-20s %s", "100% by origin", "median ms (broadcasts): " .. table.concat(parts, "; "))
end
if o.queries > 0 then
  emit("query_last_ms", q_last, "ms")
  emit("query_return_ms", q_return, "ms")
  B.result(tag, "query_answered_min", B.percentile(q_answered, 0) or 0)
  B.result(tag, "query_timed_out", q_timed_out)
  B.result(tag, "queries", o.queries)
end
B.result(tag, "complete", complete)
B.result(tag, "repeats", o.repeats)
B.result(tag, "reach_min", B.percentile(per.reach, 0) or 0)
B.result(tag, "reach_mean", B.mean(per.reach) or 0)
B.result(tag, "cpu_pct_during_run", 100 * (cpu1 - cpu0) / run_s)
-- The same per broadcast and node: every process's CPU over the run
-- (settles and gaps, and the processes' own loops, included).
B.result(tag, "cpu_us_per_node_broadcast", (cpu1 - cpu0) / math.max(o.repeats, 1) / n * 1e6)
B.result(tag, "idle_cpu_pct", 100 * idle_rate)
B.result(tag, "cpu_us_per_node_broadcast_net",
  math.max(0, cpu1 - cpu0 - idle_rate * run_s) / math.max(o.repeats, 1) / n * 1e6)
B.result(tag, "rss_kib_per_node", rss_kb / n)
B.log("  reached 100%% in %d of %d repeats; mean reach %.1f%%, worst %.1f%%; CPU of all "
  .. "processes during the repeats %.0f%% of one core; RSS %.0f KiB per node", complete, o.repeats,
  100 * (B.mean(per.reach) or 0), 100 * (B.percentile(per.reach, 0) or 0),
  100 * (cpu1 - cpu0) / run_s, rss_kb / n)
