-- ingest.lua -- wrk script of ingest.sh's hearsay vs bare_mhd runs:
-- gossip.lua's envelopes (the same fields, distinct 64-hex ids: nonce,
-- thread, counter) made for a fraction of the client's CPU, so that one
-- core of wrk can keep one core of server busy.
--
--   wrk -t1 -c16 -d10s -s bench/wrk/ingest.lua URL -- BATCH TTL NONCE [static]
--
-- Every id is 64 hex digits, so every request of a run has the same
-- length: the request (headers and body) is made once, in init, as a
-- format whose only slots are the ids' 16-digit counters, and each
-- request is one string.format. "static" makes one request and has wrk
-- resend it (its static mode: no Lua per request): for bare_mhd, which
-- never reads an id; a hearsay node needs fresh ids (a repeated one is a
-- duplicate, dropped early). The payload is the same in every envelope.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_no", threads)
end

local batch, fmt, counter, slots = 1, nil, 0, {}

function init(args)
  batch = math.max(1, tonumber(args[1]) or 1)
  local ttl = tonumber(args[2]) or 0
  local nonce = (args[3] or string.format("%016x", os.time())):sub(1, 16)
  local static = args[4] == "static"
  -- 16 (nonce) + 8 (thread) + 24 (zeros) + 16 (counter) = 64 hex digits.
  local prefix = nonce .. string.format("%08x", thread_no or 0) .. string.rep("0", 24)
  local env = '{"message_id":"' .. prefix .. '%016x","message_type":"bench","payload":{"text":'
    .. '"ingest benchmark","n":1},"timestamp":' .. string.format("%.3f", os.time()) .. ',"ttl":'
    .. ttl .. ',"origin_peer":"wrk-bench","seen_by":[]}'
  local parts = {}
  for i = 1, batch do parts[i] = env end
  local body = batch == 1 and env or ("[" .. table.concat(parts, ",") .. "]")
  wrk.method = "POST"
  wrk.path = "/gossip"
  wrk.headers["Content-Type"] = "application/json"
  -- The headers (Host, Content-Length) as wrk writes them, for a body of
  -- the final length; then the body with its slots.
  local sample = body:gsub("%%016x", string.rep("0", 16))
  local head = wrk.format(nil, nil, nil, sample)
  head = head:sub(1, #head - #sample)
  fmt = head:gsub("%%", "%%%%") .. body
  if static then
    -- wrk's static mode: with no request() its wrk.init, once ours is
    -- done, makes the one request of wrk.body and the headers.
    for i = 1, batch do slots[i] = i end
    wrk.body = body:format(unpack(slots, 1, batch)) -- (its only "%"s are the slots)
    request = nil
  end
end

function request()
  for i = 1, batch do
    counter = counter + 1
    slots[i] = counter
  end
  return fmt:format(unpack(slots, 1, batch))
end

-- One machine-readable line for ingest.sh (latencies in microseconds), as
-- gossip.lua writes it.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK requests=%d duration_us=%d bytes=%d p50_us=%d p90_us=%d "
    .. "p99_us=%d max_us=%d err_connect=%d err_read=%d err_write=%d err_status=%d "
    .. "err_timeout=%d\n", summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
