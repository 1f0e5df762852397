-- envcost.lua -- what one envelope of a batch costs the node that takes
-- it, on loopback, for the simulator's `sim.cpu` envelope (README,
-- Simulator, "What work costs"). A node in a process of its own
-- (ingest_node.lua: no peers, so it parses, dedups and answers and
-- forwards nothing) is sent, one request in flight at a time, --count
-- envelopes as the load bench's are (400-byte payload, a seen_by of
-- --seen ids), first once each (new), then again --repeats times as
-- duplicates in batches of --batch and as often in batches of --small.
-- The node's CPU (utime + stime of its process) over each phase, per
-- envelope:
--   new_us           a new envelope, in batches of --batch
--   dup_us           a duplicate, in batches of --batch
--   dup_small_us     a duplicate, in batches of --small
-- and, fitting CPU per envelope = envelope + request / batch size to the
-- two duplicate figures, envelope_us (what an envelope costs beyond its
-- request: `sim.cpu` envelope) and request_us (a request's own share).
--
--   lua5.4 bench/lua/envcost.lua [--count 20000] [--batch 64] [--small 8] [--repeats 3] [--seen 33] [--dir SCRATCH]
--
-- In the build's Lua paths (LUA_PATH=bench/lua/?.lua;lua/?.lua;lua/?/init.lua;;
-- LUA_CPATH=build/lib/?.so;;).
local hs = require "hearsay"
local B = require "benchlib"

local o = B.args(arg, { count = 20000, batch = 64, small = 8, repeats = 3, seen = 33, dir = "/tmp",
  lua = "lua5.4" })
assert(o.small >= 1 and o.small < o.batch, "--small must be at least 1 and below --batch")
local url_file = o.dir .. "/envcost.url"
os.remove(url_file)

local loop = hs.loop()
local exited
local pid = loop:spawn(o.lua, { "bench/lua/ingest_node.lua", "--url-file", url_file, "--seconds", "600" },
  function(status) exited = status end)
loop:run_until(function() return B.read(url_file) ~= nil or exited ~= nil end, 30, 0.02)
local url = assert(B.read(url_file), "the node did not start"):match("%S+")

local client = hs.node(loop, { port = 0, log_level = "error", gossip_interval = 3600,
  health_interval = 3600, peer_exchange_interval = 3600 })
assert(client:start())

local text = string.rep("abcdefghij", 40)
local seen = {}
for i = 1, o.seen do seen[i] = ('"load-node-%04d"'):format(i) end
local seen_text = "[" .. table.concat(seen, ",") .. "]"
local ts = os.time()
local function envelope(i)
  return ('{"message_id":"%064x","message_type":"load","payload":{"k":%d,"x":"%s"},'
    .. '"timestamp":%d,"ttl":0,"origin_peer":"load-node-0001","seen_by":%s}')
    :format(i, i, text, ts, seen_text)
end

-- POSTs envelopes 1..count in batches of `batch`, one request at a time;
-- returns the node's CPU seconds over it.
local function phase(batch)
  local sent, busy, failed = 0, false, 0
  local cpu0 = B.cpu_seconds(pid)
  local function next_request()
    if sent >= o.count then return end
    local n = math.min(batch, o.count - sent)
    local parts = {}
    for i = 1, n do parts[i] = envelope(sent + i) end
    local body = batch == 1 and parts[1] or ("[" .. table.concat(parts, ",") .. "]")
    busy = true
    client:fetch("POST", url .. "/gossip", body, function(status)
      if status ~= 200 then failed = failed + 1 end
      sent = sent + n
      busy = false
    end)
  end
  assert(loop:run_until(function()
    if not busy then next_request() end
    return sent >= o.count and not busy
  end, 300))
  assert(failed == 0, "refused requests: " .. failed)
  return B.cpu_seconds(pid) - cpu0
end

local new_s = phase(o.batch)
local dup_s, small_s = 0, 0
for _ = 1, o.repeats do
  dup_s = dup_s + phase(o.batch)
  small_s = small_s + phase(o.small)
end
local per = 1e6 / o.count
local new_us, dup_us, small_us = new_s * per, dup_s * per / o.repeats, small_s * per / o.repeats
-- c(B) = envelope + request / B at B = batch and small.
local request_us = (small_us - dup_us) / (1 / o.small - 1 / o.batch)
local envelope_us = dup_us - request_us / o.batch
B.log("envcost: %d envelopes of %d bytes (seen_by %d ids): new %.2f us an envelope in batches of %d; "
  .. "duplicates %.2f us in batches of %d, %.2f us in batches of %d: an envelope %.2f us beyond its "
  .. "request, a request %.1f us", o.count, #envelope(1), o.seen, new_us, o.batch, dup_us, o.batch,
  small_us, o.small, envelope_us, request_us)
B.result("envcost", "new_us", new_us)
B.result("envcost", "dup_us", dup_us)
B.result("envcost", "dup_small_us", small_us)
B.result("envcost", "envelope_us", envelope_us)
B.result("envcost", "request_us", request_us)
os.execute("kill -TERM " .. pid)
loop:run_until(function() return exited ~= nil end, 10, 0.05)
client:close()
