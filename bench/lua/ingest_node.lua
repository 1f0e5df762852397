-- ingest_node.lua -- one hearsay node for the ingest and plugin benchmarks,
-- in this process (stock lua5.4 + the hearsay module), until SIGTERM or
-- --seconds pass.
--
--   lua5.4 bench/lua/ingest_node.lua --url-file F [--plugins none|handler|verdict|policy|both]
--          [--sinks URL,URL,...] [--seen-cap N] [--seconds S] [--key KEY]
--
-- Without --sinks the node has no peers: it parses, dedups and answers every
-- envelope and forwards nothing. With --sinks it adds each URL as a peer
-- (ids sink-1, sink-2, ...; bench/run points them at bare_mhd --id
-- servers), waits until their health probes pass, and then forwards every
-- envelope with ttl > 0 to up to `fanout` of them.
--
-- --plugins loads bench/plugins: "handler" is bench_handler (an
-- on.message("*") handler), "verdict" is bench_verdict (one that ends
-- every message with a verdict: issue 19), "policy" is bench_policy (a peer-selection
-- policy, chosen with policy = "bench"), "both" is the two. The node writes
-- its URL to --url-file once it is ready to be measured. --key runs it in
-- security "cluster" with that cluster key (every request but GET /health
-- must carry its MAC: ingest.sh auth); with --security signed, every
-- message must also be signed by its origin (ingest.sh trust).
local hs = require "hearsay"
local B = require "benchlib"

local o = B.args(arg, {
  url_file = "", plugins = "none", sinks = "", seen_cap = 1000000, seconds = 600,
  plugin_dir = "", fanout = 3, max_batch = 1000, key = "", security = "cluster",
})
assert(o.url_file ~= "", "--url-file is required")

local loop = hs.loop()
local node = hs.node(loop, {
  host = "127.0.0.1", port = 0, log_level = "error", seen_cap = o.seen_cap,
  fanout = o.fanout, max_batch = o.max_batch, max_peers = 1000,
  -- No timers of our own during the run: no announces, no probes, no
  -- exchanges (a sink's first probe happens when it is added).
  gossip_interval = 3600, health_interval = 3600, peer_exchange_interval = 3600,
  security = o.key ~= "" and o.security or nil, cluster_keys = o.key ~= "" and { o.key } or nil,
})
assert(node:start())

if o.plugins ~= "none" then
  local list = ({ handler = { "bench_handler" }, verdict = { "bench_verdict" },
                  policy = { "bench_policy" }, both = { "bench_handler", "bench_policy" } })[o.plugins]
  assert(list, "--plugins must be none, handler, verdict, policy or both")
  local dir = o.plugin_dir ~= "" and o.plugin_dir or "bench/plugins"
  -- Raises with file:line when a plugin fails to load.
  node:plugins({
    plugin_path = { dir }, plugins = list,
    policy = (o.plugins == "policy" or o.plugins == "both") and "bench" or nil,
  })
end

local sinks = 0
for url in o.sinks:gmatch("[^,]+") do
  sinks = sinks + 1
  node:add_peer("sink-" .. sinks, url)
end
if sinks > 0 then
  -- Wait for every sink's first health probe to succeed (latency measured).
  local ok = loop:run_until(function()
    local live = 0
    for _, p in ipairs(node:peers()) do
      if p.latency_ms and p.latency_ms >= 0 then live = live + 1 end
    end
    return live == sinks
  end, 10)
  if not ok then io.stderr:write("ingest_node: sinks not all healthy\n") end
end

local stop = false
local sig = loop:signal("SIGTERM", function() stop = true end)
local f = assert(io.open(o.url_file .. ".tmp", "w"))
f:write(node:url(), "\n")
f:close()
os.rename(o.url_file .. ".tmp", o.url_file)
loop:run_until(function() return stop end, o.seconds, 0.1)

local m = node:metrics()
B.log("ingest_node: received %d, duplicate %d, invalid %d, sent %d, send errors %d, rss %d KiB",
  m.messages_received, m.messages_duplicate, m.messages_invalid, m.messages_sent, m.send_errors,
  B.rss_kb())
-- Each plugin's hook calls and failed calls, as its slot counted them:
-- ingest.sh writes them beside the run's figures ("calls"), so that the
-- summary can tell a run in which the hook ran.
if o.plugins ~= "none" then
  for _, p in ipairs(node:plugin_info().plugins) do
    B.log("ingest_node: plugin %s calls %d errors %d", p.name, p.calls, p.errors)
  end
end
sig:close()
node:close()
loop:close()
