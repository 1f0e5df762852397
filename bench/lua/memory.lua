-- memory.lua -- resident memory per 1000 known peers and per seen message
-- id, read from this process's VmRSS (/proc/self/status).
--
--   lua5.4 bench/lua/memory.lua --part peers [--peers 10000]
--   lua5.4 bench/lua/memory.lua --part live  [--live 200] [--per-proc 50] [--dir SCRATCH]
--   lua5.4 bench/lua/memory.lua --part seen  [--ids 100000] [--steps 3] [--retain-bytes N]
--   lua5.4 bench/lua/memory.lua --part seen_default [--ids 100000] [--steps 2]
--
-- peers: one node (max_peers 100000) gets peers by node:add_peer(id, url),
-- in two equal batches. Every url points at 127.0.0.1:1, a closed port,
-- with a distinct path, so each add's health probe is refused at once and
-- the peer stays known (unhealthy, not dead: dead_after is 3 and no second
-- probe comes within the run). RSS is read right after each batch is added
-- (each new peer's first probe is then queued: up to max_probes_in_flight
-- curl handles, the other peers in the peer table's wait list) and after
-- the probes have failed. The steady figure is the growth over the second
-- batch, after the probes: by then the first batch's probe memory has been
-- freed and is reused, so what remains is the peer table itself.
--
-- live: what a LIVE peer costs, which the unreachable peers above do not
-- show (they hold no connection). The measured node is alone in this
-- process, with every setting at its default but max_peers (at least
-- --live). --live real nodes run in other processes (bench/lua/
-- live_peers.lua, --per-proc apiece), each knowing only the measured node
-- (add_peer) and probing it; the measured node add_peers them, probes each
-- (its client keeps that connection alive, 118 s) and serves their probes
-- (its server keeps each inbound connection and its 8 KiB MHD pool, 150
-- s). RSS with no peer, then after half of them and after all are alive,
-- probed and connected both ways (its own sockets counted from
-- /proc/PID/fd and /proc/net/tcp) and 5 s more of probing: the cost per
-- live peer from zero (the figure), and over each half.
--
-- seen: one node (seen_cap and seen_ttl large enough to keep every id)
-- receives `steps` x `ids` distinct ttl-0 envelopes (not forwarded; the
-- node has no peers) in batches of 1000, posted by bench/lua/post_batches.lua
-- in another process. RSS is read after each step and set beside the
-- node's own /health "seen_ids". The node keeps up to retain_bytes of the
-- envelopes for anti-entropy (16 MiB by default, filled within the first
-- step), which the per-id figures include; --retain-bytes 0 measures the
-- ids alone (the seen cache), reported as memory_ids instead of memory_seen.
--
-- seen_default: the same, on a node with every setting at its default
-- (seen_cap 100000, seen_ttl 300 s, retain_bytes 16 MiB, retain_ttl 120
-- s): what a node holds per id it remembers, kept envelopes included.
-- Each step posts --ids ids (bench/run: 100000, the cap): the first fills
-- the cache, the next replace every id in it (evictions, kept envelopes
-- at their cap). Per id: RSS over the empty node divided by the ids the
-- node holds (/health seen_ids); the figure is the last step's (memory_
-- seen_default). The envelopes are post_batches.lua's, ~170 bytes each.
local hs = require "hearsay"
local B = require "benchlib"

local o = B.args(arg, { part = "peers", peers = 10000, ids = 100000, steps = 3, lua = "lua5.4",
  poster = "bench/lua/post_batches.lua", retain_bytes = 16777216, live = 200, per_proc = 50,
  dir = os.getenv("WORK") or "/tmp", peer_script = "bench/lua/live_peers.lua",
  peer_probe_interval = 5, hold = 5 })
local loop = hs.loop()

local function settle()
  collectgarbage("collect")
  loop:run_for(0.2)
  return B.rss_kb()
end

-- A nonce for one run's ids, and step `step` of posting o.ids of them to
-- node (bench/lua/post_batches.lua in a process of its own); the poster's
-- exit status.
local function ids_nonce()
  return ("%016x"):format(math.random(0, 0x7fffffff) * 0x100000000 + os.time() % 0x100000000)
end
local function post_ids(node, nonce, step)
  local exited, status = false, nil
  loop:spawn(o.lua, { o.poster, node:url(), tostring(o.ids), "1000", "0",
    nonce:sub(1, 14) .. ("%02x"):format(step) }, function(st) exited, status = true, st end)
  loop:run_until(function() return exited end, 600, 0.05)
  return status
end

if o.part == "peers" then
  local node = hs.node(loop, {
    port = 0, log_level = "error", max_peers = 100000, dead_after = 3,
    health_interval = 3600, gossip_interval = 3600, peer_exchange_interval = 3600,
    dead_timeout = 3600, forget_after = 7200,
  })
  assert(node:start())
  local rss0 = settle()
  local total, rows = 0, {}
  for batch = 1, 2 do
    local t0 = loop:now()
    for _ = 1, o.peers do
      total = total + 1
      node:add_peer(("bench-peer-%07d"):format(total),
        ("http://127.0.0.1:1/bench/%07d"):format(total))
    end
    local add_us = (loop:now() - t0) * 1e6 / o.peers
    local queued = B.rss_kb()
    -- Every probe refused: all peers unhealthy (none dead yet).
    local done = loop:run_until(function()
      local h = node:health()
      return h.peers and (h.peers.unhealthy or 0) + (h.peers.dead or 0) >= total
    end, 120, 0.05)
    local after = settle()
    local h = node:health()
    rows[batch] = { queued = queued, after = after, add_us = add_us }
    B.log("peers: %6d known (%s alive, %s unhealthy, %s dead)%s; RSS %d KiB with probes queued, "
      .. "%d KiB after they failed; add_peer took %.1f us each in this batch", total,
      tostring(h.peers and h.peers.alive), tostring(h.peers and h.peers.unhealthy),
      tostring(h.peers and h.peers.dead), done and "" or " (probes NOT all done)", queued, after,
      add_us)
  end
  local per1k_steady = (rows[2].after - rows[1].after) / (o.peers / 1000)
  local per1k_queued = (rows[1].queued - rss0) / (o.peers / 1000)
  local per1k_first = (rows[1].after - rss0) / (o.peers / 1000)
  B.log("RSS per 1000 peers: %.0f KiB steady (second batch, probes done); %.0f KiB with each "
    .. "peer's first probe queued; %.0f KiB first batch after probes (incl. freed probe memory)",
    per1k_steady, per1k_queued, per1k_first)
  B.result("memory_peers", "kib_per_1000_peers", per1k_steady)
  B.result("memory_peers", "kib_per_1000_peers_probe_queued", per1k_queued)
  B.result("memory_peers", "kib_per_1000_peers_first_batch", per1k_first)
  B.result("memory_peers", "add_peer_us_batch1", rows[1].add_us)
  B.result("memory_peers", "add_peer_us_batch2", rows[2].add_us)
  B.result("memory_peers", "peers", total)
  node:close()
elseif o.part == "live" then
  local k = o.live
  local node = hs.node(loop, { port = 0, log_level = "error", max_peers = math.max(50, k) })
  assert(node:start())
  local port = tonumber(node:url():match(":(%d+)$"))
  local pid = tonumber((B.read("/proc/self/stat") or ""):match("^(%d+)"))
  -- Our sockets by kind: inode set from /proc/PID/fd, states and ports from
  -- /proc/net/tcp (ESTABLISHED "01": inbound when the local port is ours,
  -- else outbound; LISTEN "0A").
  local function sockets()
    local mine, n = {}, { inbound = 0, outbound = 0, listen = 0, other = 0 }
    local p = io.popen(("ls -l /proc/%d/fd 2>/dev/null"):format(pid))
    for inode in (p and p:read("a") or ""):gmatch("socket:%[(%d+)%]") do mine[inode] = true end
    if p then p:close() end
    for _, file in ipairs({ "/proc/net/tcp", "/proc/net/tcp6" }) do
      for line in (B.read(file) or ""):gmatch("[^\n]+") do
        local lport, st, inode = line:match(
          "^%s*%d+:%s+%x+:(%x+)%s+%x+:%x+%s+(%x%x)%s+%S+%s+%S+%s+%S+%s+%S+%s+%S+%s+(%d+)")
        if inode and mine[inode] then
          if st == "0A" then n.listen = n.listen + 1
          elseif st == "01" and tonumber(lport, 16) == port then n.inbound = n.inbound + 1
          elseif st == "01" then n.outbound = n.outbound + 1
          else n.other = n.other + 1 end
        end
      end
    end
    return n
  end
  -- Alive, probed (a measured latency) peers of the node.
  local function live()
    local c = 0
    for _, p in ipairs(node:peers()) do
      if p.state == "alive" and p.latency_ms then c = c + 1 end
    end
    return c
  end
  local alive_file = ("%s/live_peers.%d.alive"):format(o.dir, pid)
  local f = assert(io.open(alive_file, "w"))
  f:write("1\n")
  f:close()
  local procs, exited = 0, {}
  -- Starts `count` peers in processes of per_proc; returns when their
  -- list files are written (each "id url" a line), with the lists.
  local function start_peers(count)
    local lists = {}
    for first = 1, count, o.per_proc do
      procs = procs + 1
      local list = ("%s/live_peers.%d.%d"):format(o.dir, pid, procs)
      os.remove(list)
      local s = procs
      loop:spawn(o.lua, { o.peer_script, "--url", node:url(), "--id", node:id(), "--count",
        tostring(math.min(o.per_proc, count - first + 1)), "--list", list, "--alive", alive_file,
        "--probe-interval", tostring(o.peer_probe_interval), "--seconds", "600" },
        function(st) exited[s] = st end)
      lists[#lists + 1] = list
    end
    local ok = loop:run_until(function()
      for _, l in ipairs(lists) do if not B.read(l) then return false end end
      return true
    end, 60, 0.05)
    if not ok then error("live_peers: the peer processes did not start in time") end
    return lists
  end
  local rss0 = settle()
  local s0 = sockets()
  local total, rows = 0, {}
  local halves = { k // 2, k - k // 2 }
  for h, count in ipairs(halves) do
    local t0 = loop:now()
    for _, l in ipairs(start_peers(count)) do
      for id, url in B.read(l):gmatch("(%S+) (%S+)") do
        node:add_peer(id, url)
        total = total + 1
      end
    end
    -- Every peer alive and probed by us, and connected to us: it probed us.
    local ready = loop:run_until(function()
      return live() >= total and sockets().inbound >= total
    end, 60, 0.2)
    loop:run_for(o.hold) -- a few more rounds of probes both ways
    local rss = settle()
    local sk = sockets()
    rows[h] = { rss = rss, total = total, sockets = sk, alive = live() }
    B.log("live peers: %4d added, %4d alive and probed%s in %.1f s; RSS %d KiB; sockets: %d inbound, "
      .. "%d outbound established, %d listening, %d other", total, rows[h].alive,
      ready and "" or " (NOT ALL READY: measuring anyway)", loop:now() - t0, rss, sk.inbound,
      sk.outbound, sk.listen, sk.other)
  end
  local per1k = (rows[2].rss - rss0) / (total / 1000)
  local first = (rows[1].rss - rss0) / (halves[1] / 1000)
  local second = (rows[2].rss - rows[1].rss) / (halves[2] / 1000)
  B.log("RSS per 1000 live peers: %.0f KiB from none to %d (%.1f KiB per peer); %.0f KiB over the "
    .. "first %d, %.0f KiB over the next %d. The node alone: %d KiB, %d sockets", per1k, total,
    per1k / 1000, first, halves[1], second, halves[2], rss0, s0.inbound + s0.outbound + s0.listen + s0.other)
  B.result("memory_live_peers", "kib_per_1000_peers", per1k)
  B.result("memory_live_peers", "kib_per_peer", per1k / 1000)
  B.result("memory_live_peers", "kib_per_1000_peers_first_half", first)
  B.result("memory_live_peers", "kib_per_1000_peers_second_half", second)
  B.result("memory_live_peers", "peers", total)
  B.result("memory_live_peers", "alive", rows[2].alive)
  B.result("memory_live_peers", "inbound_connections", rows[2].sockets.inbound)
  B.result("memory_live_peers", "outbound_connections", rows[2].sockets.outbound)
  B.result("memory_live_peers", "rss_kib_no_peers", rss0)
  -- The peers go: their file first, then a bounded wait for each process.
  os.remove(alive_file)
  node:close()
  loop:run_until(function()
    for s = 1, procs do if exited[s] == nil then return false end end
    return true
  end, 30, 0.1)
  for s = 1, procs do os.remove(("%s/live_peers.%d.%d"):format(o.dir, pid, s)) end
elseif o.part == "seen_default" then
  -- Every setting the default: only where to listen and how loud.
  local node = hs.node(loop, { port = 0, log_level = "error" })
  assert(node:start())
  local rss = { [0] = settle() }
  local nonce = ids_nonce()
  local per_id, held = nil, 0
  for step = 1, o.steps do
    local status = post_ids(node, nonce, step)
    rss[step] = settle()
    held = node:health().seen_ids or 0
    per_id = held > 0 and (rss[step] - rss[0]) * 1024 / held or 0 / 0
    B.log("seen, defaults: %7d ids posted, %d held (health seen_ids; poster exit %s); RSS %d KiB, "
      .. "%.1f bytes per id held", step * o.ids, held, tostring(status), rss[step], per_id)
    B.result("memory_seen_default", ("bytes_per_id_step%d"):format(step), per_id)
    B.result("memory_seen_default", ("seen_ids_step%d"):format(step), held)
  end
  B.log("RSS per seen id at the default settings: %.1f bytes (%d ids held, kept envelopes included)",
    per_id, held)
  B.result("memory_seen_default", "bytes_per_id", per_id)
  B.result("memory_seen_default", "ids", held)
  node:close()
elseif o.part == "seen" then
  local cap = o.ids * o.steps * 2
  local group = tonumber(o.retain_bytes) == 0 and "memory_ids" or "memory_seen"
  local node = hs.node(loop, {
    port = 0, log_level = "error", seen_cap = cap, seen_ttl = 3600,
    retain_bytes = math.tointeger(o.retain_bytes),
    health_interval = 3600, gossip_interval = 3600, peer_exchange_interval = 3600,
  })
  assert(node:start())
  local rss = { [0] = settle() }
  local nonce = ids_nonce()
  for step = 1, o.steps do
    local status = post_ids(node, nonce, step)
    rss[step] = settle()
    local h = node:health()
    local per_id = (rss[step] - rss[step - 1]) * 1024 / o.ids
    B.log("seen: %7d ids (health seen_ids %s, poster exit %s); RSS %d KiB, +%.1f bytes per id "
      .. "over this step", step * o.ids, tostring(h.seen_ids), tostring(status), rss[step], per_id)
    B.result(group, ("bytes_per_id_step%d"):format(step), per_id)
    B.result(group, ("seen_ids_step%d"):format(step), h.seen_ids or "nan")
  end
  local overall = (rss[o.steps] - rss[0]) * 1024 / (o.ids * o.steps)
  B.log("RSS per seen id: %.1f bytes over all %d ids", overall, o.ids * o.steps)
  B.result(group, "bytes_per_id", overall)
  B.result(group, "ids", o.ids * o.steps)
  B.result(group, "bytes_per_id_last_step", (rss[o.steps] - rss[o.steps - 1]) * 1024 / o.ids)
  node:close()
else
  error("--part must be peers, live, seen or seen_default")
end
loop:close()
