-- Leaving on purpose (README, The console): a node that leaves is forgotten
-- at once, not failed; a failed one can be forced out; nobody can make a
-- live node "leave" by saying so.
local hs = H.hs

local function peer_ids(node, all)
  local t = {}
  for _, p in ipairs(node:peers(all)) do t[p.id] = p end
  return t
end

describe("leave", function()
  it("`hearsay leave` on a running node of five: the others forget it, not fail it, and it stops", function()
    local loop = hs.loop()
    local a = H.node({ ae_interval = 0.2 }, loop)
    local b = H.node({ ae_interval = 0.2, bootstrap = { a:url() } }, loop)
    local c = H.node({ ae_interval = 0.2, bootstrap = { a:url() } }, loop)
    local d = H.node({ ae_interval = 0.2, bootstrap = { a:url() } }, loop)
    local dir = H.config_dir({ port = 0, log_level = "debug", bootstrap = { a:url() },
      gossip_interval = 0.3, health_interval = 0.2, probe_timeout = 0.5, suspicion_timeout = 0.3,
      plugins = {} })
    local proc = H.spawn(dir, loop)
    local all = { a = a, b = b, c = c, d = d }
    assert.is_true(loop:run_until(function()
      for _, n in pairs(all) do if peer_ids(n)[proc.id] == nil then return false end end
      return true
    end, 10), "every node knows the process")
    local before = {}
    for name, n in pairs(all) do before[name] = n:metrics() end
    local out, code = H.sh_bg(loop, ("%q leave --socket %q"):format(H.bin, dir .. "/console.sock"))
    assert.equal(0, code, out)
    assert.matches("leaving", out)
    local exited, why = H.wait_exit(proc, loop, 10)
    assert.is_true(exited, why)
    assert.matches("left the cluster, shutting down", H.output(proc))
    assert.is_nil(io.open(dir .. "/snapshot.json"), "no snapshot: a restart does not rejoin")
    loop:run_for(1.5) -- long enough that a failure would have been suspected
    for name, node in pairs(all) do
      assert.is_nil(peer_ids(node, true)[proc.id], name .. " forgot it (not even dead)\n" .. H.output(proc))
      local m = node:metrics()
      assert.equal(before[name].peers_left + 1, m.peers_left, name)
      assert.equal(before[name].suspicions, m.suspicions, name .. " never suspected it")
      assert.equal(before[name].peers_removed, m.peers_removed, name .. " never failed it")
      local left = node:left()
      assert.equal(proc.id, left[#left].id)
    end
    -- members() shows it as left
    local mine = false
    for _, l in ipairs(a:left()) do mine = mine or l.id == proc.id end
    assert.is_true(mine)
    for _, n in pairs(all) do n:close() end
    loop:close()
  end)

  it("force-leave takes out a failed member everywhere, and never a live one", function()
    local loop, nodes = H.mesh(3, { ae_interval = 0.2 })
    local dead_id = nodes[3]:id()
    local ok, err = nodes[1]:force_leave(nodes[2]:id())
    assert.is_nil(ok)
    assert.matches("not failed", err)
    nodes[3]:close()
    assert.is_true(loop:run_until(function()
      local p1, p2 = peer_ids(nodes[1], true)[dead_id], peer_ids(nodes[2], true)[dead_id]
      return p1 and p1.state == "dead" and p2 and p2.state == "dead"
    end, 10), "both hold node 3 dead")
    assert.is_true(nodes[1]:force_leave(dead_id))
    assert.is_true(loop:run_until(function()
      return peer_ids(nodes[2], true)[dead_id] == nil
    end, 5), "node 2 forgot it too")
    assert.is_nil(peer_ids(nodes[1], true)[dead_id])
    for i = 1, 2 do nodes[i]:close() end
    loop:close()
  end)

  it("a stranger's hs.leave or hs.forceleave about a live node changes nothing", function()
    local loop, nodes = H.mesh(2, {})
    local a, b = nodes[1], nodes[2]
    local refused = b:metrics().claims_refused
    for _, t in ipairs({ "hs.leave", "hs.forceleave" }) do
      local st = H.post_gossip(loop, a, b:url(), H.envelope({ message_type = t,
        payload = { node_id = a:id(), incarnation = 1 }, origin_peer = a:id() }))
      assert.equal(200, st)
    end
    loop:run_for(0.3)
    assert.is_not_nil(peer_ids(b)[a:id()], "a is still b's peer")
    assert.equal(refused + 2, b:metrics().claims_refused)
    a:close(); b:close(); loop:close()
  end)

  it("believes an hs.forceleave about no unknown node, and no old hs.leave (a review's findings)", function()
    local loop, nodes = H.mesh(2, {})
    local a, b = nodes[1], nodes[2]
    local refused = b:metrics().claims_refused
    -- about an id b does not know (yet): refused, so it may still join
    local c = H.node({}, loop)
    local st = H.post_gossip(loop, a, b:url(), H.envelope({ message_type = "hs.forceleave",
      payload = { node_id = c:id() }, timestamp = 1e15 }))
    assert.equal(200, st)
    assert.equal(refused + 1, b:metrics().claims_refused)
    c:add_peer(b:id(), b:url())
    assert.is_true(loop:run_until(function() return H.peer(b, c:id()) ~= nil end, 5),
      "c joined b all the same")
    -- a's own signed leave, but older than the seen cache remembers: a replay
    local ts = os.time() - 1000
    local id, sig = hs.sign_message(a:secret_key(), "hs.leave", { node_id = a:id(), incarnation = 1 },
      ts, a:id())
    st = H.post_gossip(loop, c, b:url(), H.envelope({ message_id = id, message_type = "hs.leave",
      payload = { node_id = a:id(), incarnation = 1 }, timestamp = ts, origin_peer = a:id(),
      signature = sig }))
    assert.equal(200, st)
    loop:run_for(0.3)
    assert.is_not_nil(H.peer(b, a:id()), "a is still b's peer")
    assert.equal(refused + 2, b:metrics().claims_refused)
    a:close(); b:close(); c:close(); loop:close()
  end)
end)

