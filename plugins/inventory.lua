-- inventory.lua: which nodes hold an item, and how many? Each node keeps
-- the "stock" messages it gets (its own broadcasts too), answers the query
-- "has", rejects malformed stock (its sender loses score), ignores stale
-- stock (no penalty, not passed on), and describes itself in tags.
local region = tostring(config.region or "any")     -- { "inventory", region = "eu" }
state.items = state.items or {}                    -- item -> { count, version }
state.n = state.n or 0

on.start(function() node.set_tags({ role = "inventory", region = region }) end)

on.message("stock", function(msg)
  local p = msg.payload
  if type(p) ~= "table" or type(p.item) ~= "string" or #p.item > 64
      or math.type(p.count) ~= "integer" or math.type(p.version) ~= "integer" then
    return "reject"                                -- invalid: not processed, not forwarded
  end
  local have = state.items[p.item]
  if have and have.version >= p.version then
    return "ignore"                                -- stale: dropped, nobody penalised
  end
  if not have then
    if state.n >= 10000 then return "ignore" end   -- bounded: input is hostile
    state.n = state.n + 1
  end
  state.items[p.item] = { count = p.count, version = p.version }
end, { own = true })                               -- also what this node broadcasts

on.query("has", function(q)                        -- payload: { item = "..." }
  local item = type(q.payload) == "table" and q.payload.item
  local have = type(item) == "string" and state.items[item]
  if have then return { count = have.count, region = region } end
end)                                               -- nil: no answer, only an ack
