-- Plugins in simulated nodes (issue 16): `hearsay sim --plugins DIR`,
-- config{ plugins = "DIR" } and hearsay.sim{ plugins = {...} } load a
-- config directory's plugins into every node through the plugin host real
-- nodes use, so a policy is judged in the simulator before it is deployed:
-- handlers see the simulated broadcasts, a policy drives the nodes'
-- choices, and the run still repeats itself from its seed.
local hs = H.hs

local sim_cmd, trace_of = H.sim, H.trace_of

-- A config directory: node.lua (its text) and plugin files { name = source }.
local function config_dir(node_lua, files)
  local dir = H.tmpdir()
  H.write(dir .. "/node.lua", node_lua)
  if files then
    os.execute(("mkdir -p %q"):format(dir .. "/plugins"))
    H.plugin_dir(files, dir .. "/plugins")
  end
  return dir
end

-- The shipped plugins, as `hearsay run` finds them.
local SHIPPED = ("plugin_path = { %q }"):format(H.src .. "/plugins")

-- Counts the chat messages each node's handler sees, by id, and what the
-- plugin API tells it of time and chance (virtual and seeded in a
-- simulation).
local COUNTER = [[
state.ids = state.ids or {}
state.n = state.n or 0
on.message("chat", function(msg)
  if not state.ids[msg.id] then state.n = state.n + 1 end
  state.ids[msg.id] = true
end)
on.start(function()
  state.time, state.now, state.clock = os.time(), node.now(), os.clock()
  state.random = math.random(1 << 30)
  state.date = os.date("!%Y-%m-%d")
end)
every(1000, function() state.ticks = (state.ticks or 0) + 1 end)
]]

-- Drops every chat message: a run with it cannot reach every node.
local DROP = [[on.message("chat", function() return "drop" end)]]

-- From one timer, node 3 broadcasts what the clock and the generator say:
-- the run's trace then depends on both.
local TICKER = [[
every(5000, function()
  if node.id() == "sim-00002" then
    node.broadcast("tick", { t = os.time(), r = math.random(1 << 30) })
  end
end)
]]

describe("hearsay.sim{plugins = ...}", function()
  it("runs a handler plugin on every node for each broadcast it is delivered", function()
    local dir = config_dir('return { plugins = { "counter" } }', { counter = COUNTER })
    local s = hs.sim({ nodes = 30, seed = 4, plugins = { dir = dir } })
    assert(s:run(20))
    local a = s:broadcast(1, "chat", { text = "one" })
    local b = s:broadcast(17, "chat", { text = "two" })
    assert(s:run(15))
    for _, d in ipairs(s:deliveries()) do assert.equals(30, d.reached) end
    for i = 1, 30 do
      local st = s:plugin_state(i, "counter")
      -- Handlers see what came from the network (not the node's own).
      assert.equals(i ~= 1 or nil, st.ids[a], "node " .. i .. ", broadcast 1")
      assert.equals(i ~= 17 or nil, st.ids[b], "node " .. i .. ", broadcast 2")
      assert.equals((i == 1 or i == 17) and 1 or 2, st.n)
      -- `every` runs on the virtual clock: 35 virtual seconds, 35 ticks.
      assert.is_true(st.ticks >= 34 and st.ticks <= 35, "ticks " .. tostring(st.ticks))
    end
    local info = s:plugin_info(5)
    assert.equals("counter", info.plugins[1].name)
    assert.equals(0, info.plugins[1].errors)
    s:close()
  end)

  it("gives plugins the simulation's clocks and a generator seeded by its seed", function()
    local dir = config_dir('return { plugins = { "counter" } }', { counter = COUNTER })
    local function starts(seed)
      local s = hs.sim({ nodes = 4, seed = seed, plugins = { dir = dir } })
      local v = {}
      for i = 1, 4 do v[i] = s:plugin_state(i, "counter") end
      s:close()
      return v
    end
    local a, b, c = starts(9), starts(9), starts(10)
    -- Virtual time: the simulation starts at the same instant every run
    -- (2026-12-04, far from the real clock), and os.clock starts at 0.
    assert.equals(1796400000, a[1].time)
    assert.equals("2026-12-04", a[1].date)
    assert.equals(1000, a[1].now)
    assert.equals(0, a[1].clock)
    -- Each node draws its own numbers; the same seed draws the same ones.
    assert.are_not.equal(a[1].random, a[2].random)
    for i = 1, 4 do assert.equals(a[i].random, b[i].random) end
    assert.are_not.equal(a[1].random, c[1].random)
  end)

  it("starts a restarted node's plugins afresh, and refuses plugins that do not load", function()
    local dir = config_dir('return { plugins = { "counter" } }', { counter = COUNTER })
    local s = hs.sim({ nodes = 8, seed = 2, plugins = { dir = dir } })
    assert(s:run(10))
    assert.equals(10, s:plugin_state(3, "counter").ticks)
    s:crash(3)
    assert(s:run(5))
    assert.equals(10, s:plugin_state(3, "counter").ticks) -- a crashed node runs nothing
    s:restart(3)
    assert(s:run(3))
    assert.equals(3, s:plugin_state(3, "counter").ticks)
    s:close()
    local bad = config_dir('return { plugins = { "broken" } }', { broken = "on.message(" })
    local ok, err = pcall(hs.sim, { nodes = 3, plugins = { dir = bad } })
    assert.is_false(ok)
    assert.matches("plugins: node 1: .*broken%.lua:1:", err)
  end)
end)

describe("hearsay sim --plugins", function()
  it("loads the plugins: a handler that drops chat keeps broadcasts from the cluster", function()
    local dir = config_dir('return { plugins = { "drop" } }', { drop = DROP })
    local code, out = sim_cmd("--nodes 30 --seed 5 --broadcasts 1")
    assert.equals(0, code, out)
    code, out = sim_cmd(("--nodes 30 --seed 5 --broadcasts 1 --plugins %q"):format(dir))
    assert.equals(1, code, out)
    assert.matches("plugins: drop from .* %(policy none", out)
    assert.matches("VIOLATED: broadcast 1 reached %d+ of 30 live nodes", out)
    assert.matches("replay: hearsay sim .*%-%-plugins '" .. dir:gsub("%p", "%%%0") .. "'", out)
  end)

  it("judges region_policy: only same-region peers cut the pushes between regions", function()
    local matrix = "--matrix '0.001,0.05,0.08;0.05,0.001,0.06;0.08,0.06,0.001'"
    local args = "--nodes 90 --seed 7 --broadcasts 5 --json - " .. matrix
    local dir = config_dir(([[return { %s,
      plugins = { { "region_policy", remote = 0 } }, policy = "region" }]]):format(SHIPPED))
    local code, out = sim_cmd(args)
    assert.equals(0, code, out)
    local without = hs.json_decode(out)
    code, out = sim_cmd(args .. (" --plugins %q"):format(dir))
    assert.equals(0, code, out) -- anti-entropy still takes every message everywhere
    local with = hs.json_decode(out)
    assert.equals(without.trace == with.trace, false)
    assert.equals("region", with.plugins.policy)
    assert.equals(0, with.plugins.errors)
    assert.is_true(with.plugins.calls >= 90, "policy calls " .. with.plugins.calls)
    -- Without it the core's tree crosses regions freely; with it a push
    -- leaves a region only by anti-entropy's repairs.
    local w, p = without.cross_region.pushes, with.cross_region.pushes
    assert.is_true(p * 2 < w, ("gossip pushes between regions: %d with, %d without"):format(p, w))
    -- ...so the last region to hear a message waits for a repair.
    assert.is_true(with.broadcasts[1].p100 > 2 * without.broadcasts[1].p100)
  end)

  it("gives the same trace for the same seed and plugins, another for another seed", function()
    local dir = config_dir(([[return { %s,
      plugins = { "ticker", "region_policy" }, policy = "region" }]]):format(SHIPPED),
      { ticker = TICKER })
    local args = ("--nodes 40 --broadcasts 2 --matrix '0.001,0.05;0.05,0.001' --plugins %q")
      :format(dir)
    local c1, a = sim_cmd("--seed 11 " .. args)
    local c2, b = sim_cmd("--seed 11 " .. args)
    local c3, c = sim_cmd("--seed 12 " .. args)
    local c4, d = sim_cmd("--seed 11 --nodes 40 --broadcasts 2 --matrix '0.001,0.05;0.05,0.001'")
    for _, x in ipairs({ { c1, a }, { c2, b }, { c3, c }, { c4, d } }) do
      assert.equals(0, x[1], x[2])
    end
    assert.equals(trace_of(a), trace_of(b))
    assert.are_not.equal(trace_of(a), trace_of(c))
    assert.are_not.equal(trace_of(a), trace_of(d)) -- (the plugins did something)
    assert.equals(a:match("traffic: [^\n]*"), b:match("traffic: [^\n]*"))
  end)

  it("takes plugins from a scenario's config{}, and says what is wrong with a directory", function()
    local dir = config_dir('return { plugins = { "drop" } }', { drop = DROP })
    local file = H.tmpdir() .. "/drop.lua"
    H.write(file, ([[
config { nodes = 30, plugins = %q }
at(0, function() broadcast(1, "chat", { text = "x" }) end)
]]):format(dir))
    local code, out = sim_cmd(("--seed 3 %q"):format(file))
    assert.equals(1, code, out)
    assert.matches("VIOLATED: broadcast 1 reached", out)
    code, out = sim_cmd(("--nodes 3 --plugins %q"):format(dir .. "/nowhere"))
    assert.equals(2, code, out) -- (as for every option it cannot take)
    assert.matches("nowhere/node.lua", out)
  end)
end)
