-- config.lua -- loads a config directory: node.lua (a Lua file returning a
-- table) plus the node id it keeps there. node.lua runs in an empty
-- environment with only pure helpers (string, math, table, os.getenv), so a
-- config file cannot do I/O. Every problem is reported as "file:line: what".
local M = {}

-- Settings the core takes, with the Lua type each must have.
M.node_keys = {
  node_id = "string", host = "string", port = "integer", public_url = "string",
  bootstrap = "table", fanout = "integer", tree = "boolean", feed_chains = "boolean", ttl = "integer", max_ttl = "integer",
  announce_ttl = "integer", max_peers = "integer", min_peers = "integer",
  gossip_interval = "number", health_interval = "number",
  peer_exchange_interval = "number", join_exchanges = "integer", rebootstrap_interval = "number",
  discovery_interval = "number", rebootstrap_max = "integer",
  request_timeout = "number", dead_after = "integer", dead_timeout = "number",
  retry_min = "number", retry_max = "number", forget_after = "number",
  probe_timeout = "number", probe_interval = "number", indirect_probes = "integer",
  suspicion_timeout = "number", suspicion_min = "number", suspicion_confirmations = "integer",
  max_probes_in_flight = "integer",
  seen_ttl = "number", seen_cap = "integer", max_body = "integer",
  max_seen_by = "integer", max_batch = "integer", max_connections = "integer",
  peer_connections = "integer", curl_for_http = "boolean", lazy_fanout = "integer", lazy_delay = "seconds0", batch_window = "seconds0", batch_interval = "seconds0", ae_interval = "seconds0",
  ae_window = "number", ae_max_interval = "number", max_digest = "integer", retain_ttl = "number", retain_bytes = "integer",
  log_level = "string", log_format = "string", tags = "table",
  -- TLS files (relative to the config directory) and peer_allow's ranges:
  -- checked by hearsay.tls.
  tls_cert = "file", tls_key = "file", tls_ca = "file", tls_client_auth = "boolean",
  peer_allow = "cidrs",
  -- Cluster authentication (README, Security): cluster_keys only seeds the
  -- keyring file (keyring_file) when that does not exist yet; from then on
  -- the file, which the node rewrites on every change, is the keyring.
  security = "security", cluster_keys = "keys", auth_window = "number",
  -- Trust (README, Security): state writers' public keys, proxies whose
  -- X-Forwarded-For names the client, and how fast strangers may make a
  -- node learn peers and probe new addresses.
  writers = "pubkeys", trust_forwarded = "cidrs", learn_rate = "number",
  learn_burst = "integer", probe_new_rate = "number",
  -- Peer scores (README, Write a plugin: Verdicts and scores).
  score_delivery = "number", score_reject = "number", score_invalid = "number",
  score_failure = "number", score_max = "number", score_half_life = "number",
  score_forward = "number", score_graylist = "number", graylist_time = "number",
  -- Queries (README, Write a plugin: Queries).
  query_timeout = "number", query_answer_max = "integer", query_answer_rate = "number",
  cluster_label = "string",
}

-- Settings only the Lua shell reads.
M.shell_keys = {
  node_id_file = "string", plugins = "table", plugin_path = "table", policy = "string",
  plugin_memory = "integer", plugin_instructions = "integer", console_socket = "string",
  plugin_timeout = "seconds0", plugin_max_share = "fraction", plugin_share_window = "number",
  keyring_file = "string", node_key_file = "string",
  snapshot_file = "string", snapshot_interval = "number",
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

-- The line where `key = ...` appears in the source, for error messages
-- (1, false when it does not).
local function line_of(source, key)
  local n = 0
  key = key:gsub("%p", "%%%0") -- a key is text, not a pattern
  for line in (source .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    if line:match("^%s*" .. key .. "%s*=") or line:match("[{,]%s*" .. key .. "%s*=") then
      return n, true
    end
  end
  return 1, false
end

-- A node's refusal of a loaded config ("hearsay.node: ttl (80) must not
-- exceed max_ttl (64)") as "node.lua:LINE: ...", LINE that of the first
-- setting the message names that node.lua sets.
function M.explain(cfg, err)
  local msg = tostring(err):gsub("^.-hearsay%.node: ", "")
  for word in msg:gmatch("[%a_]+") do
    if M.node_keys[word] then
      local n, found = line_of(cfg.source or "", word)
      if found then return ("%s:%d: %s"):format(cfg.path, n, msg) end
    end
  end
  return cfg.path .. ": " .. msg
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
  elseif kind == "security" then
    if not ({ protected = 1, open = 1, cluster = 1, signed = 1 })[v] then
      return "must be one of protected, open, cluster, signed"
    end
  elseif kind == "keys" then
    if type(v) ~= "table" then return "must be a list of keys" end
    for i, k in ipairs(v) do
      if not M.is_key(k) then
        return ("entry %d is not a cluster key (base64 of 32 bytes: `hearsay keygen`)"):format(i)
      end
    end
  elseif kind == "pubkeys" then
    if type(v) ~= "table" then return "must be a list of public keys" end
    for i, k in ipairs(v) do
      if type(k) ~= "string" or not k:match("^" .. ("%x"):rep(64) .. "$") then
        return ("entry %d is not a public key (64 hex digits: a node's /health public_key)")
          :format(i)
      end
    end
  elseif kind == "file" then
    if type(v) ~= "string" or v == "" then return "must be a file name" end
  elseif kind == "cidrs" then
    if type(v) ~= "table" then return "must be a list of address ranges" end
    for i, r in ipairs(v) do
      local why = require("hearsay.tls").cidr_error(r)
      if why then return ("entry %d (%s) %s"):format(i, tostring(r), why) end
    end
  elseif kind == "fraction" then
    if type(v) ~= "number" or not (v >= 0 and v <= 1) then
      return "must be a number from 0 to 1"
    end
  elseif type(v) ~= kind then
    return "must be a " .. kind
  end
  if key == "bootstrap" then
    for i, u in ipairs(v) do
      if type(u) ~= "string" or not (u:match("^https?://[%w%.%-_%[%]:]+")
          or u:match("^dns%+[%w%.%-]+:%d+$") or u:match("^dnssrv%+[%w%.%-_]+$")) then
        return ("entry %d must be an http(s) URL, dns+NAME:PORT or dnssrv+_SERVICE._tcp.NAME")
          :format(i)
      end
    end
  elseif key == "log_format" and v ~= "text" and v ~= "json" then
    return "must be \"text\" or \"json\""
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
  local key, why = require("hearsay.tls").check(t, path:match("^(.*)/[^/]*$") or ".")
  if key then return nil, ("%s:%d: %s %s"):format(path, line_of(source, key), key, why) end
  -- Protected mode, as Redis has it: no security setting, no listening
  -- beyond loopback (the core refuses too; this says where to look).
  if t.host and not t.security and not M.is_loopback(t.host) then
    return nil, ("%s:%d: host %q listens beyond loopback without a security setting: anyone "
      .. "who can reach it could inject messages and rewrite its peers. Set security = "
      .. "\"cluster\" with cluster_keys (README, Security), or security = \"open\" to run an "
      .. "open network on purpose"):format(path, line_of(source, "host"), t.host)
  end
  return true
end

-- Whether a listen address stays on this machine.
function M.is_loopback(host)
  return host == "localhost" or host == "::1" or host:match("^127%.%d+%.%d+%.%d+$") ~= nil
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

-- The node's private key (its seed, 64 hex digits) from node_key_file
-- (default DIR/node_key): seed, nil, file; or nil, nil, file when there is
-- none yet (the shell saves the one the node makes); or nil, error.
local function node_key_from(dir, t)
  local file = t.node_key_file or "node_key"
  if not file:match("^/") then file = dir .. "/" .. file end
  local s = read_file(file)
  if not s then return nil, nil, file end
  local seed = s:match("^%s*(" .. ("%x"):rep(64) .. ")%s*$")
  if not seed then return nil, file .. ":1: not a node key (64 hex digits)" end
  return seed, nil, file
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
  local tls = require "hearsay.tls"
  for k, v in pairs(t) do
    if M.node_keys[k] then node[k] = tls.file_keys[k] and tls.resolve(dir, v) or v end
  end
  local id, iderr, idfile = node_id_from(dir, t)
  if iderr then return nil, iderr end
  node.node_id = id
  local seed, kerr, keyfile = node_key_from(dir, t)
  if kerr then return nil, kerr end
  node.node_key = seed
  return {
    dir = dir, path = path, source = source, node = node, id_file = (not id) and idfile or nil,
    key_file = (not seed) and keyfile or nil,
    plugins = t.plugins or {}, plugin_path = t.plugin_path, policy = t.policy,
    plugin_memory = t.plugin_memory, plugin_instructions = t.plugin_instructions,
    plugin_timeout = t.plugin_timeout, plugin_max_share = t.plugin_max_share,
    plugin_share_window = t.plugin_share_window, console_socket = t.console_socket,
    keyring_file = t.keyring_file, snapshot_file = t.snapshot_file,
    snapshot_interval = t.snapshot_interval,
  }
end

-- Whether k looks like a cluster key: 44 base64 characters, "=" last (the
-- node checks the rest).
function M.is_key(k)
  return type(k) == "string" and #k == 44 and k:match("^[%w+/]+=$") ~= nil
end

-- Reads a keyring file: its keys, primary first, or nil (no such file),
-- or nil, "file:line: error".
function M.read_keyring(file)
  local s = read_file(file)
  if not s then return nil end
  local keys, n = {}, 0
  for line in (s .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    local k = line:match("^%s*(.-)%s*$")
    if k ~= "" and k:sub(1, 1) ~= "#" then
      if not M.is_key(k) then
        return nil, ("%s:%d: not a cluster key (base64 of 32 bytes)"):format(file, n)
      end
      keys[#keys + 1] = k
    end
  end
  if #keys == 0 then return nil, file .. ": holds no key" end
  return keys
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
