-- sim.lua -- `hearsay sim`: the real protocol, whole nodes on a virtual
-- network in virtual time (core/sim/sim.h through hearsay.sim), driven by
-- options or a Lua scenario, with a report in the dissemination bench's
-- terms and the invariants checked at the end. Same seed, same code: the
-- same run, event for event (the trace hash says so).
local hs = require "hearsay"

local M = {}

-- Settings the simulator sets itself for each node.
local OWN = { node_id = true, host = true, port = true, public_url = true, bootstrap = true,
  tls_cert = true, tls_key = true, tls_ca = true, tls_client_auth = true }

M.defaults = {
  nodes = 100, seed = 1, latency = 0.02, jitter = 0.01, model = "uniform", loss = 0,
  form = 30, broadcasts = 5, every = 2, crash = 0, settle = 15,
  matrix = false, -- regions: {{a->a, a->b, ...}, ...} one-way s (node i in region (i-1) % #matrix + 1)
  plugins = false, -- a config directory: its node.lua's plugins (and policy) in every node
  cpu = false, -- what work costs: {per_host =, cores =, serve =, answer =, round =, send =, gossip =, envelope =} (sim.h)
}

local CPU_KEYS = { "per_host", "cores", "serve", "answer", "round", "send", "gossip", "envelope" }

-- "per_host=15,cores=2,serve=2e-5" -> {per_host = 15, cores = 2, serve = 2e-5},
-- or nil, error.
function M.parse_cpu(text)
  local known, t = {}, {}
  for _, k in ipairs(CPU_KEYS) do known[k] = true end
  for item in (text .. ","):gmatch("([^,]*),") do
    local k, v = item:match("^%s*([%w_]+)%s*=%s*(.-)%s*$")
    if not k or not known[k] then
      return nil, "cpu: '" .. item .. "' is not one of " .. table.concat(CPU_KEYS, "=, ") .. "="
    end
    t[k] = tonumber(v)
    if not t[k] then return nil, "cpu: " .. k .. " takes a number, not '" .. v .. "'" end
  end
  return t
end

local function cpu_text(c)
  local parts = {}
  for _, k in ipairs(CPU_KEYS) do
    if c[k] then parts[#parts + 1] = string.format("%s=%.17g", k, c[k]) end
  end
  return table.concat(parts, ",")
end

-- The plugin options of config directory `dir` for every simulated node:
-- what `hearsay run --config DIR` gives its node (node.lua's plugins,
-- plugin_path, policy, plugin_memory, plugin_instructions). The node
-- settings in node.lua are not taken: the simulation's are (--set).
function M.plugin_options(dir)
  if type(dir) ~= "string" then return nil, "plugins must name a config directory" end
  local cfg, err = require("hearsay.config").load(dir)
  if not cfg then return nil, "plugins: " .. tostring(err) end
  return require("hearsay.cli").plugin_options(cfg), cfg
end

-- "0.001,0.08;0.08,0.001" (rows by ;, one-way seconds by ,) -> a matrix,
-- or nil, error.
function M.parse_matrix(text)
  local m = {}
  for row in (text .. ";"):gmatch("([^;]*);") do
    local r = {}
    for cell in (row .. ","):gmatch("([^,]*),") do
      local v = tonumber(cell)
      if not v then return nil, "matrix: '" .. cell .. "' is not a number of seconds" end
      r[#r + 1] = v
    end
    m[#m + 1] = r
  end
  for _, r in ipairs(m) do
    if #r ~= #m then return nil, "matrix: " .. #m .. " rows, so " .. #m .. " numbers in each" end
  end
  return m
end

local function matrix_text(m)
  local rows = {}
  for i, r in ipairs(m) do
    local cells = {}
    for j, v in ipairs(r) do cells[j] = string.format("%g", v) end
    rows[i] = table.concat(cells, ",")
  end
  return table.concat(rows, ";")
end

local function ms(v)
  if not v then return "never" end
  return string.format("%.0f ms", v * 1000)
end

-- The scenario's own functions, in an environment of its own: at(t, fn)
-- registers fn for t virtual seconds after the cluster formed; the rest act
-- on the running network when called from such a function.
local CONFIG = { nodes = true, seed = true, latency = true, jitter = true, model = true,
  loss = true, form = true, settle = true, settings = true, matrix = true, plugins = true,
  cpu = true }

local function scenario_env(run)
  local env = setmetatable({}, { __index = _G })
  -- config{...}: the run's options (command-line options win).
  function env.config(t)
    if type(t) ~= "table" then error("config{...} takes a table", 2) end
    if run.sim then error("config{...} comes before the run, not inside at()", 2) end
    for k, v in pairs(t) do
      if not CONFIG[k] then error("config." .. tostring(k) .. " is not a simulation option", 2) end
      run.config[k] = v
    end
  end
  local function need_sim(what)
    if not run.sim then error(what .. "() works inside at(t, fn) only", 3) end
    return run.sim
  end
  local function node(i, what)
    if math.type(i) ~= "integer" or i < 1 or i > run.opts.nodes then
      error(what .. ": no node " .. tostring(i) .. " (there are " .. run.opts.nodes .. ")", 3)
    end
    return i
  end
  function env.at(t, fn)
    if type(t) ~= "number" or t < 0 or type(fn) ~= "function" then
      error("at(t, fn): t is seconds after forming (>= 0), fn a function", 2)
    end
    run.actions[#run.actions + 1] = { t = t, fn = fn, seq = #run.actions + 1 }
  end
  function env.region(i) return need_sim("region"):region(node(i, "region")) end
  function env.crash(i) need_sim("crash"):crash(node(i, "crash")) end
  function env.restart(i) need_sim("restart"):restart(node(i, "restart")) end
  function env.pause(i, secs) need_sim("pause"):pause(node(i, "pause"), secs) end
  function env.crashed(i) return need_sim("crashed"):crashed(node(i, "crashed")) end
  -- partition(a, b): nodes in list a on one side, those in b on another;
  -- partition(f): the first fraction f of the nodes against the rest.
  function env.partition(a, b)
    local s = need_sim("partition")
    if type(a) == "number" then
      local cut = math.floor(run.opts.nodes * a + 0.5)
      for i = 1, run.opts.nodes do s:side(i, i <= cut and 1 or 2) end
      return
    end
    for _, i in ipairs(a) do s:side(node(i, "partition"), 1) end
    for _, i in ipairs(b or {}) do s:side(node(i, "partition"), 2) end
  end
  function env.heal() need_sim("heal"):heal() end
  function env.loss(p) need_sim("loss"):loss(p) end
  function env.broadcast(i, type_, payload)
    local s = need_sim("broadcast")
    return s:broadcast(node(i, "broadcast"), type_ or "chat", payload or { text = "sim" })
  end
  function env.live()
    local s, v = need_sim("live"), {}
    for i = 1, run.opts.nodes do if not s:crashed(i) then v[#v + 1] = i end end
    return v
  end
  -- random(n): 1..n from the run's own generator (seeded by --seed).
  function env.random(n) return run.random(n) end
  function env.now() return need_sim("now"):now() - run.opts.form end
  -- print(...): on stderr, stamped with the scenario's time.
  function env.print(...)
    local t = table.pack(...)
    for k = 1, t.n do t[k] = tostring(t[k]) end
    io.stderr:write(string.format("[%8.3f] ", run.sim and env.now() or 0), table.concat(t, "\t"), "\n")
  end
  return env
end

-- Loads the scenario file: config{...} may set nodes, seed, latency,
-- jitter, model, loss, form, settle, settings and matrix; at() registers
-- actions.
local function load_scenario(run, file)
  local env = scenario_env(run)
  local chunk, err = loadfile(file, "t", env)
  if not chunk then return nil, err end
  local ok, e = pcall(chunk)
  if not ok then return nil, e end
  for k, v in pairs(run.config) do
    if k ~= "settings" and run.given[k] == nil then run.opts[k] = v end
  end
  local st = run.config.settings
  if st ~= nil then
    if type(st) ~= "table" then return nil, "settings must be a table" end
    for k, v in pairs(st) do if run.opts.settings[k] == nil then run.opts.settings[k] = v end end
  end
  return true
end

-- Without a scenario: `broadcasts` broadcasts from random live nodes, one
-- every `every` s; with `crash` K, K random nodes crash at once first and
-- the broadcasts start 10 s later.
local function default_actions(run)
  local env = scenario_env(run)
  local o = run.opts
  local start = 0
  if o.crash > 0 then
    env.at(0, function()
      local order = {}
      for i = 1, o.nodes do order[i] = i end
      for i = o.nodes, 2, -1 do local j = run.random(i) order[i], order[j] = order[j], order[i] end
      for k = 1, o.crash do env.crash(order[k]) end
    end)
    start = 10
  end
  for k = 1, o.broadcasts do
    env.at(start + (k - 1) * o.every, function()
      local live = env.live()
      env.broadcast(live[run.random(#live)], "chat", { text = "sim " .. k })
    end)
  end
end

local function replay_command(run)
  local o, g = run.opts, run.given
  local parts = { "hearsay sim" }
  for _, k in ipairs({ "nodes", "seed", "latency", "jitter", "model", "loss", "form", "broadcasts",
                       "every", "crash", "settle" }) do
    if g[k] ~= nil or k == "seed" then parts[#parts + 1] = "--" .. k .. " " .. tostring(o[k]) end
  end
  if o.matrix then parts[#parts + 1] = "--matrix '" .. matrix_text(o.matrix) .. "'" end
  if o.cpu then parts[#parts + 1] = "--cpu '" .. cpu_text(o.cpu) .. "'" end
  if g.plugins ~= nil then parts[#parts + 1] = "--plugins '" .. tostring(o.plugins) .. "'" end
  for _, kv in ipairs(run.set or {}) do parts[#parts + 1] = "--set " .. kv end
  if run.file then parts[#parts + 1] = run.file end
  return table.concat(parts, " ")
end

-- Runs the simulation; returns the report (a table) or nil, error.
function M.run(opts)
  local o = {}
  for k, v in pairs(M.defaults) do o[k] = v end
  local run = { opts = o, given = {}, actions = {}, config = {}, file = opts.file, set = opts.set }
  for k, v in pairs(opts) do
    if M.defaults[k] ~= nil then o[k] = v run.given[k] = v end
  end
  o.settings = {}
  for k, v in pairs(opts.settings or {}) do o.settings[k] = v end
  if opts.file then
    local ok, err = load_scenario(run, opts.file)
    if not ok then return nil, err end
  end
  for k in pairs(o.settings) do
    if OWN[k] then return nil, "the simulator sets " .. k .. " itself" end
  end
  for _, k in ipairs({ "nodes", "seed", "latency", "jitter", "loss", "form", "settle", "broadcasts",
                       "every", "crash" }) do
    if type(o[k]) ~= "number" then return nil, k .. " must be a number" end
  end
  if math.type(o.nodes) ~= "integer" then o.nodes = math.tointeger(o.nodes) end
  if not o.nodes or o.nodes < 1 then return nil, "nodes must be a positive integer" end
  if o.seed ~= math.floor(o.seed) or o.seed < 0 then return nil, "seed must be a non-negative integer" end
  o.seed = math.tointeger(o.seed)
  -- One generator for the scenario's own choices, seeded apart from the
  -- network's (which the seed also decides).
  local gen = { s = o.seed * 2654435761 % 4294967295 + 1 }
  function run.random(n)
    -- xorshift32 kept in Lua integers: the same sequence everywhere.
    local x = gen.s
    x = x ~ ((x << 13) & 0xffffffff)
    x = x ~ (x >> 17)
    x = x ~ ((x << 5) & 0xffffffff)
    gen.s = x
    return x % n + 1
  end
  if not opts.file then default_actions(run) end
  table.sort(run.actions, function(a, b)
    if a.t ~= b.t then return a.t < b.t end
    return a.seq < b.seq
  end)

  local plugins, pcfg
  if o.plugins then
    plugins, pcfg = M.plugin_options(o.plugins)
    if not plugins then return nil, pcfg end
  end

  local clock = os.clock()
  if o.matrix and type(o.matrix) ~= "table" then return nil, "matrix must be a table of rows" end
  if o.cpu and type(o.cpu) ~= "table" then return nil, "cpu must be a table" end
  local sim = hs.sim({ nodes = o.nodes, seed = o.seed, latency = o.latency, jitter = o.jitter,
    model = o.model, loss = o.loss, log = opts.log, settings = o.settings,
    matrix = o.matrix or nil, plugins = plugins, cpu = o.cpu or nil })
  run.sim = sim
  local ok, err = sim:run(o.form)
  for _, a in ipairs(run.actions) do
    if not ok then break end
    local due = o.form + a.t - sim:now()
    if due > 0 then ok, err = sim:run(due) end
    if ok then
      local fine, e = pcall(a.fn)
      if not fine then ok, err = nil, "scenario: " .. tostring(e) end
    end
  end
  if ok then ok, err = sim:run(o.settle) end
  local cpu = os.clock() - clock

  local messages, bytes = sim:traffic()
  local cross, cross_pushes = sim:cross()
  local report = {
    nodes = o.nodes, seed = o.seed, latency = o.latency, jitter = o.jitter, model = o.model,
    loss = o.loss, form = o.form, settle = o.settle, scenario = opts.file, matrix = o.matrix or nil,
    duration = sim:now(), events = sim:events(), cpu_s = cpu,
    events_per_s = cpu > 0 and sim:events() / cpu or nil, trace = sim:trace(),
    broadcasts = sim:deliveries(), crashes = sim:detections(),
    false_deaths = sim:false_deaths(), held_dead = sim:held_dead(), excluded = sim:excluded(),
    messages_per_node_s = messages / o.nodes / sim:now(),
    bytes_per_node_s = bytes / o.nodes / sim:now(),
    cross_region = o.matrix and { requests = cross, pushes = cross_pushes } or nil,
    totals = sim:totals(), backlog = sim:backlog(),
    error = err, replay = replay_command(run), violations = {},
  }
  if o.cpu then
    local used, busiest, busiest_s = sim:cpu()
    report.cpu = { per_host = o.cpu.per_host or 1, cores = o.cpu.cores or 0, serve = o.cpu.serve or 0,
      answer = o.cpu.answer or 0, round = o.cpu.round or 0, send = o.cpu.send or 0,
      gossip = o.cpu.gossip or 0, envelope = o.cpu.envelope or 0, used_s = used,
      busiest_host = busiest, busiest_s = busiest_s }
  end
  if plugins then
    -- What the plugins did, every node not crashed added up.
    local p = { dir = o.plugins, policy = pcfg.policy, loaded = {}, calls = 0, errors = 0,
      quarantined = 0, nodes = 0 }
    for i = 1, o.nodes do
      if not sim:crashed(i) then
        local info = sim:plugin_info(i)
        p.nodes = p.nodes + 1
        for _, x in ipairs(info.plugins) do
          if p.nodes == 1 then p.loaded[#p.loaded + 1] = x.name end
          p.calls = p.calls + (x.calls or 0)
          p.errors = p.errors + (x.errors or 0)
          if x.quarantined then p.quarantined = p.quarantined + 1 end
        end
      end
    end
    report.plugins = p
  end
  local v = report.violations
  if err then v[#v + 1] = "the run stopped: " .. err end
  for k, d in ipairs(report.broadcasts) do
    if d.reached < d.live then
      v[#v + 1] = string.format("broadcast %d reached %d of %d live nodes", k, d.reached, d.live)
    end
  end
  local bl = report.backlog
  if bl.stuck_offers > 0 or bl.stuck_queues > 0 then
    v[#v + 1] = string.format("queues that do not drain at the end: %d lazy offers due over %g s "
      .. "ago, %d peers with envelopes waiting and nothing to send them", bl.stuck_offers, 2,
      bl.stuck_queues)
  end
  if report.excluded > 0 then
    v[#v + 1] = string.format("%d live nodes are held dead and by no live node alive at the end",
      report.excluded)
  end
  sim:close()
  return report
end

function M.format(r)
  local out = {}
  local function p(...) out[#out + 1] = string.format(...) end
  p("hearsay sim: %d nodes, seed %d, %s latency %s one way (jitter %s), loss %.3g%%, formed for %g s%s",
    r.nodes, r.seed, r.model, ms(r.latency), r.model == "lognormal" and string.format("sigma %.2f", r.jitter)
      or ms(r.jitter), r.loss * 100, r.form, r.scenario and (", scenario " .. r.scenario) or "")
  if r.matrix then
    p("regions: %d, one way between them (s; node i in region (i-1) %% %d + 1, in place of the latency): %s",
      #r.matrix, #r.matrix, matrix_text(r.matrix))
  end
  if r.cpu then
    local c = r.cpu
    p("cpu: %d nodes a host, %s; a request served %.1f us (a gossip push %.1f us more, %.1f us "
      .. "an envelope), an answer %.1f us, a round %.1f us, a send %.1f us: %.3f s of CPU used, the "
      .. "busiest host (%d) %.3f s",
      c.per_host, c.cores > 0 and (c.cores .. " cores shared") or "a core each", c.serve * 1e6,
      c.gossip * 1e6, c.envelope * 1e6, c.answer * 1e6, c.round * 1e6, c.send * 1e6, c.used_s,
      c.busiest_host, c.busiest_s)
  end
  if r.plugins then
    local x = r.plugins
    p("plugins: %s from %s (policy %s): %d calls, %d errors, %d quarantined, over %d live nodes",
      table.concat(x.loaded, ", "), x.dir, x.policy or "none: the core's tree", x.calls, x.errors,
      x.quarantined, x.nodes)
  end
  if #r.broadcasts > 0 then
    p("%-4s %7s %9s %11s %8s %8s %8s %8s %9s %7s", "#", "origin", "sent (s)", "reached", "50%",
      "90%", "99%", "100%", "hops max", "copies")
    for k, d in ipairs(r.broadcasts) do
      p("%-4d %7d %9.1f %11s %8s %8s %8s %8s %9d %7.2f", k, d.origin, d.sent - r.form,
        d.reached .. "/" .. d.live, ms(d.p50), ms(d.p90), ms(d.p99), ms(d.p100), d.max_hops, d.copies)
    end
  end
  if #r.crashes > 0 then
    p("%-6s %8s %8s   %-26s   %-26s %6s", "crash", "at (s)", "holders", "no longer alive 50/99/100%",
      "declared dead 50/99/100%", "still")
    for _, c in ipairs(r.crashes) do
      p("%-6d %8.1f %8d   %8s %8s %8s   %8s %8s %8s %6s", c.node, c.at - r.form, c.watchers,
        ms(c.gone50), ms(c.gone99), ms(c.gone100), ms(c.p50), ms(c.p99), ms(c.p100),
        c.restarted and "back" or tostring(c.still_alive))
    end
  end
  p("false deaths: %d declared; at the end %d pairs of live nodes hold each other dead, %d live nodes are cut out",
    r.false_deaths, r.held_dead, r.excluded)
  p("waiting at the end: %d envelopes to push, %d ids to offer, %d requests in flight",
    r.backlog.queued, r.backlog.offers, r.backlog.inflight)
  p("traffic: %.1f messages and %.0f bytes of bodies per node per virtual second",
    r.messages_per_node_s, r.bytes_per_node_s)
  if r.cross_region then
    p("between regions: %d requests, %d of them gossip pushes", r.cross_region.requests,
      r.cross_region.pushes)
  end
  local t = r.totals
  p("repairs: %d pushed and %d fetched by anti-entropy (%d catch-ups), %d by lazy push; tree: %d grafts, %d prunes, %d late pushes offered, %d stuck pushes gone past",
    t.ae_pushed, t.ae_fetched, t.ae_catchups, t.lazy_pushed, t.grafts, t.prunes, t.pushes_late,
    t.pushes_stuck)
  p("membership: %d probes, %d indirect, %d sweeps, %d suspicions, %d refutations, %d peers back",
    t.health_checks, t.indirect_probes, t.probe_sweeps, t.suspicions, t.refutations, t.peers_recovered)
  p("events: %d in %.2f s of CPU (%s per s); %.0f virtual s; trace %s", r.events, r.cpu_s,
    r.events_per_s and string.format("%.0f", r.events_per_s) or "-", r.duration, r.trace)
  if #r.violations == 0 then
    p("invariants: all held")
  else
    for _, x in ipairs(r.violations) do p("VIOLATED: %s", x) end
  end
  p("replay: %s", r.replay)
  return table.concat(out, "\n") .. "\n"
end

return M
