-- tree.lua -- why the last nodes of a broadcast are late: the dissemination
-- benchmark's cluster, with a look at the tree before every broadcast.
--
--   bench/run --only tree --sizes 1000 [--ttl 16]
--
-- The same cluster, warm-up and calm wait as dissemination.lua; then, for
-- each of --repeats broadcasts from node 1, every node's eager links are
-- read (the `views` verb) just before it goes out. A node reached more than
-- --late seconds after the broadcast (by then the tree has had its time;
-- what comes later came by a lazy offer or anti-entropy) is put down to
-- the first of these that holds:
--   ttl           a node with an eager link to it had the message in time,
--                 but with ttl 0 (it pushes to nobody): the tree is deeper
--                 than the ttl;
--   parent-early  a node with an eager link to it had the message in time
--                 (with ttl left) and yet it came late;
--   parent-late   it came soon after a node with an eager link to it,
--                 itself late;
--   orphan        no node with an eager link to it had the message before
--                 it (its own children link back to it: those do not count).
-- Prints one line per broadcast (99% and 100% times, deepest hop, prunes
-- and grafts it caused, late nodes by cause) and "@ tree key value" lines:
-- the median and p99 of t100, the deepest hop seen, late nodes by cause.
-- --detail: also a line per orphan: the peers it believes push to it
-- (feeding) and whether each had it eager; who sent it its first copy of the
-- previous broadcast (its parent then), and what that parent's table says
-- of it now (eager or not, in the view or not, its state there).
local B = require "benchlib"
local Shards = require "shards"

local o = B.args(arg, {
  nodes = 1000, repeats = 20, timeout = 10, late = 0.2, max_peers = 50, per_proc = 30,
  gossip_interval = 600, health_interval = 600, peer_exchange_interval = 30,
  warmup_timeout = 240, dir = "/tmp", lua = "lua5.4", worker = "bench/lua/shard_worker.lua",
  ttl = 0, label = "tree", detail = false, mix = 0,
})
local n, tag = o.nodes, o.label
local settings = {
  log_level = "error", max_peers = o.max_peers, gossip_interval = o.gossip_interval,
  health_interval = o.health_interval, peer_exchange_interval = o.peer_exchange_interval,
}
if o.ttl > 0 then settings.ttl = o.ttl end
B.log("tree: %d nodes, ttl %s, %d broadcasts; late: over %g s", n,
  o.ttl > 0 and o.ttl or "default", o.repeats, o.late)
local ctl = Shards.start({ n = n, settings = settings, per_proc = o.per_proc, dir = o.dir,
  lua = o.lua, worker = o.worker, max_seconds = 3600 })
local loop = ctl.loop
ctl:warm_up(math.min(n - 1, 8), o.warmup_timeout)
loop:run_for(1)
if o.mix > 0 then -- as dissemination.lua's --mix
  B.log("mixing: %g s before the first broadcast", o.mix)
  loop:run_for(o.mix)
end

-- The tree as it is now: trees[gi] = {id, eager = {peer id, ...}}, gi_of[id].
local function tree_now()
  local trees, gi_of = {}, {}
  for _, res in ipairs(ctl:all("views", {}, 120)) do
    for _, e in ipairs(res.nodes) do
      trees[e[1]] = { id = e[2], eager = e[4], view = e[3], other = e[5] or {}, feeds = e[6] or {} }
      gi_of[e[2]] = e[1]
    end
  end
  return trees, gi_of
end

local sent, trees, counters = {}, {}, {}
for rep = 1, o.repeats do
  trees[rep] = { tree_now() }
  local before = ctl:snap()
  sent[rep] = loop:now()
  ctl.node1:broadcast("bench", { rep = rep, text = ("x"):rep(400) })
  loop:run_until(function() return ctl:reached(rep) + 1 >= n end, o.timeout, 0.01)
  loop:run_for(0.3)
  local after = ctl:snap()
  counters[rep] = {}
  for _, k in ipairs({ "prunes", "grafts" }) do counters[rep][k] = (after[k] or 0) - (before[k] or 0) end
  loop:run_for(0.2)
end
-- arr[rep][gi] = {seconds after the broadcast, hops, ttl}; ttl: what node
-- 1's messages carry (its own targets get them with that ttl)
local arr, ttl = {}, 0
for rep = 1, o.repeats do arr[rep] = { [1] = { 0, 0, math.huge } } end
for _, res in ipairs(ctl:all("dump", {}, 120)) do
  for _, a in ipairs(res.arrivals) do
    if arr[a[2]] and a[1] ~= 1 then
      arr[a[2]][a[1]] = { a[3] - sent[a[2]], a[4], a[6], a[5] }
      ttl = math.max(ttl, a[6])
    end
  end
end
ctl:close()

local causes = { "ttl", "parent-early", "parent-late", "orphan" }
local total, t100s, deepest = {}, {}, 0
for _, c in ipairs(causes) do total[c] = 0 end
for rep = 1, o.repeats do
  local tree, gi_of = trees[rep][1], trees[rep][2]
  local a = arr[rep]
  -- parents[gi]: the nodes with an eager link to gi when the broadcast left
  local parents = {}
  for gi, t in pairs(tree) do
    for _, id in ipairs(t.eager) do
      local c = gi_of[id]
      if c then parents[c] = parents[c] or {}; table.insert(parents[c], gi) end
    end
  end
  local times, maxh, late = {}, 0, {}
  for _, c in ipairs(causes) do late[c] = 0 end
  for gi = 1, n do
    local at = a[gi] and a[gi][1] or math.huge
    times[#times + 1] = at
    if a[gi] and a[gi][2] > maxh then maxh = a[gi][2] end
    if at > o.late then
      local cause = "orphan"
      for _, p in ipairs(parents[gi] or {}) do
        local pa = a[p]
        if pa and pa[1] < at - o.late and pa[3] == 0 then cause = "ttl"; break end
        if pa and pa[1] < at - o.late then cause = "parent-early"
        elseif pa and pa[1] < at and cause == "orphan" then cause = "parent-late" end
      end
      late[cause] = late[cause] + 1
      total[cause] = total[cause] + 1
      if o.detail and cause == "orphan" then
        local prev = rep > 1 and arr[rep - 1][gi]
        local pp = prev and gi_of[prev[4]]
        local what = "no parent in the previous broadcast"
        if pp then
          local t, id = tree[pp], tree[gi].id
          local eager, inview = false, false
          for _, e in ipairs(t.eager) do if e == id then eager = true end end
          for _, e in ipairs(t.view) do if e == id then inview = true end end
          what = ("previous parent %d (hops %d then): eager %s, in its view %s%s"):format(pp,
            prev[2], tostring(eager), tostring(inview),
            t.other[id] and (", state there " .. t.other[id]) or "")
        end
        -- Who it believed pushed to it, and whether each had it eager.
        local fed = {}
        for _, fid in ipairs(tree[gi].feeds) do
          local f, e = gi_of[fid], false
          for _, x in ipairs(f and tree[f].eager or {}) do if x == tree[gi].id then e = true end end
          fed[#fed + 1] = ("%s%s"):format(f or "?", e and "" or " (not eager)")
        end
        B.log("    orphan %d (reached at %.0f ms, hops %s, from %s): %s; fed by: %s", gi, at * 1000,
          a[gi] and a[gi][2] or "-", a[gi] and tostring(gi_of[a[gi][4]]) or "-", what,
          #fed > 0 and table.concat(fed, ", ") or "nobody")
      end
    end
  end
  if o.detail then
    -- The first nodes a repair reached (after lazy_delay): where the tree
    -- broke; each with every node that had an eager link to it.
    local lates = {}
    for gi = 2, n do
      if a[gi] and a[gi][1] > 0.25 then lates[#lates + 1] = gi end
    end
    table.sort(lates, function(x, y) return a[x][1] < a[y][1] end)
    for k = 1, math.min(3, #lates) do
      local gi, ps = lates[k], {}
      for _, p in ipairs(parents[gi] or {}) do
        local pa = a[p]
        ps[#ps + 1] = pa and ("%d at %.0f ms (hops %d, ttl %d)"):format(p, pa[1] * 1000, pa[2], pa[3])
          or (p .. " never")
      end
      B.log("    first late %d at %.0f ms (hops %d, from %s); eager in-links: %s", gi,
        a[gi][1] * 1000, a[gi][2], tostring(gi_of[a[gi][4]]), #ps > 0 and table.concat(ps, "; ") or "none")
    end
  end
  table.sort(times)
  local t99, t100 = times[math.ceil(0.99 * n)], times[n]
  t100s[#t100s + 1] = t100 * 1000
  if maxh > deepest then deepest = maxh end
  local parts = {}
  for _, c in ipairs(causes) do if late[c] > 0 then parts[#parts + 1] = c .. " " .. late[c] end end
  B.log("  #%-3d 99%% %8.1f ms  100%% %8.1f ms  deepest hop %2d  prunes %4d grafts %3d  late: %s",
    rep, t99 * 1000, t100 * 1000, maxh, counters[rep].prunes, counters[rep].grafts,
    #parts > 0 and table.concat(parts, ", ") or "none")
end
B.result(tag, "t100_ms_median", B.median(t100s))
B.result(tag, "t100_ms_p99", B.percentile(t100s, 99))
B.result(tag, "deepest_hop", deepest)
B.result(tag, "ttl", ttl)
for _, c in ipairs(causes) do B.result(tag, "late_" .. c:gsub("%-", "_"), total[c]) end
B.log("%s: 100%% median %s ms, p99 %s ms; deepest hop %d (ttl %d); late nodes by cause: ttl %d, "
  .. "parent-early %d, parent-late %d, orphan %d", tag, B.fmt(B.median(t100s)),
  B.fmt(B.percentile(t100s, 99)), deepest, ttl, total.ttl, total["parent-early"],
  total["parent-late"], total.orphan)
