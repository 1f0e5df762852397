-- memory.lua -- resident memory per 1000 known peers and per seen message
-- id, read from this process's VmRSS (/proc/self/status).
--
--   lua5.4 bench/lua/memory.lua --part peers [--peers 10000]
--   lua5.4 bench/lua/memory.lua --part seen  [--ids 100000] [--steps 3] [--retain-bytes N]
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
-- seen: one node (seen_cap and seen_ttl large enough to keep every id)
-- receives `steps` x `ids` distinct ttl-0 envelopes (not forwarded; the
-- node has no peers) in batches of 1000, posted by bench/lua/post_batches.lua
-- in another process. RSS is read after each step and set beside the
-- node's own /health "seen_ids". The node keeps up to retain_bytes of the
-- envelopes for anti-entropy (16 MiB by default, filled within the first
-- step), which the per-id figures include; --retain-bytes 0 measures the
-- ids alone (the seen cache), reported as memory_ids instead of memory_seen.
local hs = require "hearsay"
local B = require "benchlib"

local o = B.args(arg, { part = "peers", peers = 10000, ids = 100000, steps = 3, lua = "lua5.4",
  poster = "bench/lua/post_batches.lua", retain_bytes = 16777216 })
local loop = hs.loop()

local function settle()
  collectgarbage("collect")
  loop:run_for(0.2)
  return B.rss_kb()
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
  local nonce = ("%016x"):format(math.random(0, 0x7fffffff) * 0x100000000 + os.time() % 0x100000000)
  for step = 1, o.steps do
    local exited, status = false, nil
    loop:spawn(o.lua, { o.poster, node:url(), tostring(o.ids), "1000", "0",
      nonce:sub(1, 14) .. ("%02x"):format(step) }, function(st) exited, status = true, st end)
    loop:run_until(function() return exited end, 600, 0.05)
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
  error("--part must be peers or seen")
end
loop:close()
