-- Every live node gets every message, and failures are detected without
-- false alarms: anti-entropy, SWIM-style indirect probes and suspicion with
-- refutation, churn, and a partition that heals.
local hs = H.hs

local function count(t) local n = 0 for _ in pairs(t) do n = n + 1 end return n end

local peer = H.peer

describe("anti-entropy", function()
  it("repairs a message a node missed, by fetch and by push, and converges state", function()
    local loop = hs.loop()
    local s = { gossip_interval = 60, announce_ttl = 0, ae_interval = 0.1 }
    local a, b = H.node(s, loop), H.node(s, loop)
    -- a broadcasts and updates its state while it knows nobody.
    local early = a:broadcast("chat", { n = 1 })
    a:update_state("root-a")
    local got = H.record({ b }, "chat")
    a:add_peer(b:id(), b:url()) -- a pushes what b lacks
    b:add_peer(a:id(), a:url()) -- b fetches what it lacks
    assert.is_true(loop:run_until(function()
      return got[1][early] ~= nil and b:merkle_root() == "root-a"
    end, 5))
    assert.equal(0, got[1][early].ttl) -- repairs travel with ttl 0
    local ma, mb = a:metrics(), b:metrics()
    assert.is_true(ma.ae_pushed + mb.ae_fetched >= 1)
    assert.is_true(ma.ae_rounds + mb.ae_rounds >= 1)
    a:close(); b:close(); loop:close()
  end)

  it("serves kept envelopes on /fetch as the bytes that arrived, with ttl 0", function()
    local loop = hs.loop()
    local node = H.node({}, loop)
    local client = H.node({}, loop)
    local id1, id2 = H.id(), H.id()
    -- Odd spacing, a field hearsay does not know, and "ttl" inside the
    -- payload: only the envelope's own ttl changes.
    local e1 = ('{ "message_id" : "%s", "message_type":"chat", "payload":{"ttl":9, "s":"a\\"ttl\\":3"},'
      .. '"timestamp":1760000000.25,"ttl":7,"origin_peer":"spec-origin","seen_by":["spec-origin"],'
      .. '"comment":"xyz"}'):format(id1)
    local e2 = H.envelope({ message_id = id2, ttl = 3 })
    local st = H.fetch(loop, client, "POST", node:url() .. "/gossip", "[" .. e1 .. " ,\n"
      .. hs.json_encode(e2) .. "]")
    assert.equal(200, st)
    local text
    st, text = H.fetch(loop, client, "POST", node:url() .. "/fetch",
      hs.json_encode({ ids = { id1, id2 } }))
    assert.equal(200, st)
    local want1 = e1:gsub('"ttl":7', '"ttl":0')
    local got = hs.json_decode(text)
    assert.equal(2, #got)
    -- Byte for byte: the answer is the two kept envelopes joined.
    local want2 = hs.json_encode(e2):gsub('"ttl":3', '"ttl":0')
    assert.is_true(text == "[" .. want1 .. "," .. want2 .. "]"
      or text == "[" .. want2 .. "," .. want1 .. "]", text)
    for _, e in ipairs(got) do assert.equal(0, e.ttl) end
    node:close(); client:close(); loop:close()
  end)

  it("keeps a rewritten payload, serialised with ttl 0", function()
    local loop = hs.loop()
    local node = H.node({}, loop)
    local client = H.node({}, loop)
    node:on("message", function(msg) return "accept", { text = "rewritten" } end)
    local env = H.envelope({ message_id = H.id(), ttl = 4 })
    H.fetch(loop, client, "POST", node:url() .. "/gossip", hs.json_encode(env))
    local st, got = H.fetch_json(loop, client, "POST", node:url() .. "/fetch",
      hs.json_encode({ ids = { env.message_id } }))
    assert.equal(200, st)
    assert.equal(1, #got)
    assert.equal(0, got[1].ttl)
    assert.equal("rewritten", got[1].payload.text)
    assert.equal(env.message_id, got[1].message_id)
    node:close(); client:close(); loop:close()
  end)

  it("leaves a message alone until it is two lazy_delays old: it may still be on its way", function()
    local loop = hs.loop()
    local node = H.node({ lazy_delay = 0.2, ae_interval = 0 }, loop)
    local client = H.node({}, loop)
    local env = H.envelope({ message_id = H.id(), ttl = 0 })
    assert.equal(200, (H.fetch(loop, client, "POST", node:url() .. "/gossip", hs.json_encode(env))))
    local function extra()
      local st, ans = H.fetch_json(loop, client, "POST", node:url() .. "/digest",
        hs.json_encode({ ids = hs.array({}) }))
      assert.equal(200, st)
      return ans.extra
    end
    assert.same({}, extra()) -- too new to list
    loop:run_for(0.5)
    assert.same({ env.message_id }, extra())
    node:close(); client:close(); loop:close()
  end)

  it("fetches news at once when a probe answer tells of it, not at its backed-off round", function()
    -- x is in nobody's view (a's is full: b) and asks nobody to feed it
    -- (tree off): nothing is pushed or offered to it, and its own rounds
    -- come every 10 s. a's /ping answers say when a last took news: once
    -- that is longer ago than a message takes to spread, x runs a round
    -- with a. (hearsay sim, 5000 nodes at 1% loss: 3 nodes in nobody's
    -- view had none of 3 broadcasts within 15 s; now within 2.3-6.3 s.)
    local loop = hs.loop()
    local slow = { ae_interval = 10, ae_max_interval = 30, gossip_interval = 60,
      peer_exchange_interval = 60 }
    local s = { max_peers = 1 }
    for k, v in pairs(slow) do s[k] = v end
    local a, b = H.node(s, loop), H.node(s, loop)
    a:add_peer(b:id(), b:url())
    s = { tree = false, probe_interval = 0.2, health_interval = 0.2 }
    for k, v in pairs(slow) do s[k] = v end
    local x = H.node(s, loop)
    x:add_peer(a:id(), a:url())
    assert.is_true(H.probed(loop, x))
    assert.is_nil(H.peer(a, x:id()), "a's view took x in")
    local id = a:broadcast("chat", { text = "news" })
    assert.is_true(loop:run_until(function() return x:copies(id) > 0 end, 4),
      "x had it within 4 s")
    assert.is_true(x:metrics().ae_news >= 1)
    for _, n in ipairs({ a, b, x }) do n:close() end
    loop:close()
  end)

  it("answers bad digests and fetches with 400", function()
    local loop = hs.loop()
    local node = H.node({ max_digest = 4 }, loop)
    local client = H.node({}, loop)
    local st = H.fetch(loop, client, "POST", node:url() .. "/digest", "[]")
    assert.equal(400, st)
    local ids = {}
    for i = 1, 5 do ids[i] = H.id() end
    st = H.fetch(loop, client, "POST", node:url() .. "/digest", hs.json_encode({ ids = ids }))
    assert.equal(400, st)
    st = H.fetch(loop, client, "POST", node:url() .. "/fetch", hs.json_encode({ ids = "x" }))
    assert.equal(400, st)
    local _, ans = H.fetch_json(loop, client, "POST", node:url() .. "/digest",
      hs.json_encode({ ids = { ids[1] } }))
    assert.same({ ids[1] }, ans.missing)
    node:close(); client:close(); loop:close()
  end)
end)

describe("failure detection", function()
  it("probes indirectly: a peer one node cannot reach but others can is not suspected", function()
    local loop = hs.loop()
    local s = { dead_after = 1, suspicion_timeout = 0.5 }
    local a, b, c = H.node(s, loop), H.node(s, loop), H.node(s, loop)
    for _, x in ipairs({ a, b, c }) do
      for _, y in ipairs({ a, b, c }) do
        if x ~= y then x:add_peer(y:id(), y:url()) end
      end
    end
    loop:run_for(0.5) -- probes teach everyone the others' features
    b:block(a:id()) -- b refuses a: a's own probes of b fail
    local downs = {}
    a:on("peer", function(p, up) if not up then downs[#downs + 1] = p.id end end)
    loop:run_for(2)
    assert.is_true(a:metrics().indirect_probes >= 3)
    assert.equal(0, a:metrics().suspicions)
    assert.same({}, downs)
    -- Each of a's rounds makes b unhealthy while the helpers try it (its
    -- direct probe is refused at once) and alive when they answer: seen
    -- at one instant it may be either (a loaded machine caught it
    -- mid-round), never suspect or dead, and alive within a round.
    local state = peer(a, b:id()).state
    assert.is_true(state == "alive" or state == "unhealthy", state)
    for _ = 1, 40 do
      if peer(a, b:id()).state == "alive" then break end
      loop:run_for(0.05)
    end
    assert.equal("alive", peer(a, b:id()).state)
    a:close(); b:close(); c:close(); loop:close()
  end)

  it("probes for a helper a node it does not know, within peer_allow and probe_new_rate", function()
    -- SWIM's ping-req: views are partial, so the node asked about is
    -- mostly no peer of the helper's; refusing those made an indirect
    -- probe worthless at 1000 nodes (README, Failure detection).
    local loop = hs.loop()
    local a, b = H.node({ probe_new_rate = 1 }, loop), H.node({}, loop)
    local c = H.node({ gossip_interval = 60, peer_exchange_interval = 60 }, loop)
    a:add_peer(b:id(), b:url())
    local _, ans = H.fetch_json(loop, b, "POST", a:url() .. "/probe",
      hs.json_encode({ node_id = b:id(), url = b:url() }))
    assert.is_true(ans.ok)
    -- a good request, answered once the probe is back: not a bad one
    assert.equal(0, a:metrics().http_bad_request)
    -- c is no peer of a's, and answers a's probe as itself
    local served = c:metrics().http_requests
    _, ans = H.fetch_json(loop, b, "POST", a:url() .. "/probe",
      hs.json_encode({ node_id = c:id(), url = c:url(), ping = true }))
    assert.is_true(ans.ok, "a stranger that answers is there")
    assert.is_true(c:metrics().http_requests > served)
    assert.is_nil(H.peer(a, c:id(), true), "a took the stranger as a peer")
    -- over probe_new_rate (1 a second): refused, saying why, and not
    -- as "cannot reach it"
    served = c:metrics().http_requests
    _, ans = H.fetch_json(loop, b, "POST", a:url() .. "/probe",
      hs.json_encode({ node_id = c:id(), url = c:url(), ping = true }))
    assert.is_false(ans.ok)
    assert.matches("too many", ans.error)
    assert.equal(1, a:metrics().probes_for_refused)
    loop:run_for(1.1)
    -- another id at c's URL: probed, and not it
    _, ans = H.fetch_json(loop, b, "POST", a:url() .. "/probe",
      hs.json_encode({ node_id = b:id() .. "x", url = c:url(), ping = true }))
    assert.is_false(ans.ok)
    assert.is_nil(ans.error)
    assert.equal(3, a:metrics().probes_for)
    loop:run_for(0.1)
    assert.is_true(c:metrics().http_requests > served)
    -- outside peer_allow: no request at all, so /probe is no open proxy
    local d = H.node({ peer_allow = { "127.0.0.0/8" } }, loop)
    _, ans = H.fetch_json(loop, b, "POST", d:url() .. "/probe",
      hs.json_encode({ node_id = c:id(), url = "http://192.0.2.1:9" }))
    assert.is_false(ans.ok)
    assert.matches("peer_allow", ans.error)
    assert.equal(0, d:metrics().probes_for)
    assert.equal(1, d:metrics().probes_for_refused)
    a:close(); b:close(); c:close(); d:close(); loop:close()
  end)

  it("lets a wrongly suspected live node refute the suspicion", function()
    local c = H.cluster(4, { suspicion_timeout = 5 })
    assert.is_true(c:converge(10, 3))
    local target = c.nodes[4]
    local inc = target:health().incarnation
    -- Node 1 says node 4 is suspect (as if its probes had failed).
    c.nodes[1]:broadcast("hs.suspect", { node_id = target:id(), incarnation = inc,
      by = c.nodes[1]:id() })
    assert.is_true(c.loop:run_until(function()
      return target:metrics().refutations >= 1
    end, 3))
    assert.is_true(target:health().incarnation > inc)
    -- Every other node ends up seeing it alive, long before the timeout.
    assert.is_true(c.loop:run_until(function()
      for i = 1, 3 do
        local p = peer(c.nodes[i], target:id())
        if not p or p.state ~= "alive" then return false end
      end
      return true
    end, 3))
    c:close()
  end)

  it("gossips a death so every node drops the dead peer", function()
    -- Six nodes that all know each other. Only node 1 probes often enough
    -- to find the victim dead within the test; the others probe once (the
    -- first probe of a new peer) and then every 10 minutes, and would hold
    -- a suspicion they hear for 60 s before acting on it. So they can drop
    -- the victim in time only by believing node 1's gossip (hs.dead).
    local loop = hs.loop()
    local nodes = {}
    nodes[1] = H.node({ dead_after = 1, suspicion_timeout = 0.3, health_interval = 0.1 }, loop)
    for i = 2, 6 do
      nodes[i] = H.node({ health_interval = 600, probe_interval = 600, suspicion_timeout = 60,
        gossip_interval = 60, peer_exchange_interval = 60 }, loop)
    end
    for i = 1, 6 do
      for j = 1, 6 do
        if i ~= j then nodes[i]:add_peer(nodes[j]:id(), nodes[j]:url()) end
      end
    end
    for i = 1, 6 do assert.is_true(H.probed(loop, nodes[i], 5)) end
    local victim = nodes[6]
    local id = victim:id()
    victim:close()
    local t0 = loop:now()
    local ok = loop:run_until(function()
      for i = 1, 5 do
        local p = peer(nodes[i], id, true)
        if p and p.state ~= "dead" then return false end
      end
      return true
    end, 5)
    local took = loop:now() - t0
    -- Each checked what it heard with a probe of its own (a gossiped
    -- death is believed only when the peer does not answer us either):
    -- one more probe than the first, where their schedule had none.
    local checked = 0
    for i = 2, 5 do checked = checked + (nodes[i]:metrics().health_checks > 5 and 1 or 0) end
    for i = 1, 5 do nodes[i]:close() end
    loop:close()
    assert.is_true(ok, "not every node dropped the dead peer")
    assert.is_true(took < 3, ("took %.1f s"):format(took))
    assert.equal(4, checked)
  end)
end)

describe("under churn", function()
  it("30 nodes, 100 broadcasts, 30% killed: every survivor has every message", function()
    local n = 30
    -- This is about delivery, not detection: probing every peer every 5 s
    -- with patient timeouts keeps a loaded machine (ASan, a noisy CI box)
    -- from declaring live nodes dead. Anti-entropy every 0.2 s repairs.
    local c = H.cluster(n, { ae_interval = 0.2, health_interval = 5, max_peers = 50,
      request_timeout = 5, probe_timeout = 2, dead_after = 2, suspicion_timeout = 3 })
    local loop = c.loop
    assert.is_true(c:converge(30, 8))
    local got = H.record(c.nodes, "chat")
    -- Kill 9 random nodes (never node 1, the bootstrap) at random moments.
    local victims, order = {}, {}
    for i = 2, n do order[#order + 1] = i end
    for i = #order, 2, -1 do
      local j = math.random(1, i)
      order[i], order[j] = order[j], order[i]
    end
    local kill_at = {}
    for k = 1, 9 do
      local b
      repeat b = math.random(1, 100) until not kill_at[b]
      kill_at[b] = order[k]
    end
    local sent, origin_of = {}, {}
    -- A message that never left its origin cannot reach anyone: before a
    -- kill, wait (bounded) until the victim's own broadcasts reached a peer.
    local function left_origin(v)
      for id, o in pairs(origin_of) do
        if o == v then
          local out = false
          for i = 1, n do
            if i ~= v and c.nodes[i]:is_open() and c.nodes[i]:copies(id) > 0 then
              out = true
              break
            end
          end
          if not out then return false end
        end
      end
      return true
    end
    for b = 1, 100 do
      local v = kill_at[b]
      if v then
        assert.is_true(loop:run_until(function() return left_origin(v) end, 10))
        c.nodes[v]:close()
        victims[v] = true
      end
      local from
      repeat from = math.random(1, n) until not victims[from]
      local id = c.nodes[from]:broadcast("chat", { b = b })
      sent[id], origin_of[id] = true, from
      loop:run_for(0.01)
    end
    local survivors = {}
    for i = 1, n do if not victims[i] then survivors[#survivors + 1] = i end end
    assert.equal(9, count(victims))
    local function missing()
      local m = 0
      for _, i in ipairs(survivors) do
        for id in pairs(sent) do
          if not got[i][id] and c.nodes[i]:copies(id) == 0 then m = m + 1 end
        end
      end
      return m
    end
    local ok = loop:run_until(function() return missing() == 0 end, 60, 0.1)
    local left = missing()
    c:close()
    assert.is_true(ok, left .. " (node, message) pairs missing")
  end)
end)

describe("a partition", function()
  it("heals: both halves end with the same messages and the same state root", function()
    local n = 6
    local c = H.cluster(n, { ae_interval = 0.2, suspicion_timeout = 0.3, dead_after = 1,
      retry_min = 0.2, retry_max = 0.5 })
    local loop = c.loop
    assert.is_true(c:converge(10, 5))
    local got = H.record(c.nodes, "chat")
    local function half(i) return i <= n // 2 and 1 or 2 end
    local function cut(blocked)
      for i = 1, n do
        for j = 1, n do
          if half(i) ~= half(j) then c.nodes[i]:block(c.nodes[j]:id(), blocked) end
        end
      end
    end
    cut(true)
    -- Each side declares the other dead.
    assert.is_true(loop:run_until(function()
      for i = 1, n do
        for j = 1, n do
          if half(i) ~= half(j) then
            local p = peer(c.nodes[i], c.nodes[j]:id(), true)
            if p and p.state ~= "dead" then return false end
          end
        end
      end
      return true
    end, 10))
    -- Both sides move on alone.
    local sent = {}
    for k = 1, 10 do
      sent[#sent + 1] = c.nodes[1]:broadcast("chat", { side = 1, k = k })
      sent[#sent + 1] = c.nodes[n]:broadcast("chat", { side = 2, k = k })
    end
    c.nodes[2]:update_state("root-left")
    c.nodes[5]:update_state("root-right")
    c.nodes[5]:update_state("root-right-2")
    loop:run_for(0.5)
    assert.is_nil(got[n][sent[1]]) -- the cut holds
    cut(false)
    local ok = loop:run_until(function()
      for i = 1, n do
        for _, id in ipairs(sent) do
          if c.nodes[i]:copies(id) == 0 then return false end
        end
        if c.nodes[i]:merkle_root() ~= "root-right-2" then return false end
      end
      return true
    end, 20, 0.1)
    local roots = {}
    for i = 1, n do roots[i] = c.nodes[i]:merkle_root() .. "@" .. c.nodes[i]:state_version() end
    c:close()
    assert.is_true(ok, table.concat(roots, " "))
  end)
end)

describe("idle cost", function()
  it("anti-entropy backs off while there is nothing to repair, and resumes on news", function()
    local loop = hs.loop()
    local s = { ae_interval = 0.05, ae_max_interval = 0.8, gossip_interval = 60 }
    local a, b = H.node(s, loop), H.node(s, loop)
    a:add_peer(b:id(), b:url())
    loop:run_for(2)
    -- 0.05 s apart for 2 s would be 40 rounds; doubling to 0.8 s makes ~7.
    local idle = a:metrics().ae_rounds
    assert.is_true(idle >= 3 and idle <= 10, idle .. " rounds while idle")
    a:broadcast("chat", {})
    loop:run_for(0.7)
    -- at 4 ae_intervals (0.2 s), doubling while nothing needs repair
    assert.is_true(a:metrics().ae_rounds - idle >= 2, "rounds resumed after a message")
    a:close(); b:close(); loop:close()
  end)

  it("anti-entropy paces itself at 4 ae_intervals under a steady stream that needs no repair", function()
    -- 20 broadcasts a second for 2 s, every one pushed to the other node:
    -- rounds every ae_interval (0.05 s) would be 40 a node, and find
    -- nothing; at 4 intervals about 10 (before 2026-12-06: 40).
    local loop = hs.loop()
    local s = { ae_interval = 0.05, ae_max_interval = 0.8, gossip_interval = 60 }
    local a, b = H.node(s, loop), H.node(s, loop)
    a:add_peer(b:id(), b:url())
    b:add_peer(a:id(), a:url())
    loop:run_for(1)
    local r0, got = a:metrics().ae_rounds + b:metrics().ae_rounds, 0
    b:on("message", function() got = got + 1 end)
    for _ = 1, 40 do
      a:broadcast("chat", {})
      loop:run_for(0.05)
    end
    loop:run_for(0.2)
    local rounds = a:metrics().ae_rounds + b:metrics().ae_rounds - r0
    assert.equal(40, got)
    assert.is_true(rounds >= 4 and rounds <= 30, rounds .. " rounds in 2 s by two nodes")
    a:close(); b:close(); loop:close()
  end)

  it("probes hearsay peers with the small GET /ping", function()
    local loop = hs.loop()
    local a, b = H.node({}, loop), H.node({}, loop)
    local st, ans = H.fetch_json(loop, a, "GET", b:url() .. "/ping")
    assert.equal(200, st)
    -- (b's id is its public key: the key is not said twice.)
    assert.equal(b:id(), b:health().public_key)
    assert.same({ node_id = b:id(), incarnation = b:health().incarnation,
      features = { "batch", "ae", "swim", "seen_hash" }, held = 1, room = true, spare = true }, ans)
    -- A node with an id of its own says its key.
    local c = H.node({ node_id = "named-node" }, loop)
    st, ans = H.fetch_json(loop, a, "GET", c:url() .. "/ping")
    assert.equal(200, st)
    assert.equal("named-node", ans.node_id)
    assert.equal(c:public_key(), ans.public_key)
    c:close()
    a:close(); b:close(); loop:close()
  end)

  -- SWIM's protocol period: one probe per tick, peers in turn.
  local function star(n, settings)
    local loop = hs.loop()
    local hub = H.node(settings, loop)
    local leaves = {}
    for i = 1, n do
      leaves[i] = H.node({ health_interval = 60, gossip_interval = 60, peer_exchange_interval = 60 }, loop)
      hub:add_peer(leaves[i]:id(), leaves[i]:url())
    end
    loop:run_for(0.3) -- the first probes
    return loop, hub, leaves
  end

  local function close(loop, hub, leaves)
    hub:close()
    for _, l in ipairs(leaves) do l:close() end
    loop:close()
  end

  it("sends about one probe per probe_interval, whatever the number of peers", function()
    local loop, hub, leaves = star(20, { health_interval = 30, probe_interval = 0.1,
      gossip_interval = 60, peer_exchange_interval = 60 })
    local before = hub:metrics().health_checks
    loop:run_for(1.5)
    local sent = hub:metrics().health_checks - before
    -- 15 ticks; probing every peer at once each health_interval would
    -- send none in this window, probing all every tick 300.
    assert.is_true(sent >= 5 and sent <= 25, sent .. " probes in 1.5 s")
    close(loop, hub, leaves)
  end)

  it("probes every live peer within health_interval, spread over it", function()
    local loop, hub, leaves = star(20, { health_interval = 1, probe_interval = 1,
      gossip_interval = 60, peer_exchange_interval = 60 })
    local seen0 = {}
    for _, p in ipairs(hub:peers()) do seen0[p.id] = p.last_seen end
    loop:run_for(1.6)
    local stale = 0
    for _, p in ipairs(hub:peers()) do
      if not (p.last_seen > seen0[p.id]) then stale = stale + 1 end
    end
    assert.equal(0, stale)
    close(loop, hub, leaves)
  end)
end)

describe("a node at its connection limit", function()
  it("shuts the connections idle longest to take new ones, and keeps answering", function()
    local loop = hs.loop()
    local seed = H.node({ max_connections = 4 }, loop)
    local clients = {}
    -- Each client keeps its connection to the seed alive once answered,
    -- as every node that bootstraps from a seed does.
    for i = 1, 8 do
      clients[i] = H.node({}, loop)
      local st, _, err = H.fetch(loop, clients[i], "GET", seed:url() .. "/health", nil, nil, 2)
      assert.equal(200, st, "client " .. i .. ": " .. tostring(err))
    end
    assert.is_true(seed:metrics().connections_drained >= 4)
    -- The first client's kept-alive connection was shut: it asks again on
    -- a new one.
    assert.equal(200, (H.fetch(loop, clients[1], "GET", seed:url() .. "/health", nil, nil, 2)))
    for _, c in ipairs(clients) do c:close() end
    seed:close()
    loop:close()
  end)
end)
