-- Issue 16's false-death bar as a `hearsay sim` scenario: every request
-- and every answer has a 10% chance of being lost, and 1% of the nodes
-- are stopped for 2 s at any time (each second, one node in 200 pauses,
-- drawn by the seed), for an hour of virtual time. The report's "false
-- deaths" line must say 0.
--
--   hearsay sim --nodes 1000 --seed 1 bench/sim/flaky.lua
--
-- FLAKY_SECONDS, FLAKY_LOSS and FLAKY_PAUSE change the hour, the loss
-- and the pause (bench/RESULTS.md, Simulator: false deaths).
local seconds = tonumber(os.getenv("FLAKY_SECONDS") or "3600")
local pause_s = tonumber(os.getenv("FLAKY_PAUSE") or "2")
config { loss = tonumber(os.getenv("FLAKY_LOSS") or "0.1"), settle = 30 }

for t = 1, seconds do
  at(t, function()
    local nodes = live()
    local n = #nodes
    for _ = 1, math.max(1, n // 200) do pause(nodes[random(n)], pause_s) end
  end)
end
