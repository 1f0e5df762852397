-- repl.lua -- the evaluation core of the operator console. A session is fed
-- input one line at a time and evaluates Lua like the stock `lua` REPL:
-- `=expr` and bare expressions print their values, unfinished input waits
-- for more behind a ">> " prompt, errors never end the session.
-- It does no I/O: all output goes through the caller's write(text). Code is
-- compiled as text only (mode "t") in a proxy environment whose reads fall
-- through to `env` and whose assignments land in `env`, so globals persist.
-- pretty() renders any value without raising or running metamethods other
-- than __tostring; its cost is bounded by max_depth and max_items (plus one
-- pass over, and a sort of, the keys of each table it shows).
local M = {}

local load, xpcall, pcall, select, next, type = load, xpcall, pcall, select, next, type
local tostring, rawget, setmetatable = tostring, rawget, setmetatable
local concat, sort, rawmetatable = table.concat, table.sort, debug.getmetatable
local traceback, mtype = debug.traceback, math.type

local PROMPT, PROMPT2 = "> ", ">> "

-- ---------------------------------------------------------------- pretty

local KEYWORDS = {}
for w in ([[and break do else elseif end false for function goto if in local
  nil not or repeat return then true until while]]):gmatch("%a+") do KEYWORDS[w] = true end

local function quote(s)
  return (("%q"):format(s):gsub("\\\n", "\\n"))
end

local function safe_tostring(v)
  local ok, s = pcall(tostring, v)
  if ok and type(s) == "string" then return s end
  return "<" .. type(v) .. ": __tostring failed>"
end

local function scalar(v)
  local t = type(v)
  if t == "string" then return quote(v) end
  if t == "number" or t == "boolean" or t == "nil" then return tostring(v) end
  local mt = rawmetatable(v)
  if mt and rawget(mt, "__tostring") ~= nil then return safe_tostring(v) end
  return "<" .. safe_tostring(v) .. ">"
end

local function key_text(k)
  if type(k) == "string" and k:match("^[%a_][%w_]*$") and not KEYWORDS[k] then return k end
  return "[" .. scalar(k) .. "]"
end

-- Numbers first (by value), then strings, then everything else by its text.
local function key_rank(k)
  local t = type(k)
  return t == "number" and 1 or t == "string" and 2 or 3
end

local function key_less(a, b)
  local ra, rb = key_rank(a), key_rank(b)
  if ra ~= rb then return ra < rb end
  if ra < 3 then return a < b end
  return scalar(a) < scalar(b)
end

local function render(v, opts, level, path)
  if type(v) ~= "table" then return scalar(v) end
  local mt = rawmetatable(v)
  if mt and rawget(mt, "__tostring") ~= nil then return safe_tostring(v) end
  if path[v] then return "<cycle>" end
  if level > opts.max_depth then return "{...}" end

  -- The sequence part is 1..n up to the first hole; all other keys, raw.
  local n = 0
  while rawget(v, n + 1) ~= nil do n = n + 1 end
  local keys = {}
  for k in next, v do
    if not (mtype(k) == "integer" and k >= 1 and k <= n) then keys[#keys + 1] = k end
  end
  sort(keys, key_less)

  path[v] = true
  local items, total, multiline = {}, n + #keys, false
  local shown = total < opts.max_items and total or opts.max_items
  for i = 1, shown do
    local item
    if i <= n then
      item = render(rawget(v, i), opts, level + 1, path)
    else
      local k = keys[i - n]
      item = key_text(k) .. " = " .. render(rawget(v, k), opts, level + 1, path)
    end
    multiline = multiline or item:find("\n", 1, true) ~= nil
    items[i] = item
  end
  path[v] = nil
  if total > shown then items[#items + 1] = ("... (%d more)"):format(total - shown) end

  if #items == 0 then return "{}" end
  local line = "{ " .. concat(items, ", ") .. " }"
  if not multiline and #line < 72 then return line end
  local inner, outer = opts.indent:rep(level), opts.indent:rep(level - 1)
  return "{\n" .. inner .. concat(items, ",\n" .. inner) .. ",\n" .. outer .. "}"
end

-- pretty(value [, opts]) returns a readable string for any value; never raises.
function M.pretty(v, opts)
  opts = opts or {}
  local o = {
    max_depth = opts.max_depth or 4,
    max_items = opts.max_items or 50,
    indent = opts.indent or "  ",
  }
  local ok, s = pcall(render, v, o, 1, {})
  if ok then return s end
  return "<pretty failed: " .. safe_tostring(s) .. ">"
end

-- -------------------------------------------------------------- sessions

-- Frames from this file down are the REPL's own (and its caller's): cut them,
-- along with the xpcall that runs the user's chunk.
local SELF = debug.getinfo(1, "S").short_src
local OWN_FRAMES = "\n\t%[C%]: in [^\n]*xpcall'?\n\t" .. SELF:gsub("%p", "%%%0") .. ":"

local function trim(tb)
  local cut, from = nil, 1
  while true do
    local s = tb:find(OWN_FRAMES, from)
    if not s then break end
    cut, from = s, s + 1
  end
  cut = cut or tb:find("\n\t" .. SELF .. ":", 1, true)
  return cut and tb:sub(1, cut - 1) or tb
end

-- As lua.c's msghandler: non-string errors are shown through __tostring, or
-- described by their type.
local function handler(err)
  local msg = err
  if type(err) == "number" then
    msg = tostring(err)
  elseif type(err) ~= "string" then
    local mt = rawmetatable(err)
    local ok, s
    if mt and rawget(mt, "__tostring") ~= nil then ok, s = pcall(tostring, err) end
    msg = (ok and type(s) == "string") and s or ("(error object is a %s value)"):format(type(err))
  end
  return trim(traceback(msg, 2))
end

local function incomplete(err)
  return err ~= nil and err:sub(-5) == "<eof>"
end

local Session = {}
Session.__index = Session

-- Returns the function to run, or nil, the error and whether the input is
-- merely unfinished. "return <input>" is tried first so expressions print.
function Session:compile(buf)
  local function compile(code) return load(code, self.chunkname, "t", self.proxy) end
  if buf:sub(1, 1) == "=" then
    local fn, err = compile("return " .. buf:sub(2))
    return fn, err, incomplete(err)
  end
  local fn, expr_err = compile("return " .. buf)
  if fn then return fn end
  local stat_err
  fn, stat_err = compile(buf)
  if fn then return fn end
  return nil, stat_err, incomplete(stat_err) or incomplete(expr_err)
end

function Session:run(fn)
  local r = table.pack(xpcall(fn, handler))
  if not r[1] then
    local msg = r[2]
    self.write((type(msg) == "string" and msg or "(error in error handling)") .. "\n")
  elseif r.n > 1 then
    local out = {}
    for i = 2, r.n do out[i - 1] = self.raw and self:plain(r[i]) or M.pretty(r[i]) end
    self.write(concat(out, "\t") .. "\n")
  end
end

-- A value as raw mode shows it: a string as it is, a table as JSON (when
-- the session has an encoder), anything else as tostring does.
function Session:plain(v)
  if type(v) == "string" then return v end
  if type(v) == "table" and self.encode then
    local ok, text = pcall(self.encode, v, true)
    if ok then return text end
  end
  return tostring(v)
end

-- feed(line) takes one line without its newline and returns the next prompt.
function Session:feed(line)
  assert(type(line) == "string", "feed: line must be a string")
  if self.pending == nil and not line:find("%S") then return PROMPT end
  -- `\raw on` / `\raw off`: values print raw (strings unquoted, tables as
  -- JSON) or pretty, the default (`hearsay console --raw` sends the first).
  local mode = self.pending == nil and line:match("^%s*\\raw%s+(%a+)%s*$")
  if mode == "on" or mode == "off" then
    self.raw = mode == "on"
    return PROMPT
  end
  local buf = self.pending and self.pending .. "\n" .. line or line
  local fn, err, unfinished = self:compile(buf)
  if fn then
    self.pending = nil
    self:run(fn)
    return PROMPT
  elseif unfinished then
    self.pending = buf
    return PROMPT2
  end
  self.pending = nil
  self.write(err .. "\n")
  return PROMPT
end

-- reset() drops unfinished input, as ^C does in the stock REPL.
function Session:reset()
  self.pending = nil
  return PROMPT
end

-- new{ env = table, write = function(text), chunkname = "=console",
--      encode = function(value, sorted) -> JSON text (raw mode's tables) }
function M.new(opts)
  assert(type(opts) == "table", "repl.new: expects a table of options")
  local env, write = opts.env, opts.write
  assert(type(env) == "table", "repl.new: env must be a table")
  assert(type(write) == "function", "repl.new: write must be a function")

  local function print(...)
    local parts = {}
    for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
    write(concat(parts, "\t") .. "\n")
  end
  -- Looked up on each read, so a print the caller (or user) puts in env wins.
  -- (env's own print only: one it inherits, the process's, would write to
  -- the node's stderr instead of the session.)
  local proxy = setmetatable({}, {
    __index = function(_, k)
      if k == "print" and rawget(env, "print") == nil then return print end
      return env[k]
    end,
    __newindex = env,
  })
  return setmetatable({
    env = env, write = write, proxy = proxy, encode = opts.encode,
    chunkname = opts.chunkname or "=console", pending = nil, raw = false,
  }, Session)
end

return M
