-- Signed mode: every message is signed by its origin's Ed25519 key (a node's
-- id is its public key) and checked before it is accepted, handled or
-- forwarded; state only from the writers. And in every mode: a node's own
-- signed word about itself (its URL, that it is alive) is believed at once.
local hs = H.hs

local KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

-- n signed nodes that know each other and have probed each other.
local function signed_mesh(n, extra)
  return H.mesh(n, function(i)
    local s = { security = "signed", cluster_keys = { KEY } }
    for k, v in pairs(extra and extra(i) or {}) do s[k] = v end
    return s
  end)
end

-- POSTs env (a table) to node's /gossip as a member would (the cluster
-- key's HMAC, nothing else vouched for): status, decoded answer.
local function post(loop, client, node, env)
  local body = hs.json_encode(env)
  local auth = hs.auth_header(KEY, "POST", "/gossip", nil, body)
  local st, text = H.fetch(loop, client, "POST", node:url() .. "/gossip", body, auth)
  return st, text and hs.json_decode(text)
end

-- An envelope as `origin` sends it, signed with `seed`'s key (at time ts,
-- or now).
local function signed(seed, origin, mtype, payload, over, ts)
  ts = ts or os.time() + math.random()
  local id, sig = hs.sign_message(seed, mtype, payload, ts, origin)
  local e = { message_id = id, message_type = mtype, payload = payload, timestamp = ts, ttl = 3,
    origin_peer = origin, seen_by = hs.array({ origin }), signature = sig }
  for k, v in pairs(over or {}) do e[k] = v end
  return e
end

describe("a signed cluster", function()
  local loop, nodes, client, outsider

  setup(function()
    loop, nodes = signed_mesh(3)
    client = H.node({}, loop)
    outsider = H.node({}, loop) -- a key pair of its own, not 1's
  end)

  teardown(function()
    for _, node in ipairs(nodes) do node:close() end
    client:close(); outsider:close(); loop:close()
  end)

  it("spreads messages signed by their origin, and relays keep the signature", function()
    local got = H.record({ nodes[2], nodes[3] })
    local id = nodes[1]:broadcast("chat", { text = "signed" })
    assert.is_true(loop:run_until(function() return got[1][id] and got[2][id] end, 5))
    local body = hs.json_encode({ ids = { id } })
    local st, text = H.fetch(loop, client, "POST", nodes[3]:url() .. "/fetch", body,
      hs.auth_header(KEY, "POST", "/fetch", nil, body))
    assert.equal(200, st)
    local kept = hs.json_decode(text)[1]
    assert.equal(nodes[1]:id(), kept.origin_peer)
    assert.equal(128, #kept.signature)
    assert.equal(0, nodes[3]:metrics().messages_forged)
  end)

  it("refuses an unsigned message with 401, and counts it", function()
    local before = nodes[2]:metrics().messages_unsigned
    local st, a = post(loop, client, nodes[2], H.envelope({ origin_peer = nodes[1]:id() }))
    assert.equal(401, st)
    assert.matches("unsigned", a.error)
    assert.equal(before + 1, nodes[2]:metrics().messages_unsigned)
  end)

  it("refuses a forged, a re-signed and an altered message with 403, and counts them", function()
    local origin = nodes[1]:id()
    local before = nodes[2]:metrics().messages_forged
    -- Forged: a signature of nobody's.
    local e = signed(outsider:secret_key(), origin, "chat", { text = "x" })
    e.signature = ("ab"):rep(64)
    local st, a = post(loop, client, nodes[2], e)
    assert.equal(403, st)
    assert.matches("not the origin's", a.error)
    -- Re-signed: the right id for origin 1, signed with another key.
    st, a = post(loop, client, nodes[2], signed(outsider:secret_key(), origin, "chat", { text = "y" }))
    assert.equal(403, st)
    assert.matches("not the origin's", a.error)
    -- Altered: node 1's own message, its payload changed on the way.
    local id = nodes[1]:broadcast("chat", { text = "original" })
    loop:run_until(function() return nodes[3]:copies(id) > 0 end, 3)
    local body = hs.json_encode({ ids = { id } })
    local _, text = H.fetch(loop, client, "POST", nodes[3]:url() .. "/fetch", body,
      hs.auth_header(KEY, "POST", "/fetch", nil, body))
    local real = hs.json_decode(text)[1]
    real.payload.text = "altered"
    local fresh = H.node({ security = "signed", cluster_keys = { KEY } }, loop)
    st, a = post(loop, client, fresh, real)
    assert.equal(403, st)
    assert.matches("not the hash", a.error)
    -- The same message unaltered is a relay: taken.
    real.payload.text = "original"
    st = post(loop, client, fresh, real)
    assert.equal(200, st)
    assert.equal(before + 2, nodes[2]:metrics().messages_forged)
    assert.equal(1, fresh:metrics().messages_forged)
    fresh:close()
  end)

  it("a forged copy does not make the real message a duplicate", function()
    local ts = os.time() + 0.5
    local id, sig = hs.sign_message(nodes[1]:secret_key(), "chat", { text = "real" }, ts,
      nodes[1]:id())
    local e = { message_id = id, message_type = "chat", payload = { text = "real" },
      timestamp = ts, ttl = 0, origin_peer = nodes[1]:id(), seen_by = hs.array({}) }
    e.signature = ("cd"):rep(64)
    assert.equal(403, (post(loop, client, nodes[2], e)))
    e.signature = sig
    local st, a = post(loop, client, nodes[2], e)
    assert.equal(200, st)
    assert.equal("accepted", a.status)
  end)
end)

describe("state in a signed cluster", function()
  it("is taken only from the writers", function()
    -- Node 1's key pair, made first: the writers list names its public key.
    local loop = hs.loop()
    local maker = H.node({}, loop)
    local seed, writer_key = maker:secret_key(), maker:public_key()
    maker:close()
    local loop2, nodes = signed_mesh(3, function(i)
      return { node_key = i == 1 and seed or nil, writers = { writer_key } }
    end)
    loop:close()
    loop = loop2
    assert.equal(writer_key, nodes[1]:id())
    -- Node 2 is a member, not a writer: its update stays its own.
    local before = nodes[1]:metrics().messages_forged
    nodes[2]:update_state("from-2")
    loop:run_for(0.5)
    assert.equal("", nodes[1]:merkle_root())
    assert.equal("", nodes[3]:merkle_root())
    assert.is_true(nodes[1]:metrics().messages_forged > before)
    -- The writer's goes everywhere.
    nodes[1]:update_state("from-1")
    assert.is_true(loop:run_until(function()
      return nodes[3]:merkle_root() == "from-1"
    end, 5))
    -- A member's digest naming a newer state is nobody's signature: the
    -- ids are answered, the state is not taken (nor spread by digests).
    local client = H.node({}, loop)
    local body = hs.json_encode({ ids = hs.array({}),
      state = { merkle_root = "from-a-digest", state_version = 7 } })
    local st = H.fetch(loop, client, "POST", nodes[3]:url() .. "/digest", body,
      hs.auth_header(KEY, "POST", "/digest", nil, body))
    assert.equal(200, st)
    loop:run_for(0.3)
    for _, i in ipairs({ 1, 3 }) do -- (2 keeps its own: a tie, and its root is larger)
      assert.equal("from-1", nodes[i]:merkle_root())
      assert.equal(1, nodes[i]:state_version())
    end
    client:close()
    for _, node in ipairs(nodes) do node:close() end
    loop:close()
  end)
end)

describe("a node's signed word about itself", function()
  it("moves its URL at once, where a stranger's word does not (open mode)", function()
    local loop = hs.loop()
    local a = H.node({ gossip_interval = 60, peer_exchange_interval = 60 }, loop)
    local v = H.node({ gossip_interval = 60, peer_exchange_interval = 60 }, loop)
    local client = H.node({}, loop)
    a:add_peer(v:id(), v:url())
    assert.is_true(H.probed(loop, a, 5))
    local new_url = "http://127.0.0.1:1/moved"
    local payload = { node_id = v:id(), url = new_url, merkle_root = "", timestamp = os.time() }
    -- Unsigned: refused while v is alive at its URL.
    H.post_gossip(loop, client, a:url(), H.envelope({ message_type = "peer_announce",
      origin_peer = v:id(), payload = payload }))
    assert.equal(v:url(), H.peer(a, v:id()).url)
    -- Signed by v's own key: believed.
    local e = signed(v:secret_key(), v:id(), "peer_announce", payload)
    assert.equal(200, (H.post_gossip(loop, client, a:url(), e)))
    assert.equal(new_url, H.peer(a, v:id(), true).url)
    -- A claim v signed earlier, recorded and replayed now (another id: a
    -- copy of the same one would be a duplicate), moves nothing back.
    local older = { node_id = v:id(), url = v:url(), merkle_root = "", timestamp = os.time() - 5 }
    local replay = signed(v:secret_key(), v:id(), "peer_announce", older, nil, e.timestamp - 5)
    assert.equal(200, (H.post_gossip(loop, client, a:url(), replay)))
    assert.equal(new_url, H.peer(a, v:id(), true).url)
    -- Nor one older than the seen cache remembers (seen_ttl, 300 s), on
    -- a node that has taken none of v's claims yet.
    local b = H.node({ gossip_interval = 60, peer_exchange_interval = 60 }, loop)
    b:add_peer(v:id(), "http://127.0.0.1:1/gone")
    local stale = signed(v:secret_key(), v:id(), "peer_announce",
      { node_id = v:id(), url = new_url, merkle_root = "", timestamp = os.time() - 400 }, nil,
      os.time() - 400)
    local refused = b:metrics().claims_refused
    assert.equal(200, (H.post_gossip(loop, client, b:url(), stale)))
    assert.equal("http://127.0.0.1:1/gone", H.peer(b, v:id(), true).url)
    assert.is_true(b:metrics().claims_refused > refused)
    -- The same claim signed now is believed there.
    local now = signed(v:secret_key(), v:id(), "peer_announce",
      { node_id = v:id(), url = new_url, merkle_root = "", timestamp = os.time() })
    assert.equal(200, (H.post_gossip(loop, client, b:url(), now)))
    assert.equal(new_url, H.peer(b, v:id(), true).url)
    b:close()
    a:close(); v:close(); client:close(); loop:close()
  end)
end)
