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
