-- Addressing (issue 18): nodes listen on IPv6 and reach IPv6 peers
-- ("[::1]"), an IPv4 node and an IPv6 node are one cluster, and a node
-- that moves keeps its identity (id and key), not its address.
local hs = H.hs

describe("addressing", function()
  it("a cluster on ::1: it forms, gossips, and says its URL with brackets", function()
    local loop = hs.loop()
    local a = H.node({ host = "::1" }, loop)
    local b = H.node({ host = "::1", bootstrap = { a:url() } }, loop)
    local c = H.node({ host = "127.0.0.1", bootstrap = { a:url() } }, loop) -- IPv4 beside them
    assert.matches("^http://%[::1%]:%d+$", a:url())
    assert.is_true(loop:run_until(function()
      return #a:peers() == 2 and #b:peers() >= 1 and #c:peers() >= 1
    end, 5), "formed")
    local got = H.record({ b, c }, "chat")
    local id = a:broadcast("chat", { v = 6 })
    assert.is_true(loop:run_until(function() return got[1][id] and got[2][id] end, 5))
    -- its /peers names the IPv6 peer with brackets, which the reference reads too
    local st, list = H.fetch_json(loop, c, "GET", a:url() .. "/peers")
    assert.equal(200, st)
    local urls = {}
    for _, e in ipairs(list) do urls[e.url] = true end
    assert.is_true(urls[b:url()])
    a:close(); b:close(); c:close(); loop:close()
  end)

  it("a node that comes back at another address is the same node", function()
    local loop = hs.loop()
    local a = H.node({}, loop)
    local b = H.node({ bootstrap = { a:url() } }, loop)
    local id, secret = b:id(), b:secret_key()
    assert.is_true(loop:run_until(function() return H.peer(a, id) ~= nil end, 5))
    b:close()
    loop:run_for(0.1)
    -- the same key, a new port and family: the same id, its announce
    -- signed by it moves its URL at once
    local b2 = H.node({ host = "::1", node_key = secret, bootstrap = { a:url() } }, loop)
    assert.equal(id, b2:id())
    assert.is_true(loop:run_until(function()
      local p = H.peer(a, id)
      return p ~= nil and p.url == b2:url()
    end, 5), "a knows it at its new address")
    a:close(); b2:close(); loop:close()
  end)
end)
