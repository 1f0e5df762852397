-- cluster.lua -- N nodes on one loop, on 127.0.0.1 with ephemeral ports,
-- all bootstrapping from the first. Used by `hearsay demo`, `hearsay repl
-- --nodes` and the specs.
local hs = require "hearsay"

local M = {}
M.__index = M

-- opts: n, settings (table of node settings applied to every node),
-- loop (optional, shared), each (function(i, settings) to adjust one node).
function M.new(opts)
  local self = setmetatable({ loop = opts.loop or hs.loop(), nodes = {} }, M)
  for i = 1, opts.n do
    local s = {}
    for k, v in pairs(opts.settings or {}) do s[k] = v end
    s.host, s.port, s.node_id, s.node_key, s.public_url = "127.0.0.1", 0, nil, nil, nil
    if i > 1 then s.bootstrap = { self.nodes[1]:url() } else s.bootstrap = nil end
    if opts.each then opts.each(i, s) end
    local node = hs.node(self.loop, s)
    local ok, err = node:start()
    if not ok then error("node " .. i .. ": " .. err) end
    self.nodes[i] = node
  end
  return self
end

-- Runs the loop until every node knows at least `want` live peers
-- (default min(n-1, 8)); returns true, or false after timeout seconds.
function M:converge(timeout, want)
  want = want or math.min(#self.nodes - 1, 8)
  return self.loop:run_until(function()
    for _, node in ipairs(self.nodes) do
      if node:is_open() and #node:peers() < want then return false end
    end
    return true
  end, timeout or 10)
end

function M:close()
  for _, node in ipairs(self.nodes) do
    if node:is_open() then node:close() end
  end
  self.loop:run_for(0.05)
end

return M
