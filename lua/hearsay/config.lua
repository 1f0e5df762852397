-- config.lua -- loads a config directory: node.lua (a Lua file returning a
-- table) plus the node id it keeps there. node.lua runs in an empty
-- environment with only pure helpers (string, math, table, os.getenv), so a
-- config file cannot do I/O. Every problem is reported as "file:line: what".
local M = {}

-- Settings the core takes, with the Lua type each must have.
M.node_keys = {
  node_id = "string", host = "string", port = "integer", public_url = "string",
  bootstrap = "table", fanout = "integer", tree = "boolean", ttl = "integer", max_ttl = "integer",
  announce_ttl = "integer", max_peers = "integer", min_peers = "integer",
  gossip_interval = "number", health_interval = "number",
  peer_exchange_interval = "number", rebootstrap_interval = "number",
  request_timeout = "number", dead_after = "integer", dead_timeout = "number",
  retry_min = "number", retry_max = "number", forget_after = "number",
  probe_timeout = "number", probe_interval = "number", indirect_probes = "integer",
  suspicion_timeout = "number", max_probes_in_flight = "integer",
  seen_ttl = "number", seen_cap = "integer", max_body = "integer",
  max_seen_by = "integer", max_batch = "integer", max_connections = "integer",
  peer_connections = "integer", curl_for_http = "boolean", lazy_fanout = "integer", lazy_delay = "seconds0", batch_window = "seconds0", ae_interval = "seconds0",
  ae_window = "number", ae_max_interval = "number", max_digest = "integer", retain_ttl = "number", retain_bytes = "integer",
  log_level = "string", tags = "table",
}

-- Settings only the Lua shell reads.
M.shell_keys = {
  node_id_file = "string", plugins = "table", plugin_path = "table", policy = "string",
  plugin_memory = "integer", plugin_instructions = "integer", console_socket = "string",
  plugin_timeout = "seconds0", plugin_max_share = "fraction", plugin_share_window = "number",
}

-- VM instructions node.lua may run when the shell reads it (the plugin
-- host reads it again on reload, under its own budget).
M.eval_instructions = 100000000

-- The whole file, or nil when it cannot be read.
function M.read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end
local read_file = M.read_file

-- The line where `key = ...` appears in the source, for error messages.
local function line_of(source, key)
  local n = 0
  key = key:gsub("%p", "%%%0") -- a key is text, not a pattern
  for line in (source .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    if line:match("^%s*" .. key .. "%s*=") or line:match("[{,]%s*" .. key .. "%s*=") then
      return n
    end
  end
  return 1
end

local function is_integer(v)
  return math.type(v) == "integer"
end

local function check_value(key, kind, v)
  if kind == "integer" then
    if not is_integer(v) or v < 0 then return "must be a non-negative integer" end
  elseif kind == "number" then
    if type(v) ~= "number" or v ~= v or v <= 0 then return "must be a positive number" end
  elseif kind == "seconds0" then
    if type(v) ~= "number" or v ~= v or v < 0 then return "must be a number >= 0" end
  elseif kind == "fraction" then
    if type(v) ~= "number" or not (v >= 0 and v <= 1) then
      return "must be a number from 0 to 1"
    end
  elseif type(v) ~= kind then
    return "must be a " .. kind
  end
  if key == "bootstrap" then
    for i, u in ipairs(v) do
      if type(u) ~= "string" or not u:match("^https?://[%w%.%-_%[%]:]+") then
        return ("entry %d must be an http(s) URL"):format(i)
      end
    end
  elseif key == "log_level" and not ({ error = 1, warn = 1, info = 1, debug = 1 })[v] then
    return "must be one of error, warn, info, debug"
  elseif key == "port" and v > 65535 then
    return "must be at most 65535"
  elseif key == "tags" then
    for tk, tv in pairs(v) do
      if type(tk) ~= "string" or type(tv) ~= "string" or #tk > 32 or #tv > 128 then
        return "must map short names to short strings (keys <= 32, values <= 128 chars)"
      end
    end
  elseif key == "plugins" then
    for i, p in ipairs(v) do
      local name = type(p) == "table" and p[1] or p
      if type(name) ~= "string" then
        return ("entry %d must be a plugin name or { name, settings... }"):format(i)
      end
    end
  elseif key == "plugin_path" then
    for i, d in ipairs(v) do
      if type(d) ~= "string" then return ("entry %d must be a directory"):format(i) end
    end
  end
end

local function copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end

-- (Copies of the libraries: what node.lua assigns stays in node.lua.)
local function sandbox()
  return {
    string = copy(string), math = copy(math), table = copy(table), tostring = tostring,
    tonumber = tonumber, pairs = pairs, ipairs = ipairs, type = type,
    os = { getenv = os.getenv },
  }
end

-- Runs chunk under an instruction limit of its own (a coroutine with a
-- count hook: the caller's hooks stay as they are).
local function bounded(chunk)
  local co = coroutine.create(chunk)
  local steps = 0
  debug.sethook(co, function()
    steps = steps + 1
    if steps > 100 then error("instruction limit exceeded (node.lua runs too long)", 2) end
  end, "", M.eval_instructions // 100)
  return coroutine.resume(co)
end

-- Evaluates a config file; returns its table and source, or nil, error.
-- budgeted: the caller already runs it under a budget (the plugin host).
function M.eval(path, budgeted)
  local source = read_file(path)
  if not source then return nil, path .. ": cannot read the file" end
  local chunk, err = load(source, "@" .. path, "t", sandbox())
  if not chunk then return nil, err end
  local ok, t
  if budgeted then ok, t = pcall(chunk) else ok, t = bounded(chunk) end
  if not ok then
    if type(t) ~= "string" then return nil, ("%s: raised a %s value"):format(path, type(t)) end
    -- (a limit's error carries no position: say where it came from)
    return nil, t:sub(1, #path) == path and t or path .. ": " .. t
  end
  if type(t) ~= "table" then return nil, path .. ":1: must return a table of settings" end
  return t, source
end

-- Checks the settings of a node.lua table; returns true or nil, "file:line: error".
function M.validate(t, path, source)
  for k, v in pairs(t) do
    local kind = M.node_keys[k] or M.shell_keys[k]
    if type(k) ~= "string" or not kind then
      return nil, ("%s:%d: unknown setting '%s'"):format(path, line_of(source, tostring(k)),
        tostring(k))
    end
    local why = check_value(k, kind, v)
    if why then
      return nil, ("%s:%d: %s %s"):format(path, line_of(source, k), k, why)
    end
  end
  return true
end

local function node_id_from(dir, t)
  if t.node_id then return t.node_id end
  local file = t.node_id_file or "node_id"
  if not file:match("^/") then file = dir .. "/" .. file end
  local s = read_file(file)
  if s then
    local id = s:match("^%s*([%w%-_%.:]+)%s*$")
    if not id then return nil, file .. ":1: not a node id" end
    return id, nil, file
  end
  return nil, nil, file
end

-- Loads DIR/node.lua. Returns a config table with `node` (settings for
-- hearsay.node) and shell settings, or nil, error. budgeted: see eval.
function M.load(dir, budgeted)
  local path = dir .. "/node.lua"
  local t, source = M.eval(path, budgeted)
  if not t then return nil, source end
  local ok, err = M.validate(t, path, source)
  if not ok then return nil, err end
  local node = {}
  for k, v in pairs(t) do
    if M.node_keys[k] then node[k] = v end
  end
  local id, iderr, idfile = node_id_from(dir, t)
  if iderr then return nil, iderr end
  node.node_id = id
  return {
    dir = dir, path = path, node = node, id_file = (not id) and idfile or nil,
    plugins = t.plugins or {}, plugin_path = t.plugin_path, policy = t.policy,
    plugin_memory = t.plugin_memory, plugin_instructions = t.plugin_instructions,
    plugin_timeout = t.plugin_timeout, plugin_max_share = t.plugin_max_share,
    plugin_share_window = t.plugin_share_window, console_socket = t.console_socket,
  }
end

-- Stores a freshly generated node id so the node keeps it across restarts.
function M.save_id(file, id)
  local f, err = io.open(file, "wb")
  if not f then return nil, err end
  f:write(id, "\n")
  f:close()
  return true
end

return M
