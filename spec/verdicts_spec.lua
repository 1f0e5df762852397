-- Plugins that judge and describe (README, Write a plugin): the "reject"
-- and "ignore" verdicts, peer scores and the graylist, handlers of the
-- node's own broadcasts, and tags set at runtime.
local hs = H.hs

-- Two nodes that know each other, anti-entropy and announces off, so a
-- message reaches the other only by a push of the sender's. `extra`:
-- settings for both.
local function pair(extra)
  local s = { ae_interval = 0, gossip_interval = 60, peer_exchange_interval = 60 }
  for k, v in pairs(extra or {}) do s[k] = v end
  local loop, nodes = H.mesh(2, s)
  return loop, nodes[1], nodes[2]
end

local function peer_of(node, id) return H.peer(node, id, true) end

-- Scores decay (half-life 3600 s here): a second's worth is 0.02%.
local function near(want, got, what)
  assert.is_true(math.abs(got - want) < 0.05, ("%s: %s, not about %s"):format(what or "score",
    tostring(got), tostring(want)))
end

-- Broadcasts `type` from a and waits until b has taken k more of them
-- in any verdict (received + duplicate counters); bounded.
local function send(loop, a, b, mtype, k)
  local m0 = b:metrics()
  local before = m0.messages_received
  for i = 1, k do a:broadcast(mtype, { i = i }) end
  return loop:run_until(function() return b:metrics().messages_received >= before + k end, 5)
end

describe("verdicts", function()
  it("\"reject\" costs the sender score, \"ignore\" and \"drop\" do not, and false drops", function()
    local loop, a, b = pair({ score_half_life = 3600 })
    local dir = H.plugin_dir({ judge = [[
      on.message("bad", function() return "reject" end)
      on.message("skip", function() return "ignore" end)
      on.message("old", function() return false end)
      on.message("*", function(m) state.seen = (state.seen or 0) + 1 end)
    ]] })
    H.plugins(b, dir, { "judge" })
    local got = H.record({ b }, nil)
    assert.is_true(send(loop, a, b, "skip", 2))
    assert.is_true(send(loop, a, b, "old", 1))
    local m = b:metrics()
    assert.equal(2, m.messages_ignored)
    assert.equal(1, m.messages_dropped)
    assert.equal(0, m.messages_rejected)
    assert.equal(0, peer_of(b, a:id()).score, "ignore and drop neither reward nor punish")
    -- false is "drop" (README): the "*" handler did not run after it
    assert.is_nil(b:plugin_state("judge").seen)
    assert.is_nil(next(got[1]), "no dropped message reached an observer")
    assert.is_true(send(loop, a, b, "bad", 1))
    assert.equal(1, b:metrics().messages_rejected)
    near(-10, peer_of(b, a:id()).score)
    assert.is_true(send(loop, a, b, "fine", 1))
    near(-9, peer_of(b, a:id()).score, "a useful first delivery earns 1")
    a:close(); b:close(); loop:close()
  end)
end)

describe("scores", function()
  it("a peer sending rejected messages is not forwarded to, then graylisted, then recovers",
    function()
      local loop, a, b = pair({ score_half_life = 3600, graylist_time = 1, score_graylist = -45 })
      H.plugins(b, H.plugin_dir({ judge = [[
        on.message("bad", function() return "reject" end)
      ]] }), { "judge" })
      local got = H.record({ a }, "from_b")
      -- b forwards to a while a's score is fine
      b:broadcast("from_b", { k = 1 })
      assert.is_true(loop:run_until(function() return next(got[1]) ~= nil end, 3))
      -- three rejects: -30, below score_forward (-20)
      assert.is_true(send(loop, a, b, "bad", 3))
      local p = peer_of(b, a:id())
      near(-30, p.score)
      assert.is_false(p.graylisted)
      local id = b:broadcast("from_b", { k = 2 })
      loop:run_for(0.5)
      assert.is_nil(got[1][id], "b forwarded to a peer below score_forward")
      -- two more: -50, graylisted (at -45: decay is slow, not nil): a's requests are refused
      assert.is_true(send(loop, a, b, "bad", 2))
      assert.is_true(peer_of(b, a:id()).graylisted)
      assert.equal(1, b:metrics().peers_graylisted)
      local refused = b:metrics().http_graylisted
      a:broadcast("fine", {})
      assert.is_true(loop:run_until(function()
        return b:metrics().http_graylisted > refused
      end, 3), "a graylisted peer's push was refused")
      local st = H.fetch(loop, a, "GET", b:url() .. "/health")
      assert.equal(200, st, "/health stays open to it")
      -- after graylist_time it starts again from 0 and is heard again
      assert.is_true(loop:run_until(function()
        local q = peer_of(b, a:id())
        return not q.graylisted and q.score == 0
      end, 4))
      -- (a's own view of b recovers from the refusals too: bounded retries)
      local before, heard = b:metrics().messages_received, false
      for _ = 1, 50 do
        a:broadcast("fine", {})
        loop:run_for(0.1)
        heard = b:metrics().messages_received > before
        if heard then break end
      end
      assert.is_true(heard, "b hears a again")
      a:close(); b:close(); loop:close()
    end)

  it("charges what is refused to the sender, and nothing to an id no peer holds", function()
    local loop, a, b = pair({ score_half_life = 3600 })
    H.plugins(b, H.plugin_dir({ judge = [[
      on.message("bad", function() return "reject" end)
    ]] }), { "judge" })
    local st = H.fetch(loop, a, "POST", b:url() .. "/gossip",
      hs.json_encode(H.envelope({ message_type = "bad" })), "X-Hearsay-From: nobody-known")
    assert.equal(200, st)
    assert.equal(0, peer_of(b, a:id()).score)
    st = H.fetch(loop, a, "POST", b:url() .. "/gossip",
      hs.json_encode(H.envelope({ message_id = "not-hex" })), "X-Hearsay-From: " .. a:id())
    assert.equal(400, st)
    near(-10, peer_of(b, a:id()).score, "an invalid envelope costs score_invalid")
    a:close(); b:close(); loop:close()
  end)

  it("policies and peers() show scores", function()
    local loop, a, b = pair()
    H.plugins(a, H.plugin_dir({ look = [[
      policy("look", function(msg, cands, want)
        for _, c in ipairs(cands) do state.score = c.score; state.gray = c.graylisted end
        return cands
      end)
    ]] }), { "look" }, { policy = "look" })
    a:broadcast("chat", {})
    assert.is_true(loop:run_until(function() return a:plugin_state("look").score ~= nil end, 3))
    assert.equal("number", type(a:plugin_state("look").score))
    assert.is_false(a:plugin_state("look").gray)
    assert.equal("number", type(peer_of(a, b:id()).score))
    a:close(); b:close(); loop:close()
  end)

  it("refuses thresholds in the wrong order", function()
    local ok, err = pcall(H.node, { score_forward = -60, score_graylist = -50 })
    assert.is_false(ok)
    assert.matches("score_graylist", tostring(err))
  end)
end)

describe("handlers of the node's own broadcasts", function()
  it("{own = true} may drop, stop or rewrite what the node originates", function()
    local loop, a, b = pair()
    H.plugins(a, H.plugin_dir({ guard = [[
      on.message("chat", function(m)
        if m.origin ~= node.id() then return end
        if m.payload.text == "secret" then return "reject" end
        if m.payload.text == "local" then return "stop" end
        m.payload.signed = "a"
        return "accept", m.payload
      end, { own = true })
      on.message("note", function() return "drop" end) -- received ones only
    ]] }), { "guard" })
    local got = H.record({ b }, nil)
    local id, err = a:broadcast("chat", { text = "secret" })
    assert.is_nil(id)
    assert.matches("refused by a handler", err)
    local kept = a:broadcast("chat", { text = "local" })
    assert.equal(64, #kept)
    local sent = a:broadcast("chat", { text = "hello" })
    local note = a:broadcast("note", {})
    assert.is_true(loop:run_until(function() return got[1][sent] and got[1][note] end, 3))
    assert.equal("a", got[1][sent].payload.signed, "the rewritten payload went out")
    loop:run_for(0.3)
    assert.is_nil(got[1][kept], "a stopped broadcast stayed home")
    local n = 0
    for _ in pairs(got[1]) do n = n + 1 end
    assert.equal(2, n)
    a:close(); b:close(); loop:close()
  end)
end)

describe("tags", function()
  -- Probes read /health only at the first and every 50th: tags that reach
  -- the others here came by gossip.
  local quiet = { health_interval = 60, probe_interval = 30, peer_exchange_interval = 60,
    gossip_interval = 60 }

  it("set at runtime reach every peer and every policy's candidates", function()
    local loop, nodes = H.mesh(3, quiet)
    local dir = H.plugin_dir({ see = [[
      policy("see", function(msg, cands, want)
        state.tags = state.tags or {}
        for _, c in ipairs(cands) do state.tags[c.id] = c.tags.role or "-" end
        return cands
      end)
    ]] })
    for i = 2, 3 do H.plugins(nodes[i], dir, { "see" }, { policy = "see" }) end
    assert.same({}, nodes[1]:tags())
    nodes[1]:set_tags({ role = "db", zone = "b" })
    assert.same({ role = "db", zone = "b" }, nodes[1]:tags())
    assert.equal("db", nodes[1]:health().tags.role)
    assert.is_true(loop:run_until(function()
      for i = 2, 3 do
        local p = H.peer(nodes[i], nodes[1]:id())
        if not (p and p.tags.role == "db") then return false end
      end
      return true
    end, 3), "the tags reached both peers")
    -- the policies see them on their next call
    for i = 2, 3 do nodes[i]:broadcast("chat", {}) end
    assert.is_true(loop:run_until(function()
      for i = 2, 3 do
        local t = nodes[i]:plugin_state("see").tags
        if not (t and t[nodes[1]:id()] == "db") then return false end
      end
      return true
    end, 3))
    -- /peers?detailed=1 shows them (the six-key list does not)
    local st, list = H.fetch_json(loop, nodes[2], "GET", nodes[2]:url() .. "/peers?detailed=1")
    assert.equal(200, st)
    local seen
    for _, e in ipairs(list) do if e.peer_id == nodes[1]:id() then seen = e end end
    assert.equal("db", seen.tags.role)
    assert.equal("alive", seen.state)
    local _, six = H.fetch_json(loop, nodes[2], "GET", nodes[2]:url() .. "/peers")
    for _, e in ipairs(six) do
      local k = 0
      for _ in pairs(e) do k = k + 1 end
      assert.equal(6, k)
    end
    for _, n in ipairs(nodes) do n:close() end
    loop:close()
  end)

  it("takes a node's tags only from the node itself", function()
    local loop, nodes = H.mesh(2, quiet)
    local a, b = nodes[1], nodes[2]
    a:set_tags({ role = "web" })
    assert.is_true(loop:run_until(function()
      return H.peer(b, a:id()).tags.role == "web"
    end, 3))
    -- a stranger's hs.tags about a, unsigned: passed on, not believed
    local st = H.fetch(loop, a, "POST", b:url() .. "/gossip", hs.json_encode(H.envelope({
      message_type = "hs.tags", payload = { node_id = a:id(), tags = { role = "evil" } },
      origin_peer = a:id() })))
    assert.equal(200, st)
    loop:run_for(0.2)
    assert.equal("web", H.peer(b, a:id()).tags.role)
    assert.has_error(function() a:set_tags({ role = 42 }) end)
    assert.has_error(function() a:set_tags("role") end)
    a:close(); b:close(); loop:close()
  end)
end)
