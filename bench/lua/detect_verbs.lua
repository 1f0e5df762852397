-- detect_verbs.lua -- the shard commands the failure-detection benchmark
-- needs beyond shard.lua's: a watch that names every peer declared down
-- (shard.lua's `watch` only counts the wrong ones), and each node's id, so
-- a false failure can be printed as "node 12 declared node 37 down".
--
-- Required for its effect: it wraps Shard.handle, so the controller
-- (detect.lua, shard 0) and every worker (detect_worker.lua) answer the
-- extra verbs, and every other verb goes to shard.lua as before.
local Shard = require "shard"

local extra = {}

-- watch_named { id }: from now on every down our open nodes declare is
-- kept: the first for `id` per node in self.named_downs[gi] = t, any other
-- in self.named_others = { {gi, peer id, t}, ... }. Returns how many of our
-- open nodes (other than `id`) have `id` as a live peer right now.
function extra.watch_named(self, args)
  local watchers = 0
  self.named_downs, self.named_others = {}, {}
  for k, node in ipairs(self.nodes) do
    local gi = self.first + k - 1
    if node:is_open() and node:id() ~= args.id then
      for _, p in ipairs(node:peers()) do
        if p.id == args.id then watchers = watchers + 1 break end
      end
      -- node:on replaces the node's "peer" hook: ours is the only one.
      node:on("peer", function(peer, up)
        if up then return end
        local t = self.loop:now()
        if peer.id == args.id then
          if not self.named_downs[gi] then self.named_downs[gi] = t end
        else
          self.named_others[#self.named_others + 1] = { gi, peer.id, t }
        end
      end)
    end
  end
  return { watchers = watchers }
end

function extra.named_dump(self)
  local downs = {}
  for gi, t in pairs(self.named_downs or {}) do downs[#downs + 1] = { gi, t } end
  return { downs = downs, others = self.named_others or {} }
end

-- { ids = { {gi, id}, ... } } for our nodes, open or not.
function extra.ids(self)
  local out = {}
  for k, node in ipairs(self.nodes) do out[#out + 1] = { self.first + k - 1, node:id() } end
  return { ids = out }
end

local base_handle = Shard.handle
if not Shard.detect_verbs then
  Shard.detect_verbs = true
  function Shard.handle(self, verb, args)
    local f = extra[verb]
    if f then return f(self, args or {}) end
    return base_handle(self, verb, args)
  end
end

return extra
