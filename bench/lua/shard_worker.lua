-- shard_worker.lua -- one shard of a benchmark cluster in its own process,
-- started by bench/lua/shards.lua; see shard.lua for why.
--
--   lua5.4 bench/lua/shard_worker.lua DIR SHARD FIRST COUNT SEED_URL MAX_SECONDS
--
-- Talks to the controller through files in DIR, all written whole (write
-- to a temporary name, then rename):
--   DIR/settings.json  node settings (read once)
--   DIR/cmd            "SEQ VERB JSON-ARGS": the latest command
--   DIR/ack.SHARD      "SEQ JSON-RESULT": our answer to command SEQ
--   DIR/count.SHARD    "REP COUNT": arrivals of broadcast REP among our nodes
--   DIR/alive          removed by the controller when it is done
-- The loop runs all the time; every 25 ms we look for a new command and
-- publish our arrival count (arrival times come from the nodes' hooks,
-- not from this polling; 33 workers waking 100 times a second would be
-- load of our own on the cores the nodes share). We exit on "quit", when DIR/alive disappears
-- or our parent (the controller) dies, or after MAX_SECONDS, whichever
-- comes first.
local hs = require "hearsay"
local B = require "benchlib"
local Shard = require "shard"

local dir, shard_no, first, count, seed, max_s = arg[1], tonumber(arg[2]), tonumber(arg[3]),
  tonumber(arg[4]), arg[5], tonumber(arg[6] or 1800)

local write = B.write

local settings = hs.json_decode(assert(B.read(dir .. "/settings.json")))
local loop = hs.loop()
local shard = Shard.new({ first = first, count = count, settings = settings, seed = seed,
  loop = loop })
-- Joined: every node has bootstrapped (knows a peer), or 15 s passed.
loop:run_until(function()
  for _, node in ipairs(shard.nodes) do
    if #node:peers() == 0 then return false end
  end
  return true
end, 15, 0.05)
write(("%s/ack.%d"):format(dir, shard_no), "0 {}\n")

-- Our parent's pid (field 4 of /proc/self/stat): if it changes, the
-- controller is gone and so are we.
local function ppid()
  return ((B.read("/proc/self/stat") or ""):match("%) %S+ (%d+)"))
end
local parent = ppid()

local last_seq, quit, last_count, checks = 0, false, nil, 0
loop:run_until(function()
  local line = B.read(dir .. "/cmd")
  local seq, verb, args = (line or ""):match("^(%d+) (%S+) (.-)%s*$")
  seq = tonumber(seq)
  if seq and seq > last_seq then
    last_seq = seq
    local ok, res = pcall(shard.handle, shard, verb, hs.json_decode(args))
    if not ok then res = { error = tostring(res) } end
    write(("%s/ack.%d"):format(dir, shard_no), seq .. " " .. hs.json_encode(res) .. "\n")
    if verb == "quit" then quit = true end
  end
  -- Arrival count of the newest broadcast, when it changed.
  local rep = 0
  for r in pairs(shard.counts) do if r > rep then rep = r end end
  local c = rep .. " " .. shard:reached(rep)
  if c ~= last_count then
    write(("%s/count.%d"):format(dir, shard_no), c .. "\n")
    last_count = c
  end
  checks = checks + 1
  if checks % 100 == 0 and (not B.read(dir .. "/alive") or ppid() ~= parent) then quit = true end
  return quit
end, max_s, 0.025)
shard:close()
loop:run_for(0.05)
loop:close()
