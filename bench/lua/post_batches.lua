-- post_batches.lua -- POSTs COUNT distinct envelopes to URL/gossip in
-- batches, one request in flight at a time, from its own process (so its
-- memory is not the measured node's), then exits 0 (1 on any refusal).
--
--   lua5.4 bench/lua/post_batches.lua URL COUNT [BATCH] [TTL] [NONCE]
local hs = require "hearsay"

local url, count = arg[1], tonumber(arg[2])
local batch, ttl = tonumber(arg[3] or 1000), tonumber(arg[4] or 0)
local nonce = (arg[5] or ("%016x"):format(os.time())):sub(1, 16)
assert(url and count, "usage: post_batches.lua URL COUNT [BATCH] [TTL] [NONCE]")

local loop = hs.loop()
-- A node only for its HTTP client: no listener traffic, no timers to speak of.
local client = hs.node(loop, { port = 0, log_level = "error", gossip_interval = 3600,
  health_interval = 3600, peer_exchange_interval = 3600 })
assert(client:start())

local sent, failed, busy = 0, 0, false
local ts = os.time()
local function body(from, n)
  local parts = {}
  for i = 1, n do
    parts[i] = ('{"message_id":"%s%048x","message_type":"bench","payload":{"n":%d},'
      .. '"timestamp":%d,"ttl":%d,"origin_peer":"bench-poster","seen_by":[]}')
      :format(nonce, from + i, from + i, ts, ttl)
  end
  return "[" .. table.concat(parts, ",") .. "]"
end

local function next_request()
  if sent >= count then return end
  local n = math.min(batch, count - sent)
  busy = true
  client:fetch("POST", url .. "/gossip", body(sent, n), function(status, text, err)
    if status ~= 200 then
      failed = failed + 1
      io.stderr:write(("post_batches: HTTP %s %s\n"):format(tostring(status), tostring(err or text):sub(1, 200)))
    end
    sent = sent + n
    busy = false
    next_request()
  end, 30)
end
next_request()
-- Bounded: generous for the sizes bench/run uses (a few hundred thousand).
loop:run_until(function() return sent >= count and not busy end, 600)
client:close()
loop:close()
os.exit(failed == 0 and sent >= count and 0 or 1)
