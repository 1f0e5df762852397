-- tls_load.lua -- the load generator of the TLS ingest benchmark
-- (bench/tls.sh): POST /gossip from a hearsay node of its own, through
-- libcurl for http:// as for https:// (--curl), so that the two runs
-- differ only by TLS. Keeps --conns requests in flight for --seconds, each
-- with --batch new envelopes (ttl 0, distinct ids), and prints one line:
--
--   LOAD requests=N ok=N errors=N duration_us=D p50_us=P p99_us=P cpu_us=C connects=N
--
--   lua5.4 bench/lua/tls_load.lua --url URL [--ca PEM] [--cert PEM --key PEM]
--          [--curl] [--seconds S] [--conns N] [--batch N] [--nonce HEX16]
local hs = require "hearsay"
local B = require "benchlib"

local o = B.args(arg, { url = "", ca = "", cert = "", key = "", curl = false, seconds = 5,
  conns = 4, batch = 50, nonce = "0000000000000000" })
assert(o.url ~= "", "--url is required")

local loop = hs.loop()
local node = hs.node(loop, {
  host = "127.0.0.1", port = 0, log_level = "error", peer_connections = o.conns,
  gossip_interval = 3600, health_interval = 3600, peer_exchange_interval = 3600, ae_interval = 0,
  curl_for_http = o.curl, tls_ca = o.ca ~= "" and o.ca or nil,
  tls_cert = o.cert ~= "" and o.cert or nil, tls_key = o.key ~= "" and o.key or nil,
})
assert(node:start())

local url, seq = o.url .. "/gossip", 0
local prefix = o.nonce:sub(1, 16) .. ("0"):rep(32)
local ts = os.time()

local function envelope()
  seq = seq + 1
  return ('{"message_id":"%s%016x","message_type":"bench","payload":{"text":"ingest benchmark",'
    .. '"n":%d},"timestamp":%d.5,"ttl":0,"origin_peer":"tls-bench","seen_by":[]}')
    :format(prefix, seq, seq, ts)
end

local function body() return B.batch_body(o.batch, envelope) end

local function cpu_us() return B.cpu_seconds() * 1e6 end

local inflight, ok, errors, lat, last_err = 0, 0, 0, {}, nil
local t0, stop = loop:now(), nil
local c0 = cpu_us()
local function send()
  local started = loop:now()
  inflight = inflight + 1
  node:fetch("POST", url, body(), function(status, _, err)
    inflight = inflight - 1
    if stop then return end -- (answers after the end are not counted)
    lat[#lat + 1] = (loop:now() - started) * 1e6
    if status == 200 then ok = ok + 1 else errors, last_err = errors + 1, err or status end
    send()
  end, 10)
end
for _ = 1, o.conns do send() end
loop:run_until(function() return loop:now() - t0 >= o.seconds end, o.seconds + 5, 0.05)
stop = loop:now()
local c1 = cpu_us()
loop:run_until(function() return inflight == 0 end, 10)
if last_err then io.stderr:write("tls_load: last error: ", tostring(last_err), "\n") end
io.write(("LOAD requests=%d ok=%d errors=%d duration_us=%d p50_us=%d p99_us=%d cpu_us=%d connects=%d\n")
  :format(ok + errors, ok, errors, math.floor((stop - t0) * 1e6), math.floor(B.median(lat) or 0),
    math.floor(B.percentile(lat, 99) or 0), math.floor(c1 - c0),
    node:metrics().connections_opened))
node:close()
loop:run_for(0.05)
loop:close()
