-- benchcluster.lua -- an in-process hearsay cluster ready to measure: N
-- nodes on one loop via hearsay.cluster (all bootstrapping from node 1),
-- warmed up until every node knows enough live peers.
--
-- A node's intervals are fixed at start, so "short intervals during
-- warm-up, quiet during measurement" is done like this: the nodes run with
-- a long gossip_interval (no periodic peer_announce while we measure) and
-- the warm-up sends announce rounds by hand -- the very message the gossip
-- timer sends -- with every node announcing once per round, in a random
-- order (so early nodes do not fill every view), until the cluster has
-- converged: every node knows at least `want` live peers.
local cluster = require "hearsay.cluster"
local B = require "benchlib"

local M = {}

-- opts: n, settings (node settings), want (default min(n-1, 8)),
-- rounds (announce rounds before checking, default 3), timeout (s, whole
-- warm-up), quiet (s to let the warm-up traffic drain, default 1).
-- Returns the cluster and a table describing the warm-up.
function M.start(opts)
  local n = opts.n
  local want = opts.want or math.min(n - 1, 8)
  local t_start = os.time()
  local c = cluster.new({ n = n, settings = opts.settings })
  local loop = c.loop
  local t0 = loop:now()
  loop:run_for(math.min(2, 0.2 + n / 1000)) -- let the bootstraps through
  local order = {}
  for i = 1, n do order[i] = i end
  local rounds, converged = 0, false
  local deadline = t0 + (opts.timeout or 120)
  repeat
    rounds = rounds + 1
    B.shuffle(order)
    for k, i in ipairs(order) do
      B.announce(c.nodes[i])
      -- Pace the round so its traffic does not pile up in one loop turn.
      if k % 25 == 0 then loop:run_for(0.01) end
    end
    loop:run_for(0.3)
    if rounds >= (opts.rounds or 3) then
      converged = c:converge(math.max(0.1, math.min(5, deadline - loop:now())), want)
    end
  until converged or loop:now() >= deadline or rounds >= 50
  loop:run_for(opts.quiet or 1)
  local mn, med, mx, ok = B.peer_spread(c.nodes, want)
  local info = {
    rounds = rounds, converged = converged and ok == n, seconds = loop:now() - t0,
    wall = os.time() - t_start, min = mn, median = med, max = mx, ok = ok, want = want,
  }
  B.log("cluster: %d nodes, %d announce rounds, %.1f s; live peers min %d, median %d, max %d; "
    .. "%d/%d nodes know >= %d%s", n, rounds, info.seconds, mn, med, mx, ok, n, want,
    info.converged and "" or "  (NOT CONVERGED: measuring anyway)")
  return c, info
end

-- Counts open file descriptors of this process.
function M.fds()
  local p = io.popen("ls /proc/" .. (B.read("/proc/self/stat") or ""):match("^(%d+)") .. "/fd 2>/dev/null | wc -l")
  local s = p:read("a")
  p:close()
  return tonumber(s)
end

return M
