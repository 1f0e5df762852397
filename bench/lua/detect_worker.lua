-- detect_worker.lua -- a shard worker (shard_worker.lua, same arguments)
-- that also answers detect_verbs.lua's commands: detect.lua passes it to
-- shards.lua as the worker of a cluster split over processes.
--
--   lua5.4 bench/lua/detect_worker.lua DIR SHARD FIRST COUNT SEED_URL MAX_SECONDS
require "detect_verbs"
local here = (arg and arg[0] or ""):match("^(.*)/") or "."
dofile(here .. "/shard_worker.lua")
