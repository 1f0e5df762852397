-- cluster_label (memberlist's Label; README, Security): two clusters that
-- share addresses never merge, and each says why it refused the other.
local hs = H.hs

describe("cluster_label", function()
  it("keeps two clusters apart, and a labelled one works as one", function()
    local loop = hs.loop()
    local function cluster(label)
      local a = H.node({ cluster_label = label, ae_interval = 0.2 }, loop)
      local b = H.node({ cluster_label = label, ae_interval = 0.2, bootstrap = { a:url() } }, loop)
      return a, b
    end
    local a1, a2 = cluster("blue")
    local b1, b2 = cluster("green")
    assert.is_true(loop:run_until(function()
      return #a1:peers() == 1 and #a2:peers() == 1 and #b1:peers() == 1 and #b2:peers() == 1
    end, 5), "each cluster formed")
    -- now each is told of the other
    a1:add_peer(b1:id(), b1:url())
    b2:add_peer(a2:id(), a2:url())
    local got = H.record({ a1, a2, b1, b2 }, "chat")
    local id_a = a1:broadcast("chat", { c = "blue" })
    local id_b = b1:broadcast("chat", { c = "green" })
    loop:run_for(2)
    assert.is_not_nil(got[2][id_a], "blue reached blue")
    assert.is_not_nil(got[4][id_b], "green reached green")
    assert.is_nil(got[3][id_a] or got[4][id_a], "blue never reached green")
    assert.is_nil(got[1][id_b] or got[2][id_b], "green never reached blue")
    for _, p in ipairs(a1:peers()) do assert.is_not.equal(b1:id(), p.id) end
    assert.is_true(b1:metrics().http_wrong_cluster > 0)
    assert.equal("blue", a1:health().cluster_label)
    for _, n in ipairs({ a1, a2, b1, b2 }) do n:close() end
    loop:close()
  end)

  it("refuses requests without the label but GET /health, and labelled ones when it has none", function()
    local loop = hs.loop()
    local labelled = H.node({ cluster_label = "blue" }, loop)
    local plain = H.node({}, loop)
    -- plain's client sends no label
    local st, body = H.fetch(loop, plain, "POST", labelled:url() .. "/gossip",
      hs.json_encode(H.envelope()))
    assert.equal(403, st)
    assert.matches("another cluster", body)
    assert.equal(200, (H.fetch(loop, plain, "GET", labelled:url() .. "/health")))
    assert.equal(403, (H.fetch(loop, plain, "GET", labelled:url() .. "/ping")))
    -- labelled's client sends "blue" to a node without a label
    assert.equal(403, (H.fetch(loop, labelled, "GET", plain:url() .. "/health")))
    assert.equal(1, plain:metrics().http_wrong_cluster)
    assert.has_error(function() H.node({ cluster_label = "has space" }, loop) end)
    assert.has_error(function() H.node({ cluster_label = ("x"):rep(65) }, loop) end)
    labelled:close(); plain:close(); loop:close()
  end)

  it("is carried by the simulator's transport too", function()
    local code, out = H.sh(("%q sim --nodes 30 --seed 4 --broadcasts 2 --set cluster_label=blue 2>&1")
      :format(H.bin))
    assert.equal(0, code, out)
    assert.matches("invariants: all held", out)
  end)
end)
