-- Interoperability with the reference node (spec/reference/ref_node.py, a
-- re-creation of it from REFERENCE.md): each side bootstraps from the other,
-- reads the other's /peers, and gossips in both directions.
local hs = H.hs

local read = H.read

local function peer_ids(node)
  local ids = {}
  for _, p in ipairs(node:peers()) do ids[p.id] = true end
  return ids
end

describe("with a reference node", function()
  local loop, a, b, ref

  setup(function()
    loop = hs.loop()
    a = H.node({}, loop)
    b = H.node({ bootstrap = { a:url() } }, loop)
    loop:run_until(function() return peer_ids(a)[b:id()] end, 5)
    ref = H.start_ref(loop, "--bootstrap " .. a:url())
  end)

  teardown(function()
    H.stop_ref(loop, ref)
    a:close(); b:close(); loop:close()
  end)

  it("the reference bootstraps from hearsay and accepts its /peers list", function()
    -- Its /peers holds the bootstrap node and the peer it learned from
    -- a's list: the list passed its six-keys check.
    assert.is_true(loop:run_until(function()
      local st, list = H.fetch_json(loop, a, "GET", ref.url .. "/peers")
      if st ~= 200 then return false end
      local ids = {}
      for _, p in ipairs(list) do ids[p.peer_id] = true end
      return ids[a:id()] and ids[b:id()]
    end, 10), read(ref.log))
    assert.not_matches("rejected", read(ref.log))
  end)

  it("hearsay learns the reference through its peer_announce", function()
    assert.is_true(loop:run_until(function() return peer_ids(a)[ref.id] end, 10))
  end)

  it("a hearsay node bootstraps from the reference node", function()
    local c = H.node({ bootstrap = { ref.url } }, loop)
    assert.is_true(loop:run_until(function()
      local ids = peer_ids(c)
      return ids[ref.id] and ids[a:id()]
    end, 10))
    c:close()
  end)

  it("a hearsay broadcast reaches the reference node", function()
    loop:run_until(function() return peer_ids(a)[ref.id] end, 10)
    local id = a:broadcast("chat", { text = "from hearsay" })
    assert.is_true(loop:run_until(function()
      local _, got = H.fetch_json(loop, a, "GET", ref.url .. "/_test/received")
      for _, m in ipairs(got or {}) do
        if m.message_id == id then return m.payload.text == "from hearsay" end
      end
      return false
    end, 10))
  end)

  it("a reference broadcast reaches every hearsay node", function()
    local got = H.record({ a, b }, "chat")
    local st, ans = H.fetch_json(loop, a, "POST", ref.url .. "/_test/broadcast",
      hs.json_encode({ type = "chat", payload = { text = "from the reference" } }))
    assert.equal(200, st)
    local id = ans.message_id
    assert.is_true(loop:run_until(function() return got[1][id] and got[2][id] end, 10))
    assert.equal("from the reference", got[1][id].payload.text)
    assert.equal(ref.id, got[1][id].origin)
  end)

  it("a reference node takes a hearsay state_update without complaint", function()
    b:update_state("interop-root")
    loop:run_for(0.5)
    local _, health = H.fetch_json(loop, a, "GET", ref.url .. "/health")
    assert.equal("healthy", health.status)
    assert.not_matches("Traceback", read(ref.log))
  end)
end)
