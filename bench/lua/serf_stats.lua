-- serf_stats.lua -- turns the Serf agents' logs (bench/serf.sh) into the
-- same figures dissemination.lua, detect.lua and idle.lua print for hearsay.
--
-- Inputs in --dir: log/sI, the event handler's lines "EPOCH EVENT NAME NICE"
-- (NAME: the user event's, or the member a member event named); ev/sI,
-- stamp.pl's "EPOCH send|recv|failed|suspect|dead NAME" (what agent I did
-- itself, stamped as it logged it); agentI.out, agent I's whole log, where
-- its telemetry lands on SIGUSR1.
--   --mode events: DIR/sends lines "REP T_SEND T_END LO_BEFORE LO_AFTER
--     OWN_TICKS0 CHILD_TICKS0 OWN_TICKS1 CHILD_TICKS1 ORIGIN" (ORIGIN: the
--     agent the event was sent to; 1 when missing). With --handler 1,
--     t*_ms are taken from the handlers, relative to the origin's own
--     handler, as before; recv_t*_ms from the agents' logs, relative to
--     the origin logging the send: the handlers'
--     start-up subtracted. With --handler 0 (no handler ran) t*_ms are the
--     logs' times. Bytes: what the loopback carried over the idle rate, per
--     agent reached. Serf does not say how many copies of an event an agent
--     received (its rule: every agent sends each event 4*ceil(log10(N+1))
--     times; packets are compressed), so for Serf we report bytes, not copies.
--   --mode failed: detection of --victim killed at --t0: when each agent's
--     memberlist declared it failed (its log), which is before the agent's
--     member-event coalescing (fixed in the agent, not a setting) and its
--     handler; both times are reported, the first as the detection time.
--     Any other member declared failed meanwhile is a false failure.
--   --mode idle: bytes, CPU and probes per agent over the window --w0..--w1.
local B = require "benchlib"

local o = B.args(arg, { mode = "events", dir = "", nodes = 10, repeats = 20, idle_rate = 0,
  payload = 400, label = "serf", t0 = 0, t1 = 0, victim = "", handler = 1, clk_tck = 100,
  profile = "lan", w0 = 0, w1 = 0, window_bytes = 0, window_ticks = 0, detect_ticks = 0,
  netns = 0, handler_ms = 0 })
local n = o.nodes

-- memberlist's profiles (config.go), what `serf agent -profile` selects.
local PROFILES = {
  lan = { probe_interval = 1, probe_timeout = 0.5, suspicion_mult = 4, max_mult = 6, indirect = 3,
          gossip = "every 200 ms to 3 agents", push_pull = 30 },
  wan = { probe_interval = 5, probe_timeout = 3, suspicion_mult = 6, max_mult = 6, indirect = 3,
          gossip = "every 500 ms to 4 agents", push_pull = 60 },
  ["local"] = { probe_interval = 1, probe_timeout = 0.2, suspicion_mult = 3, max_mult = 6,
          indirect = 1, gossip = "every 100 ms to 3 agents", push_pull = 15 },
}
local prof = PROFILES[o.profile] or PROFILES.lan

-- Results go to every label of --label (comma-separated): one run can
-- stand for two comparisons when Serf's settings are the same in both.
local labels = {}
for l in o.label:gmatch("[^,]+") do labels[#labels + 1] = l end
local function result(key, value)
  for _, l in ipairs(labels) do B.result(l, key, value) end
end
local tag = table.concat(labels, "/")

-- handler[i] = list of { t, event, name, nice }; ev[i] = list of { t, what, name }
local handler, ev = {}, {}
for i = 1, n do
  local h, e = {}, {}
  for line in (B.read(("%s/log/s%d"):format(o.dir, i)) or ""):gmatch("[^\n]+") do
    local t, event, name, nice = line:match("^([%d.]+) (%S+) ?(%S*) ?(%S*)")
    if t then h[#h + 1] = { tonumber(t), event, name, tonumber(nice) } end
  end
  for line in (B.read(("%s/ev/s%d"):format(o.dir, i)) or ""):gmatch("[^\n]+") do
    local t, what, name = line:match("^([%d.]+) (%S+) (%S+)")
    if t then e[#e + 1] = { tonumber(t), what, name } end
  end
  handler[i], ev[i] = h, e
end

local function first_ev(i, what, name, after)
  for _, e in ipairs(ev[i]) do
    if e[2] == what and e[3] == name and e[1] >= (after or 0) then return e[1] end
  end
end

-- The niceness the handlers ran at, as they read it themselves.
local function handler_nice()
  local lo, hi
  for i = 1, n do
    for _, e in ipairs(handler[i]) do
      if e[4] then lo, hi = math.min(lo or e[4], e[4]), math.max(hi or e[4], e[4]) end
    end
  end
  return lo, hi
end

-- Probes per agent per second, from the agents' telemetry dumps: the
-- count of memberlist.probeNode samples (one per probe round: a ping, and
-- the indirect pings if it went unanswered) in each complete 10-s interval
-- that lies within w0..w1. Interval starts are printed as Go times
-- ("2026-12-05 16:40:10 +0000 UTC").
local function days_from_civil(y, m, d)
  y = m <= 2 and y - 1 or y
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local doy = (153 * (m > 2 and m - 3 or m + 9) + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end
local function probe_rate(w0, w1)
  local rates, intervals = {}, 0
  for i = 1, n do
    local seen, count, k = {}, 0, 0
    for line in (B.read(("%s/agent%d.out"):format(o.dir, i)) or ""):gmatch("[^\n]+") do
      local y, mo, d, h, mi, s, sign, oh, om, rest =
        line:match("%[(%d+)%-(%d+)%-(%d+) (%d+):(%d+):(%d+)[%.%d]* ([%+%-])(%d%d)(%d%d) [^%]]*%]%[S%] (.*)$")
      if y and rest:match("memberlist%.probeNode") then
        local c = tonumber(rest:match("Count: (%d+)"))
        local start = days_from_civil(tonumber(y), tonumber(mo), tonumber(d)) * 86400
          + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(s)
          - (sign == "-" and -1 or 1) * (tonumber(oh) * 3600 + tonumber(om) * 60)
        if c and not seen[start] and start >= w0 and start + 10 <= w1 then
          seen[start] = true
          count, k = count + c, k + 1
        end
      end
    end
    if k > 0 then rates[#rates + 1] = count / (k * 10); intervals = intervals + k end
  end
  return B.mean(rates), #rates, intervals
end

-- The steady window (detect, idle): probes, bytes and CPU per agent.
local function window_figures(what)
  local dt = o.w1 - o.w0
  local probes, agents, intervals = probe_rate(o.w0, o.w1)
  local bps = o.netns == 1 and o.window_bytes / dt / n or nil
  local cpu = 100 * o.window_ticks / o.clk_tck / dt / n
  B.log("%s: %s %.1f s: %s probes/s per agent (memberlist.probeNode over %d complete 10-s "
    .. "intervals of %d agents), %s bytes/s per agent on loopback, CPU %.3f%% of a core per agent",
    tag, what, dt, probes and ("%.2f"):format(probes) or "-", intervals, agents,
    bps and ("%.0f"):format(bps) or "(not measured: no private netns)", cpu)
  result("window_s", dt)
  result("probes_per_s_per_node", probes or "nan")
  if bps then result("bytes_per_s_per_node", bps) end
  result("cpu_pct_per_node", cpu)
end

local function settings_text()
  local susp = prof.suspicion_mult * math.max(1, math.log(n, 10)) * prof.probe_interval
  return ("serf agent -profile %s (memberlist: probe every %g s, probe timeout %g s, %d indirect "
    .. "checks, suspicion timeout %d x max(1, log10(%d)) x %g s = %.2f s, starting at %dx that and "
    .. "falling to it after %d independent suspicions (Lifeguard), gossip %s, push-pull every %d s)")
    :format(o.profile, prof.probe_interval, prof.probe_timeout, prof.indirect, prof.suspicion_mult,
    n, prof.probe_interval, susp, prof.max_mult, math.max(0, prof.suspicion_mult - 2), prof.gossip,
    prof.push_pull), susp
end

if o.mode == "events" then
  local sends = {}
  for line in (B.read(o.dir .. "/sends") or ""):gmatch("[^\n]+") do
    local f = {}
    for w in line:gmatch("%S+") do f[#f + 1] = tonumber(w) end
    if #f >= 5 then sends[f[1]] = f end
  end
  local per = { t50 = {}, t90 = {}, t99 = {}, t100 = {}, lag = {}, bytes = {}, reach = {},
    r50 = {}, r90 = {}, r99 = {}, r100 = {}, start = {}, start_max = {}, acpu = {} }
  local complete, hruns, first_send, last_send = 0, 0, nil, nil
  for rep = 1, o.repeats do
    local s = sends[rep]
    if s and #s >= 9 then first_send, last_send = first_send or s, s end
  end
  local function ms(t) return t and ("%8.2f"):format(t * 1000) or "       -" end
  for rep = 1, o.repeats do
    local name = "bench_r" .. rep
    -- The agent it was sent from (the sends file's 10th field; agent 1
    -- in runs before origins rotated).
    local og = sends[rep] and sends[rep][10] or 1
    og = math.tointeger(og) or 1
    if og < 1 or og > n then og = 1 end
    -- From the handlers: at[i]; from the agents' logs: recv[i] (the
    -- origin: the send).
    local at, recv = {}, {}
    for i = 1, n do
      for _, e in ipairs(handler[i]) do
        if e[2] == "user" and e[3] == name then at[i] = e[1] break end
      end
      recv[i] = i == og and first_ev(og, "send", name) or first_ev(i, "recv", name)
    end
    local function shares(t, origin, into)
      local times = {}
      if origin then
        for i = 1, n do if t[i] then times[#times + 1] = t[i] - origin end end
      end
      table.sort(times)
      local function t_at(frac) return times[math.ceil(frac * n)] end
      local r = { t_at(0.5), t_at(0.9), t_at(0.99), t_at(1) }
      -- Not reached within the timeout: infinitely late (see dissemination.lua).
      for k, key in ipairs(into) do per[key][#per[key] + 1] = r[k] and r[k] * 1000 or math.huge end
      return r, #times
    end
    local s = sends[rep]
    local extra = ""
    if s and #s >= 9 then
      local acpu = (s[8] - s[6]) / o.clk_tck * 1000
      per.acpu[#per.acpu + 1] = acpu
      extra = ("  agents' CPU %.0f ms"):format(acpu)
    end
    if o.handler == 1 then
      local runs = 0
      for i = 1, n do
        for _, e in ipairs(handler[i]) do
          if e[2] == "user" and e[3] == name then runs = runs + 1 break end
        end
      end
      hruns = hruns + runs
    end
    local r, got
    local rr, rgot = shares(recv, recv[og], o.handler == 1 and { "r50", "r90", "r99", "r100" }
      or { "t50", "t90", "t99", "t100" })
    if o.handler == 1 then
      r, got = shares(at, at[og], { "t50", "t90", "t99", "t100" })
      -- Each agent's handler start after its own reception.
      local starts = {}
      for i = 1, n do if at[i] and recv[i] then starts[#starts + 1] = (at[i] - recv[i]) * 1000 end end
      if #starts > 0 then
        table.sort(starts)
        per.start[#per.start + 1] = B.median(starts)
        per.start_max[#per.start_max + 1] = starts[#starts]
      end
    else
      r, got = rr, rgot
    end
    if got == n then complete = complete + 1 end
    per.reach[#per.reach + 1] = got / n
    local origin = o.handler == 1 and at[og] or recv[og]
    if s and origin then
      if o.handler == 1 then per.lag[#per.lag + 1] = (origin - s[2]) * 1000 end
      -- Loopback bytes over the idle rate, per agent that received it.
      local bpn = ((s[5] - s[4]) - o.idle_rate * (s[3] - s[2])) / math.max(1, got - 1)
      per.bytes[#per.bytes + 1] = bpn
      extra = ("  +%.0f bytes/agent"):format(bpn) .. extra
    end
    if origin then
      B.log("  #%-3d from s%-4d reached %4d/%d  50%% %s ms  90%% %s ms  99%% %s ms  100%% %s ms%s%s",
        rep, og, got, n, ms(r[1]), ms(r[2]), ms(r[3]), ms(r[4]),
        o.handler == 1 and ("  (logs: 100%% %s ms)"):format(ms(rr[4])) or "", extra)
    else
      B.log("  #%-3d agent %d never %s", rep, og, o.handler == 1 and "ran its handler" or "logged the send")
    end
  end
  local function emit(key, list, unit)
    local med, p99 = B.median(list), B.percentile(list, 99)
    result(key .. "_median", med or "nan")
    result(key .. "_p99", p99 or "nan")
    B.log("  %-26s median %10s   p99 %10s %s", key, B.fmt(med), B.fmt(p99), unit)
  end
  B.log("%s: %d agents, %d repeats (p99 over %d repeats is the largest value); %s", tag, n,
    o.repeats, o.repeats, o.handler == 1
      and "times from each agent's event handler, relative to the origin's (t*), and from the agents' "
        .. "own logs, relative to the origin logging the send (recv_t*: the handlers' start-up subtracted)"
      or "no event handler: times from the agents' own logs, relative to the origin logging the send")
  emit("t50_ms", per.t50, "ms")
  emit("t90_ms", per.t90, "ms")
  emit("t99_ms", per.t99, "ms")
  emit("t100_ms", per.t100, "ms")
  if o.handler == 1 then
    emit("recv_t50_ms", per.r50, "ms (agents' logs)")
    emit("recv_t90_ms", per.r90, "ms (agents' logs)")
    emit("recv_t99_ms", per.r99, "ms (agents' logs)")
    emit("recv_t100_ms", per.r100, "ms (agents' logs)")
    emit("handler_lag_ms", per.lag, "ms (serf event -> the origin's handler)")
    emit("handler_start_ms", per.start, "ms (an agent's handler after its reception; median agent)")
    emit("handler_start_max_ms", per.start_max, "ms (the same, slowest agent)")
    -- The handlers' CPU: a run's cost as serf.sh measured it (100 runs,
    -- getrusage), times the runs per event; beside it the agents' reaped
    -- children's CPU over the whole run, whole ticks per agent (low by up to
    -- a tick per agent), as a check.
    if hruns > 0 then
      local per_event = o.handler_ms * hruns / o.repeats
      result("handler_cpu_ms_per_run", o.handler_ms)
      result("handler_cpu_ms", per_event)
      local check = first_send and (last_send[9] - first_send[7]) / o.clk_tck * 1000 or 0
      B.log("  %-26s %.1f ms CPU per event, all agents' handlers: %.2f ms per run (measured, 100 "
        .. "runs) x %.1f runs per event; the agents' children's CPU over the run says %.1f ms per "
        .. "event (whole ticks per agent: low by up to %.0f ms)", "handler_cpu_ms", per_event,
        o.handler_ms, hruns / o.repeats, check / o.repeats, n * 1000 / o.clk_tck / o.repeats)
    end
  end
  emit("agent_cpu_ms", per.acpu, "ms CPU per event, all agents (handlers apart; "
    .. "the 2 s of retransmissions after it included)")
  local lo, hi = handler_nice()
  result("handler", o.handler)
  if lo then
    result("handler_nice", hi)
    B.log("  handlers ran at niceness %d..%d, the agents' (they inherit it)", lo, hi)
  end
  if o.handler == 1 then
    B.log("  CPU share: agents and handlers at the same niceness as hearsay's processes; the "
      .. "handlers' CPU above competed with the agents (recv_t* take out their start-up, not that): "
      .. "serf.sh disseminate --no-handler measures Serf without them")
  end
  -- Serf's idle traffic is bursty (push-pull syncs): a negative median means
  -- the event's bytes drowned in it, so we say "not measurable".
  if o.idle_rate > 0 then
    local med = B.median(per.bytes)
    if med and med > 0 then emit("lo_bytes_per_node", per.bytes, "bytes")
    else B.log("  lo_bytes_per_node          not measurable: below the idle traffic's noise") end
  end
  result("complete", complete)
  result("repeats", o.repeats)
  result("reach_mean", B.mean(per.reach) or 0)
  B.log("  reached 100%% in %d of %d repeats", complete, o.repeats)
elseif o.mode == "failed" then
  local text, susp = settings_text()
  B.log("%s: settings: %s; member events coalesced by the agent before its handler runs "
    .. "(fixed in `serf agent`, no flag or config key turns it off): measured below and "
    .. "subtracted: detection is when each agent's memberlist declared %s failed (its log)",
    tag, text, o.victim)
  window_figures("steady window before the kill")
  local det, hand, coal, falses, first_suspect = {}, {}, {}, {}, nil
  local detected = 0
  local false_seen = {}
  local function false_failure(i, name, t, how)
    local key = i .. " " .. name
    if false_seen[key] then return end
    false_seen[key] = true
    falses[#falses + 1] = { i, name, t - o.t0, how }
  end
  for i = 1, n do
    if ("s" .. i) ~= o.victim then
      local d, h
      for _, e in ipairs(ev[i]) do
        if e[1] >= o.t0 then
          if e[2] == "failed" then
            if e[3] == o.victim then d = d or e[1] else false_failure(i, e[3], e[1], "memberlist") end
          elseif e[2] == "suspect" and e[3] == o.victim then
            first_suspect = math.min(first_suspect or e[1], e[1])
          end
        end
      end
      for _, e in ipairs(handler[i]) do
        if e[2] == "member-failed" and e[1] >= o.t0 then
          if e[3] == o.victim then h = h or e[1] else false_failure(i, e[3], e[1], "handler") end
        end
      end
      if d then det[#det + 1] = d - o.t0; detected = detected + 1 end
      if h then hand[#hand + 1] = h - o.t0 end
      if d and h then coal[#coal + 1] = (h - d) * 1000 end
    end
  end
  table.sort(det); table.sort(hand); table.sort(coal)
  local subtracted = #det > 0
  if not subtracted then
    -- No agent log says it (stamp.pl missing?): the handlers' times, as they are.
    det, detected = hand, #hand
    B.log("%s: no agent logged EventMemberFailed: times below are the handlers', coalescing "
      .. "NOT subtracted", tag)
  end
  local watchers = n - 1
  local all = detected == watchers and det[#det] or nil
  local hall = #hand == watchers and hand[#hand] or nil
  local cpu = 100 * o.detect_ticks / o.clk_tck / math.max(1e-9, o.t1 - o.t0)
  B.log("%s: %d of %d agents declared %s failed: first %.2f s, median %.2f s, all %s s "
    .. "(first suspicion %s s); their handlers ran %d times: median %.2f s, all %s s; "
    .. "coalescing and handler start took median %s ms, max %s ms; %d false failure(s); "
    .. "CPU %.0f%% of one core meanwhile (all agents)", tag, detected, watchers, o.victim,
    det[1] or -1, B.median(det) or -1, all and ("%.2f"):format(all) or "-",
    first_suspect and ("%.2f"):format(first_suspect - o.t0) or "-", #hand, B.median(hand) or -1,
    hall and ("%.2f"):format(hall) or "-", B.fmt(B.median(coal)), B.fmt(coal[#coal]), #falses, cpu)
  table.sort(falses, function(a, b) return a[3] < b[3] end)
  for k, f in ipairs(falses) do
    if k > 20 then B.log("  ... and %d more", #falses - 20) break end
    B.log("  false failure: agent s%d declared %s failed at %+.2f s (%s)", f[1], f[2], f[3], f[4])
  end
  local lo, hi = handler_nice()
  if lo then B.log("  handlers ran at niceness %d..%d", lo, hi) end
  result("watchers", watchers)
  result("detected", detected)
  result("first_s", det[1] or "nan")
  result("median_s", B.median(det) or "nan")
  result("all_s", all or "nan")
  result("coalescing_subtracted", subtracted and 1 or 0)
  result("handler_median_s", B.median(hand) or "nan")
  result("handler_all_s", hall or "nan")
  result("coalesce_ms_median", B.median(coal) or "nan")
  result("coalesce_ms_max", coal[#coal] or "nan")
  result("false_failures", #falses)
  result("cpu_pct", cpu)
  result("probe_interval_s", prof.probe_interval)
  result("probe_timeout_s", prof.probe_timeout)
  result("suspicion_s", susp)
  result("suspicion_max_s", susp * prof.max_mult)
else -- idle
  local text = settings_text()
  B.log("%s: %d agents, %s, no event handler", tag, n, text)
  window_figures("idle")
  result("nodes", n)
  result("seconds", o.w1 - o.w0)
end
