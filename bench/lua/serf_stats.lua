-- serf_stats.lua -- turns the Serf agents' handler logs (bench/serf.sh)
-- into the same figures dissemination.lua and detect.lua print for hearsay.
--
--   --mode events: DIR/log/sI lines "EPOCH user bench_rN"; DIR/sends lines
--     "REP T_SEND T_END LO_BYTES_BEFORE LO_BYTES_AFTER". Times are relative
--     to agent 1's own handler (the agent the event was sent to). Bytes:
--     what the loopback carried over the idle rate, per agent reached.
--     Serf does not say how many copies of an event an agent received (its
--     rule: every agent sends each event 4*ceil(log10(N+1)) times; packets
--     are compressed), so for Serf we report bytes, not copies.
--   --mode failed: DIR/log/sI lines "EPOCH member-failed"; times relative
--     to --t0, the moment the victim was killed.
local B = require "benchlib"

local o = B.args(arg, { mode = "events", dir = "", nodes = 10, repeats = 20, idle_rate = 0,
  payload = 400, label = "serf", t0 = 0, victim = "" })

-- logs[agent] = list of { t, event, name }
local logs = {}
for i = 1, o.nodes do
  local text = B.read(("%s/log/s%d"):format(o.dir, i)) or ""
  local l = {}
  for t, ev, name in text:gmatch("([%d.]+) (%S+) ?(%S*)\n") do
    l[#l + 1] = { tonumber(t), ev, name }
  end
  logs[i] = l
end

if o.mode == "events" then
  local sends = {}
  for line in (B.read(o.dir .. "/sends") or ""):gmatch("[^\n]+") do
    local rep, t0, t1, b0, b1 = line:match("^(%d+) ([%d.]+) ([%d.]+) (%d+) (%d+)")
    if rep then sends[tonumber(rep)] = { tonumber(t0), tonumber(t1), tonumber(b0), tonumber(b1) } end
  end
  local per = { t50 = {}, t90 = {}, t99 = {}, t100 = {}, lag = {}, bytes = {}, reach = {} }
  local complete = 0
  for rep = 1, o.repeats do
    local name = "bench_r" .. rep
    local at = {}
    for i = 1, o.nodes do
      for _, e in ipairs(logs[i]) do
        if e[2] == "user" and e[3] == name then at[i] = e[1] break end
      end
    end
    local origin = at[1]
    if origin then
      local times = {}
      for i = 1, o.nodes do if at[i] then times[#times + 1] = at[i] - origin end end
      table.sort(times)
      local function t_at(frac) local need = math.ceil(frac * o.nodes) return times[need] end
      local t50, t90, t99, t100 = t_at(0.5), t_at(0.9), t_at(0.99), t_at(1)
      -- Not reached within the timeout: infinitely late (see dissemination.lua).
      for key, t in pairs({ t50 = t50 or false, t90 = t90 or false, t99 = t99 or false, t100 = t100 or false }) do
        per[key][#per[key] + 1] = t and t * 1000 or math.huge
      end
      if t100 then complete = complete + 1 end
      per.reach[#per.reach + 1] = #times / o.nodes
      local s = sends[rep]
      local bytes_txt = ""
      if s then
        per.lag[#per.lag + 1] = (origin - s[1]) * 1000
        -- Loopback bytes over the idle rate, per agent that received it.
        local extra = (s[4] - s[3]) - o.idle_rate * (s[2] - s[1])
        local bpn = extra / math.max(1, #times - 1)
        per.bytes[#per.bytes + 1] = bpn
        bytes_txt = ("  +%.0f bytes/agent"):format(bpn)
      end
      local function ms(t) return t and ("%8.2f"):format(t * 1000) or "       -" end
      B.log("  #%-3d reached %4d/%d  50%% %s ms  90%% %s ms  99%% %s ms  100%% %s ms  handler lag %.1f ms%s",
        rep, #times, o.nodes, ms(t50), ms(t90), ms(t99), ms(t100), s and (origin - s[1]) * 1000 or 0,
        bytes_txt)
    else
      B.log("  #%-3d agent 1 never ran its handler", rep)
      per.reach[#per.reach + 1] = 0
      for _, key in ipairs({ "t50", "t90", "t99", "t100" }) do per[key][#per[key] + 1] = math.huge end
    end
  end
  local function emit(key, list, unit)
    local med, p99 = B.median(list), B.percentile(list, 99)
    B.result(o.label, key .. "_median", med or "nan")
    B.result(o.label, key .. "_p99", p99 or "nan")
    B.log("  %-20s median %10s   p99 %10s %s", key, B.fmt(med), B.fmt(p99), unit)
  end
  B.log("%s: %d agents, %d repeats (p99 over %d repeats is the largest value)", o.label, o.nodes,
    o.repeats, o.repeats)
  emit("t50_ms", per.t50, "ms")
  emit("t90_ms", per.t90, "ms")
  emit("t99_ms", per.t99, "ms")
  emit("t100_ms", per.t100, "ms")
  emit("handler_lag_ms", per.lag, "ms (serf event -> agent 1's handler)")
  -- Serf's idle traffic is bursty (push-pull syncs): a negative median means
  -- the event's bytes drowned in it, so we say "not measurable".
  if o.idle_rate > 0 then
    local med = B.median(per.bytes)
    if med and med > 0 then emit("lo_bytes_per_node", per.bytes, "bytes")
    else B.log("  lo_bytes_per_node    not measurable: below the idle traffic's noise") end
  end
  B.result(o.label, "complete", complete)
  B.result(o.label, "repeats", o.repeats)
  B.result(o.label, "reach_mean", B.mean(per.reach) or 0)
  B.log("  reached 100%% in %d of %d repeats", complete, o.repeats)
else
  local times, victim = {}, o.victim
  for i = 1, o.nodes do
    if ("s" .. i) ~= victim then
      for _, e in ipairs(logs[i]) do
        if e[2] == "member-failed" then times[#times + 1] = e[1] - o.t0 break end
      end
    end
  end
  table.sort(times)
  local med, all = B.median(times), #times == o.nodes - 1 and times[#times] or nil
  B.log("%s: %d of %d agents ran member-failed for %s; median %.2f s, all %s s", o.label, #times,
    o.nodes - 1, victim, med or -1, all and ("%.2f"):format(all) or "-")
  B.result(o.label, "detected", #times)
  B.result(o.label, "watchers", o.nodes - 1)
  B.result(o.label, "median_s", med or "nan")
  B.result(o.label, "all_s", all or "nan")
  B.result(o.label, "first_s", times[1] or "nan")
end
