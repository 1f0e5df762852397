-- benchlib.lua -- small helpers shared by the in-process benchmarks:
-- option parsing, percentiles, this process's RSS and CPU time, and the
-- result lines bench/run collects.
--
-- Every benchmark prints human-readable lines, plus one line per figure:
--   @ <bench> <key> <value>
-- which bench/run gathers into its summary (and RESULTS.md quotes).
local M = {}

-- Parses "--key value" and "--flag" arguments over the defaults table;
-- a default's type decides how the value is read. Unknown keys are errors.
function M.args(argv, defaults)
  local o = {}
  for k, v in pairs(defaults) do o[k] = v end
  local i = 1
  while i <= #argv do
    local key = argv[i]:match("^%-%-([%w_%-]+)$")
    if not key then error("unexpected argument: " .. argv[i]) end
    key = key:gsub("%-", "_")
    local d = defaults[key]
    if d == nil then error("unknown option --" .. key) end
    if type(d) == "boolean" then
      o[key] = true
      i = i + 1
    else
      local v = argv[i + 1]
      if v == nil then error("--" .. key .. " needs a value") end
      if type(d) == "number" then
        o[key] = tonumber(v) or error("--" .. key .. " needs a number")
      else
        o[key] = v
      end
      i = i + 2
    end
  end
  return o
end

local function sorted(list)
  local s = {}
  for i, v in ipairs(list) do s[i] = v end
  table.sort(s)
  return s
end

-- Nearest-rank percentile of a list of numbers (p in 0..100); nil if empty.
-- With 20 samples, p99 is the largest one: we say so wherever it is shown.
function M.percentile(list, p)
  if #list == 0 then return nil end
  local s = sorted(list)
  local rank = math.max(1, math.ceil(p / 100 * #s))
  return s[rank]
end

-- The median as statistics books define it: the middle value of an odd
-- count, the mean of the two middle values of an even one (of 20 repeats,
-- the 10th and 11th; the nearest-rank p50 would be the 10th alone, always
-- the lower). nil if empty. Equal middle values are returned as they are
-- (an integer stays one; two "never" (math.huge) are never), and a
-- "never" among the two middle values makes the median never too.
function M.median(list)
  local n = #list
  if n == 0 then return nil end
  local s = sorted(list)
  if n % 2 == 1 then return s[(n + 1) // 2] end
  local a, b = s[n // 2], s[n // 2 + 1]
  if a == b then return a end
  return (a + b) / 2
end

function M.mean(list)
  if #list == 0 then return nil end
  local t = 0
  for _, v in ipairs(list) do t = t + v end
  return t / #list
end

-- Writes text to path whole: to path.tmp, then renamed, so a reader that
-- polls for the file never sees half of it.
function M.write(path, text)
  local f = assert(io.open(path .. ".tmp", "w"))
  f:write(text)
  f:close()
  assert(os.rename(path .. ".tmp", path))
end

local function read(path)
  local f = io.open(path)
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end
M.read = read

-- Resident set size of this process, in KiB (VmRSS of /proc/self/status).
function M.rss_kb()
  return tonumber((read("/proc/self/status") or ""):match("VmRSS:%s*(%d+)"))
end

-- This process's pid (field 1 of /proc/self/stat).
function M.pid()
  return tonumber((read("/proc/self/stat") or ""):match("^(%d+)"))
end

-- Clock ticks per second, asked once at load time (before any node holds
-- file descriptors, since io.popen needs a few).
local clk_tck
do
  local p = io.popen("getconf CLK_TCK")
  clk_tck = p and tonumber(p:read("a")) or 100
  if p then p:close() end
end

-- CPU seconds (user + system) this process (or process `pid`) has used,
-- from /proc/PID/stat.
function M.cpu_seconds(pid)
  local stat = read("/proc/" .. (pid and tostring(pid) or "self") .. "/stat") or ""
  -- Fields after the ")" that closes the command name: state is field 3,
  -- utime field 14 and stime field 15.
  local rest = stat:match("%) (.*)$") or ""
  local f = {}
  for w in rest:gmatch("%S+") do f[#f + 1] = w end
  return ((tonumber(f[12]) or 0) + (tonumber(f[13]) or 0)) / clk_tck
end

-- A POST /gossip body: make() itself for a batch of 1, else a JSON array
-- of n of make()'s envelopes.
function M.batch_body(n, make)
  if n <= 1 then return make() end
  local parts = {}
  for i = 1, n do parts[i] = make() end
  return "[" .. table.concat(parts, ",") .. "]"
end

-- Bytes sent on the loopback interface (all of it: meaningful inside a
-- private network namespace, where only this benchmark uses lo).
function M.lo_tx_bytes()
  for line in (read("/proc/net/dev") or ""):gmatch("[^\n]+") do
    local rx, tx = line:match("^%s*lo:%s*(%d+)%s+%d+%s+%d+%s+%d+%s+%d+%s+%d+%s+%d+%s+%d+%s+(%d+)")
    if rx then return tonumber(tx) end
  end
end

-- A number for people: 2 decimals, "never" for infinity, "-" for nil.
function M.fmt(v)
  if v == nil then return "-" end
  if v == math.huge then return "never" end
  return ("%.2f"):format(v)
end

-- Result line for bench/run: "@ bench key value" ("inf": never reached).
function M.result(bench, key, value)
  if type(value) == "number" then
    if value ~= value then value = "nan"
    elseif value == math.huge then value = "inf"
    elseif math.type(value) == "float" then value = ("%.6g"):format(value) end
  end
  print(("@ %s %s %s"):format(bench, key, tostring(value)))
  io.stdout:flush()
end

function M.log(fmt, ...)
  print((fmt):format(...))
  io.stdout:flush()
end

-- Sum of every node's numeric metrics.
function M.sum_metrics(nodes)
  local t = {}
  for _, node in ipairs(nodes) do
    if node:is_open() then
      for k, v in pairs(node:metrics()) do
        if type(v) == "number" then t[k] = (t[k] or 0) + v end
      end
    end
  end
  return t
end

-- A peer_announce from `node`, exactly what its gossip timer sends. The
-- benchmarks keep gossip_interval long so periodic announces do not run
-- during measurement, and drive announce rounds by hand while warming up.
function M.announce(node)
  node:broadcast("peer_announce", {
    node_id = node:id(), url = node:url(), merkle_root = node:merkle_root(),
    timestamp = os.time(),
  })
end

-- `len` random base64 characters: the payload text the load and
-- dissemination benchmarks send (serf.sh sends the same kind).
local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
function M.random_text(len)
  local t = {}
  for i = 1, len do
    local k = math.random(#alphabet)
    t[i] = alphabet:sub(k, k)
  end
  return table.concat(t)
end

-- Shuffles a list in place (Fisher-Yates).
function M.shuffle(t)
  for i = #t, 2, -1 do
    local j = math.random(i)
    t[i], t[j] = t[j], t[i]
  end
  return t
end

-- Live-peer count distribution: min, median, max, and how many nodes have
-- at least `want`.
function M.peer_spread(nodes, want)
  local counts, ok = {}, 0
  for _, node in ipairs(nodes) do
    if node:is_open() then
      local c = #node:peers()
      counts[#counts + 1] = c
      if c >= want then ok = ok + 1 end
    end
  end
  table.sort(counts)
  return counts[1] or 0, M.median(counts) or 0, counts[#counts] or 0, ok
end

return M
