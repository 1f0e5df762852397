-- Interoperability with the reference node (spec/reference/ref_node.py, a
-- re-creation of it from REFERENCE.md, as strict and as lenient as it):
-- each side bootstraps from the other and reads the other's /peers, gossip
-- flows both ways and through either kind of node, and hearsay sends a
-- reference node nothing it does not know (no /ping, /digest, /fetch,
-- /probe, no batches). The fixture logs what it receives and how its
-- bootstrap went (its /_test routes), so these specs check what happened
-- on the wire, not what the fixture pretends.
local hs = H.hs

local SPEC = "X-Spec: 1" -- the spec's own requests to the fixture, told apart

local function peer_ids(node)
  local ids = {}
  for _, p in ipairs(node:peers()) do ids[p.id] = p end
  return ids
end

-- An envelope posted by the spec, as a reference might relay one it never
-- had an origin for: no origin_peer, no seen_by, and a type hearsay's
-- [A-Za-z0-9_.:-] rule once refused.
local ODD_TYPE = 'caf\xc3\xa9 "order"/report \\ #1'

local function bare_envelope(extra)
  local e = H.envelope({ message_id = H.id(), message_type = ODD_TYPE, ttl = 5,
    payload = { text = "bare" } })
  e.origin_peer, e.seen_by = nil, nil
  for k, v in pairs(extra or {}) do e[k] = v end
  return e
end

describe("with a reference node", function()
  local loop, a, b, d, ref, tailer
  local hearsay = {} -- the ids of every hearsay node the reference may hear from

  -- a and b: hearsay nodes, b bootstrapped from a; the reference
  -- bootstraps from a. d is known to a alone (and knows only a): what
  -- reaches d from the reference went through a. Anti-entropy and lazy
  -- push run fast, so hearsay has every chance to send the reference what
  -- it must not.
  setup(function()
    loop = hs.loop()
    local s = { ae_interval = 0.2, lazy_delay = 0.05 }
    a = H.node(s, loop)
    b = H.node({ bootstrap = { a:url() }, ae_interval = 0.2, lazy_delay = 0.05 }, loop)
    assert(loop:run_until(function() return peer_ids(a)[b:id()] end, 5))
    ref = H.start_ref(loop, "--bootstrap " .. a:url())
    d = H.node({ gossip_interval = 60, peer_exchange_interval = 60 }, loop)
    d:add_peer(a:id(), a:url())
    a:add_peer(d:id(), d:url())
    tailer = H.node({}, loop) -- the spec's client for the fixture's /_test routes
    for _, n in ipairs({ a, b, d }) do hearsay[n:id()] = true end
  end)

  teardown(function()
    H.stop_ref(loop, ref)
    a:close(); b:close(); d:close(); tailer:close(); loop:close()
  end)

  local function status() return H.ref_test(loop, tailer, ref, "status") end

  -- The envelope the reference accepted with this id, as it arrived
  -- ({envelope, from, id_matches}), or nil.
  local function ref_got(id)
    for _, r in ipairs(H.ref_test(loop, tailer, ref, "received")) do
      if r.envelope.message_id == id then return r end
    end
  end

  local function ref_post(env)
    return H.fetch_json(loop, tailer, "POST", ref.url .. "/gossip", hs.json_encode(env), SPEC)
  end

  it("the reference bootstraps from hearsay and takes every entry of its /peers list", function()
    -- One entry with a key the reference does not know would end its list
    -- there: b (listed by a, learned from nothing else yet) would be missing.
    local boot = status().bootstrap
    assert.equal(1, #boot)
    assert.equal(a:url(), boot[1].url)
    assert.equal(a:id(), boot[1].node_id)
    assert.equal(hs.null, boot[1].error, tostring(boot[1].error))
    assert.equal(1, boot[1].listed)
    assert.same({ b:id() }, boot[1].added)
  end)

  it("hearsay learns the reference through its peer_announce, at its URL", function()
    assert.is_true(loop:run_until(function() return peer_ids(a)[ref.id] and peer_ids(b)[ref.id] end, 10))
    assert.equal(ref.url, peer_ids(a)[ref.id].url)
    -- and probes it with GET /health (it has no /ping): it is alive
    assert.is_true(loop:run_until(function()
      local p = peer_ids(a)[ref.id]
      return p and p.latency_ms ~= nil and p.state == "alive"
    end, 5))
  end)

  it("a hearsay node bootstraps from the reference node", function()
    local c = H.node({ bootstrap = { ref.url } }, loop)
    hearsay[c:id()] = true
    assert.is_true(loop:run_until(function()
      local ids = peer_ids(c)
      return ids[ref.id] and ids[a:id()] and ids[b:id()]
    end, 10))
    c:close()
  end)

  it("a hearsay broadcast reaches the reference, with the reference's message id", function()
    assert(loop:run_until(function() return peer_ids(a)[ref.id] end, 10))
    local id = a:broadcast("chat", { text = "from h\xc3\xa9arsay", x = 1.1, n = { 1, 2.5, "\xe2\x82\xac" } })
    local got
    assert.is_true(loop:run_until(function() got = ref_got(id); return got end, 10))
    assert.equal("from h\xc3\xa9arsay", got.envelope.payload.text)
    -- sha256 of Python's sorted-keys json.dumps of {type, payload,
    -- timestamp, node}, recomputed by the reference from what it received
    assert.is_true(got.id_matches, "message_id is not the reference's formula")
  end)

  it("a reference broadcast reaches every hearsay node, its hops inferred from its ttl", function()
    -- (d's way in is a's push: a makes d an eager link when d asks to be
    -- fed, a probe_interval or two after it learned a. A copy d got by a
    -- lazy offer instead carries the hops a kept, not one more.)
    assert.is_true(loop:run_until(function()
      local p = H.peer(a, d:id())
      return p ~= nil and p.eager
    end, 5), "a pushes to d")
    local got = H.record({ a, b, d }, "chat")
    local st, ans = H.fetch_json(loop, tailer, "POST", ref.url .. "/_test/broadcast",
      hs.json_encode({ type = "chat", payload = { text = "from the reference" } }), SPEC)
    assert.equal(200, st)
    local id = ans.message_id
    assert.is_true(loop:run_until(function() return got[1][id] and got[2][id] and got[3][id] end, 10))
    for i = 1, 3 do
      assert.equal("from the reference", got[i][id].payload.text)
      assert.equal(ref.id, got[i][id].origin)
    end
    -- The reference sends ttl 10 and no hops (nor X-Hearsay-From: the
    -- sender is ""): a node it reached directly infers one hop; a hearsay
    -- node that got it from another counts one more (d, known to a alone,
    -- always so).
    local by_id = { [a:id()] = 1, [b:id()] = 2, [d:id()] = 3 }
    for i = 1, 3 do
      local m = got[i][id]
      if m.sender == "" then
        assert.same({ 1, 10 }, { m.hops, m.ttl })
      else
        local prev = got[by_id[m.sender]][id]
        assert.same({ prev.hops + 1, prev.ttl - 1 }, { m.hops, m.ttl })
      end
    end
    assert.equal(a:id(), got[3][id].sender)
  end)

  it("a reference relays only the seven fields: hearsay's hops are inferred again", function()
    -- e knows only the reference: what a hearsay node sends e goes
    -- through the reference, which drops hearsay's "hops".
    local e = H.node({ gossip_interval = 60, peer_exchange_interval = 60 }, loop)
    hearsay[e:id()] = true
    e:add_peer(ref.id, ref.url)
    local st = ref_post({ message_id = H.id(), message_type = "peer_announce", ttl = 0,
      timestamp = os.time(), payload = { node_id = e:id(), url = e:url() } })
    assert.equal(200, st)
    assert.is_true(loop:run_until(function()
      for _, id in ipairs(status().peers) do if id == e:id() then return true end end
      return false
    end, 5))
    local got = H.record({ e }, "news")
    local env = H.envelope({ message_id = H.id(), message_type = "news", ttl = 10, hops = 0,
      origin_peer = a:id(), seen_by = hs.array({ a:id(), b:id(), d:id() }) })
    -- as if a had just broadcast it with ttl 10, to the reference alone
    st = ref_post(env)
    assert.equal(200, st)
    assert.is_true(loop:run_until(function() return got[1][env.message_id] end, 10))
    local m = got[1][env.message_id]
    assert.equal(9, m.ttl)
    assert.equal(2, m.hops) -- 11 - 9: no "hops" came with it
    -- the bytes e keeps (they are served as they arrived) have no hops
    local _, kept = H.fetch_json(loop, tailer, "POST", e:url() .. "/fetch",
      hs.json_encode({ ids = { env.message_id } }))
    assert.equal(1, #kept)
    assert.is_nil(kept[1].hops)
    assert.same({ a:id(), b:id(), d:id(), ref.id }, kept[1].seen_by)
    e:close()
  end)

  it("an envelope without origin_peer or seen_by, of any type, crosses a reference and hearsay", function()
    local got = H.record({ a, b, d })
    -- posted to the reference, which relays it with origin_peer "" and
    -- seen_by [its id]; d has it only through a
    local env = bare_envelope()
    local st, ans = ref_post(env)
    assert.equal(200, st)
    assert.equal("accepted", ans.status)
    assert.is_true(loop:run_until(function()
      return got[1][env.message_id] and got[2][env.message_id] and got[3][env.message_id]
    end, 10))
    for i = 1, 3 do
      local m = got[i][env.message_id]
      assert.equal(ODD_TYPE, m.type)
      assert.equal("", m.origin)
      assert.equal("bare", m.payload.text)
    end
    -- (d's peer a, or b, which a's announces may have told d of meanwhile)
    local sender = got[3][env.message_id].sender
    assert.is_true(sender == a:id() or sender == b:id(), sender)
    -- the reference's own broadcast without the two fields
    st, ans = H.fetch_json(loop, tailer, "POST", ref.url .. "/_test/broadcast", hs.json_encode({
      type = "\xe2\x98\x83 snow/man", payload = { k = 1 }, omit = { "origin_peer", "seen_by" } }), SPEC)
    assert.equal(200, st)
    local id = ans.message_id
    assert.is_true(loop:run_until(function() return got[3][id] end, 10))
    assert.equal("\xe2\x98\x83 snow/man", got[3][id].type)
    assert.equal("", got[3][id].origin)
    -- and the other way: posted to hearsay, it reaches the reference
    env = bare_envelope()
    st = H.post_gossip(loop, tailer, d:url(), env)
    assert.equal(200, st)
    local r
    assert.is_true(loop:run_until(function() r = ref_got(env.message_id); return r end, 10))
    assert.equal(ODD_TYPE, r.envelope.message_type)
    assert.equal("", r.envelope.origin_peer)
    assert.same({}, status().errors)
  end)

  it("a reference node takes a hearsay state_update and notes its version", function()
    b:update_state("interop-root")
    local newest
    assert.is_true(loop:run_until(function()
      newest = status().newest_state
      return newest ~= hs.null
    end, 10))
    assert.same({ merkle_root = "interop-root", state_version = 1, origin = b:id() }, newest)
  end)

  it("hearsay keeps a reference whose answers wait behind its serial health checks", function()
    -- The reference checks its peers one after another, holding its peer
    -- table's lock, and choosing forward targets waits for that lock. A
    -- peer of the reference that never answers (a node whose loop does not
    -- run) holds each round for the whole health timeout (2 s here), more
    -- than hearsay's request_timeout (1 s): gossip to the reference times
    -- out, while its GET /health answers at once.
    local qloop = hs.loop()
    local quiet = H.node({}, qloop)
    local slow = H.start_ref(loop, "--bootstrap " .. a:url() .. " --health-timeout 2")
    H.fetch(loop, tailer, "POST", slow.url .. "/gossip", hs.json_encode({ message_id = H.id(),
      message_type = "peer_announce", ttl = 0, timestamp = os.time(),
      payload = { node_id = "quiet", url = quiet:url() } }), SPEC)
    -- c knows only the slow reference, probes it once and then rarely, and
    -- would suspect it after two failed probes.
    local c = H.node({ gossip_interval = 60, peer_exchange_interval = 60, lazy_fanout = 0,
      dead_after = 2, health_interval = 60, probe_interval = 60 }, loop)
    c:add_peer(slow.id, slow.url)
    assert.is_true(loop:run_until(function() return H.peer(c, slow.id).latency_ms ~= nil end, 5))
    -- Bursts of four pushes (four connections): they wait for the lock
    -- together and time out together, until two pushes have failed.
    local failed = 0
    for round = 1, 8 do
      for k = 1, 4 do c:broadcast("chat", { round = round, k = k }) end
      loop:run_for(1.5)
      failed = c:metrics().send_errors
      if failed >= 2 then break end
    end
    local slow_status = H.ref_test(loop, tailer, slow, "status")
    loop:run_for(1.5) -- a maintenance tick re-probes an unhealthy peer
    local p = H.peer(c, slow.id, true)
    local m = c:metrics()
    H.stop_ref(loop, slow)
    c:close(); quiet:close(); qloop:close()
    assert.is_true(failed >= 2, failed .. " pushes to the reference timed out")
    assert.is_true(#slow_status.peers >= 2, "the reference did not take the quiet peer")
    -- a failed push makes a peer unhealthy, never suspect: only probes count
    assert.equal(0, m.suspicions)
    assert.is_not_nil(p)
    assert.equal("alive", p.state)
  end)

  it("hearsay sends the reference only GET /health, GET /peers and single envelopes", function()
    -- A burst hearsay would batch to a hearsay peer; meanwhile probes,
    -- anti-entropy rounds and lazy offers go on among a, b and d.
    assert(loop:run_until(function() return peer_ids(a)[ref.id] and peer_ids(b)[ref.id] end, 10))
    -- The burst needs a hearsay peer in a's tree to be batched to. The
    -- cases above may have left b and d both pruned from it (a copy the
    -- reference relayed reached them first); a broadcast of a's own grafts
    -- them back.
    assert.is_true(loop:run_until(function()
      local p = peer_ids(a)
      if (p[b:id()] or {}).eager or (p[d:id()] or {}).eager then return true end
      a:broadcast("chat", { warm = true })
      return false
    end, 10, 0.2), "a has no eager hearsay peer")
    local ids = {}
    for i = 1, 30 do ids[i] = a:broadcast("chat", { i = i }) end
    assert.is_true(loop:run_until(function()
      for _, id in ipairs(ids) do if not ref_got(id) then return false end end
      return true
    end, 10))
    loop:run_for(1)
    assert.is_true(a:metrics().batches_sent + b:metrics().batches_sent >= 1, "nothing was batched at all")
    assert.is_true(a:metrics().ae_rounds >= 1)
    local seen, bad = {}, {}
    local n = 0
    for _, r in ipairs(H.ref_test(loop, tailer, ref, "requests")) do
      -- (not the spec's own, nor those of the other reference node above)
      if not r.spec and not tostring(r.agent):match("aiohttp") then
        n = n + 1
        local what = ("%s %s%s (%s body)"):format(r.method, r.path,
          r.query ~= "" and "?" .. r.query or "", r.body)
        seen[what] = true
        local ok = (r.method == "GET" and (r.path == "/health" or r.path == "/peers")
            and r.query == "" and r.body == "none")
          or (r.method == "POST" and r.path == "/gossip" and r.query == "" and r.body == "object")
        if not ok then bad[#bad + 1] = what end
        -- every request of a hearsay node says who sends it
        if r.from == hs.null or not hearsay[r.from] then
          bad[#bad + 1] = what .. " from " .. tostring(r.from)
        end
      end
    end
    assert.same({}, bad)
    assert.is_true(n >= 30, n .. " requests from hearsay nodes")
    -- and each kind did happen
    assert.is_true(seen["GET /health (none body)"])
    assert.is_true(seen["POST /gossip (object body)"])
    assert.same({}, status().errors)
  end)
end)
