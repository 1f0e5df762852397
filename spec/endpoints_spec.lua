-- The four endpoints, their shapes, and every kind of bad input: each gets a
-- JSON answer with a reason, is counted, and changes nothing.
local hs = H.hs

describe("a node's HTTP endpoints", function()
  local loop, node, client, base

  setup(function()
    loop = hs.loop()
    -- No periodic announces (node or client, which learns node in a shuffle)
    -- nor anti-entropy repairs: they would move messages_sent and
    -- messages_received under "changes nothing".
    node = H.node({ max_body = 4096, max_seen_by = 16, max_ttl = 32, gossip_interval = 60,
      lazy_fanout = 0, ae_interval = 0 }, loop)
    client = H.node({ gossip_interval = 60 }, loop)
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

    it("carries hearsay's extras: version, url, features, peers, seen_ids, probes, incarnation", function()
      local st, h = H.fetch_json(loop, client, "GET", base .. "/health")
      assert.equal(200, st)
      assert.is_string(h.version)
      assert.equal(node:url(), h.url)
      assert.same({ "batch", "ae", "swim", "seen_hash" }, h.features)
      assert.same({ alive = 0, unhealthy = 0, dead = 0 }, h.peers)
      assert.equal(node:health().seen_ids, h.seen_ids)
      assert.same({ in_flight = 0, waiting = 0 }, h.probes)
      assert.equal(math.type(h.incarnation), "integer")
      assert.is_true(h.incarnation > 0)
      assert.equal(0, h.local_health)
      -- the counts follow the peer table: one peer that refuses every probe
      local other = H.node({ dead_after = 1 }, loop)
      other:add_peer("endpoints-peer", "http://127.0.0.1:1")
      _, h = H.fetch_json(loop, client, "GET", other:url() .. "/health")
      assert.equal(1, h.peers.alive + h.peers.unhealthy)
      assert.equal(0, h.peers.dead)
      assert.is_true(loop:run_until(function()
        _, h = H.fetch_json(loop, client, "GET", other:url() .. "/health")
        return h.peers.dead == 1
      end, 5))
      assert.same({ alive = 0, unhealthy = 0, dead = 1 }, h.peers)
      other:close()
    end)

    it("gives a hearsay node's probe the short form: what a prober reads, the reference's fields", function()
      local tagged = H.node({ gossip_interval = 60, tags = { region = "eu" }, cluster_label = "spec" }, loop)
      local from = "X-Hearsay-From: spec-prober"
      local st, h = H.fetch_json(loop, client, "GET", tagged:url() .. "/health", nil, from)
      assert.equal(200, st)
      local keys = {}
      for k in pairs(h) do keys[#keys + 1] = k end
      table.sort(keys)
      assert.same({ "cluster_label", "features", "held", "incarnation", "metrics", "node_id",
        "peer_count", "public_key", "status", "tags", "uptime", "url", "version" }, keys)
      assert.equal("healthy", h.status)
      assert.equal(tagged:id(), h.node_id)
      assert.same({ region = "eu" }, h.tags)
      assert.same({ "batch", "ae", "swim", "seen_hash" }, h.features)
      assert.equal(tagged:health().incarnation, h.incarnation)
      assert.equal("spec", h.cluster_label)
      local mk = {}
      for k, v in pairs(h.metrics) do mk[#mk + 1] = k; assert.equal(math.type(v), "integer") end
      table.sort(mk)
      assert.same({ "gossip_rounds", "health_checks", "messages_dropped", "messages_received",
        "messages_sent", "peers_discovered" }, mk)
      -- ?full=1, and anyone who does not say it is a hearsay node, get it all
      _, h = H.fetch_json(loop, client, "GET", tagged:url() .. "/health?full=1", nil, from)
      assert.is_number(h.seen_ids)
      assert.is_number(h.metrics.messages_duplicate)
      _, h = H.fetch_json(loop, client, "GET", tagged:url() .. "/health")
      assert.is_number(h.seen_ids)
      assert.same({ region = "eu" }, h.tags)
      tagged:close()
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

    it("takes the asker of a sample into its view once it answers, even when full (a CYCLON shuffle)", function()
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
      -- A full table keeps the asker as a candidate and takes it at its
      -- next peer exchange, once a probe finds it there as itself.
      assert.is_true(loop:run_until(function() return knows(asker:id()) end, 5))
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

    it("answers one envelope exactly as the reference does", function()
      local env = H.envelope({ message_id = H.id() })
      local st, text = H.fetch(loop, client, "POST", base .. "/gossip", hs.json_encode(env))
      assert.equal(200, st)
      assert.equal('{"status":"accepted","message_id":"' .. env.message_id .. '"}', text)
      st, text = H.fetch(loop, client, "POST", base .. "/gossip", hs.json_encode(env))
      assert.equal('{"status":"duplicate","message_id":"' .. env.message_id .. '"}', text)
    end)

    it("judges every envelope the same, whichever parser reads it", function()
      -- A \u escape is left to jansson; the rest takes the fast scanner.
      local got = {}
      node:on("message", function(msg) got[msg.id] = msg.payload end)
      local id1, id2 = H.id(), H.id()
      local odd = ('{"message_id":"%s","message_type":"chat","payload":{"t":"caf\\u00e9"},'
        .. '"timestamp":1,"ttl":0,"origin_peer":"o","seen_by":[]}'):format(id1)
      local plain = ('{"message_id":"%s","message_type":"chat","payload":{"t":"caf\xc3\xa9"},'
        .. '"timestamp":1,"ttl":0,"origin_peer":"o","seen_by":[]}'):format(id2)
      local st, a = post(odd)
      assert.equal(200, st)
      assert.equal("accepted", a.status)
      st, a = post(plain)
      assert.equal("accepted", a.status)
      assert.equal("caf\xc3\xa9", got[id1].t)
      assert.equal("caf\xc3\xa9", got[id2].t)
      -- Duplicate keys, at any depth, are refused whichever way.
      local dup = plain:gsub('"t":', '"t":1,"t":'):gsub(id2, H.id())
      st, a = post(dup)
      assert.equal(400, st)
      assert.matches("malformed JSON", a.error)
      st, a = post("[" .. plain:gsub(id2, H.id()) .. "," .. odd:gsub(id1, H.id()) .. "]")
      assert.same({ accepted = 2, duplicate = 0, errors = {} }, a)
      node:on("message", nil)
    end)

    it("hands handlers the same payload whether it was converted from text or from jansson", function()
      local got = {}
      node:on("message", function(msg) got[msg.id] = msg.payload end)
      local payload = '{"s":"a\\"b\\\\c\\/d\\n\\t","i":-42,"r":2.5e-3,"big":12345678901234,'
        .. '"z":-0,"t":true,"f":false,"n":null,"e":[],"o":{},"a":[1,[2,{"x":"y"}],[]],"u":"\xc3\xa9"}'
      local function env(id, p)
        return ('{"message_id":"%s","message_type":"chat","payload":%s,"timestamp":1,"ttl":0,'
          .. '"origin_peer":"o","seen_by":[]}'):format(id, p)
      end
      -- The same payload once more with a \u escape: that one goes through jansson.
      local id1, id2 = H.id(), H.id()
      post(env(id1, payload))
      post(env(id2, payload:gsub('"u":"\xc3\xa9"', '"u":"\\u00e9"')))
      local a, b = got[id1], got[id2]
      assert.is_table(a)
      assert.is_table(b)
      for _, k in ipairs({ "s", "i", "r", "big", "z", "t", "f", "n", "u" }) do
        assert.equal(b[k], a[k], k)
        assert.equal(math.type(b[k]), math.type(a[k]), k)
      end
      assert.equal('a"b\\c/d\n\t', a.s)
      assert.equal(hs.null, a.n)
      assert.equal(getmetatable(b.e), getmetatable(a.e))
      assert.equal(getmetatable(b.o), getmetatable(a.o))
      assert.is_not_nil(getmetatable(a.e)) -- [] stays an array
      assert.same(b.a, a.a)
      assert.equal(getmetatable(b.a[2][2]), getmetatable(a.a[2][2]))
      assert.equal(getmetatable(b.a[3]), getmetatable(a.a[3]))
      node:on("message", nil)
    end)

    it("accepts any type the reference accepts, and envelopes without origin_peer and seen_by", function()
      local got = {}
      node:on("message", function(msg) got[msg.id] = msg end)
      local types = { "has space", "a/b", "caf\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac", 'q"uote',
        "back\\slash", "*", ("\xc3\xa9"):rep(32), ("x"):rep(64), "\xc2\xa0" }
      local ids = {}
      for i, t in ipairs(types) do
        local e = H.envelope({ message_id = H.id(), message_type = t, ttl = 0 })
        if i % 2 == 0 then e.origin_peer, e.seen_by = nil, nil end
        ids[i] = e.message_id
        local st, a = post(hs.json_encode(e))
        assert.equal(200, st, t)
        assert.same({ status = "accepted", message_id = e.message_id }, a)
        -- handlers get the type as it was sent, and "" for a missing origin
        assert.equal(t, got[e.message_id].type)
        assert.equal(i % 2 == 0 and "" or "spec-origin", got[e.message_id].origin)
      end
      -- An origin_peer of "" (what a reference relays for an envelope that
      -- had none) is taken too.
      local e = H.envelope({ message_id = H.id(), origin_peer = "", ttl = 0 })
      local st = post(hs.json_encode(e))
      assert.equal(200, st)
      assert.equal("", got[e.message_id].origin)
      -- "" is nobody: no peer was learnt from these
      assert.is_nil(H.peer(node, "", true))
      -- The kept copies are valid JSON with the same type (/fetch serves them).
      local _, kept = H.fetch_json(loop, client, "POST", base .. "/fetch", hs.json_encode({ ids = ids }))
      local by_id = {}
      for _, k in ipairs(kept) do by_id[k.message_id] = k end
      for i, t in ipairs(types) do assert.equal(t, by_id[ids[i]].message_type) end
      node:on("message", nil)
    end)

    it("does not mark the id of an envelope it refused as seen", function()
      local e = H.envelope({ message_id = H.id() })
      e.ttl = -1
      local st = post(hs.json_encode(e))
      assert.equal(400, st)
      e.ttl = 0
      local a
      st, a = post(hs.json_encode(e))
      assert.equal(200, st)
      assert.equal("accepted", a.status)
      -- in a batch too (and whichever parser reads it)
      local b = H.envelope({ message_id = H.id(), ttl = 0, message_type = "" })
      st, a = post(hs.json_encode({ b }))
      assert.equal(1, #a.errors)
      b.message_type = "chat"
      st, a = post(hs.json_encode({ b }))
      assert.same({ accepted = 1, duplicate = 0, errors = {} }, a)
    end)

    it("accepts a batch (a JSON array) and answers with counts", function()
      local e1, e2 = H.envelope({ message_id = H.id() }), H.envelope({ message_id = H.id() })
      local st, a = post(hs.json_encode({ e1, e2, e1 }))
      assert.equal(200, st)
      assert.same({ accepted = 2, duplicate = 1, errors = {} }, a)
    end)

    it("refuses a batch over max_batch, and an empty one, whole", function()
      local small = H.node({ max_batch = 3 }, loop)
      local function batch(n)
        local b = {}
        for i = 1, n do b[i] = H.envelope({ message_id = H.id(), ttl = 0 }) end
        return hs.json_encode(b)
      end
      local st, a = H.fetch_json(loop, client, "POST", small:url() .. "/gossip", batch(3))
      assert.equal(200, st)
      assert.equal(3, a.accepted)
      st, a = H.fetch_json(loop, client, "POST", small:url() .. "/gossip", batch(4))
      assert.equal(400, st)
      assert.matches("max_batch", a.error)
      st, a = H.fetch_json(loop, client, "POST", small:url() .. "/gossip", "[]")
      assert.equal(400, st)
      assert.matches("max_batch", a.error)
      assert.equal(3, small:metrics().messages_received)
      small:close()
    end)

    it("lists the refused envelopes of a batch by index, with the reason", function()
      local e1 = H.envelope({ message_id = H.id() })
      local bad = H.envelope({ message_id = H.id() })
      bad.ttl = -1
      local st, text = H.fetch(loop, client, "POST", base .. "/gossip",
        "[" .. hs.json_encode(e1) .. ", 7, " .. hs.json_encode(bad) .. "]")
      assert.equal(200, st)
      local a = hs.json_decode(text)
      assert.equal(1, a.accepted)
      assert.equal(0, a.duplicate)
      assert.equal(2, #a.errors)
      assert.equal(1, a.errors[1].index)
      assert.matches("JSON object", a.errors[1].error)
      assert.equal(2, a.errors[2].index)
      assert.matches("ttl must not be negative", a.errors[2].error)
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
      assert.equal(0, a.accepted)
      assert.equal(0, a.errors[1].index)
      assert.matches("JSON object", a.errors[1].error)
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
    it("an empty message_type", function() refused(with("message_type", ""), 400, "message_type") end)
    it("a message_type over 64 bytes", function()
      refused(with("message_type", ("\xc3\xa9"):rep(32) .. "x"), 400, "1%-64 bytes")
    end)
    it("a control character in message_type (C0, DEL or C1)", function()
      for _, t in ipairs({ "a\nb", "\27[31mred", "del\127", "csi\xc2\x9b2J", "nel\xc2\x85" }) do
        refused(with("message_type", t), 400, "without control characters")
      end
    end)
    it("an origin_peer that is not a node id", function()
      refused(with("origin_peer", "has space"), 400, "origin_peer")
      refused(with("origin_peer", 7), 400, "origin_peer must be a string")
    end)
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

  describe("bodies stream past MHD's small connection pool", function()
    it("takes a body of exactly max_body and refuses one byte more with 413", function()
      local env = H.envelope({ message_id = H.id(), payload = { blob = "" } })
      local base_len = #hs.json_encode(env)
      env.payload.blob = ("y"):rep(4096 - base_len)
      local body = hs.json_encode(env)
      assert.equal(4096, #body)
      local st, a = post(body)
      assert.equal(200, st)
      assert.equal("accepted", a.status)
      env.message_id = H.id()
      env.payload.blob = env.payload.blob .. "y"
      st, a = post(hs.json_encode(env))
      assert.equal(413, st)
      assert.matches("exceeds 4096 bytes", a.error)
    end)

    it("takes a 1 MiB batch with several KiB of headers", function()
      local loop2 = hs.loop()
      local big = H.node({ max_body = 1 << 20 }, loop2)
      local c2 = H.node({}, loop2)
      local batch = {}
      for i = 1, 200 do
        batch[i] = H.envelope({ message_id = H.id(), ttl = 0, payload = { blob = ("z"):rep(4000) } })
      end
      local body = hs.json_encode(batch)
      assert.is_true(#body > 800000 and #body <= 1 << 20, #body)
      local st, text = H.fetch(loop2, c2, "POST", big:url() .. "/gossip", body,
        "X-Padding: " .. ("p"):rep(3000), 10)
      assert.equal(200, st, text)
      assert.same(200, hs.json_decode(text).accepted)
      big:close(); c2:close(); loop2:close()
    end)
  end)

  it("answers 404 with a reason for unknown paths", function()
    local st, a = H.fetch_json(loop, client, "GET", base .. "/nope")
    assert.equal(404, st)
    assert.matches("no such endpoint", a.error)
    assert.is_true(node:metrics().http_not_found >= 1)
  end)

  it("answers 405 with a reason and an Allow header for wrong methods", function()
    local st, a = H.fetch_json(loop, client, "GET", base .. "/gossip")
    assert.equal(405, st)
    assert.matches("takes POST", a.error)
    st, a = H.fetch_json(loop, client, "DELETE", base .. "/peers")
    assert.equal(405, st)
    assert.matches("takes GET", a.error)
    assert.is_true(node:metrics().http_bad_method >= 2)
    -- The headers, read by a client that shows them (the node's own does not).
    local script = H.tmpdir() .. "/allow.py"
    H.write(script, table.concat({
      "import http.client",
      "for m, p in (('GET', '/gossip'), ('DELETE', '/peers'), ('PUT', '/health')):",
      "    c = http.client.HTTPConnection('127.0.0.1', " .. node:port() .. ", timeout=5)",
      "    c.request(m, p)",
      "    r = c.getresponse()",
      "    print(m, p, r.status, r.getheader('Allow'), r.getheader('Content-Type'))",
    }, "\n") .. "\n")
    local out = H.sh_bg(loop, "/usr/bin/python3 " .. script)
    assert.matches("GET /gossip 405 POST application/json", out, 1, true)
    assert.matches("DELETE /peers 405 GET application/json", out, 1, true)
    assert.matches("PUT /health 405 GET application/json", out, 1, true)
  end)

  it("answers 431 (from libmicrohttpd) for request headers over about 7 KiB", function()
    -- (a node nobody else talks to: every request it counts is ours)
    local alone = H.node({ gossip_interval = 60, peer_exchange_interval = 60 }, loop)
    local st = H.fetch(loop, client, "GET", alone:url() .. "/health", nil, "X-Padding: " .. ("p"):rep(9000))
    assert.equal(431, st)
    assert.equal(0, alone:metrics().http_requests, "the request reached a route")
    st = H.fetch(loop, client, "GET", alone:url() .. "/health", nil, "X-Padding: " .. ("p"):rep(5000))
    assert.equal(200, st)
    assert.equal(1, alone:metrics().http_requests)
    alone:close()
  end)

  it("answers 403 with a reason to a node it blocked, and counts it", function()
    -- (an id of its own: the client node's own probes would be counted too)
    node:block("spec-banned")
    local before = node:metrics()
    local from = "X-Hearsay-From: spec-banned"
    local st, a = H.fetch_json(loop, client, "GET", base .. "/health", nil, from)
    assert.equal(403, st)
    assert.equal("error", a.status)
    assert.matches("banned", a.error)
    local env = H.envelope({ message_id = H.id(), ttl = 0 })
    st = H.fetch(loop, client, "POST", base .. "/gossip", hs.json_encode(env), from)
    assert.equal(403, st)
    local after = node:metrics()
    assert.equal(before.http_blocked + 2, after.http_blocked)
    assert.equal(before.messages_received, after.messages_received)
    -- others, and the same node once unblocked, are served
    assert.equal(200, (H.fetch(loop, client, "GET", base .. "/health")))
    node:block("spec-banned", false)
    assert.equal(200, (H.fetch(loop, client, "POST", base .. "/gossip", hs.json_encode(env), from)))
  end)
end)
