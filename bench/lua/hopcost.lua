-- hopcost.lua -- what one hop costs on loopback, for the simulator's CPU
-- model (hearsay sim --cpu; bench/run --only calibrate). Three nodes with
-- the dissemination bench's settings (no rounds to speak of): A and C in
-- this process, B in a process of its own; A and C hold B alone
-- (max_peers 1), so a message goes A -> B -> C.
--
--   lua5.4 bench/lua/hopcost.lua --messages 2000 --dir SCRATCH
--
-- Phase 1, before C exists: A pushes single envelopes (400-byte payload)
-- to B one at a time; B's process CPU per envelope, less what it uses
-- idle over the same time, is what serving one costs (serve_us: taken,
-- checked, handed to the hooks, answered).
-- Phase 2, C joined through B: B now relays each to C; B's CPU per
-- envelope less serve_us is what one push costs its sender (send_us: the
-- request made and sent, its answer taken). The hop B -> C is timed from
-- B's message hook to C's (loop:now(), CLOCK_MONOTONIC, one clock for
-- both processes): hop_us, median and p90. What a hop holds beyond
-- send_us + serve_us is the link (link_us: the kernel and the loops'
-- wake-ups).
-- Every wait is event-driven (loop:run("once")) and bounded.
local hs = require "hearsay"
local B = require "benchlib"

local o = B.args(arg, { messages = 2000, dir = "/tmp", sink = false, lua = "lua5.4",
  label = "hopcost" })
local function settings(max_peers)
  return { log_level = "error", max_peers = max_peers, gossip_interval = 600,
    health_interval = 600, peer_exchange_interval = 600, port = 0 }
end

local write = B.write

if o.sink then
  -- B: a node until DIR/stop appears (at most 10 minutes); then the
  -- times its messages came, "rep time" a line, in DIR/arrivals.
  local loop = hs.loop()
  local node = hs.node(loop, settings(50))
  local at = {}
  node:on("message", function(m)
    if m.type == "bench" and m.payload.phase == 2 then at[m.payload.rep] = loop:now() end
  end)
  assert(node:start())
  write(o.dir .. "/sink", node:id() .. " " .. node:url() .. "\n")
  loop:run_until(function() return io.open(o.dir .. "/stop") ~= nil end, 600, 0.05)
  local lines = {}
  for rep, t in pairs(at) do lines[#lines + 1] = ("%d %.9f"):format(rep, t) end
  write(o.dir .. "/arrivals", table.concat(lines, "\n") .. "\n")
  node:close()
  loop:run_for(0.1)
  return
end

for _, f in ipairs({ "sink", "stop", "arrivals" }) do os.remove(o.dir .. "/" .. f) end
local loop = hs.loop()
local exited
local pid = loop:spawn(o.lua, { arg[0], "--sink", "--dir", o.dir },
  function(status) exited = status end)
loop:run_until(function() return B.read(o.dir .. "/sink") ~= nil or exited ~= nil end, 30, 0.02)
local line = B.read(o.dir .. "/sink")
assert(line, "the sink process did not start")
local b_id, b_url = line:match("^(%S+) (%S+)")

-- Runs the loop one turn at a time until done() (at most `secs`).
local function wait(done, secs)
  local deadline = loop:now() + secs
  while not done() and loop:now() < deadline do loop:run("once") end
  return done()
end

local text = B.random_text(400)
local a = hs.node(loop, settings(1))
assert(a:start())
a:add_peer(b_id, b_url)
loop:run_for(0.5)

-- B idle: its CPU per second when nothing comes.
local b0, t0 = B.cpu_seconds(pid), loop:now()
loop:run_for(2)
local idle_rate = (B.cpu_seconds(pid) - b0) / (loop:now() - t0)

-- Phase 1: A -> B.
local function push_all(phase, done_k)
  local b_start, t_start, done = B.cpu_seconds(pid), loop:now(), 0
  for k = 1, o.messages do
    a:broadcast("bench", { phase = phase, rep = k, text = text })
    if wait(function() return done_k(k) end, 2) then done = done + 1 end
  end
  local wall = loop:now() - t_start
  return (B.cpu_seconds(pid) - b_start - idle_rate * wall) / o.messages, done, wall
end
local sent0 = a:metrics().messages_sent
local serve, done1 = push_all(1, function(k) return a:metrics().messages_sent >= sent0 + k end)

-- Phase 2: C joins through B; A -> B -> C.
local c = hs.node(loop, settings(1))
local c_at = {}
c:on("message", function(m)
  if m.type == "bench" and m.payload.phase == 2 then c_at[m.payload.rep] = loop:now() end
end)
assert(c:start())
c:add_peer(b_id, b_url)
-- B takes C in once C has announced itself: a warm-up message must reach C.
local warm = false
c:on("message", function(m)
  if m.type == "warm" then warm = true end
  if m.type == "bench" and m.payload.phase == 2 then c_at[m.payload.rep] = loop:now() end
end)
for _ = 1, 100 do
  a:broadcast("warm", {})
  if wait(function() return warm end, 0.2) then break end
end
assert(warm, "C never got a message through B")
loop:run_for(0.5)
local relay, done2 = push_all(2, function(k) return c_at[k] ~= nil end)
c:close()
a:close()
loop:run_for(0.2)
write(o.dir .. "/stop", "1\n")
loop:run_until(function() return exited ~= nil end, 10, 0.02)

local hops = {}
for l in (B.read(o.dir .. "/arrivals") or ""):gmatch("[^\n]+") do
  local rep, t = l:match("^(%d+) (%S+)")
  rep, t = tonumber(rep), tonumber(t)
  if c_at[rep] then hops[#hops + 1] = (c_at[rep] - t) * 1e6 end
end
assert(#hops > 0, "no hop B -> C was timed")
local send = relay - serve
local hop = B.median(hops)
local link = hop - (send + serve) * 1e6
B.log("hopcost: %d single envelopes (400-byte payload), pushed one at a time: %d answered by B "
  .. "alone, %d relayed by B to C; B idle %.3f%% CPU", o.messages, done1, done2, idle_rate * 100)
B.log("  B serves one: %.1f us of CPU; relays one: %.1f us, so a push costs its sender %.1f us",
  serve * 1e6, relay * 1e6, send * 1e6)
B.log("  the hop B -> C, hook to hook: median %.1f us, p90 %.1f us (%d timed); beyond the CPU: %.1f us",
  hop, B.percentile(hops, 90), #hops, link)
local tag = o.label
B.result(tag, "messages", o.messages)
B.result(tag, "answered", done1)
B.result(tag, "relayed", done2)
B.result(tag, "serve_us", serve * 1e6)
B.result(tag, "relay_us", relay * 1e6)
B.result(tag, "send_us", send * 1e6)
B.result(tag, "hop_us", hop)
B.result(tag, "hop_p90_us", B.percentile(hops, 90))
B.result(tag, "link_us", link)
B.result(tag, "sink_idle_cpu_pct", idle_rate * 100)
