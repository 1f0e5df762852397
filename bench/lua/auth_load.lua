-- auth_load.lua -- the load generator of the cluster-auth benchmark
-- (ingest.sh auth): POST /gossip from a hearsay node of its own, so every
-- request is built, and with --key signed, by the node's real client (wrk
-- cannot compute the MAC). Keeps --conns requests in flight for --seconds,
-- each with --batch new envelopes (ttl 0, distinct ids), and prints one
-- machine-readable line:
--
--   LOAD requests=N ok=N errors=N duration_us=D p50_us=P p99_us=P cpu_us=C statuses=S
--
-- (cpu_us: this process's CPU time over the run; statuses: the answers
-- other than 200, as status:count pairs, "-" when none.)
--
--   lua5.4 bench/lua/auth_load.lua --url URL [--key KEY] [--seconds S]
--          [--conns N] [--batch N] [--nonce HEX16] [--signed POOL]
--
-- --signed POOL: every envelope is signed by its origin, this node (its id
-- is its public key), as a node in security "signed" takes them; POOL
-- envelopes are signed before the run starts (a signature costs ~40 us,
-- which would otherwise be the client's bottleneck, not the server's),
-- and the run ends early, saying so, if they run out.
local hs = require "hearsay"
local B = require "benchlib"

local o = B.args(arg, { url = "", key = "", seconds = 5, conns = 4, batch = 50,
  nonce = "0000000000000000", signed = 0 })
assert(o.url ~= "", "--url is required")

local loop = hs.loop()
local settings = {
  host = "127.0.0.1", port = 0, log_level = "error", peer_connections = o.conns,
  gossip_interval = 3600, health_interval = 3600, peer_exchange_interval = 3600, ae_interval = 0,
}
if o.key ~= "" then
  settings.security, settings.cluster_keys = o.signed > 0 and "signed" or "cluster", { o.key }
end
local node = hs.node(loop, settings)
assert(node:start())

local url, seq = o.url .. "/gossip", 0
local prefix = o.nonce:sub(1, 16) .. ("0"):rep(32)
local ts = os.time()

local pool, pool_used = {}, 0
if o.signed > 0 then
  local seed, origin = node:secret_key(), node:id()
  local salt = tonumber(o.nonce:sub(1, 8), 16) % 1000000
  for i = 1, o.signed do
    local stamp = ts + salt + i / 1e6
    local id, sig = hs.sign_message(seed, "bench", { text = "ingest benchmark", n = i }, stamp, origin)
    pool[i] = hs.json_encode({ message_id = id, message_type = "bench",
      payload = { text = "ingest benchmark", n = i }, timestamp = stamp, ttl = 0,
      origin_peer = origin, seen_by = hs.array({}), signature = sig })
  end
end

local function envelope()
  seq = seq + 1
  if o.signed > 0 then
    pool_used = math.min(pool_used + 1, #pool)
    return pool[pool_used] -- (past the pool: duplicates, and the run stops)
  end
  return ('{"message_id":"%s%016x","message_type":"bench","payload":{"text":"ingest benchmark",'
    .. '"n":%d},"timestamp":%d.5,"ttl":0,"origin_peer":"auth-bench","seen_by":[]}')
    :format(prefix, seq, seq, ts)
end

local function body() return B.batch_body(o.batch, envelope) end

local function cpu_us() return B.cpu_seconds() * 1e6 end

local inflight, ok, errors, lat, bad = 0, 0, 0, {}, {}
local t0, stop = loop:now(), nil
local c0 = cpu_us()
local function send()
  local started = loop:now()
  inflight = inflight + 1
  node:fetch("POST", url, body(), function(status)
    inflight = inflight - 1
    if stop then return end -- (answers after the end are not counted)
    lat[#lat + 1] = (loop:now() - started) * 1e6
    if status == 200 then
      ok = ok + 1
    else
      errors, bad[status] = errors + 1, (bad[status] or 0) + 1
    end
    send()
  end, 10)
end
for _ = 1, o.conns do send() end
loop:run_until(function()
  return loop:now() - t0 >= o.seconds or (o.signed > 0 and pool_used >= #pool)
end, o.seconds + 5, 0.05)
if o.signed > 0 and pool_used >= #pool then
  io.stderr:write(("auth_load: the %d signed envelopes ran out after %.1f s\n")
    :format(#pool, loop:now() - t0))
end
stop = loop:now()
local c1 = cpu_us()
loop:run_until(function() return inflight == 0 end, 10)
local statuses = {}
for status, count in pairs(bad) do statuses[#statuses + 1] = ("%s:%d"):format(status, count) end
table.sort(statuses)
io.write(("LOAD requests=%d ok=%d errors=%d duration_us=%d p50_us=%d p99_us=%d cpu_us=%d statuses=%s\n")
  :format(ok + errors, ok, errors, math.floor((stop - t0) * 1e6), math.floor(B.median(lat) or 0),
    math.floor(B.percentile(lat, 99) or 0), math.floor(c1 - c0), #statuses > 0 and table.concat(statuses, ",") or "-"))
node:close()
loop:run_for(0.05)
loop:close()
