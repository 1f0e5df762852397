-- Peers: bootstrap, peer exchange, announces, max_peers, health checks with
-- a latency moving average, unhealthy and dead states, dead peers retried
-- with backoff and coming back, and re-bootstrap when alone.
local hs = H.hs

local function peer_ids(node, all)
  local ids = {}
  for _, p in ipairs(node:peers(all)) do ids[p.id] = p end
  return ids
end

describe("bootstrap", function()
  it("takes the bootstrap node's id from /health and its peers from /peers", function()
    local loop = hs.loop()
    local a = H.node({ gossip_interval = 60 }, loop)
    local b = H.node({ gossip_interval = 60 }, loop)
    a:add_peer(b:id(), b:url())
    local c = H.node({ bootstrap = { a:url() }, gossip_interval = 60 }, loop)
    assert.is_true(loop:run_until(function()
      local ids = peer_ids(c)
      return ids[a:id()] ~= nil and ids[b:id()] ~= nil
    end, 5))
    assert.equal(a:url(), peer_ids(c)[a:id()].url)
    a:close(); b:close(); c:close(); loop:close()
  end)

  it("announces the new node so the bootstrap node learns it", function()
    local loop = hs.loop()
    local a = H.node({ gossip_interval = 60 }, loop)
    local c = H.node({ bootstrap = { a:url() }, gossip_interval = 60 }, loop)
    assert.is_true(loop:run_until(function() return peer_ids(a)[c:id()] ~= nil end, 5))
    a:close(); c:close(); loop:close()
  end)
end)

describe("peer exchange", function()
  it("learns peers of peers through GET /peers", function()
    local loop = hs.loop()
    -- a knows b; c knows only a; announces are off, so only exchange can
    -- teach c about b.
    local a = H.node({ gossip_interval = 60, announce_ttl = 0 }, loop)
    local b = H.node({ gossip_interval = 60, announce_ttl = 0 }, loop)
    local c = H.node({ gossip_interval = 60, announce_ttl = 0, peer_exchange_interval = 0.2 }, loop)
    a:add_peer(b:id(), b:url())
    c:add_peer(a:id(), a:url())
    assert.is_true(loop:run_until(function() return peer_ids(c)[b:id()] ~= nil end, 5))
    a:close(); b:close(); c:close(); loop:close()
  end)
end)

describe("max_peers", function()
  it("keeps at most max_peers live peers, and every node fills its table", function()
    local c = H.cluster(8, { max_peers = 3 })
    local most = 0
    local full = c.loop:run_until(function()
      local all = true
      for _, node in ipairs(c.nodes) do
        most = math.max(most, #node:peers())
        if #node:peers() < 3 then all = false end
      end
      return all
    end, 10)
    -- and it stays so while announces and exchanges go on
    local t0 = c.loop:now()
    c.loop:run_until(function()
      for _, node in ipairs(c.nodes) do most = math.max(most, #node:peers()) end
      return c.loop:now() - t0 >= 1
    end, 2, 0.02)
    local counts = {}
    for i, node in ipairs(c.nodes) do counts[i] = #node:peers() end
    c:close()
    assert.is_true(full, "tables: " .. table.concat(counts, " "))
    assert.equal(3, most)
  end)
end)

describe("health checks", function()
  it("measure latency as a moving average and count the checks", function()
    local loop = hs.loop()
    local a = H.node({ health_interval = 0.05 }, loop)
    local b = H.node({}, loop)
    a:add_peer(b:id(), b:url())
    loop:run_for(0.6)
    local p = peer_ids(a)[b:id()]
    assert.is_number(p.latency_ms)
    assert.is_true(p.latency_ms > 0 and p.latency_ms < 1000)
    assert.is_true(a:metrics().health_checks >= 5)
    assert.equal("alive", p.state)
    a:close(); b:close(); loop:close()
  end)
end)

describe("a node whose own loop stalls", function()
  it("does not hold the probes that timed out meanwhile against its peers", function()
    local loop = hs.loop()
    -- One failure would make b suspect; probes run back to back, so one is
    -- nearly always in flight when the loop stalls.
    local a = H.node({ health_interval = 0.001, probe_interval = 0.001, probe_timeout = 0.1,
      dead_after = 1, indirect_probes = 0 }, loop)
    local b = H.node({}, loop)
    a:add_peer(b:id(), b:url())
    assert.is_true(loop:run_until(function()
      local p = peer_ids(a)[b:id()]
      return p and p.latency_ms ~= nil
    end, 3))
    local stalls, worst = 0, 0
    local t = loop:timer(0.03, 0.03, function()
      stalls = stalls + 1
      worst = math.max(worst, a:health().local_health)
      local until_ = os.clock() + 0.3 -- busy: nothing else runs on this loop
      while os.clock() < until_ do end
    end)
    loop:run_until(function() return stalls >= 10 end, 15)
    t:close()
    loop:run_for(0.1)
    local m = a:metrics()
    assert.is_true(m.probes_late >= 1, "no probe was in flight during a stall")
    assert.equal(0, m.suspicions)
    assert.equal("alive", peer_ids(a)[b:id()].state)
    -- It knew it was the slow one: its local health was worse (it probed
    -- less often, with longer timeouts)...
    assert.is_true(worst >= 2, "local health at worst " .. worst)
    -- ...until probes answered in time bring it back.
    assert.is_true(loop:run_until(function() return a:health().local_health == 0 end, 10))
    a:close(); b:close(); loop:close()
  end)

  it("keeps its local health when others say the peer is gone", function()
    local loop = hs.loop()
    local a = H.node({ probe_interval = 0.05, health_interval = 0.1, probe_timeout = 0.2,
      dead_after = 2, indirect_probes = 2, suspicion_timeout = 60 }, loop)
    local b, c, d = H.node({}, loop), H.node({}, loop), H.node({}, loop)
    for _, x in ipairs({ b, c, d }) do a:add_peer(x:id(), x:url()) end
    assert.is_true(H.probed(loop, a, 3))
    local b_id = b:id()
    b:close() -- refused at once; c and d answer a's /probe: "cannot reach it"
    local worst = 0
    assert.is_true(loop:run_until(function()
      worst = math.max(worst, a:health().local_health)
      local p = H.peer(a, b_id, true)
      return p and p.state == "suspect"
    end, 5))
    assert.is_true(a:metrics().indirect_probes >= 2)
    assert.equal(0, worst, "a's own health suffered for b's death")
    a:close(); c:close(); d:close(); loop:close()
  end)
end)

describe("a peer that stops answering", function()
  local loop, a, b, b_port, b_id, events

  before_each(function()
    loop = hs.loop()
    a = H.node({ dead_after = 3, retry_min = 0.1, retry_max = 0.2 }, loop)
    b = H.spare_node({}, loop) -- it comes back on its port
    b_port, b_id = b:port(), b:id()
    a:add_peer(b_id, b:url())
    events = {}
    a:on("peer", function(p, up) events[#events + 1] = (up and "up " or "down ") .. p.id end)
    loop:run_for(0.3)
  end)

  after_each(function()
    if a:is_open() then a:close() end
    if b:is_open() then b:close() end
    loop:close()
  end)

  it("becomes unhealthy, then dead, leaves /peers and gossip, and comes back", function()
    b:close()
    -- unhealthy first (a failure; two before dead_after = 3), then suspect,
    -- then dead: every state it passes through, as a's table shows it
    local states, failed = { "alive" }, nil
    assert.is_true(loop:run_until(function()
      local p = peer_ids(a, true)[b_id]
      if p and p.state ~= states[#states] then
        states[#states + 1] = p.state
        if p.state == "suspect" then failed = p.failures end
      end
      return p and p.state == "dead"
    end, 5, 0.002))
    assert.same({ "alive", "unhealthy", "suspect", "dead" }, states)
    -- Suspect after dead_after (3) failed probes, not one (a failed push
    -- alone makes it unhealthy, so the states above do not show it).
    assert.is_true(failed >= 3, tostring(failed) .. " failed probes")
    assert.is_nil(peer_ids(a)[b_id])
    local _, list = H.fetch_json(loop, a, "GET", a:url() .. "/peers")
    assert.equal(0, #list)
    assert.equal(1, a:metrics().peers_removed)
    assert.same({ "down " .. b_id }, events)

    -- Restart b on the same port with the same id: a's retries find it.
    b = H.node({ port = b_port, node_id = b_id }, loop)
    assert.is_true(loop:run_until(function()
      local p = peer_ids(a)[b_id]
      return p and p.state == "alive"
    end, 5))
    assert.equal(1, a:metrics().peers_recovered)
    assert.same({ "down " .. b_id, "up " .. b_id }, events)
  end)

  it("restarted with the same id, has a higher incarnation: an old death does not kill it", function()
    local inc = b:health().incarnation
    b:close()
    assert.is_true(loop:run_until(function()
      local p = peer_ids(a, true)[b_id]
      return p and p.state == "dead"
    end, 5))
    loop:run_for(0.01) -- a new start, a new millisecond
    b = H.node({ port = b_port, node_id = b_id }, loop)
    assert.is_true(b:health().incarnation > inc)
    assert.is_true(loop:run_until(function()
      local p = peer_ids(a)[b_id]
      return p and p.state == "alive"
    end, 5))
    -- a's probes of b tell it the new incarnation; then c gossips a death
    -- of b's previous life: a must not believe it
    loop:run_for(0.5)
    local c = H.node({ gossip_interval = 60 }, loop)
    c:add_peer(a:id(), a:url())
    c:broadcast("hs.dead", { node_id = b_id, incarnation = inc, by = c:id() })
    loop:run_for(0.5)
    local about_b = {}
    for _, e in ipairs(events) do
      if e:find(b_id, 1, true) then about_b[#about_b + 1] = e end
    end
    c:close()
    assert.equal("alive", peer_ids(a, true)[b_id].state)
    assert.same({ "down " .. b_id, "up " .. b_id }, about_b)
  end)

  it("is retried with exponential backoff while dead", function()
    local c = hs.node(loop, H.settings({ port = 0, health_interval = 0.05, dead_after = 1,
      retry_min = 0.05, retry_max = 10 }))
    assert(c:start())
    c:add_peer(b_id, b:url())
    loop:run_for(0.1)
    b:close()
    loop:run_until(function()
      local p = peer_ids(c, true)[b_id]
      return p and p.state == "dead"
    end, 5)
    local checks = c:metrics().health_checks
    loop:run_for(2.0)
    local retries = c:metrics().health_checks - checks
    -- Gaps of 0.05, 0.1, 0.2, 0.4, 0.8, 1.6 s: about 5 retries in 2 s,
    -- where a fixed 0.05 s retry would make 40.
    assert.is_true(retries >= 3 and retries <= 8, retries .. " retries")
    c:close()
  end)

  it("is forgotten, not probed at every tick, when it answers while the table is full", function()
    a:close() -- only c asks b anything from here on
    local c = hs.node(loop, H.settings({ port = 0, health_interval = 0.1, max_peers = 1,
      dead_after = 1, retry_min = 0.05, retry_max = 0.1 }))
    assert(c:start())
    c:add_peer(b_id, b:url())
    loop:run_for(0.2)
    b:close()
    assert.is_true(loop:run_until(function()
      local p = peer_ids(c, true)[b_id]
      return p and p.state == "dead"
    end, 5))
    -- Another peer takes the only place. (b and d announce nothing: since
    -- probes carry the prober's URL, they know c, and their announces
    -- would make c, a full table, swap them in and out as candidates every
    -- exchange, which is another matter.)
    local quiet = { gossip_interval = 60, peer_exchange_interval = 60 }
    local d = H.node(quiet, loop)
    c:add_peer(d:id(), d:url())
    assert.is_true(loop:run_until(function()
      local p = peer_ids(c)[d:id()]
      return p and p.state == "alive"
    end, 5))
    -- (Nor does b ask c to push to it: a node in nobody's view asks, and
    -- c would take it as a candidate in place of d, which is feeding.)
    b = H.node({ port = b_port, node_id = b_id, gossip_interval = 60, peer_exchange_interval = 60,
      tree = false }, loop)
    loop:run_for(1.0)
    -- Its first retry found it alive; with no room for it, it is gone
    -- from the table instead of being probed every 0.1 s tick.
    local served = b:metrics().http_requests
    assert.is_true(served <= 2, served .. " requests to the peer in 1 s")
    assert.is_nil(peer_ids(c, true)[b_id])
    c:close(); d:close()
  end)
end)

describe("a peer whose gossip fails while it answers probes", function()
  it("is unhealthy and probed, never suspect: only failed probes count", function()
    local loop = hs.loop()
    local a = H.node({ dead_after = 2, health_interval = 5, probe_interval = 1,
      gossip_interval = 60, peer_exchange_interval = 60 }, loop)
    local ref = H.start_ref(loop, "--refuse-gossip --gossip-interval 60 --health-interval 60")
    a:add_peer(ref.id, ref.url)
    assert.is_true(loop:run_until(function()
      local p = H.peer(a, ref.id)
      return p and p.latency_ms ~= nil
    end, 5))
    -- A burst: every message goes to the one peer, and each push fails
    -- with 503 before any probe comes round.
    for i = 1, 4 do a:broadcast("chat", { n = i }) end
    loop:run_for(0.5)
    local m = a:metrics()
    assert.is_true(m.send_errors >= 4, m.send_errors .. " failed pushes")
    assert.equal(0, m.suspicions)
    -- A maintenance tick probes it (it was unhealthy), and the probe passes.
    assert.is_true(loop:run_until(function()
      return H.peer(a, ref.id, true).state == "alive"
    end, 3))
    assert.equal(0, a:metrics().suspicions)
    H.stop_ref(loop, ref)
    a:close(); loop:close()
  end)
end)

describe("first probes of new peers", function()
  it("keep at most max_probes_in_flight under way; the rest wait their turn", function()
    local loop = hs.loop()
    local a = H.node({ max_peers = 1000, max_probes_in_flight = 4, health_interval = 3600 }, loop)
    for i = 1, 100 do
      -- Port 1 refuses at once: every probe fails quickly.
      a:add_peer(("new-%03d"):format(i), ("http://127.0.0.1:1/p%03d"):format(i))
    end
    local h = a:health()
    assert.same({ in_flight = 4, waiting = 96 }, h.probes)
    local most = 0
    assert.is_true(loop:run_until(function()
      local p = a:health().probes
      most = math.max(most, p.in_flight)
      return p.waiting == 0 and p.in_flight == 0
    end, 10, 0.001))
    assert.equal(4, most)
    assert.equal(100, a:metrics().health_checks)
    assert.equal(100, a:health().peers.unhealthy)
    -- The failed ones are probed again at the next maintenance ticks (each
    -- second), and those retries keep to the bound too.
    local until_ = loop:now() + 2.5
    loop:run_until(function()
      most = math.max(most, a:health().probes.in_flight)
      return loop:now() >= until_
    end, 5, 0.001)
    assert.is_true(a:metrics().health_checks > 100, "failed peers were probed again")
    assert.equal(4, most)
    a:close(); loop:close()
  end)

  it("do not hold back the periodic probes that detect a failure", function()
    local loop = hs.loop()
    -- A node whose loop never runs: it accepts connections and never
    -- answers, so every probe of it takes the whole probe_timeout.
    local quiet_loop = hs.loop()
    local quiet = H.node({}, quiet_loop)
    local a = H.node({ max_peers = 1000, max_probes_in_flight = 2, probe_timeout = 1,
      dead_after = 1, health_interval = 0.1 }, loop)
    local b = H.node({}, loop)
    a:add_peer(b:id(), b:url())
    assert.is_true(loop:run_until(function() return H.peer(a, b:id()).latency_ms ~= nil end, 5))
    for i = 1, 20 do
      a:add_peer(("slow-%02d"):format(i), quiet:url() .. ("/s%02d"):format(i))
    end
    assert.same({ in_flight = 2, waiting = 18 }, a:health().probes)
    local b_id = b:id()
    b:close()
    -- b's periodic probe fails at once and b is suspected, while 18 peers
    -- still wait for a slot (periodic rounds do not probe them either).
    local t0 = loop:now()
    assert.is_true(loop:run_until(function()
      local p = H.peer(a, b_id, true)
      return p and p.state ~= "alive"
    end, 5))
    assert.is_true(loop:now() - t0 < 0.8, "took " .. (loop:now() - t0) .. " s")
    assert.is_true(a:health().probes.waiting >= 14)
    a:close(); quiet:close(); loop:close(); quiet_loop:close()
  end)

  -- Node a knows 40 peers, all probed, and probes one every
  -- `probe_interval` in turn; then it learns x, and the first probe of x
  -- is under way (x, on a loop of its own, does not answer yet) when a's
  -- loop stalls past the probe's timeout. That probe tells nothing about x
  -- (not a failure, not an answer): x's features stay unknown.
  local function unanswered_first_probe(probe_interval)
    local t = { loop = hs.loop(), xloop = hs.loop(), others = {} }
    t.a = H.node({ health_interval = 3600, probe_interval = probe_interval, probe_timeout = 0.1 },
      t.loop)
    for k = 1, 40 do
      t.others[k] = H.node({}, t.loop)
      t.a:add_peer(t.others[k]:id(), t.others[k]:url())
    end
    assert.is_true(H.probed(t.loop, t.a, 5))
    t.x = H.node({}, t.xloop)
    t.a:add_peer(t.x:id(), t.x:url())
    t.loop:run_for(0.02)
    local until_ = os.clock() + 0.3
    while os.clock() < until_ do end
    local late = t.a:metrics().probes_late
    t.loop:run_until(function() return t.a:metrics().probes_late > late end, 2)
    assert.equal(late + 1, t.a:metrics().probes_late)
    assert.is_nil(H.peer(t.a, t.x:id()).latency_ms)
    -- Both loops from here on, in turns, until x is known or `seconds`.
    function t.run_until_known(seconds)
      local t0 = t.loop:now()
      while H.peer(t.a, t.x:id()).latency_ms == nil and t.loop:now() - t0 < seconds do
        t.loop:run_for(0.005)
        t.xloop:run_for(0.005)
      end
      return H.peer(t.a, t.x:id()).latency_ms ~= nil
    end
    function t.close()
      t.a:close(); t.x:close()
      for _, o in ipairs(t.others) do o:close() end
      t.xloop:run_for(0.05)
      t.loop:close(); t.xloop:close()
    end
    return t
  end

  it("probe a peer whose first probe went unanswered before the round comes to it", function()
    -- 40 peers, a probe every 0.2 s: 8 s per round; x goes at the next probe.
    local t = unanswered_first_probe(0.2)
    assert.is_true(t.run_until_known(0.6), "x was not probed again within 0.6 s")
    t.close()
  end)

  it("probe such a peer at once when it shows up", function()
    -- The next probe is 30 s away, but x sends a a message.
    local t = unanswered_first_probe(30)
    local done = false
    t.x:fetch("POST", t.a:url() .. "/gossip", hs.json_encode(H.envelope()),
      function() done = true end, 3, "X-Hearsay-From: " .. t.x:id())
    assert.is_true(t.run_until_known(0.5), "x was not probed when it showed up")
    assert.is_true(done)
    t.close()
  end)
end)

describe("re-bootstrap", function()
  it("bootstraps again when a node has fewer than min_peers peers", function()
    local loop = hs.loop()
    -- Point b's bootstrap at a port before a listens there.
    local a, b
    H.on_spare_port(loop, function(port)
      b = H.node({ bootstrap = { "http://127.0.0.1:" .. port }, rebootstrap_interval = 0.2 }, loop)
      loop:run_for(0.5)
      assert.equal(0, #b:peers())
      local why
      a, why = H.try_node({ port = port }, loop)
      if not a then b:close() end
      return a, why
    end)
    assert.is_true(loop:run_until(function() return peer_ids(b)[a:id()] ~= nil end, 5))
    a:close(); b:close(); loop:close()
  end)
end)

describe("partial views", function()
  it("stay mixed when max_peers is below the network size, so push reaches almost everyone", function()
    local n = 40
    -- Anti-entropy, lazy push and the tree off: this measures the classic
    -- random push over the peer graph alone. Patient timeouts: a request
    -- lost to a starved CPU is not what this measures.
    local c = H.cluster(n, { max_peers = 10, tree = false, ae_interval = 0, lazy_fanout = 0, gossip_interval = 0.5,
      peer_exchange_interval = 0.2, health_interval = 5, request_timeout = 5, probe_timeout = 2 })
    assert.is_true(c:converge(20, 8))
    c.loop:run_for(3) -- a few exchange rounds
    local ids = {}
    for k = 1, 20 do ids[k] = c.nodes[math.random(1, n)]:broadcast("chat", { k = k }) end
    -- Let the pushes run out (no new copies for 0.5 s; bounded), then count.
    local function reach()
      local r = 0
      for _, id in ipairs(ids) do
        for _, node in ipairs(c.nodes) do
          if node:copies(id) > 0 then r = r + 1 end
        end
      end
      return r
    end
    local last, stable_since = -1, c.loop:now()
    c.loop:run_until(function()
      local r = reach()
      if r ~= last then last, stable_since = r, c.loop:now() end
      return c.loop:now() - stable_since >= 0.5
    end, 15, 0.05)
    local reached, total = reach(), #ids * n
    local indeg, min = {}, math.huge
    for _, node in ipairs(c.nodes) do
      for _, p in ipairs(node:peers()) do indeg[p.id] = (indeg[p.id] or 0) + 1 end
    end
    local few = 0 -- nodes in fewer than 2 views
    for _, node in ipairs(c.nodes) do
      min = math.min(min, indeg[node:id()] or 0)
      if (indeg[node:id()] or 0) < 2 then few = few + 1 end
    end
    c:close()
    -- Everyone bootstraps from node 1: without view shuffling the early
    -- joiners fill every table and late joiners are in almost none.
    -- Shuffling is random, so one node may be unlucky at the moment we look.
    assert.is_true(few <= 2, few .. " nodes are in fewer than 2 views (min " .. min .. ")")
    assert.is_true(reached / total >= 0.8, ("push reached %.0f%%"):format(100 * reached / total))
  end)
end)
