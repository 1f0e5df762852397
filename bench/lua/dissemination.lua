-- dissemination.lua -- how fast one broadcast reaches an in-process
-- hearsay cluster, and at what cost in copies.
--
-- N nodes on 127.0.0.1 in this process (one libuv loop), warmed up by
-- benchcluster. Then, one message at a time, node 1 broadcasts and every
-- node's on("message") hook records when the message first arrived
-- (loop:now(), a monotonic clock) and after how many hops. Per message:
-- the time until 50%, 99% and 100% of the N nodes have it (node 1 has it
-- at t = 0), the hops, and the copies: the growth of messages_received +
-- messages_duplicate summed over all nodes, per node reached (node 1
-- excluded), read once the message has settled. No periodic announces or
-- health probes run meanwhile (long intervals), so those counters move
-- only for the message under test; anti-entropy, if the core runs it, is
-- left at its default because it is part of how a message reaches 100%.
--
--   lua5.4 bench/lua/dissemination.lua --nodes 100 --repeats 20
local hs = require "hearsay"
local B = require "benchlib"
local BC = require "benchcluster"

local o = B.args(arg, {
  nodes = 10, repeats = 20, timeout = 10, max_peers = 50, settle = 0.3, gap = 0.2,
  gossip_interval = 600, health_interval = 600, peer_exchange_interval = 30,
  warmup_timeout = 180, label = "",
})
local n = o.nodes
local tag = o.label ~= "" and o.label or ("hearsay_n" .. n)

local settings = {
  log_level = "error", max_peers = o.max_peers,
  gossip_interval = o.gossip_interval, health_interval = o.health_interval,
  peer_exchange_interval = o.peer_exchange_interval,
}
B.log("dissemination: %d hearsay nodes, max_peers %d, gossip_interval %g s, health_interval %g s, "
  .. "peer_exchange_interval %g s, %d repeats, %g s timeout each", n, o.max_peers,
  o.gossip_interval, o.health_interval, o.peer_exchange_interval, o.repeats, o.timeout)
local c, warm = BC.start({ n = n, settings = settings, timeout = o.warmup_timeout })
local loop, nodes = c.loop, c.nodes
B.result(tag, "converged", warm.converged and 1 or 0)
B.result(tag, "peers_min", warm.min)
B.result(tag, "peers_median", warm.median)

-- Arrival times of the message under test, by node index.
local current, t_sent, arrived, reached = nil, 0, {}, 0
for i, node in ipairs(nodes) do
  node:on("message", function(m)
    if m.id == current and not arrived[i] then
      arrived[i] = { t = loop:now() - t_sent, hops = m.hops }
      reached = reached + 1
    end
  end)
end

-- Time by which `count` nodes had the message (sorted arrival times).
local function time_for(times, count)
  if count > #times then return nil end
  return times[count]
end

local per = { p50 = {}, p99 = {}, p100 = {}, hops_med = {}, hops_max = {}, copies = {},
              reach = {} }
local complete = 0
for rep = 1, o.repeats do
  local before = B.sum_metrics(nodes)
  arrived, reached = {}, 1
  t_sent = loop:now()
  current = nodes[1]:broadcast("bench", { rep = rep, text = "dissemination benchmark" })
  arrived[1] = { t = 0, hops = 0 }
  loop:run_until(function() return reached >= n end, o.timeout, 0.001)
  loop:run_for(o.settle) -- duplicates still in flight count as copies too
  local after = B.sum_metrics(nodes)
  local times, hops = {}, {}
  for i = 1, n do
    if arrived[i] then
      times[#times + 1] = arrived[i].t
      if i ~= 1 then hops[#hops + 1] = arrived[i].hops end
    end
  end
  table.sort(times)
  local copies = (after.messages_received - before.messages_received)
    + (after.messages_duplicate - before.messages_duplicate)
  local cpn = reached > 1 and copies / (reached - 1) or 0
  local t50, t99, t100 = time_for(times, math.ceil(0.5 * n)), time_for(times, math.ceil(0.99 * n)),
    time_for(times, n)
  local function ms(t) return t and ("%8.2f"):format(t * 1000) or "       -" end
  B.log("  #%-3d reached %4d/%d  50%% %s ms  99%% %s ms  100%% %s ms  hops med %s max %s  "
    .. "copies/node %.2f", rep, reached, n, ms(t50), ms(t99), ms(t100),
    tostring(B.median(hops)), tostring(B.percentile(hops, 100)), cpn)
  if t50 then per.p50[#per.p50 + 1] = t50 * 1000 end
  if t99 then per.p99[#per.p99 + 1] = t99 * 1000 end
  if t100 then per.p100[#per.p100 + 1] = t100 * 1000; complete = complete + 1 end
  per.hops_med[#per.hops_med + 1] = B.median(hops) or 0
  per.hops_max[#per.hops_max + 1] = B.percentile(hops, 100) or 0
  per.copies[#per.copies + 1] = cpn
  per.reach[#per.reach + 1] = reached / n
  loop:run_for(o.gap)
end

local function emit(key, list, unit)
  local med, p99 = B.median(list), B.percentile(list, 99)
  B.result(tag, key .. "_median", med or "nan")
  B.result(tag, key .. "_p99", p99 or "nan")
  B.log("%-22s median %s  p99 %s %s (%d samples)", key, med and ("%.2f"):format(med) or "-",
    p99 and ("%.2f"):format(p99) or "-", unit, #list)
end
B.log("%s: %d nodes, %d repeats (p99 of %d samples is the largest)", tag, n, o.repeats, o.repeats)
emit("t50_ms", per.p50, "ms")
emit("t99_ms", per.p99, "ms")
emit("t100_ms", per.p100, "ms")
emit("hops_median", per.hops_med, "hops")
emit("hops_max", per.hops_max, "hops")
emit("copies_per_node", per.copies, "copies")
B.result(tag, "complete", complete)
B.result(tag, "repeats", o.repeats)
B.result(tag, "reach_min", B.percentile(per.reach, 0) or 0)
B.result(tag, "reach_mean", B.mean(per.reach) or 0)
B.log("reached 100%% in %d of %d repeats; mean reach %.1f%%, worst %.1f%%", complete, o.repeats,
  100 * (B.mean(per.reach) or 0), 100 * (B.percentile(per.reach, 0) or 0))
c:close()
loop:close()
