-- A partition the kernel makes: six `hearsay run` processes, the halves cut
-- from each other by nftables rules (packets dropped, not refused), then
-- healed by deleting the rules. ctest runs this file inside a private
-- network namespace (`unshare -n`, only `lo`), so the rules never touch the
-- host; outside one it refuses to run. Each half runs under its own group id
-- (setpriv), which is what the rules match a socket's owner by: on loopback
-- every connection starts from 127.0.0.1 and an ephemeral port, so neither
-- address nor source port tells the halves apart. The spec drives and
-- watches the nodes from its own process (group 0, never cut): HTTP to look,
-- each node's console socket to broadcast and update state.
local hs = H.hs

local TABLE = "hearsay_partition_spec"
local GIDS = { 6101, 6102 } -- one per half

-- True only inside the namespace ctest made: the variable it sets, and no
-- interface but lo (the host's namespace has at least one more).
local function private_netns()
  if os.getenv("HEARSAY_NETNS") ~= "1" then return false, "HEARSAY_NETNS is not 1" end
  local code, out = H.sh("ip -o link show")
  if code ~= 0 then return false, "ip -o link show: " .. out end
  for line in out:gmatch("[^\n]+") do
    local name = line:match("^%d+:%s*([^:@%s]+)")
    if name and name ~= "lo" then return false, "this namespace has interface " .. name end
  end
  return true
end

local write = H.write

-- Feeds lines to the process's console; returns its output.
local function console(proc, lines)
  local code, out = H.console(proc.dir .. "/console.sock", lines)
  assert(code == 0, out)
  return out
end

local function port(proc) return tonumber(proc.url:match(":(%d+)$")) end

describe("a partition cut by the kernel", function()
  it("heals: both halves end with the same messages and the same state root", function()
    local ok, why = private_netns()
    assert(ok, "refusing to install firewall rules outside a private network namespace ("
      .. tostring(why) .. "); run it through ctest (ctest -R partition_spec)")

    local n = 6
    local loop = hs.loop()
    local eye = H.node({}, loop) -- the spec's HTTP client; no node's peer
    local procs = {}
    local function half(i) return i <= n // 2 and 1 or 2 end

    -- Polls pred every 0.2 s until it holds or `timeout` s pass (loop time).
    local function eventually(timeout, pred)
      local deadline = loop:now() + timeout
      for _ = 1, math.ceil(timeout / 0.2) + 1 do
        if pred() then return true end
        if loop:now() >= deadline then break end
        loop:run_for(0.2)
      end
      return pred()
    end

    local function get(i, path)
      local st, ans = H.fetch_json(loop, eye, "GET", procs[i].url .. path)
      return st == 200 and ans or nil
    end

    -- Which of `ids` node i lacks (nil when it does not answer).
    local function missing(i, ids)
      if #ids == 0 then return {} end
      local st, ans = H.fetch_json(loop, eye, "POST", procs[i].url .. "/digest",
        hs.json_encode({ ids = ids }))
      return st == 200 and ans.missing or nil
    end

    local function root(i)
      local s = get(i, "/state")
      return s and s.merkle_root
    end

    -- Node i's live peers, by id: is_healthy.
    local function live(i)
      local list = get(i, "/peers")
      if not list then return nil end
      local t = {}
      for _, p in ipairs(list) do t[p.peer_id] = p.is_healthy end
      return t
    end

    local function cut()
      local ports = { {}, {} }
      for i = 1, n do table.insert(ports[half(i)], port(procs[i])) end
      local rules = os.tmpname()
      write(rules, ([[
table inet %s {
  set left { type inet_service; elements = { %s } }
  set right { type inet_service; elements = { %s } }
  chain output {
    type filter hook output priority 0; policy accept;
    meta skgid %d tcp dport @right drop
    meta skgid %d tcp dport @left drop
  }
}
]]):format(TABLE, table.concat(ports[1], ", "), table.concat(ports[2], ", "), GIDS[1], GIDS[2]))
      local code, out = H.sh("nft -f " .. rules)
      os.remove(rules)
      assert(code == 0, "nft: " .. out)
    end

    local function heal()
      local code, out = H.sh("nft delete table inet " .. TABLE)
      assert(code == 0, "nft: " .. out)
    end

    finally(function()
      os.execute("nft delete table inet " .. TABLE .. " 2>/dev/null")
      for _, p in ipairs(procs) do H.kill(p, "TERM") end
      for _, p in ipairs(procs) do
        if not H.wait_exit(p, loop, 5) then H.kill(p, "KILL") end
      end
      eye:close()
      loop:close()
    end)

    -- Six processes, node 1 the bootstrap, each half under its group.
    for i = 1, n do
      local s = H.settings({ port = 0, ae_interval = 0.2, suspicion_timeout = 0.3,
        dead_after = 1, retry_min = 0.2, retry_max = 0.5,
        bootstrap = i > 1 and { procs[1].url } or nil })
      procs[i] = H.spawn(H.config_dir(s), loop, 20,
        ("setpriv --regid %d --clear-groups"):format(GIDS[half(i)]))
    end
    assert.is_true(eventually(30, function()
      for i = 1, n do
        local peers = live(i)
        if not peers then return false end
        for j = 1, n do
          if j ~= i and not peers[procs[j].id] then return false end
        end
      end
      return true
    end), "the six processes know each other")

    cut()
    -- Each side declares the other dead (gone from its live peers).
    assert.is_true(eventually(30, function()
      for i = 1, n do
        local peers = live(i)
        if not peers then return false end
        for j = 1, n do
          if half(i) ~= half(j) and peers[procs[j].id] ~= nil then return false end
        end
      end
      return true
    end), "each side declared the other dead")

    -- Both sides move on alone; the right side's state is newer (version 2).
    local sent = { {}, {} }
    for side, i in ipairs({ 1, n }) do
      local lines = {}
      for k = 1, 10 do lines[k] = ('=broadcast("chat", { side = %d, k = %d })'):format(side, k) end
      for id in console(procs[i], lines):gmatch('"(%x+)"') do
        if #id == 64 then table.insert(sent[side], id) end
      end
      assert.equal(10, #sent[side])
    end
    console(procs[2], { '=update_state("root-left")' })
    console(procs[5], { '=update_state("root-right")', '=update_state("root-right-2")' })
    local want = { "root-left", "root-right-2" }

    -- Each side converges on its own messages and root...
    assert.is_true(eventually(30, function()
      for i = 1, n do
        local m = missing(i, sent[half(i)])
        if not m or #m > 0 or root(i) ~= want[half(i)] then return false end
      end
      return true
    end), "each side converged on its own messages and root")
    loop:run_for(1) -- anti-entropy rounds every 0.2 s: time to cross, were it open
    -- ...and nothing crosses the cut.
    for i = 1, n do
      local other = 3 - half(i)
      local m = assert(missing(i, sent[other]), "node " .. i .. " did not answer")
      assert.equal(10, #m, "node " .. i .. " got the other side's messages")
      assert.equal(want[half(i)], root(i))
    end

    heal()
    local all = {}
    for _, side in ipairs(sent) do
      for _, id in ipairs(side) do all[#all + 1] = id end
    end
    local healed = eventually(30, function()
      for i = 1, n do
        local m = missing(i, all)
        if not m or #m > 0 or root(i) ~= "root-right-2" then return false end
      end
      return true
    end)
    local report = {}
    for i = 1, n do
      local m = missing(i, all)
      report[i] = ("node %d: %s missing, root %s"):format(i, m and #m or "?", tostring(root(i)))
    end
    assert.is_true(healed, table.concat(report, "; "))
  end)
end)
