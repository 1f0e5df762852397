-- simstream.lua -- the protocol's own cost of a delivery under a steady
-- stream, in the simulator (no sockets, no kernel, no HTTP parsing): N
-- nodes (the load bench's settings: max_peers 50, long gossip and health
-- intervals), formed for 20 virtual s, then RATE broadcasts a second from
-- 10 origins for SECONDS, 400-byte payloads, 0.5 +- 0.2 ms links; 5 s to
-- settle. Prints the deliveries, copies per node, the CPU it took, and the
-- run's trace (the same seed and build give the same trace: a change that
-- keeps it did not change what the nodes did).
--
--   lua5.4 bench/lua/simstream.lua [N [RATE [SECONDS [SEED]]]]   (100 200 5 1)
--
-- CPU time is noisy on a shared machine; instructions are not. What a
-- delivery costs in instructions (bench/RESULTS.md, Load, "The cost of a
-- delivery"): the stream's run less the forming alone (SECONDS 0.005),
-- both under callgrind, over the deliveries:
--
--   valgrind --tool=callgrind lua5.4 bench/lua/simstream.lua 100 200 2 1
--   valgrind --tool=callgrind lua5.4 bench/lua/simstream.lua 100 200 0.005 1
--
-- in the build's Lua paths (LUA_PATH=lua/?.lua;lua/?/init.lua;;
-- LUA_CPATH=build/lib/?.so;;).
local hs = require "hearsay"

local n = tonumber(arg[1]) or 100
local rate = tonumber(arg[2]) or 200
local secs = tonumber(arg[3]) or 5
local seed = tonumber(arg[4]) or 1

local s = hs.sim({
  nodes = n, seed = seed, latency = 0.0005, jitter = 0.0002,
  settings = { max_peers = 50, gossip_interval = 600, health_interval = 600, peer_exchange_interval = 30 },
})
assert(s:run(20))
local text = string.rep("abcdefghij", 40)
local t0 = os.clock()
local total = math.floor(rate * secs)
for i = 1, total do
  local o = 1 + (i % 10) * (n // 10)
  s:broadcast(o, "load", { s = 1, o = o, k = i, t = i / rate, x = text })
  assert(s:run(1 / rate))
end
assert(s:run(5))
local cpu = os.clock() - t0
local reached, copies, m = 0, 0, 0
for _, b in ipairs(s:deliveries()) do
  if b.sent and b.sent >= 20 then
    reached, copies, m = reached + b.reached, copies + b.copies, m + 1
  end
end
print(("%d broadcasts, %d deliveries, copies %.3f, cpu %.2f s, %.2f us per delivery"):format(
  m, reached, m > 0 and copies / m or 0, cpu, reached > 0 and cpu * 1e6 / reached or 0))
print("trace", s:trace())
s:close()
