-- tls_node.lua -- the node of the TLS ingest benchmark (bench/tls.sh): one
-- hearsay node in this process, plain HTTP or HTTPS (with --cert/--key; with
-- --client-auth it demands a client certificate signed by --ca), no peers,
-- no timers of its own, until SIGTERM or --seconds pass. It writes its URL
-- to --url-file once it is ready to be measured.
--
--   lua5.4 bench/lua/tls_node.lua --url-file F [--cert PEM --key PEM]
--          [--ca PEM] [--client-auth] [--seconds S]
local hs = require "hearsay"
local B = require "benchlib"

local o = B.args(arg, { url_file = "", cert = "", key = "", ca = "", client_auth = false,
  seconds = 600 })
assert(o.url_file ~= "", "--url-file is required")

local loop = hs.loop()
local node = hs.node(loop, {
  host = "127.0.0.1", port = 0, log_level = "error", seen_cap = 1000000,
  gossip_interval = 3600, health_interval = 3600, peer_exchange_interval = 3600, ae_interval = 0,
  tls_cert = o.cert ~= "" and o.cert or nil, tls_key = o.key ~= "" and o.key or nil,
  tls_ca = o.ca ~= "" and o.ca or nil, tls_client_auth = o.client_auth or nil,
})
assert(node:start())

local stop = false
local sig = loop:signal("SIGTERM", function() stop = true end)
local f = assert(io.open(o.url_file .. ".tmp", "w"))
f:write(node:url(), "\n")
f:close()
os.rename(o.url_file .. ".tmp", o.url_file)
loop:run_until(function() return stop end, o.seconds, 0.1)
local m = node:metrics()
B.log("tls_node: received %d, invalid %d, tls_refused %d", m.messages_received,
  m.messages_invalid, m.tls_refused)
sig:close()
node:close()
loop:close()
