-- faults.lua -- every fault kind in a minute of virtual time, for the
-- randomized run ctest makes on every commit (sim_random): loss, crashes
-- one by one and several at once, a partition and its heal, broadcasts
-- before, during and after each. `hearsay sim` checks the invariants at
-- the end (every live node has every broadcast; no live node holds
-- another live node dead) and prints the command that replays a failure.
config { nodes = 40, latency = 0.01, jitter = 0.02, settle = 40 }

local N = 40
at(0, function() broadcast(random(N), "chat", { n = 1 }) end)
at(2, function() loss(0.02) end)
at(3, function() broadcast(random(N), "chat", { n = 2 }) end)
at(5, function() crash(random(N)) end)
at(6, function() local l = live() broadcast(l[random(#l)], "chat", { n = 3 }) end)
at(10, function() partition(0.5) end)
at(11, function() local l = live() broadcast(l[random(#l)], "chat", { n = 4 }) end)
at(25, function() heal() end)
at(30, function()
  local l = live()
  for _ = 1, 4 do crash(l[random(#l)]) end
end)
at(31, function() local l = live() broadcast(l[random(#l)], "chat", { n = 5 }) end)
at(40, function() loss(0) end)
at(45, function() local l = live() broadcast(l[random(#l)], "chat", { n = 6 }) end)
