-- Node settings the other specs leave at their defaults, each shown to do
-- what README's table says: host, public_url, min_peers, dead_timeout,
-- forget_after, retain_ttl and retain_bytes. (node_id_file, console_socket
-- and log_level are settings of `hearsay run`: cli_spec.)
local hs = H.hs

describe("a refused configuration", function()
  it("names the setting and why, not a bare \"invalid argument\" (issue 20)", function()
    local loop = hs.loop()
    local cases = {
      { { ttl = 80 }, "ttl (80) must not exceed max_ttl (64)" },
      { { retry_min = 10, retry_max = 5 }, "retry_min (10) must not exceed retry_max (5)" },
      { { min_peers = 8, max_peers = 4 }, "min_peers (8) must not exceed max_peers (4)" },
      { { fanout = 0 }, "fanout must be from 1 to 64 (it is 0)" },
      { { batch_window = 11 }, "batch_window must be at least 0 and at most 10 (it is 11)" },
      { { suspicion_confirmations = 9 }, "suspicion_confirmations must be at most 8" },
      { { security = "cluster" }, "security \"cluster\" needs cluster_keys" },
      { { security = "signed", cluster_keys = { ("A"):rep(43) .. "=" }, node_id = "not-a-key" },
        "security \"signed\" needs node_id left unset" },
    }
    for _, c in ipairs(cases) do
      c[1].port = 0
      local ok, err = pcall(hs.node, loop, c[1])
      assert.is_false(ok)
      assert.matches("hearsay.node: " .. c[2], err, 1, true)
    end
    loop:close()
  end)
end)

describe("host", function()
  it("is the only address the node listens on", function()
    local loop = hs.loop()
    local a = H.node({ host = "127.0.0.2" }, loop)
    local client = H.node({}, loop)
    assert.equal("http://127.0.0.2:" .. a:port(), a:url())
    local st, h = H.fetch_json(loop, client, "GET", a:url() .. "/health")
    assert.equal(200, st)
    assert.equal(a:id(), h.node_id)
    st = H.fetch(loop, client, "GET", "http://127.0.0.1:" .. a:port() .. "/health", nil, nil, 1)
    assert.not_equal(200, st)
    a:close(); client:close(); loop:close()
  end)
end)

describe("public_url", function()
  it("is the URL the node gives for itself: /health, its announces, its peers' tables", function()
    local loop = hs.loop()
    local b = H.node({ gossip_interval = 60 }, loop)
    -- a joins through b: its join announce tells b where to reach it
    local a, port, url
    H.on_spare_port(loop, function(p)
      port, url = p, "http://localhost:" .. p
      a = H.try_node({ port = port, public_url = url, bootstrap = { b:url() } }, loop)
      return a
    end)
    assert.equal(url, a:url())
    local _, h = H.fetch_json(loop, b, "GET", "http://127.0.0.1:" .. port .. "/health")
    assert.equal(url, h.url)
    assert.is_true(loop:run_until(function() return H.peer(b, a:id()) ~= nil end, 5))
    assert.equal(url, H.peer(b, a:id()).url)
    -- and b reaches it there: probes at that URL pass
    assert.is_true(loop:run_until(function()
      local p = H.peer(b, a:id())
      return p.latency_ms ~= nil and p.state == "alive"
    end, 5))
    a:close(); b:close(); loop:close()
  end)
end)

describe("min_peers", function()
  -- How often a node asked the reference node (its only peer) for /peers
  -- in 1.5 s: it bootstraps again each rebootstrap_interval while it has
  -- fewer than min_peers live peers (and, unless join_exchanges is 0,
  -- exchanges with it a second after each bootstrap).
  local function peer_lists(min_peers, join_exchanges)
    local loop = hs.loop()
    local ref = H.start_ref(loop)
    local n = H.node({ bootstrap = { ref.url }, min_peers = min_peers, rebootstrap_interval = 0.2,
      peer_exchange_interval = 60, join_exchanges = join_exchanges or 0 }, loop)
    local client = H.node({}, loop)
    assert.is_true(loop:run_until(function() return H.peer(n, ref.id) ~= nil end, 5))
    loop:run_for(1.5)
    local asked = 0
    for _, r in ipairs(H.ref_test(loop, client, ref, "requests")) do
      if r.path == "/peers" and r.from == n:id() then asked = asked + 1 end
    end
    local live = #n:peers()
    H.stop_ref(loop, ref)
    n:close(); client:close(); loop:close()
    return asked, live
  end

  it("makes a node with fewer live peers bootstrap again, and one with enough not", function()
    local asked, live = peer_lists(1)
    assert.equal(1, live)
    assert.equal(1, asked) -- the bootstrap, no more
    asked, live = peer_lists(2)
    assert.equal(1, live)
    assert.is_true(asked >= 4, asked .. " bootstraps in 1.5 s")
  end)

  -- join_exchanges: nodes that start together all know their bootstrap
  -- node alone; early exchanges fill their views in seconds
  -- (spec/c/test_proto.c shows it on 30 nodes), not at the first
  -- peer_exchange_interval.
  it("join_exchanges makes a node that joined exchange a second later, and 0 turns it off", function()
    local asked = peer_lists(1, 5)
    assert.equal(2, asked) -- the bootstrap, then the exchange at 1 s
    asked = peer_lists(1, 0)
    assert.equal(1, asked)
  end)

  it("join_exchanges is at most 20", function()
    local ok, err = pcall(H.node, { join_exchanges = 21 })
    assert.is_false(ok)
    assert.matches("join_exchanges must be at most 20", tostring(err))
  end)
end)

describe("dead_timeout and forget_after", function()
  -- A node that knows b and probed it once; from then on it does not
  -- probe (every 10 minutes), so only the timeout under test can change
  -- b's entry.
  local function quiet(loop, b, extra)
    local settings = { health_interval = 600, probe_interval = 600, gossip_interval = 60,
      peer_exchange_interval = 60, ae_interval = 0 }
    for k, v in pairs(extra) do settings[k] = v end
    local a = H.node(settings, loop)
    a:add_peer(b:id(), b:url())
    assert.is_true(H.probed(loop, a, 5))
    loop:run_for(0.3) -- (its probe timer's first tick, 0.1 s after the start, has passed)
    return a
  end

  it("dead_timeout: a peer not heard from for that long is dead, without a failed probe", function()
    local loop = hs.loop()
    local b = H.node({ gossip_interval = 60 }, loop)
    local a1 = quiet(loop, b, { dead_timeout = 0.5 })
    local a2 = quiet(loop, b, {}) -- the default, 300 s
    local b_id = b:id()
    b:close()
    local t0 = loop:now()
    assert.is_true(loop:run_until(function()
      local p = H.peer(a1, b_id, true)
      return p and p.state == "dead"
    end, 5))
    assert.is_true(loop:now() - t0 < 3)
    assert.equal(0, a1:metrics().suspicions) -- no probe failed: the timeout did it
    assert.equal("alive", H.peer(a2, b_id, true).state)
    a1:close(); a2:close(); loop:close()
  end)

  it("forget_after: a dead peer leaves the table after that long", function()
    local loop = hs.loop()
    local s = { dead_after = 1, suspicion_timeout = 0.1, health_interval = 0.1, retry_min = 10,
      retry_max = 10 }
    s.forget_after = 0.5
    local a1, b = H.node(s, loop), H.node({}, loop)
    s.forget_after = nil
    local a2 = H.node(s, loop)
    a1:add_peer(b:id(), b:url())
    a2:add_peer(b:id(), b:url())
    assert.is_true(H.probed(loop, a1) and H.probed(loop, a2))
    local b_id = b:id()
    b:close()
    assert.is_true(loop:run_until(function()
      local p1, p2 = H.peer(a1, b_id, true), H.peer(a2, b_id, true)
      return p1 and p1.state == "dead" and p2 and p2.state == "dead"
    end, 5))
    assert.is_true(loop:run_until(function() return H.peer(a1, b_id, true) == nil end, 5))
    -- the default keeps it an hour, to retry it
    assert.equal("dead", H.peer(a2, b_id, true).state)
    a1:close(); a2:close(); loop:close()
  end)
end)

describe("retain_ttl and retain_bytes", function()
  local function post(loop, client, node, env)
    assert.equal(200, (H.post_gossip(loop, client, node:url(), env)))
  end

  -- The ids of `ids` that node still keeps (serves on /fetch).
  local function kept(loop, client, node, ids)
    local st, got = H.fetch_json(loop, client, "POST", node:url() .. "/fetch", hs.json_encode({ ids = ids }))
    assert.equal(200, st)
    local set = {}
    for _, e in ipairs(got) do set[e.message_id] = true end
    local out = {}
    for _, id in ipairs(ids) do if set[id] then out[#out + 1] = id end end
    return out
  end

  it("retain_ttl: a message is kept for repairs that long, then let go", function()
    local loop = hs.loop()
    local node, client = H.node({ retain_ttl = 0.3 }, loop), H.node({}, loop)
    local env = H.envelope({ message_id = H.id(), ttl = 0 })
    post(loop, client, node, env)
    assert.same({ env.message_id }, kept(loop, client, node, { env.message_id }))
    loop:run_for(0.5)
    post(loop, client, node, H.envelope({ message_id = H.id(), ttl = 0 })) -- (trims on insert too)
    assert.same({}, kept(loop, client, node, { env.message_id }))
    -- still known as seen: a duplicate, not new again
    local _, a = H.fetch_json(loop, client, "POST", node:url() .. "/gossip", hs.json_encode(env))
    assert.equal("duplicate", a.status)
    node:close(); client:close(); loop:close()
  end)

  it("retain_bytes: at most that many bytes of envelopes, the oldest let go first", function()
    local loop = hs.loop()
    local node, client = H.node({ retain_bytes = 3000 }, loop), H.node({}, loop)
    local ids, size = {}, 0
    for i = 1, 10 do
      local env = H.envelope({ message_id = H.id(), ttl = 0, payload = { blob = ("b"):rep(400) } })
      size = #hs.json_encode(env)
      ids[i] = env.message_id
      post(loop, client, node, env)
    end
    local have = kept(loop, client, node, ids)
    -- as many of the newest as fit
    local fit = 3000 // size
    assert.equal(fit, #have)
    assert.same({ table.unpack(ids, 10 - fit + 1, 10) }, have)
    node:close(); client:close(); loop:close()
  end)

  it("retain_bytes = 0: nothing is kept, and nothing is offered lazily", function()
    -- Two hubs of four leaves each, fanout 1: the push goes to one leaf, and
    -- a hub that keeps the message offers its id to the other three.
    local loop = hs.loop()
    local client = H.node({}, loop)
    -- want: how many leaves the message should reach, waited for (bounded);
    -- then past lazy_delay (0.25 s) for any copy or offer that should not be.
    local function hub(retain, want)
      local h = H.node({ fanout = 1, retain_bytes = retain, ae_interval = 0 }, loop)
      local leaves = {}
      for i = 1, 4 do
        leaves[i] = H.node({ gossip_interval = 60, ae_interval = 0 }, loop)
        h:add_peer(leaves[i]:id(), leaves[i]:url())
      end
      assert.is_true(H.probed(loop, h))
      local env = H.envelope({ message_id = H.id(), ttl = 3 })
      local function reached() -- leaves that have it (they pass it on among themselves too)
        local n = 0
        for i = 1, 4 do n = n + (leaves[i]:copies(env.message_id) > 0 and 1 or 0) end
        return n
      end
      post(loop, client, h, env)
      loop:run_until(function() return reached() >= want end, 3)
      loop:run_for(0.5) -- nothing more: no other copy, no other offer
      local out = { kept = #kept(loop, client, h, { env.message_id }), offered = h:metrics().lazy_offered,
        reached = reached() }
      h:close()
      for i = 1, 4 do leaves[i]:close() end
      return out
    end
    assert.same({ kept = 0, offered = 0, reached = 1 }, hub(0, 1))
    assert.same({ kept = 1, offered = 3, reached = 4 }, hub(1 << 20, 4))
    client:close(); loop:close()
  end)

  it("rebootstrap_max: joining again stops after so many tries in a row", function()
    local loop = hs.loop()
    local b = H.node({}, loop)
    local a = H.node({ bootstrap = { b:url() }, rebootstrap_interval = 0.1, rebootstrap_max = 3,
      min_peers = 1 }, loop)
    b:block(a:id()) -- a's every try is refused, and counted here
    loop:run_for(1.5)
    local tries = b:metrics().http_blocked
    assert.is_true(tries >= 3 and tries <= 4, tries .. " tries") -- (the first may beat the block)
    loop:run_for(1)
    assert.equal(tries, b:metrics().http_blocked, "no more tries")
    a:close(); b:close(); loop:close()
  end)
end)

