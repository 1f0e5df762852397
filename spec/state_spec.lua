-- Replicated state: merkle_root + state_version set locally and carried by
-- state_update messages; a node that hears a newer version adopts it.
local hs = H.hs

describe("state", function()
  it("update_state bumps the version only when the root changes", function()
    local node, loop = H.node({})
    assert.equal(1, node:update_state("r1"))
    assert.equal(1, node:update_state("r1"))
    assert.equal(2, node:update_state("r2"))
    assert.equal("r2", node:merkle_root())
    node:close(); loop:close()
  end)

  it("spreads to every node, which adopts the newer version", function()
    local c = H.cluster(5)
    assert.is_true(c:converge(10))
    local changes = {}
    for i, node in ipairs(c.nodes) do
      node:on("state", function(s) changes[i] = s end)
    end
    c.nodes[2]:update_state("abc123")
    assert.is_true(c.loop:run_until(function()
      for _, node in ipairs(c.nodes) do
        if node:state_version() ~= 1 or node:merkle_root() ~= "abc123" then return false end
      end
      return true
    end, 5))
    -- Reactions fire with old and new root/version and who it came from.
    assert.same({ old_root = "", old_version = 0, root = "abc123", version = 1,
      from = c.nodes[2]:id() }, changes[4])
    assert.is_nil(changes[2].from) -- set locally
    assert.equal(1, c.nodes[3]:metrics().state_adopted)
    c:close()
  end)

  local function send_state(loop, client, node, root, version)
    local env = H.envelope({ message_id = H.id(), message_type = "state_update", ttl = 0,
      payload = { merkle_root = root, state_version = version } })
    return H.fetch_json(loop, client, "POST", node:url() .. "/gossip", hs.json_encode(env))
  end

  it("ignores an older version, and a tie no writer signed changes nothing", function()
    local loop = hs.loop()
    local node = H.node({}, loop)
    local client = H.node({}, loop)
    send_state(loop, client, node, "bbb", 5)
    assert.equal(5, node:state_version())
    send_state(loop, client, node, "zzz", 4)
    assert.equal("bbb", node:merkle_root())
    send_state(loop, client, node, "aaa", 5)
    assert.equal("bbb", node:merkle_root())
    -- A forger's "larger root" at the current version used to win the tie.
    local before = node:metrics().claims_refused
    send_state(loop, client, node, "ccc", 5)
    assert.equal("bbb", node:merkle_root())
    assert.equal(before + 1, node:metrics().claims_refused)
    send_state(loop, client, node, "ccc", 6)
    assert.equal("ccc", node:merkle_root())
    node:close(); client:close(); loop:close()
  end)

  it("ignores a state_update whose payload has the wrong shape", function()
    local loop = hs.loop()
    local node = H.node({}, loop)
    local client = H.node({}, loop)
    local st, a = send_state(loop, client, node, 42, "high")
    assert.equal(200, st)
    assert.equal("accepted", a.status)
    assert.equal(0, node:state_version())
    node:close(); client:close(); loop:close()
  end)
end)
