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
--   --mode load: one step of serf.sh load: --sends, bench/serf/load.pl's
--     "I NAME AGENT T_SEND T_ACK ERROR" lines (and --sends.meta), the
--     events of that step (names --prefix_I); ev/sI's recv lines (the
--     first copy each agent logged) and old lines (that first copy dropped
--     as older than the agent's event buffer: no delivery), up to --t1 (the
--     end of the drain); --warn, the agents' stamped warnings about queues
--     and drops. Deliveries leave the origin out: each event can reach N-1.
local B = require "benchlib"

local o = B.args(arg, { mode = "events", dir = "", nodes = 10, repeats = 20, idle_rate = 0,
  payload = 400, label = "serf", t0 = 0, t1 = 0, victim = "", handler = 1, clk_tck = 100,
  profile = "lan", w0 = 0, w1 = 0, window_bytes = 0, window_ticks = 0, detect_ticks = 0,
  netns = 0, handler_ms = 0, sends = "", prefix = "", rate = 0, seconds = 0, origins = 0, drain = 0,
  agent_ticks = 0, stamp_ticks = 0, idle_cpu = -1, idle_bps = -1, udp_errors = 0, warn = "",
  settle_s = 0, pre_bps = "nan" })
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
for i = 1, o.mode == "load" and 0 or n do -- (load reads what it needs itself)
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
elseif o.mode == "load" then
  local sends, meta, byname = {}, {}, {}
  for line in (B.read(o.sends) or ""):gmatch("[^\n]+") do
    local i, name, agent, ts, ta, err = line:match("^(%d+) (%S+) (%d+) ([%d.]+) ([%d.]+) (%S+)")
    if i then
      local s = { name = name, agent = tonumber(agent), ts = tonumber(ts), ta = tonumber(ta), err = err }
      sends[#sends + 1] = s
      byname[name] = s
    end
  end
  for line in (B.read(o.sends .. ".meta") or ""):gmatch("[^\n]+") do
    local k, v = line:match("^(%S+) (%S+)")
    if k then meta[k] = tonumber(v) end
  end
  -- Receptions of this step's events, from every agent's stamped log.
  local recv, old, suspects, failures = {}, {}, {}, {}
  local pre = o.prefix .. "_"
  for i = 1, n do
    local r, od = {}, {}
    for line in (B.read(("%s/ev/s%d"):format(o.dir, i)) or ""):gmatch("[^\n]+") do
      local t, what, name = line:match("^([%d.]+) (%S+) (%S+)")
      t = tonumber(t)
      if t and t <= o.t1 then
        if name:sub(1, #pre) == pre then
          if what == "recv" then r[name] = t elseif what == "old" then od[name] = t end
        elseif t >= o.t0 and what == "suspect" then suspects[#suspects + 1] = ("s%d:%s"):format(i, name)
        elseif t >= o.t0 and what == "failed" then failures[#failures + 1] = ("s%d:%s"):format(i, name)
        end
      end
    end
    recv[i], old[i] = r, od
  end
  local lat, acks = {}, {}
  local events, errors, deliveries, all, none, refused_old = 0, 0, 0, 0, 0, 0
  for _, s in ipairs(sends) do
    if s.err ~= "-" then
      errors = errors + 1
    else
      events = events + 1
      if s.ta > 0 then acks[#acks + 1] = (s.ta - s.ts) * 1000 end
      local got = 0
      for i = 1, n do
        if i ~= s.agent then
          local t = recv[i][s.name]
          if t and old[i][s.name] then
            refused_old = refused_old + 1
          elseif t then
            got = got + 1
            lat[#lat + 1] = (t - s.ts) * 1000
          end
        end
      end
      deliveries = deliveries + got
      if got == n - 1 then all = all + 1 end
      if got == 0 then none = none + 1 end
    end
  end
  -- What the agents said about queues and drops, inside the step's window.
  local pruned, handler_drops, old_copies, pushpull, depth_max, warned = 0, 0, 0, 0, 0, {}
  for line in (B.read(o.warn) or ""):gmatch("[^\n]+") do
    local agent, t, rest = line:match("agent(%d+)%.out:([%d.]+) (.*)$")
    t = tonumber(t)
    if t and t >= o.t0 and t <= o.t1 then
      local depth, limit = rest:match("queue depth %((%d+)%) exceeds limit %((%d+)%)")
      local d2 = rest:match("queue depth: (%d+)")
      if depth then pruned = pruned + tonumber(depth) - tonumber(limit); warned[#warned + 1] = "s" .. agent .. ": " .. rest
      elseif d2 then depth_max = math.max(depth_max, tonumber(d2))
      elseif rest:match("handler queue full") then handler_drops = handler_drops + 1
      elseif rest:match("received old event") then old_copies = old_copies + 1
      elseif rest:match("Too many pending push/pull") then pushpull = pushpull + 1
      end
    end
  end
  local dt = o.t1 - o.t0
  local sent, scheduled = meta.sent or #sends, meta.scheduled or 0
  local offered = (sent > 1 and meta.t_last and meta.t_first and meta.t_last > meta.t_first)
    and (sent - 1) / (meta.t_last - meta.t_first) or nil
  local max_late = meta.max_late_ms or 0
  local behind = sent < scheduled or max_late > 1000 / math.max(o.rate, 1e-9)
  local pairs_ = events * (n - 1)
  local cpu = 100 * o.agent_ticks / o.clk_tck / dt / n
  local p50, p99, p100 = B.percentile(lat, 50), B.percentile(lat, 99), B.percentile(lat, 100)
  local sender_ms = sent > 0 and (meta.cpu_s or 0) * 1000 / sent or nil
  local busy = tonumber(o.pre_bps)
  B.log("%s: %d agents, %g events/s for %g s (%d-byte payloads, %d origins), then %g s of drain; "
    .. "window %.1f s; started after %.1f s of settling, %s", tag, n, o.rate, o.seconds, o.payload,
    o.origins, o.drain, dt, o.settle_s, busy and ("the loopback then at %.0f bytes/s per agent "
    .. "(at rest %.0f)%s"):format(busy, o.idle_bps, busy > 2 * o.idle_bps + 500
      and ": STILL BUSY with the previous step's retransmissions" or "") or "loopback not measured")
  B.log("  sender: %d of %d events sent, offered %s/s (measured: (sent-1) / first-to-last send), "
    .. "latest %.1f ms behind schedule (%d over 100 ms)%s; RPC answers: %d, errors %d, answer "
    .. "p50 %s ms p99 %s ms; sender CPU %s ms per event", sent, scheduled,
    offered and ("%.2f"):format(offered) or "-", max_late, meta.late_over_100ms or 0,
    behind and "  SENDER FELL BEHIND: the rate offered is the measured one" or "",
    meta.acked or 0, errors, B.fmt(B.percentile(acks, 50)), B.fmt(B.percentile(acks, 99)),
    B.fmt(sender_ms))
  B.log("  delivered %d of %d (event, other agent) pairs = %.2f%%; %d of %d events reached all "
    .. "%d other agents (%.2f%%), %d reached none; %d first copies dropped as older than the "
    .. "event buffer", deliveries, pairs_, pairs_ > 0 and 100 * deliveries / pairs_ or 0, all,
    events, n - 1, events > 0 and 100 * all / events or 0, none, refused_old)
  B.log("  latency (reception at an agent - RPC start at the sender), over %d deliveries: "
    .. "p50 %s ms  p99 %s ms  p100 %s ms", #lat, B.fmt(p50), B.fmt(p99), B.fmt(p100))
  B.log("  CPU %.2f%% of a core per agent over the window (at rest %.2f%%); stamp.pl %.1f%% of a "
    .. "core in all (measurement); %s", cpu, o.idle_cpu, 100 * o.stamp_ticks / o.clk_tck / dt,
    o.netns == 1 and ("%.0f loopback bytes/s per agent (at rest %.0f)"):format(o.window_bytes / dt / n,
      o.idle_bps) or "bytes not measured (no private netns)")
  B.log("  drops: serf queue pruned %d, memberlist handler queue full %d, old-event copies %d, "
    .. "push/pull refused %d, kernel UDP receive-buffer drops %d; largest queue depth warned %s; "
    .. "suspicions %d, members declared failed %d", pruned, handler_drops, old_copies, pushpull,
    o.udp_errors, depth_max > 0 and tostring(depth_max) or "none (warned at >= 128, checked every 30 s)",
    #suspects, #failures)
  for k, w in ipairs(warned) do if k <= 5 then B.log("    %s", w) end end
  if #failures > 0 then B.log("    failed: %s", table.concat(failures, " ", 1, math.min(#failures, 10))) end
  result("nodes", n)
  result("rate_per_s", o.rate)
  result("seconds", o.seconds)
  result("payload_bytes", o.payload)
  result("origins", o.origins)
  result("drain_s", o.drain)
  result("window_s", dt)
  result("settle_s", o.settle_s)
  if busy then result("pre_bytes_per_s_per_agent", busy) end
  result("scheduled", scheduled)
  result("events", events)
  result("offered_per_s", offered or "nan")
  result("sender_behind", behind and 1 or 0)
  result("sender_max_late_ms", max_late)
  result("sender_cpu_ms_per_event", sender_ms or "nan")
  result("rpc_errors", errors)
  result("rpc_answer_p50_ms", B.percentile(acks, 50) or "nan")
  result("rpc_answer_p99_ms", B.percentile(acks, 99) or "nan")
  result("deliveries", deliveries)
  result("delivered_pct", pairs_ > 0 and 100 * deliveries / pairs_ or "nan")
  result("delivered_all_pct", events > 0 and 100 * all / events or "nan")
  result("never_delivered", none)
  result("latency_p50_ms", p50 or "nan")
  result("latency_p99_ms", p99 or "nan")
  result("latency_p100_ms", p100 or "nan")
  result("cpu_pct_per_agent", cpu)
  result("cpu_idle_pct_per_agent", o.idle_cpu)
  result("stamp_cpu_pct", 100 * o.stamp_ticks / o.clk_tck / dt)
  if o.netns == 1 then result("bytes_per_s_per_agent", o.window_bytes / dt / n) end
  result("dropped_queue_pruned", pruned)
  result("dropped_handler_queue", handler_drops)
  result("dropped_old_event", refused_old)
  result("old_event_copies", old_copies)
  result("udp_rcvbuf_errors", o.udp_errors)
  result("queue_depth_warned_max", depth_max)
  result("suspicions", #suspects)
  result("members_failed", #failures)
else -- idle
  local text = settings_text()
  B.log("%s: %d agents, %s, no event handler", tag, n, text)
  window_figures("idle")
  result("nodes", n)
  result("seconds", o.w1 - o.w0)
end
