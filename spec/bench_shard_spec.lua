-- The load benchmark's counting in each process (bench/lua/shard.lua):
-- the shards are told to start a step one after another, so a step's
-- first broadcasts can reach a shard before its own load_start. Those
-- deliveries were dropped: one broadcast a step came out incomplete
-- (49 of 99 nodes) though every node had it (messages_received said
-- so), and the step missed "100% delivered" (bench/RESULTS.md, Load).
package.path = H.src .. "/bench/lua/?.lua;" .. package.path
local hs = require "hearsay"
local Shard = require "shard"

describe("the load benchmark's shard", function()
  it("counts a step's deliveries that come before its load_start, and none after its dump", function()
    local loop = hs.loop()
    local sh = Shard.new({ first = 1, count = 1, settings = { log_level = "error" }, loop = loop })
    finally(function() sh:close(); loop:close() end)
    local function arrive(k) sh:load_arrival({ s = 1, o = 7, k = k, t = loop:now() }, 2) end
    arrive(1) -- before load_start
    local started = sh:handle("load_start", { step = 1, origins = { 99 }, rate = 10, seconds = 0.01 })
    assert.equal(0, started.origins) -- (node 99 is not ours: nothing sent here)
    arrive(2)
    local d = sh:handle("load_dump", { step = 1 })
    assert.equal(2, d.deliveries)
    assert.equal(2, #d.got)
    arrive(3) -- after the dump: not a new step's record
    assert.is_true(sh:handle("load_dump", { step = 1 }).missing)
  end)
end)
