-- The Lua loop object: bounded runs, timers, and predicates.
local hs = H.hs

describe("loop:run_until", function()
  it("returns true, not the predicate's value, when it already holds", function()
    local loop = hs.loop()
    assert.equal(true, loop:run_until(function() return { "truthy" } end, 1))
    loop:close()
  end)

  it("returns false after the timeout when the predicate never holds", function()
    local loop = hs.loop()
    local t0 = loop:now()
    assert.equal(false, loop:run_until(function() return false end, 0.2))
    assert.is_true(loop:now() - t0 >= 0.19)
    loop:close()
  end)

  it("raises when the predicate raises, with the predicate's message", function()
    local loop = hs.loop()
    local calls = 0
    local ok, err = pcall(loop.run_until, loop, function()
      calls = calls + 1 -- the first call is made before the loop runs; the second from it
      if calls == 2 then error("boom at step") end
      return false
    end, 1, 0.01)
    assert.is_false(ok)
    assert.matches("boom at step", err, 1, true)
    loop:close()
  end)
end)

describe("loop:timer", function()
  it("fires once or repeatedly, and stops when closed", function()
    local loop = hs.loop()
    local once, every = 0, 0
    local t1 = loop:timer(0.01, 0, function() once = once + 1 end)
    local t2 = loop:timer(0.01, 0.01, function() every = every + 1 end)
    loop:run_until(function() return every >= 5 end, 2)
    t2:close()
    local n = every
    loop:run_for(0.05)
    assert.equal(1, once)
    assert.equal(n, every)
    t1:close()
    loop:close()
  end)
end)

describe("json helpers", function()
  it("round-trip values, empty arrays and null", function()
    local t = hs.json_decode('{"a":[],"b":{},"c":null,"d":[1,2.5,"x"]}')
    assert.equal(hs.null, t.c)
    assert.equal('{"a":[],"b":{},"c":null,"d":[1,2.5,"x"]}', hs.json_encode(t, true))
  end)

  it("refuse what JSON cannot say", function()
    assert.has_error(function() hs.json_encode({ f = print }) end)
    assert.has_error(function() hs.json_encode({ [1] = 1, x = 2 }) end)
    local cyclic = {}
    cyclic.self = cyclic
    assert.has_error(function() hs.json_encode(cyclic) end)
  end)
end)

describe("node:fetch", function()
  it("counts its timeout from when the request is made, even after the loop was held up", function()
    -- (The timer took the loop's cached time: after 1.5 s of Lua without a
    -- turn of the loop, a 1 s request timed out before it was sent.)
    local loop = hs.loop()
    local a, b = H.node({}, loop), H.node({}, loop)
    loop:run_for(0.05)
    local deadline = os.clock() + 1.5
    while os.clock() < deadline do end
    local status
    a:fetch("GET", b:url() .. "/health", nil, function(st) status = st end, 1)
    assert.is_true(loop:run_until(function() return status ~= nil end, 5))
    assert.equal(200, status)
    a:close(); b:close(); loop:close()
  end)
end)

-- The helper for specs whose node listens on a port known beforehand
-- (settings_spec public_url, membership_spec re-bootstrap) or comes back on
-- its port (membership_spec, process_spec): CI saw "Address already in
-- use" on 2026-12-06 when such a port came from the ephemeral range.
describe("H.on_spare_port", function()
  it("gives ports below the kernel's ephemeral range, which no outgoing connection takes", function()
    local loop = hs.loop()
    local low = H.ephemeral_low()
    for _ = 1, 20 do
      local node = H.spare_node({}, loop)
      assert.is_true(node:port() < low and node:port() > 1024, tostring(node:port()))
      node:close()
    end
    loop:close()
  end)

  it("tries another port when another socket listens on the first", function()
    local loop = hs.loop()
    local thief, tries, ports = nil, 0, {}
    local node = H.on_spare_port(loop, function(port)
      tries = tries + 1
      ports[tries] = port
      if tries == 1 then thief = H.node({ port = port }, loop) end
      return H.try_node({ port = port }, loop)
    end)
    assert.equal(2, tries)
    assert.not_equal(ports[1], ports[2])
    assert.equal(ports[2], node:port())
    node:close(); thief:close(); loop:close()
  end)

  it("gives up after 5 tries with the reason", function()
    local loop = hs.loop()
    local tries = 0
    local ok, err = pcall(H.on_spare_port, loop, function()
      tries = tries + 1
      return nil, "taken"
    end)
    assert.is_false(ok)
    assert.equal(5, tries)
    assert.matches("no spare port could be listened on in 5 tries: taken", err, 1, true)
    loop:close()
  end)
end)
