-- The four endpoints, their shapes, and every kind of bad input: each gets a
-- JSON answer with a reason, is counted, and changes nothing.
local hs = H.hs

describe("a node's HTTP endpoints", function()
  local loop, node, client, base

  setup(function()
    loop = hs.loop()
    node = H.node({ max_body = 4096, max_seen_by = 16, max_ttl = 32 }, loop)
    client = H.node({}, loop)
    base = node:url()
  end)

  teardown(function()
    node:close()
    client:close()
    loop:close()
  end)

  local function post(body, path)
    return H.fetch_json(loop, client, "POST", base .. (path or "/gossip"), body)
  end

  describe("GET /health", function()
    it("has the reference node's fields and metrics", function()
      local st, h = H.fetch_json(loop, client, "GET", base .. "/health")
      assert.equal(200, st)
      assert.equal("healthy", h.status)
      assert.equal(node:id(), h.node_id)
      assert.is_number(h.peer_count)
      assert.is_number(h.uptime)
      for _, k in ipairs({ "messages_sent", "messages_received", "messages_dropped",
        "gossip_rounds", "peers_discovered", "health_checks", "messages_duplicate",
        "messages_invalid", "send_errors" }) do
        assert.is_number(h.metrics[k], k)
      end
    end)
  end)

  describe("GET /state", function()
    it("has node_id, merkle_root, state_version, peer_count, timestamp", function()
      node:update_state("root-1")
      local st, s = H.fetch_json(loop, client, "GET", base .. "/state")
      assert.equal(200, st)
      assert.equal(node:id(), s.node_id)
      assert.equal("root-1", s.merkle_root)
      assert.equal(1, s.state_version)
      assert.is_number(s.peer_count)
      assert.is_number(s.timestamp)
    end)
  end)

  describe("GET /peers", function()
    it("lists peers with exactly the reference's six keys", function()
      node:add_peer(client:id(), client:url())
      local st, peers = H.fetch_json(loop, client, "GET", base .. "/peers")
      assert.equal(200, st)
      assert.equal(1, #peers)
      local keys = {}
      for k in pairs(peers[1]) do keys[#keys + 1] = k end
      table.sort(keys)
      assert.same({ "is_healthy", "last_seen", "latency_ms", "merkle_root", "peer_id", "url" }, keys)
      assert.equal(client:id(), peers[1].peer_id)
      assert.equal(client:url(), peers[1].url)
    end)

    it("sends a random sample with ?sample=k (hearsay's peer exchange)", function()
      local hub = H.node({}, loop)
      local leaves, ids = {}, {}
      for i = 1, 10 do
        leaves[i] = H.node({}, loop)
        hub:add_peer(leaves[i]:id(), leaves[i]:url())
        ids[leaves[i]:id()] = true
      end
      local picked = {}
      for _ = 1, 20 do
        local st, peers = H.fetch_json(loop, client, "GET", hub:url() .. "/peers?sample=3")
        assert.equal(200, st)
        assert.equal(3, #peers)
        local distinct = {}
        for _, p in ipairs(peers) do
          assert.is_true(ids[p.peer_id], "a peer of the hub")
          assert.is_nil(distinct[p.peer_id], "each peer once")
          distinct[p.peer_id] = true
          picked[p.peer_id] = true
        end
      end
      local n = 0
      for _ in pairs(picked) do n = n + 1 end
      assert.is_true(n >= 8, "samples vary: " .. n .. " of 10 peers ever picked")
      for _, q in ipairs({ "", "?sample=0", "?sample=50", "?sample=x" }) do
        local st, peers = H.fetch_json(loop, client, "GET", hub:url() .. "/peers" .. q)
        assert.equal(200, st)
        assert.equal(10, #peers, q)
      end
      hub:close()
      for _, l in ipairs(leaves) do l:close() end
    end)

    it("takes the asker of a sample into its view, even when full (a CYCLON shuffle)", function()
      local hub = H.node({ max_peers = 3 }, loop)
      local leaves = {}
      for i = 1, 3 do
        leaves[i] = H.node({}, loop)
        hub:add_peer(leaves[i]:id(), leaves[i]:url())
      end
      local asker = H.node({}, loop)
      local function knows(id)
        for _, p in ipairs(hub:peers()) do if p.id == id then return true end end
        return false
      end
      local enc = asker:url():gsub("[^%w%-%._~]", function(c) return ("%%%02X"):format(c:byte()) end)
      local from = "X-Hearsay-From: " .. asker:id()
      -- a plain GET /peers, even from a hearsay node, changes nothing
      H.fetch_json(loop, client, "GET", hub:url() .. "/peers?sample=2", nil, from)
      assert.is_false(knows(asker:id()))
      local st, peers = H.fetch_json(loop, client, "GET",
        hub:url() .. "/peers?sample=2&url=" .. enc, nil, from)
      assert.equal(200, st)
      assert.equal(2, #peers)
      assert.is_true(knows(asker:id()))
      local n = 0
      for _, p in ipairs(hub:peers()) do if p.state ~= "dead" then n = n + 1 end end
      assert.equal(3, n) -- a random peer made room
      hub:close(); asker:close()
      for _, l in ipairs(leaves) do l:close() end
    end)
  end)

  describe("POST /gossip", function()
    it("accepts a new envelope, then calls the same id a duplicate", function()
      local env = H.envelope({ message_id = H.id() })
      local st, a = post(hs.json_encode(env))
      assert.equal(200, st)
      assert.same({ status = "accepted", message_id = env.message_id }, a)
      st, a = post(hs.json_encode(env))
      assert.equal(200, st)
      assert.equal("duplicate", a.status)
      assert.is_true(node:metrics().messages_duplicate >= 1)
    end)

    it("accepts a batch (a JSON array) and answers each envelope", function()
      local e1, e2 = H.envelope({ message_id = H.id() }), H.envelope({ message_id = H.id() })
      local st, a = post(hs.json_encode({ e1, e2, e1 }))
      assert.equal(200, st)
      assert.equal("accepted", a[1].status)
      assert.equal("accepted", a[2].status)
      assert.equal("duplicate", a[3].status)
    end)
  end)

  describe("refuses bad input with a reason, counts it, and changes nothing", function()
    local function refused(body, status, reason_pattern)
      local before = node:metrics()
      local st, a = post(body)
      local after = node:metrics()
      assert.equal(status, st)
      assert.equal("error", a.status)
      assert.matches(reason_pattern, a.error)
      assert.equal(before.messages_received, after.messages_received)
      assert.equal(before.messages_sent, after.messages_sent)
      assert.equal(before.messages_invalid + 1, after.messages_invalid)
      return after
    end

    local function with(field, value)
      local e = H.envelope({ message_id = H.id() })
      e[field] = value
      return hs.json_encode(e)
    end

    it("malformed JSON", function()
      local m = refused('{"message_id": ', 400, "malformed JSON")
      assert.is_true(m.http_bad_request >= 1)
    end)
    it("an empty body", function() refused("", 400, "empty body") end)
    it("a JSON object that is not an envelope", function()
      refused("{}", 400, "message_id must be a string")
    end)
    it("a batch entry that is not an envelope, answered in its place", function()
      local before = node:metrics()
      local st, a = post("[1]")
      assert.equal(200, st)
      assert.equal("error", a[1].status)
      assert.matches("JSON object", a[1].error)
      assert.equal(before.messages_invalid + 1, node:metrics().messages_invalid)
      assert.equal(before.messages_received, node:metrics().messages_received)
    end)
    it("a missing field", function()
      local e = H.envelope({ message_id = H.id() })
      e.payload = nil
      refused(hs.json_encode(e), 400, "payload is missing")
    end)
    it("a message_id that is not a SHA-256", function() refused(with("message_id", "xyz"), 400, "message_id") end)
    it("a wrong type for ttl", function() refused(with("ttl", "ten"), 400, "ttl must be an integer") end)
    it("a wrong type for seen_by", function() refused(with("seen_by", "a"), 400, "seen_by must be an array") end)
    it("a wrong type for timestamp", function() refused(with("timestamp", "now"), 400, "timestamp") end)
    it("a bad message_type", function() refused(with("message_type", "no spaces"), 400, "message_type") end)
    it("a negative ttl", function() refused(with("ttl", -1), 400, "ttl must not be negative") end)
    it("a huge ttl", function() refused(with("ttl", 1 << 40), 400, "max_ttl") end)
    it("too many seen_by entries", function()
      local many = {}
      for i = 1, 17 do many[i] = "peer-" .. i end
      refused(with("seen_by", many), 400, "too many")
    end)
    it("an oversized body, with 413", function()
      local big = H.envelope({ message_id = H.id(), payload = { blob = ("x"):rep(5000) } })
      local m = refused(hs.json_encode(big), 413, "exceeds 4096 bytes")
      assert.is_true(m.http_too_large >= 1)
    end)
  end)

  it("answers 404 with a reason for unknown paths", function()
    local st, a = H.fetch_json(loop, client, "GET", base .. "/nope")
    assert.equal(404, st)
    assert.matches("no such endpoint", a.error)
    assert.is_true(node:metrics().http_not_found >= 1)
  end)

  it("answers 405 with a reason for wrong methods", function()
    local st, a = H.fetch_json(loop, client, "GET", base .. "/gossip")
    assert.equal(405, st)
    assert.matches("takes POST", a.error)
    st, a = H.fetch_json(loop, client, "DELETE", base .. "/peers")
    assert.equal(405, st)
    assert.matches("takes GET", a.error)
    assert.is_true(node:metrics().http_bad_method >= 2)
  end)
end)
