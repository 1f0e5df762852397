-- tls.lua -- the node.lua settings that say whom a node talks to: the TLS
-- files (tls_cert, tls_key, tls_ca, tls_client_auth) and the address
-- ranges of peer_allow. config.lua calls these to refuse a bad setting
-- with its file and line before the core sees it; the core checks the
-- same things again (README, Security).
local M = {}

-- The settings that name files; a relative name is relative to the
-- config directory.
M.file_keys = { tls_cert = true, tls_key = true, tls_ca = true }

-- A file setting's path: absolute, or joined to the config directory.
function M.resolve(dir, file)
  if file:sub(1, 1) == "/" or not dir or dir == "" then return file end
  return dir .. "/" .. file
end

-- A dotted quad as inet_pton takes it (no leading zeros, each <= 255).
local function is_v4(s)
  local parts = { s:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$") }
  if #parts ~= 4 then return false end
  for _, p in ipairs(parts) do
    if #p > 3 or (#p > 1 and p:sub(1, 1) == "0") or tonumber(p) > 255 then return false end
  end
  return true
end

-- The 16-bit groups in a ':'-separated run (a dotted quad may end it:
-- two groups), or nil when a field is not one.
local function groups(run, may_end_v4)
  if run == "" then return 0 end
  local fields = {}
  for f in (run .. ":"):gmatch("([^:]*):") do fields[#fields + 1] = f end
  local n = 0
  for i, f in ipairs(fields) do
    if i == #fields and may_end_v4 and f:find(".", 1, true) then
      if not is_v4(f) then return nil end
      n = n + 2
    elseif f:match("^%x%x?%x?%x?$") then
      n = n + 1
    else
      return nil
    end
  end
  return n
end

local function is_v6(s)
  local at = s:find("::", 1, true)
  if not at then return groups(s, true) == 8 end
  if s:find("::", at + 1, true) then return false end
  local head, tail = groups(s:sub(1, at - 1), false), groups(s:sub(at + 2), true)
  return head ~= nil and tail ~= nil and head + tail <= 7
end

-- nil when s is an address range ("10.0.0.0/8", "fd00::/8", or a bare
-- address), else what is wrong with it.
function M.cidr_error(s)
  if type(s) ~= "string" then return "is not a string" end
  local addr, bits = s:match("^(.-)/(%d+)$")
  addr = addr or s
  if s:find("/", 1, true) and not bits then return "has no prefix length after '/'" end
  local v4 = is_v4(addr)
  if not v4 and not is_v6(addr) then return "is not an IPv4 or IPv6 address" end
  if bits and tonumber(bits) > (v4 and 32 or 128) then
    return ("has a prefix longer than %d bits"):format(v4 and 32 or 128)
  end
end

-- nil when path is a readable PEM file, else what is wrong.
function M.file_error(path)
  local f, err = io.open(path, "rb")
  if not f then return "cannot be read (" .. tostring(err) .. ")" end
  local text, rerr = f:read(1 << 20)
  f:close()
  if not text and rerr then return "cannot be read (" .. tostring(rerr) .. ")" end
  if not (text or ""):find("-----BEGIN ", 1, true) then
    return "is not a PEM file (no -----BEGIN line): " .. path
  end
end

-- The settings t (from the config directory dir) checked together:
-- nil, or the key to blame and what is wrong.
function M.check(t, dir)
  for key in pairs(M.file_keys) do
    if t[key] then
      local why = M.file_error(M.resolve(dir, t[key]))
      if why then return key, why end
    end
  end
  if (t.tls_cert == nil) ~= (t.tls_key == nil) then
    return t.tls_cert and "tls_cert" or "tls_key", "needs tls_cert and tls_key together"
  end
  if t.tls_client_auth and not (t.tls_cert and t.tls_ca) then
    return "tls_client_auth", "needs tls_cert, tls_key and tls_ca (the CA client certificates "
      .. "must chain to)"
  end
  if t.tls_cert then
    if type(t.public_url) == "string" and not t.public_url:match("^https://") then
      return "public_url", "must be an https:// URL when tls_cert is set"
    end
    for i, u in ipairs(type(t.bootstrap) == "table" and t.bootstrap or {}) do
      if type(u) == "string" and not u:match("^https://") then
        return "bootstrap", ("entry %d must be an https:// URL when tls_cert is set"):format(i)
      end
    end
  end
end

return M
