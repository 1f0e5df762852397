-- gossip.lua -- wrk script: POST /gossip with distinct messages.
--
--   wrk -t2 -c4 -d10s -s bench/wrk/gossip.lua URL -- BATCH TTL NONCE
--
-- BATCH (default 1): envelopes per request; 1 sends one envelope, more
-- send a JSON array (a batch). TTL (default 0): the envelopes' ttl.
-- NONCE: 16 hex digits that make this run's ids differ from every other
-- run's. Each request carries new message_ids (64 hex): nonce, thread
-- number, then a per-thread counter, so no id repeats within or across
-- threads. Bodies are built from a template; only ids and counters change.
local threads, counter = 0, 0
local batch, ttl, prefix, ts = 1, 0, "", 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_no", threads)
end

local function envelope(n)
  counter = counter + 1
  return ('{"message_id":"%s%016x","message_type":"bench","payload":{"text":"ingest benchmark",'
    .. '"n":%d},"timestamp":%.3f,"ttl":%d,"origin_peer":"wrk-bench","seen_by":[]}')
    :format(prefix, counter, n, ts, ttl)
end

function init(args)
  batch = tonumber(args[1]) or 1
  ttl = tonumber(args[2]) or 0
  local nonce = args[3] or string.format("%016x", os.time())
  -- 16 (nonce) + 8 (thread) + 24 (zeros) + 16 (counter) = 64 hex digits.
  prefix = nonce:sub(1, 16) .. string.format("%08x", thread_no or 0) .. string.rep("0", 24)
  ts = os.time()
  wrk.method = "POST"
  wrk.path = "/gossip"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  if batch <= 1 then
    return wrk.format(nil, nil, nil, envelope(counter))
  end
  local parts = {}
  for i = 1, batch do parts[i] = envelope(counter) end
  return wrk.format(nil, nil, nil, "[" .. table.concat(parts, ",") .. "]")
end

-- One machine-readable line for bench/run (latencies in microseconds).
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK requests=%d duration_us=%d bytes=%d p50_us=%d p90_us=%d "
    .. "p99_us=%d max_us=%d err_connect=%d err_read=%d err_write=%d err_status=%d "
    .. "err_timeout=%d\n", summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
