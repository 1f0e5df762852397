-- Snapshots (README, Running a node): a restarted node rejoins through the
-- peers it knew, without its bootstrap list, takes no message twice, and
-- ignores a torn, edited or foreign snapshot with a warning.
local hs = H.hs

-- a and b, b's messages hook counting deliveries by id; anti-entropy on,
-- so that a restarted node is offered what it missed (or had).
local function pair(loop)
  local s = { ae_interval = 0.2, ae_window = 30 }
  local a = H.node(s, loop)
  s.bootstrap = { a:url() }
  local b = H.node(s, loop)
  assert(loop:run_until(function() return #a:peers() == 1 and #b:peers() == 1 end, 5))
  return a, b
end

local function counting(node)
  local got = {}
  node:on("message", function(m) if m.type == "chat" then got[m.id] = (got[m.id] or 0) + 1 end end)
  return got
end

-- A node with b's key (its secret), not started: b after a restart.
local function reborn(loop, key, extra)
  local s = H.settings(extra)
  s.port, s.node_key, s.ae_interval = 0, key, 0.2
  return hs.node(loop, s)
end

describe("snapshots", function()
  it("a restarted node rejoins without bootstrap and takes no message twice", function()
    local loop = hs.loop()
    local a, b = pair(loop)
    local got = counting(b)
    local ids = {}
    for i = 1, 5 do ids[i] = a:broadcast("chat", { i = i }) end
    assert.is_true(loop:run_until(function()
      for _, id in ipairs(ids) do if not got[id] then return false end end
      return true
    end, 5))
    b:set_tags({ role = "kept" })
    local text = b:snapshot()
    local id, key = b:id(), b:secret_key()
    b:close()
    loop:run_for(0.2)

    -- restored: no bootstrap, yet it finds a; a's digests name the five
    -- messages, which it already had
    local b2 = reborn(loop, key)
    assert.is_true(b2:restore(text))
    local got2 = counting(b2)
    assert.is_true(b2:start())
    assert.equal(id, b2:id())
    assert.same({ role = "kept" }, b2:tags())
    assert.is_true(loop:run_until(function()
      local p = H.peer(a, id)
      return #b2:peers() == 1 and p ~= nil and p.url == b2:url()
    end, 5), "it rejoined a, which knows its new address")
    loop:run_for(1.5) -- several anti-entropy rounds
    assert.is_nil(next(got2), "no message was delivered again")
    assert.is_true(b2:metrics().ae_rounds > 0)
    b2:close()
    loop:run_for(0.2)

    -- without the snapshot (and with a's URL to join by), the same five
    -- come again: what the snapshot spares
    local b3 = reborn(loop, key, { bootstrap = { a:url() } })
    local got3 = counting(b3)
    assert.is_true(b3:start())
    assert.is_true(loop:run_until(function()
      for _, i in ipairs(ids) do if not got3[i] then return false end end
      return true
    end, 5), "a fresh node is given them again")
    b3:close(); a:close(); loop:close()
  end)

  it("refuses a torn, edited or foreign snapshot, and takes nothing from it", function()
    local loop = hs.loop()
    local a, b = pair(loop)
    local text = b:snapshot()
    local cases = {
      { text:sub(1, #text // 2), "not a snapshot" },
      { (text:gsub('"state_version":0', '"state_version":7')), "checksum" },
      { "not json", "not a snapshot" },
    }
    for _, c in ipairs(cases) do
      local n = reborn(loop, b:secret_key())
      local ok, why = n:restore(c[1])
      assert.is_nil(ok)
      assert.matches(c[2], why)
      n:close()
    end
    local other = H.node({}, loop)
    local stranger = hs.node(loop, { port = 0, log_level = "error" })
    local ok, why = stranger:restore(text)
    assert.is_nil(ok)
    assert.matches("another node's", why)
    ok, why = other:restore(text)
    assert.is_nil(ok)
    assert.matches("started already", why)
    stranger:close(); other:close(); a:close(); b:close(); loop:close()
  end)

  it("hearsay run keeps it in the config directory, and says when it ignores one", function()
    local loop = hs.loop()
    local a = H.node({}, loop)
    local settings = { port = 0, log_level = "info", bootstrap = { a:url() }, plugins = {},
      snapshot_interval = 0.2, health_interval = 0.2, gossip_interval = 0.3 }
    local dir = H.config_dir(settings)
    local proc = H.spawn(dir, loop)
    assert.is_true(loop:run_until(function() return H.peer(a, proc.id) ~= nil end, 5))
    H.kill(proc, "TERM")
    assert.is_true((H.wait_exit(proc, loop, 5)))
    local text = H.read(dir .. "/snapshot.json")
    assert.matches('^{"sha256":"%x+","snapshot":', text)
    -- again, without bootstrap: it rejoins a
    settings.bootstrap = nil
    H.config_dir(settings, dir)
    proc = H.spawn(dir, loop)
    assert.matches("restored .*snapshot%.json", H.output(proc))
    assert.is_true(loop:run_until(function()
      local p = H.peer(a, proc.id)
      return p ~= nil and p.url == proc.url and p.healthy
    end, 5), "rejoined without its bootstrap list")
    H.kill(proc, "TERM")
    assert.is_true((H.wait_exit(proc, loop, 5)))
    -- a corrupt one: said, and the node starts all the same
    H.write(dir .. "/snapshot.json",
      (H.read(dir .. "/snapshot.json"):gsub('"state_version":%d+', '"state_version":99')))
    proc = H.spawn(dir, loop)
    assert.matches("snapshot .* is ignored: its checksum does not hold", H.output(proc))
    H.kill(proc, "TERM")
    H.wait_exit(proc, loop, 5)
    a:close(); loop:close()
  end)

  it("hearsay run takes snapshot_file and snapshot_interval from node.lua; \"\" keeps none", function()
    -- Both were read and checked but never handed on: every node kept
    -- snapshot.json every 30 s whatever node.lua said.
    local function exists(path)
      local f = io.open(path)
      if f then f:close() end
      return f ~= nil
    end
    local loop = hs.loop()
    local a = H.node({}, loop)
    local settings = { port = 0, log_level = "info", bootstrap = { a:url() }, plugins = {},
      snapshot_file = "state/peers.snap", snapshot_interval = 0.2, health_interval = 0.2,
      gossip_interval = 0.3 }
    local dir = H.config_dir(settings)
    os.execute("mkdir -p " .. dir .. "/state")
    local proc = H.spawn(dir, loop)
    assert.is_true(loop:run_until(function() return H.peer(a, proc.id) ~= nil end, 5))
    -- written by the 0.2 s timer, while it runs (not only at the stop)
    assert.is_true(loop:run_until(function() return exists(dir .. "/state/peers.snap") end, 3),
      "no snapshot in snapshot_file within 3 s at snapshot_interval 0.2")
    assert.is_false(exists(dir .. "/snapshot.json"), "snapshot.json written all the same")
    H.kill(proc, "TERM")
    assert.is_true((H.wait_exit(proc, loop, 5)))
    -- "": none, not even at the stop
    os.remove(dir .. "/state/peers.snap")
    settings.snapshot_file = ""
    H.config_dir(settings, dir)
    proc = H.spawn(dir, loop)
    loop:run_for(0.6)
    H.kill(proc, "TERM")
    assert.is_true((H.wait_exit(proc, loop, 5)))
    assert.is_false(exists(dir .. "/snapshot.json"), "a snapshot with snapshot_file \"\"")
    assert.is_false(exists(dir .. "/state/peers.snap"))
    a:close(); loop:close()
  end)
end)
