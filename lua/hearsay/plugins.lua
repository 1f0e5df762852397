-- plugins.lua -- the plugin manager. It runs inside a node's own Lua state
-- (bindings/lhost.c), loads plugin files into sandboxed environments, and
-- dispatches the node's hooks to them. A plugin set is loaded whole beside
-- the running one and replaces it only if every plugin loaded; each plugin's
-- `state` table and counters survive reloads. Every call into plugin code
-- goes through api.call (the policy: through the C host directly), which
-- runs it in a budgeted frame (bindings/lbudget.h: instructions, a deadline,
-- the plugin's share of the loop); the state's allocator enforces the
-- memory cap. A plugin that overruns its time is quarantined: the C host
-- refuses its calls and tells us (M.quarantined), and we unload it from
-- the running set until the next reload. Nothing here runs a plugin's
-- value's metamethods outside such a frame: errors and verdicts are
-- looked at with type() and rawget only.
local config = require "hearsay.config"
local repl = require "hearsay.repl"

local M = {}

local api           -- C functions bound to this node (lhost.c)
local opts          -- the options given to init
local active        -- the running plugin set
local states = {}   -- plugin name -> its `state` table, kept across reloads
local stats = {}    -- plugin name -> { errors, last_error, slot }
local reloads, reload_errors, last_reload_error = 0, 0, nil
local clock0        -- api.now() at init: a simulated node's os.clock() counts from it
local LIMIT = "limit exceeded" -- the budget's errors: instruction and time

-- ---- logging and error accounting ----------------------------------------

-- string.format(fmt, ...), or, when the format does not fit its
-- arguments, the format as it is with what went wrong and the arguments:
-- a log line never loses what it was given.
local function log_text(fmt, ...)
  local ok, msg = pcall(string.format, fmt, ...)
  if ok then return msg end
  local args = table.pack(...)
  for i = 1, args.n do args[i] = tostring(args[i]) end
  local why = tostring(msg):gsub("^bad argument #(%d+) to '[%w%.]+'", function(n)
    return "argument " .. (tonumber(n) - 1)
  end)
  return ("%s [bad log format: %s; arguments: %s]"):format(tostring(fmt), why,
    table.concat(args, ", ", 1, args.n))
end

local function logf(level, fmt, ...)
  api.log(level, log_text(fmt, ...))
end

-- A plugin's counters; `slot` is its C-side record (calls, time,
-- quarantine), which api.call takes.
local function stat(name)
  local s = stats[name]
  if not s then
    s = { errors = 0, slot = api.slot() }
    stats[name] = s
  end
  return s
end

-- Text for a value a plugin gave us (an error, a verdict), without running
-- any of its metamethods (__tostring could loop outside every budget).
local function describe(v)
  local t = type(v)
  if t == "string" then return v end
  if t == "number" or t == "boolean" or t == "nil" then return tostring(v) end
  return "(a " .. t .. " value)"
end

local function failed(plugin, what, err)
  local s = stat(plugin.name)
  local text = describe(err)
  s.errors = s.errors + 1
  s.last_error = text:match("^[^\n]*")
  logf("error", "plugin %s (%s) %s: %s", plugin.name, plugin.file, what, text)
end

-- Calls a plugin function in its plugin's frame; returns ok, results...
-- (ok false after an error, nil when the plugin is quarantined).
local function run(plugin, what, fn, ...)
  local r = table.pack(api.call(plugin.slot, fn, ...))
  if r[1] == false then
    failed(plugin, what, r[2])
    return false
  end
  return table.unpack(r, 1, r.n)
end

-- ---- the sandbox ----------------------------------------------------------

local function copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end

local function is_limit(e)
  return type(e) == "string" and e:find(LIMIT, 1, true) ~= nil
end

-- A plugin may catch its own errors, but never the budget's.
local function rethrow(ok, ...)
  if not ok and is_limit((...)) then error((...), 0) end
  return ok, ...
end

local function resume(co, ...) return rethrow(coroutine.resume(co, ...)) end
local function close(co) return rethrow(coroutine.close(co)) end

-- Finalizers run with every hook off, so outside any budget: a plugin may
-- not make one. (Lua marks an object for finalization only if its
-- metatable has __gc when it is set, so refusing such metatables here is
-- enough; our own shared metatables hide behind __metatable.)
local function guarded_setmetatable(t, mt)
  if type(mt) == "table" and rawget(mt, "__gc") ~= nil then
    error("setmetatable: a __gc metamethod is not allowed (finalizers run outside the budget)", 2)
  end
  return setmetatable(t, mt)
end

-- Each plugin gets its own copy of every library table, so what one
-- assigns (string.format = ...) no other sees. The functions in them are
-- the host's guarded ones (bindings/lguard.c); string.dump is gone.
local function libraries(env)
  env.string = copy(string)
  env.table = copy(table)
  env.math = copy(math)
  env.utf8 = copy(utf8)
  env.coroutine = copy(coroutine)
  env.coroutine.resume, env.coroutine.close = resume, close
  env.os = { time = os.time, clock = os.clock, date = os.date, difftime = os.difftime }
  if api.virtual then
    -- A simulated node (bindings/lsim.c): its clocks are the simulation's,
    -- so a run repeats itself; os.clock counts virtual seconds too.
    local time, date = os.time, os.date
    env.os.time = function(t)
      if t ~= nil then return time(t) end
      return math.floor(api.wall())
    end
    env.os.date = function(fmt, t) return date(fmt, t == nil and math.floor(api.wall()) or t) end
    env.os.clock = function() return api.now() - clock0 end
  end
  env.json = { encode = api.json_encode, decode = api.json_decode, null = api.null,
    array = api.array }
end

-- Tells the C host which message types the active set handles, so a
-- message no handler wants never enters Lua.
local function sync_types(set)
  if set ~= active then return end
  local types, own = {}, {}
  for t, list in pairs(set.handlers) do
    if #list > 0 then types[#types + 1] = t end
  end
  for t, list in pairs(set.own) do
    if #list > 0 then own[#own + 1] = t end
  end
  api.handled_types(types, own)
end

-- ---- queries a plugin or the console asked ------------------------------------
-- api.query gossips the question; the C host calls M.query_done(token,
-- result) once, when it ends (never before api.query returns), unless the
-- node closes first.
local query_waiting, query_token = {}, 0

local function start_query(name, payload, opts, waiter)
  query_token = query_token + 1
  local id = api.query(name, payload, opts, query_token)
  query_waiting[query_token] = waiter
  return id
end

-- ---- persistent state -------------------------------------------------------
-- A plugin that calls persist() keeps its `state` across restarts: saved
-- to <config dir>/<plugin>.state.json (written aside, then renamed over
-- the old one) every `every` seconds and when the node stops, and read
-- back at the plugin's first persist() in this process. JSON only:
-- strings, numbers, booleans, arrays and tables with string keys.
local PERSIST_MAX = 16 << 20 -- bytes of one state file
local restored = {}          -- plugin names whose file was read

local function state_file(name) return ("%s/%s.state.json"):format(opts.dir, name) end

local function save_state(name)
  local ok, text = pcall(api.json_encode, states[name], true)
  if not ok or type(text) ~= "string" then
    logf("error", "plugin %s: state not saved (it must be JSON): %s", name, tostring(text))
    return false
  end
  if #text > PERSIST_MAX then
    logf("error", "plugin %s: state not saved: %d bytes, more than %d", name, #text, PERSIST_MAX)
    return false
  end
  local file = state_file(name)
  local f, err = io.open(file .. ".tmp", "w")
  local wrote = f and f:write(text)
  if f then f:close() end
  local moved, merr = wrote and os.rename(file .. ".tmp", file)
  if not moved then
    logf("error", "plugin %s: state not saved: %s", name, tostring(err or merr or "write failed"))
    os.remove(file .. ".tmp")
    return false
  end
  return true
end

local function restore_state(name)
  local f = io.open(state_file(name))
  if not f then return end
  local text = f:read(PERSIST_MAX + 1)
  f:close()
  local ok, t = pcall(api.json_decode, text or "")
  if not ok or type(t) ~= "table" or #(text or "") > PERSIST_MAX then
    logf("error", "plugin %s: %s not restored: %s", name, state_file(name),
      ok and "not a JSON object of at most 16 MiB" or tostring(t))
    return
  end
  for k, v in pairs(t) do states[name][k] = v end
end

local function sandbox(plugin, set)
  local env = {
    assert = assert, error = error, ipairs = ipairs, next = next, pairs = pairs,
    rawequal = rawequal, rawget = rawget, rawlen = rawlen, rawset = rawset,
    select = select, tonumber = tonumber, tostring = tostring, type = type,
    setmetatable = guarded_setmetatable, _VERSION = _VERSION,
    getmetatable = function(v)
      if type(v) == "string" then return nil end -- the shared string metatable
      return getmetatable(v)
    end,
    pcall = function(f, ...) return rethrow(pcall(f, ...)) end,
    xpcall = function(f, h, ...)
      return rethrow(xpcall(f, function(e) if is_limit(e) then return e end return h(e) end, ...))
    end,
  }
  libraries(env)
  env.load = function(chunk, name, mode, e)
    if mode ~= nil and mode ~= "t" then return nil, "plugins may load text chunks only" end
    return load(chunk, name, "t", e or env)
  end
  env.print = function(...)
    local parts = table.pack(...)
    for i = 1, parts.n do parts[i] = tostring(parts[i]) end -- (in the plugin's frame)
    api.log("info", ("[%s] %s"):format(plugin.name, table.concat(parts, "\t", 1, parts.n)))
  end
  env.log = {}
  for _, level in ipairs({ "error", "warn", "info", "debug" }) do
    env.log[level] = function(fmt, ...)
      api.log(level, ("[%s] %s"):format(plugin.name, log_text(fmt, ...)))
    end
  end
  env.node = {
    id = api.id, url = api.url, peers = api.peers, health = api.health,
    state = api.state, metrics = api.metrics, broadcast = api.broadcast,
    update_state = api.update_state, now = api.now, tags = api.tags, set_tags = api.set_tags,
    -- query(name, payload, opts, fn(result)) -> id: fn runs as the
    -- plugin's own code when the answers are in (README, Queries).
    query = function(name, payload, opts, fn)
      if type(fn) ~= "function" then
        error("node.query needs a function(result) to call with the answers", 2)
      end
      return start_query(name, payload, opts, { plugin = plugin, fn = fn })
    end,
  }
  env.state = states[plugin.name]
  env.config = plugin.settings

  -- Registration: what the plugin file calls while it loads.
  local function add(list, fn, what)
    if type(fn) ~= "function" then error(what .. " needs a function", 3) end
    -- Each handler keeps its plugin's slot, so the hot path does not look
    -- it up by name.
    list[#list + 1] = { plugin = plugin, fn = fn, slot = plugin.slot }
  end
  env.on = {
    message = function(mtype, fn, opts)
      if type(mtype) ~= "string" or mtype == "" then
        error("on.message needs a message type (or \"*\") and a function", 2)
      end
      if opts ~= nil and type(opts) ~= "table" then
        error("on.message takes options as a table: { own = true }", 2)
      end
      set.handlers[mtype] = set.handlers[mtype] or {}
      add(set.handlers[mtype], fn, "on.message")
      -- { own = true }: also the node's own broadcasts, before they leave.
      if opts and opts.own then
        set.own[mtype] = set.own[mtype] or {}
        add(set.own[mtype], fn, "on.message")
      end
      sync_types(set) -- a handler added while the set runs (from a timer, say)
    end,
    state = function(fn) add(set.on_state, fn, "on.state") end,
    peer = function(fn) add(set.on_peer, fn, "on.peer") end,
    peer_up = function(fn)
      add(set.on_peer, function(p, up) if up then return fn(p) end end, "on.peer_up")
    end,
    peer_down = function(fn)
      add(set.on_peer, function(p, up) if not up then return fn(p) end end, "on.peer_down")
    end,
    -- on.query(name, fn(q) -> answer): answers the cluster's queries of
    -- that name (one plugin per name); nil: no answer (an ack only).
    query = function(name, fn)
      if type(name) ~= "string" or name == "" or type(fn) ~= "function" then
        error("on.query needs a query name and a function(q)", 2)
      end
      if set.queries[name] then
        error(("on.query('%s') is already defined by %s"):format(name,
          set.queries[name].plugin.file), 2)
      end
      set.queries[name] = { plugin = plugin, fn = fn, slot = plugin.slot }
    end,
    start = function(fn) add(set.on_start, fn, "on.start") end,
    stop = function(fn) add(set.on_stop, fn, "on.stop") end,
  }
  env.persist = function(every)
    every = every or 30
    if type(every) ~= "number" or every < 1 then error("persist takes seconds (>= 1)", 2) end
    -- A simulated node has no disk of its own: `state` lives as long as
    -- the node (a restart starts it afresh).
    if api.virtual then return end
    if not opts.dir then
      error("persist needs a config directory (hearsay run) to keep the state in", 2)
    end
    if not restored[plugin.name] then
      restored[plugin.name] = true
      restore_state(plugin.name)
    end
    plugin.persist = true
    set.timers[#set.timers + 1] = { plugin = plugin, ms = every * 1000,
      fn = function() save_state(plugin.name) end }
  end
  env.every = function(ms, fn)
    if type(ms) ~= "number" or ms < 1 then error("every needs an interval in ms (>= 1)", 2) end
    if type(fn) ~= "function" then error("every needs a function", 2) end
    set.timers[#set.timers + 1] = { plugin = plugin, ms = ms, fn = fn }
  end
  env.policy = function(name, fn)
    if type(name) ~= "string" or type(fn) ~= "function" then
      error("policy needs a name and a function(msg, candidates, want)", 2)
    end
    if set.policies[name] then
      error(("policy '%s' is already defined by %s"):format(name, set.policies[name].plugin.file), 2)
    end
    set.policies[name] = { plugin = plugin, fn = fn }
  end
  env._G = env
  return env
end

-- ---- loading a plugin set -------------------------------------------------

local read_file = config.read_file

local function search_dirs(o)
  local dirs = {}
  local function add(d)
    if d and o.dir and not d:match("^/") then d = o.dir .. "/" .. d end
    if d then dirs[#dirs + 1] = d end
  end
  if o.dir then add("plugins") end
  local path = o.plugin_path
  if type(path) == "string" then path = { path } end
  for _, d in ipairs(path or {}) do add(d) end
  if o.builtin_dir then dirs[#dirs + 1] = o.builtin_dir end
  return dirs
end

local function find(name, dirs)
  if name:match("/") then return read_file(name) and name end
  for _, d in ipairs(dirs) do
    local path = ("%s/%s.lua"):format(d, name)
    if read_file(path) then return path end
  end
end

-- Reads the plugin list: from the config directory's node.lua when there
-- is one (so a reload sees edits to it), else from the options. node.lua
-- is the operator's code, but it runs in our state: under a budget too.
-- The node settings node.lua had when the node started (they are the ones
-- in effect: the node does not take new ones live), and those a later
-- node.lua changes: name -> { was, now }.
local started_settings, changed_settings = nil, {}

local function same(a, b)
  if type(a) ~= "table" or type(b) ~= "table" then return a == b end
  for k, v in pairs(a) do if not same(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

-- What of node's settings may be shown: no secret (the node's key, the
-- cluster keys: their count).
local function shown_settings(node)
  local t = {}
  for k, v in pairs(node) do
    if k == "cluster_keys" and type(v) == "table" then
      t[k] = ("(%d keys)"):format(#v)
    elseif k ~= "node_key" then
      t[k] = v
    end
  end
  return t
end

-- Compares node.lua's node settings with those the node started with and
-- says which differ: they take effect at the next start, and the operator
-- should know that a reload did not apply them.
-- Settings a reload (the console's, SIGHUP's, a file change's) applies
-- at once; README, Hot reload.
local LIVE = { -- (in this order: the new level first, then what it may log)
  { "log_level", function(v) api.set_log_level(v or "info") end },
  { "tags", function(v) api.set_tags(v or {}) end },
}
for _, k in ipairs({ "gossip_interval", "health_interval", "probe_interval",
  "peer_exchange_interval", "rebootstrap_interval", "ae_max_interval", "ae_interval" }) do
  LIVE[#LIVE + 1] = { k, function(v) api.set_interval(k, v) end }
end

local function note_settings(node)
  if not started_settings then
    started_settings = node
    return
  end
  -- Twice: a value that must keep an order with another (ae_interval
  -- and ae_max_interval) may fit only once that one has moved.
  for pass = 1, 2 do
    for _, live in ipairs(LIVE) do
      local k, apply = live[1], live[2]
      if not same(node[k], started_settings[k]) then
        local ok, err = pcall(apply, node[k])
        if ok then
          started_settings[k] = node[k]
          logf("info", "node.lua: %s applied", k)
        elseif pass == 2 then
          logf("warn", "node.lua: %s not applied: %s", k, tostring(err))
        end
      end
    end
  end
  local changed, names = {}, {}
  for k in pairs(node) do changed[k] = true end
  for k in pairs(started_settings) do changed[k] = true end
  for k in pairs(changed) do
    if k ~= "node_id" and k ~= "node_key" and not same(node[k], started_settings[k]) then
      names[#names + 1] = k
    end
  end
  table.sort(names)
  changed_settings = {}
  for _, k in ipairs(names) do
    changed_settings[k] = { was = shown_settings({ [k] = started_settings[k] })[k],
      now = shown_settings({ [k] = node[k] })[k] }
  end
  if #names > 0 then
    logf("warn", "node.lua changes %s: node settings take effect when the node restarts "
      .. "(plugins, plugin_path, policy, log_level, tags and the intervals apply now)",
      table.concat(names, ", "))
  end
end

local function current_options()
  if not opts.dir then return opts end
  local ok, cfg, err = api.call(nil, config.load, opts.dir, true)
  if not ok then return nil, opts.dir .. "/node.lua: " .. describe(cfg) end
  if not cfg then return nil, err end
  note_settings(cfg.node)
  local o = copy(opts)
  o.plugins, o.plugin_path, o.policy = cfg.plugins, cfg.plugin_path, cfg.policy
  return o
end

local function load_set(o)
  local set = {
    plugins = {}, handlers = {}, own = {}, queries = {}, on_state = {}, on_peer = {}, on_start = {}, on_stop = {},
    timers = {}, policies = {}, policy = nil, policy_name = o.policy, handles = {},
  }
  local dirs = search_dirs(o)
  local seen = {}
  for i, entry in ipairs(o.plugins or {}) do
    local name, settings = entry, {}
    if type(entry) == "table" then
      name, settings = entry[1], entry
    end
    if type(name) ~= "string" or not name:match("^[%w_%-%./]+$") then
      return nil, ("plugins[%d]: a plugin is named by a string (or { name, settings... })"):format(i)
    end
    if seen[name] then return nil, ("plugin '%s' is listed twice"):format(name) end
    seen[name] = true
    local file = find(name, dirs)
    if not file then
      return nil, ("plugin '%s' not found in %s"):format(name, table.concat(dirs, ", "))
    end
    local plugin = { name = name:gsub("^.*/", ""):gsub("%.lua$", ""), file = file,
      settings = settings }
    plugin.slot = stat(plugin.name).slot
    states[plugin.name] = states[plugin.name] or {}
    local source = read_file(file)
    local chunk, err = load(source, "@" .. file, "t", sandbox(plugin, set))
    if not chunk then return nil, err end
    -- Not yet active: loading is bounded but never quarantines (the
    -- running version of this plugin may be fine).
    local ok, lerr = api.call(nil, chunk)
    if not ok then
      stat(plugin.name).errors = stat(plugin.name).errors + 1
      return nil, describe(lerr)
    end
    set.plugins[#set.plugins + 1] = plugin
  end
  if o.policy then
    set.policy = set.policies[o.policy]
    if not set.policy then
      return nil, ("policy '%s' is not defined by any loaded plugin"):format(o.policy)
    end
  end
  return set
end

local function each(list, what, ...)
  for _, h in ipairs(list) do run(h.plugin, what, h.fn, ...) end
end

local function deactivate(set)
  each(set.on_stop, "stop hook")
  api.set_policy()
  for _, h in ipairs(set.handles) do h.handle:close() end
  set.handles = {}
end

local function activate(set)
  for _, p in ipairs(set.plugins) do api.slot_release(p.slot) end
  for _, t in ipairs(set.timers) do
    local s = t.ms / 1000
    set.handles[#set.handles + 1] = { plugin = t.plugin,
      handle = api.timer(s, s, function() run(t.plugin, "timer", t.fn) end) }
  end
  active = set
  sync_types(set)
  if set.policy then
    api.set_policy(set.policy, set.policy.plugin.slot)
  else
    api.set_policy()
  end
  each(set.on_start, "start hook")
end

-- The list without the entries of `plugin` (a new table: a dispatch loop
-- going through the old one goes on safely, and api.call refuses the
-- quarantined plugin's entries it still meets).
local function without(list, plugin)
  local kept = {}
  for _, e in ipairs(list) do
    if e.plugin ~= plugin then kept[#kept + 1] = e end
  end
  return kept
end

-- Called by the C host when a plugin's call put it in quarantine: the
-- running set goes on without it until the next reload (its `state`
-- stays). Its stop hook does not run: it is the code that misbehaved.
function M.quarantined(slot)
  local set = active
  if not set then return end
  for _, plugin in ipairs(set.plugins) do
    if plugin.slot == slot and not plugin.quarantined then
      plugin.quarantined = true
      for mtype, list in pairs(set.handlers) do set.handlers[mtype] = without(list, plugin) end
      for mtype, list in pairs(set.own) do set.own[mtype] = without(list, plugin) end
      for name, q in pairs(set.queries) do
        if q.plugin == plugin then set.queries[name] = nil end
      end
      for _, k in ipairs({ "on_state", "on_peer", "on_start", "on_stop" }) do
        set[k] = without(set[k], plugin)
      end
      for _, h in ipairs(set.handles) do
        if h.plugin == plugin then h.handle:close() end
      end
      set.handles = without(set.handles, plugin)
      if set.policy and set.policy.plugin == plugin then
        api.set_policy() -- the core picks at random until the next reload
      end
      sync_types(set)
      local info = api.slot_info(slot)
      logf("error", "plugin %s (%s) quarantined: %s; it stays unloaded until the next reload",
        plugin.name, plugin.file, info.quarantined or "over its budget")
    end
  end
end

-- ---- entry points called from C ---------------------------------------------

function M.init(o, a)
  opts, api = o, a
  clock0 = api.now()
  local cur, err = current_options()
  if not cur then return nil, err end
  local set
  set, err = load_set(cur)
  if not set then return nil, err end
  activate(set)
  return true
end

function M.reload()
  reloads = reloads + 1
  local cur, err = current_options()
  local set
  if cur then set, err = load_set(cur) end
  if not set then
    reload_errors = reload_errors + 1
    last_reload_error = tostring(err):match("^[^\n]*")
    -- Whoever asked says so (hearsay run on stderr, the console in its
    -- answer): logged here only at debug, so that it is said once.
    logf("debug", "reload failed, the previous plugins keep running: %s", tostring(err))
    return nil, err
  end
  deactivate(active)
  activate(set)
  logf("debug", "reloaded %d plugin(s)", #set.plugins)
  return true
end

local VERDICTS = { accept = true, drop = true, stop = true, reject = true, ignore = true }
-- Verdicts that end a message's handling here: later handlers are skipped.
local FINAL = { drop = true, reject = true, ignore = true }

-- Runs one type's handlers; returns a FINAL verdict, or stop and the last
-- payload.
-- (The hot path: no tables, no strings unless something fails.)
local function handle(list, msg, stop, rewritten)
  for i = 1, #list do
    local h = list[i]
    local ok, verdict, payload = api.call(h.slot, h.fn, msg)
    if ok == false then
      failed(h.plugin, "message handler (" .. msg.type .. ")", verdict)
    elseif ok then
      if verdict == false then
        return "drop"
      elseif verdict ~= nil and (type(verdict) ~= "string" or not VERDICTS[verdict]) then
        failed(h.plugin, "message handler", ("returned %s: expected \"accept\", \"drop\", "
          .. "\"stop\", \"reject\", \"ignore\" or nil"):format(type(verdict) == "string"
            and ("%q"):format(verdict) or describe(verdict)))
      elseif FINAL[verdict] then
        return verdict
      elseif verdict == "stop" then
        stop = true
      end
      if payload ~= nil then
        msg.payload = payload
        rewritten = payload
      end
    end
  end
  return stop, rewritten
end

-- The handlers of one set of lists (handlers, or own) for msg.
local function run_handlers(handlers, msg)
  local stop, rewritten = false, nil
  -- (A message whose type is "*" itself has only the "*" handlers.)
  local list = msg.type ~= "*" and handlers[msg.type] or nil
  if list then -- (a call less for the usual message: one list or the other)
    stop, rewritten = handle(list, msg, stop, rewritten)
    if FINAL[stop] then return stop end
  end
  list = handlers["*"]
  if list then
    stop, rewritten = handle(list, msg, stop, rewritten)
    if FINAL[stop] then return stop end
  end
  return stop and "stop" or "accept", rewritten
end

function M.on_message(msg) return run_handlers(active.handlers, msg) end
function M.on_own(msg) return run_handlers(active.own, msg) end

-- A query of the cluster's reached us: true and the answer, or nothing.
function M.on_query(q)
  local h = active and active.queries[q.name]
  if not h then return end
  local ok, answer = api.call(h.slot, h.fn, q)
  if ok == false then
    failed(h.plugin, "query handler (" .. q.name .. ")", answer)
  elseif ok and answer ~= nil then
    return true, answer
  end
end

-- The policy is called by the C host itself (set_policy in activate);
-- this counts and logs its failures: an error, or nil for a result that
-- is not a table.
function M.policy_failed(p, err)
  failed(p.plugin, "policy", err or "did not return a list of peers")
end

function M.on_peer(peer, up) each(active.on_peer, "peer hook", peer, up) end

function M.on_state(change) each(active.on_state, "state hook", change) end

function M.on_timer(fn) fn() end

function M.state_of(name) return states[name] end

function M.stop()
  if not active then return end
  deactivate(active) -- (its stop hooks may still change state)
  for _, p in ipairs(active.plugins) do
    if p.persist then save_state(p.name) end
  end
end

-- Each plugin of the running set: counters (calls and time from its
-- slot), and `quarantined` (the reason) while it is.
-- settings() in the console: the node settings in effect (from node.lua
-- at start; none when the plugins came without a config directory), the
-- active policy and plugins, and what node.lua changed since (applied at
-- the next start).
function M.settings()
  local plugins = {}
  for i, p in ipairs(active and active.plugins or {}) do plugins[i] = p.name end
  return {
    node = started_settings and shown_settings(started_settings) or nil,
    policy = active and active.policy and active.policy_name or nil,
    plugins = plugins,
    changed_since_start = next(changed_settings) and changed_settings or nil,
  }
end

function M.info()
  local list = {}
  for _, p in ipairs(active and active.plugins or {}) do
    local s, c = stat(p.name), api.slot_info(p.slot)
    list[#list + 1] = { name = p.name, file = p.file, calls = c.calls, errors = s.errors,
      last_error = s.last_error, time_ms = c.time_ms, timeouts = c.timeouts,
      limits = c.limits, quarantines = c.quarantines, quarantined = c.quarantined }
  end
  local used, limit = api.memory()
  return {
    plugins = list, policy = active and active.policy_name or nil,
    reloads = reloads, reload_errors = reload_errors, last_reload_error = last_reload_error,
    memory_used = used, memory_limit = limit, console_cut_off = api.console_cut_off(),
    overruns = api.overruns(),
  }
end

function M.health()
  local info = M.info()
  local errors, calls, quarantined = {}, {}, {}
  for _, p in ipairs(info.plugins) do
    errors[p.name], calls[p.name], quarantined[p.name] = p.errors, p.calls, p.quarantined
  end
  return {
    loaded = #info.plugins, errors = errors, calls = calls, quarantined = quarantined,
    reloads = info.reloads, reload_errors = info.reload_errors,
    memory_used = info.memory_used, memory_limit = info.memory_limit,
    console_cut_off = info.console_cut_off,
  }
end

-- ---- the console ------------------------------------------------------------

local sessions, console_env = {}, nil
local feeding -- the console session whose line is running
local HELP -- help()'s text, below

local function console_environment()
  local env = setmetatable({}, { __index = _G })
  env.setmetatable = guarded_setmetatable -- (a finalizer could hang the node)
  env.peers = function(all) return api.peers(all) end
  env.state = api.state
  env.metrics = api.metrics
  env.health = api.health
  env.broadcast = api.broadcast
  env.update_state = api.update_state
  env.tags = api.tags
  env.set_tags = api.set_tags
  env.block = api.block
  -- The operator's commands (hearsay members, info, event, join): README,
  -- The console.
  env.members = function(o)
    o = o or {}
    local list = {}
    local function keep(m)
      if o.status and m.state ~= o.status then return end
      for k, v in pairs(o.tags or {}) do if (m.tags or {})[k] ~= v then return end end
      list[#list + 1] = m
    end
    keep({ id = api.id(), url = api.url(), state = "alive", tags = api.tags(), self = true })
    for _, p in ipairs(api.peers(true)) do
      keep({ id = p.id, url = p.url, state = p.state, tags = p.tags, latency_ms = p.latency_ms,
        score = p.score, graylisted = p.graylisted, failures = p.failures,
        last_seen = p.last_seen })
    end
    for _, l in ipairs(api.left()) do keep({ id = l.id, state = "left", left_at = l.at }) end
    return list
  end
  -- leave(): the node leaves the cluster gracefully (and `hearsay run`
  -- stops a moment later); force_leave(id): a failed peer is forced out.
  env.leave = function()
    local ok, err = api.leave()
    if not ok then error(err, 2) end
    return true
  end
  env.force_leave = function(id)
    local ok, err = api.leave(id)
    if not ok then error(err, 2) end
    return true
  end
  env.info = function()
    local h = api.health()
    return { id = h.node_id, url = h.url, version = h.version, uptime = h.uptime,
      incarnation = h.incarnation, tags = h.tags or {}, peers = h.peers,
      state = api.state(), local_health = h.local_health, seen_ids = h.seen_ids }
  end
  env.event = function(name, payload) return api.broadcast(name, payload) end
  env.join = function(...)
    local n = 0
    for _, url in ipairs({ ... }) do
      local ok, err = api.join(url)
      if not ok then error(err, 2) end
      n = n + 1
    end
    return n
  end
  -- monitor([level]): this session streams the node's log lines (up to
  -- level, "info" by default) until it closes (hearsay monitor).
  env.monitor = function(level)
    local s = feeding and sessions[feeding]
    if not s then error("monitor() streams in a console session", 2) end
    if level ~= nil and not ({ error = 1, warn = 1, info = 1, debug = 1 })[level] then
      error("monitor takes error, warn, info or debug", 2)
    end
    s.monitor = level or "info" -- streaming starts once the line has run
    s.pending = true
  end
  -- query(name [, payload [, opts]]): the line answers when the cluster
  -- has (README, Queries); one query per line.
  env.query = function(name, payload, opts)
    local s = feeding and sessions[feeding]
    if not s then error("query() answers in a console session", 2) end
    if s.pending then error("one query() per line", 2) end
    start_query(name, payload, opts, { session = feeding })
    s.pending = true
  end
  -- true, or the error raised: it prints as text, its lines and all.
  env.reload = function()
    local ok, err = M.reload()
    if not ok then error(tostring(err), 0) end
    return true
  end
  env.plugins = M.info
  env.settings = M.settings
  env.plugin_state = function(name) return states[name] end
  -- What plugins have as `node`, and block.
  env.node = {
    id = api.id, url = api.url, peers = api.peers, health = api.health, state = api.state,
    metrics = api.metrics, broadcast = api.broadcast, update_state = api.update_state,
    now = api.now, block = api.block, tags = api.tags, set_tags = api.set_tags,
  }
  env.help = function() return HELP end
  -- The cluster keyring: list() -> {{key, id, primary}...}; install(k),
  -- use(k) (make primary), remove(k) raise with the reason. `hearsay run`
  -- saves every change to the keyring file before it is made.
  env.keys = {
    list = function() return api.keys("list") end,
    install = function(k) return api.keys("install", k) end,
    use = function(k) return api.keys("use", k) end,
    remove = function(k) return api.keys("remove", k) end,
  }
  env.json = { encode = api.json_encode, decode = api.json_decode, null = api.null,
    array = api.array }
  return env
end

local GREETING = [[
hearsay console: node %s at %s
helpers: peers() state() metrics() health() broadcast(type, payload)
         update_state(root) tags() set_tags(t) query(name, payload, opts)
         members() info() event(name, payload) join(url)
         reload() plugins() plugin_state(name) block(id)
         settings() keys.list() keys.install(k) keys.use(k) keys.remove(k)   help()
`=expr` or a bare expression prints its value; errors do not end the session.
]]

-- What help() shows (raw: it is text).
HELP = [[
peers([all])            live peers (and dead ones with all): id, url, state, latency...
state()                 {root, version}
metrics()               the node's counters
health()                what GET /health answers
broadcast(type, payload) -> id     a new message from this node
update_state(root) -> version      a new root, gossiped as state_update
tags() set_tags(t)      this node's tags; set_tags replaces them and gossips them
members(opts)           this node and its peers: id, url, state, tags (opts: status, tags)
info()                  who this node is: id, url, version, peers, state...
event(name, payload)    broadcast from this node (-> id)
join(url, ...)          join the cluster of the node(s) at url, as bootstrap does
leave()                 leave the cluster gracefully (hearsay run then stops)
monitor(level)          this session streams the node's log from now on (until it closes)
force_leave(id)         force a failed peer out of the cluster
query(name, payload, opts)  ask the cluster; prints the answers when they are in
                        (opts: timeout, tags = {k = v}, nodes = {ids}, want = n)
block(id [, blocked])   refuse (or again take) every request from that node id
reload()                reload node.lua's plugins: true, or the error, with file and line
plugins()               the plugin set: names, errors, reloads, memory, quarantines
settings()              node settings in effect, the active policy and plugins, and
                        what node.lua changed since the start (applied at the next)
plugin_state(name)      a plugin's `state` table (the live one)
keys.list() keys.install(k) keys.use(k) keys.remove(k)   the cluster keyring
node.*                  what plugins have: node.id() node.url() node.peers() node.now() ...
json.encode(v) json.decode(s) json.null json.array(t)
print(...)              prints here, in this session
\raw on | \raw off      values raw (strings unquoted, tables as JSON) or pretty
`=expr` or a bare expression prints its value; errors do not end the session.]]

function M.console_open(id)
  console_env = console_env or console_environment()
  local out = {}
  sessions[id] = {
    out = out,
    repl = repl.new({ env = console_env, write = function(s) out[#out + 1] = s end,
      encode = api.json_encode }),
  }
  return GREETING:format(api.id(), api.url()), "> "
end

function M.console_feed(id, line)
  local s = sessions[id]
  if not s then return "no such session\n", "> " end
  for i = #s.out, 1, -1 do s.out[i] = nil end
  feeding = id
  local ok, prompt = api.call("console", s.repl.feed, s.repl, line)
  feeding = nil
  if not ok then
    s.out[#s.out + 1] = describe(prompt) .. "\n"
    prompt = s.repl:reset()
  end
  if s.pending and ok then
    if s.monitor then api.console_monitor(id, s.monitor) end
    -- The answer comes with the query's result (or never, when the
    -- session streams the log): no prompt yet.
    s.prefix = table.concat(s.out)
    return "", nil
  end
  s.pending, s.monitor = nil, nil
  return table.concat(s.out), prompt
end

-- A query a plugin or the console asked has ended (start_query).
function M.query_done(token, result)
  local w = query_waiting[token]
  query_waiting[token] = nil
  if not w then return end
  if w.session then
    local s = sessions[w.session]
    if not s then return end -- the session closed meanwhile
    s.pending = nil
    local text = s.repl.raw and s.repl:plain(result) or repl.pretty(result)
    local prefix = s.prefix
    s.prefix = nil -- (before the reply: it runs the session's next lines)
    api.console_reply(w.session, (prefix or "") .. text .. "\n", "> ")
  elseif not w.plugin.quarantined then
    local ok, err = api.call(w.plugin.slot, w.fn, result)
    if ok == false then failed(w.plugin, "query callback", err) end
  end
end

function M.console_close(id) sessions[id] = nil end

return M
