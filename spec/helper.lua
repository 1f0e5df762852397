-- helper.lua -- shared by every spec (busted --helper): in-process clusters,
-- synchronous HTTP through a node's client, and `hearsay` processes for the
-- specs where process death matters. Every wait here is bounded in time.
local hs = require "hearsay"
local cluster = require "hearsay.cluster"

local H = {}
_G.H = H -- specs reach the helpers as H

H.hs = hs
H.bin = os.getenv("HEARSAY_BIN") or "build/hearsay"
H.src = os.getenv("HEARSAY_SRC") or "."

-- Fast timers so specs finish in seconds; each spec overrides what it tests.
H.fast = {
  gossip_interval = 0.3, health_interval = 0.2, peer_exchange_interval = 0.3,
  rebootstrap_interval = 0.3, request_timeout = 1, retry_min = 0.2, retry_max = 1,
  probe_timeout = 0.5, suspicion_timeout = 0.3,
  log_level = "error",
}

function H.settings(extra)
  local s = {}
  for k, v in pairs(H.fast) do s[k] = v end
  for k, v in pairs(extra or {}) do s[k] = v end
  return s
end

function H.cluster(n, extra, each)
  return cluster.new({ n = n, settings = H.settings(extra), each = each })
end

-- A lone started node on a loop (new loop unless given).
function H.node(extra, loop)
  loop = loop or hs.loop()
  local node, why = H.try_node(extra, loop)
  assert(node, why)
  return node, loop
end

-- The kernel's ephemeral ports (/proc/sys/net/ipv4/ip_local_port_range):
-- port 0 listens and every outgoing connection's local end take theirs
-- from this range.
function H.ephemeral_low()
  local f = io.open("/proc/sys/net/ipv4/ip_local_port_range")
  local low = f and tonumber(f:read("l"):match("^%s*(%d+)"))
  if f then f:close() end
  return low or 32768
end

-- Runs body(port) with a port below the ephemeral range, chosen at random,
-- for a node that must listen on a port known beforehand or come back on
-- its port after a restart. A freed ephemeral port is not safe for that:
-- under ctest -j another spec's outgoing connection can take it first (CI
-- saw "Address already in use" on 2026-12-06). Below the range only an
-- explicit listen can, so body returns nil when its listen failed and runs
-- again on another port, at most 5 times. Returns what body returned.
function H.on_spare_port(loop, body)
  local top = H.ephemeral_low() - 1
  local bottom = top > 12000 and top - 10000 or 1025
  local why, tried = nil, {}
  for _ = 1, 5 do
    local port
    repeat port = math.random(bottom, top) until not tried[port]
    tried[port] = true
    local r, w = body(port)
    if r ~= nil then return r end
    why = w
  end
  error("no spare port could be listened on in 5 tries: " .. tostring(why))
end

-- A node (H.node's settings) on a spare port (H.on_spare_port).
function H.spare_node(extra, loop)
  return H.on_spare_port(loop, function(port)
    local s = {}
    for k, v in pairs(extra or {}) do s[k] = v end
    s.port = port
    return H.try_node(s, loop)
  end)
end

-- Like H.node, but a node that cannot listen is closed and gives nil and
-- the reason (for H.on_spare_port's bodies).
function H.try_node(extra, loop)
  local s = H.settings(extra)
  s.port = s.port or 0
  local node = hs.node(loop, s)
  local ok, err = node:start()
  if not ok then
    node:close()
    return nil, err
  end
  return node
end

-- Synchronous request through node's client; returns status, body, err.
function H.fetch(loop, node, method, url, body, header, timeout)
  local done, st, b, e = false
  node:fetch(method, url, body, function(s, bb, ee) done, st, b, e = true, s, bb, ee end,
    timeout or 3, header)
  loop:run_until(function() return done end, (timeout or 3) + 2)
  return st, b, e
end

-- POSTs the envelope (a table) to base_url's /gossip through client's
-- node; returns the status and the answer's text.
function H.post_gossip(loop, client, base_url, env)
  local st, b = H.fetch(loop, client, "POST", base_url .. "/gossip", hs.json_encode(env))
  return st, b
end

-- Synchronous request decoding a JSON answer: status, table.
function H.fetch_json(loop, node, method, url, body, header)
  local st, b, e = H.fetch(loop, node, method, url, body, header)
  if not b then return st, nil, e end
  return st, hs.json_decode(b)
end

function H.envelope(over)
  local e = {
    message_id = ("%064x"):format(math.random(0, 1 << 50)) ,
    message_type = "chat", payload = { text = "hi" }, timestamp = os.time() + 0.5,
    ttl = 5, origin_peer = "spec-origin", seen_by = hs.array({ "spec-origin" }),
  }
  for k, v in pairs(over or {}) do e[k] = v end
  return e
end

-- A fresh random message id (64 hex characters).
function H.id()
  local t = {}
  for i = 1, 8 do t[i] = ("%08x"):format(math.random(0, 0xffffffff)) end
  return table.concat(t)
end

-- Counts, for each node, messages of `type` it received (via hooks).
function H.record(nodes, type_)
  local got = {}
  for i, node in ipairs(nodes) do
    got[i] = {}
    node:on("message", function(m)
      if not type_ or m.type == type_ then got[i][m.id] = m end
    end)
  end
  return got
end

-- ---- plugins ----------------------------------------------------------------

-- Writes plugin files { name = source } into a fresh directory; returns it.
function H.plugin_dir(files, dir)
  dir = dir or H.tmpdir()
  for name, source in pairs(files) do
    local f = assert(io.open(("%s/%s.lua"):format(dir, name), "w"))
    f:write(source)
    f:close()
  end
  return dir
end

-- Loads plugins into node from dir: list is the plugins setting.
function H.plugins(node, dir, list, extra)
  local o = { plugin_path = { dir }, plugins = list }
  for k, v in pairs(extra or {}) do o[k] = v end
  node:plugins(o)
end

-- ---- hearsay processes ---------------------------------------------------

-- Temporary directories and processes this run made: removed and killed
-- (by pid) when busted exits, whatever the specs did. HEARSAY_KEEP_TMP=1
-- keeps the directories (their logs) for a look after a failure.
--
-- A run killed before its exit handler (a ctest timeout) leaves both
-- behind. Its processes die with it: each is started as a child of this
-- one with a parent-death signal (setpriv --pdeathsig). Its directories
-- are removed by the next run, when the helper loads: each holds OWNER,
-- the pid and start time of the busted process that made it, and a
-- directory whose owner is gone goes. One without OWNER (made by a run
-- with HEARSAY_KEEP_TMP=1, or by an older helper) is never touched.
local tmpdirs, procs = {}, {}
local keep = os.getenv("HEARSAY_KEEP_TMP") == "1"
local OWNER = ".hearsay-spec-owner"

-- A process's start time (clock ticks after boot, field 22 of its stat:
-- a pid may be reused, the pair may not), or nil once it is gone or a
-- zombie.
local function started(pid)
  local f = io.open(("/proc/%s/stat"):format(pid))
  if not f then return nil end
  local state, rest = f:read("a"):match("^%d+ %b() (%a) (.*)$")
  f:close()
  if not state or state == "Z" then return nil end
  local i = 3
  for field in rest:gmatch("%S+") do
    i = i + 1
    if i == 22 then return field end
  end
end

local mine
do
  local f = assert(io.open("/proc/self/stat"))
  local me = f:read("a"):match("^(%d+)")
  f:close()
  mine = ("%s %s\n"):format(me, started(me))
end

do
  local p = io.popen("for d in /tmp/hearsay-spec.*; do [ -f \"$d/" .. OWNER .. "\" ] && echo \"$d\"; done")
  for d in p:lines() do
    local f = d:match("^/tmp/hearsay%-spec%.%w+$") and io.open(d .. "/" .. OWNER)
    local pid, start = (f and f:read("a") or ""):match("^(%d+) (%d+)\n$")
    if f then f:close() end
    if pid and started(pid) ~= start then os.execute(("rm -rf %q"):format(d)) end
  end
  p:close()
end

function H.tmpdir()
  local p = io.popen("mktemp -d /tmp/hearsay-spec.XXXXXX")
  local d = p:read("l")
  p:close()
  assert(d and d:match("^/tmp/hearsay%-spec%.%w+$"), "mktemp failed")
  tmpdirs[#tmpdirs + 1] = d
  if not keep then
    local f = assert(io.open(d .. "/" .. OWNER, "w"))
    f:write(mine)
    f:close()
  end
  return d
end

-- Alive and not a zombie (one of ours stays a zombie until H.cleanup).
local function alive(pid)
  return started(pid) ~= nil
end

-- Starts `cmd` (a shell line; `prefix`, a command that execs its
-- arguments, in front) with stdin from /dev/null and its output to `out`,
-- as a child of this process that gets SIGKILL when this process dies;
-- returns { pid, pipe }. Without setpriv's --pdeathsig: in the
-- background, as before, outliving a killed run.
local pdeathsig = os.execute("setpriv --pdeathsig KILL true >/dev/null 2>&1")

local function launch(prefix, cmd, out)
  local p
  if pdeathsig then
    -- The shell prints its pid, then becomes the command (prctl's setting
    -- survives exec but not a change of gid: hence after the prefix).
    p = io.popen(("echo $$; exec %s setpriv --pdeathsig KILL -- %s </dev/null >%q 2>&1")
      :format(prefix or "", cmd, out))
  else
    p = io.popen(("exec %s %s </dev/null >%q 2>&1 & echo $!"):format(prefix or "", cmd, out))
  end
  local pid = tonumber(p:read("l"))
  if not pdeathsig then p:close(); p = nil end
  -- The pipe of a child is closed (reaped) in H.cleanup, once it is dead:
  -- closing it before would wait for the process.
  local proc = { pid = pid, pipe = p }
  procs[#procs + 1] = proc
  return proc
end

function H.cleanup()
  for _, proc in ipairs(procs) do
    if alive(proc.pid) then os.execute(("kill -KILL %d 2>/dev/null"):format(proc.pid)) end
    if proc.pipe then proc.pipe:close() end
  end
  procs = {}
  if not keep then
    for _, d in ipairs(tmpdirs) do os.execute(("rm -rf %q"):format(d)) end
  end
  tmpdirs = {}
end

require("busted").subscribe({ "exit" }, function()
  H.cleanup()
  return nil, true
end)

local function serialize(v)
  if type(v) == "string" then return ("%q"):format(v) end
  if type(v) ~= "table" then return tostring(v) end
  local parts = {}
  for k, x in pairs(v) do
    if math.type(k) == "integer" then parts[#parts + 1] = serialize(x)
    else parts[#parts + 1] = ("[%q] = %s"):format(k, serialize(x)) end
  end
  return "{ " .. table.concat(parts, ", ") .. " }"
end

-- Writes a config dir for a process node; returns its path.
function H.config_dir(settings, dir)
  dir = dir or H.tmpdir()
  local f = assert(io.open(dir .. "/node.lua", "w"))
  f:write("return ", serialize(settings), "\n")
  f:close()
  return dir
end

-- The file's text, or "" when it does not exist (yet).
local function read(path)
  local f = io.open(path)
  if not f then return "" end
  local s = f:read("a")
  f:close()
  return s
end
H.read = read

-- node's peer with this id (live ones; dead ones too when `all`), or nil.
function H.peer(node, id, all)
  for _, p in ipairs(node:peers(all)) do
    if p.id == id then return p end
  end
end

-- Runs the loop until node has probed every peer it knows once (its first
-- probe tells it their latency and features); true, or false after timeout.
function H.probed(loop, node, timeout)
  return loop:run_until(function()
    for _, p in ipairs(node:peers()) do if not p.latency_ms then return false end end
    return true
  end, timeout or 3)
end

-- n nodes on a new loop that all know each other and have probed each
-- other; `extra`: settings for every node, or function(i) -> node i's.
-- Returns the loop and the nodes.
function H.mesh(n, extra)
  local loop, nodes = hs.loop(), {}
  for i = 1, n do
    nodes[i] = H.node(type(extra) == "function" and extra(i) or extra, loop)
    for j = 1, i - 1 do
      nodes[i]:add_peer(nodes[j]:id(), nodes[j]:url())
      nodes[j]:add_peer(nodes[i]:id(), nodes[i]:url())
    end
  end
  for i = 1, n do assert(H.probed(loop, nodes[i], 5), "node " .. i .. " probed its peers") end
  return loop, nodes
end

-- Starts `hearsay run --config dir` in the background. Returns a handle
-- {pid, dir, log, url, id} once it prints its URL (within timeout), driving
-- `loop` meanwhile so in-process nodes keep serving. `prefix`, a shell
-- command that execs its arguments (`setpriv ...`), wraps the process.
local spawned = 0

function H.spawn(dir, loop, timeout, prefix)
  -- A fresh log per process: an old one would show the last run's URL.
  spawned = spawned + 1
  local log = ("%s/out.%d.log"):format(dir, spawned)
  os.remove(log)
  local proc = launch(prefix, ("%q run --config %q"):format(H.bin, dir), log)
  proc.dir, proc.log = dir, log
  local ok = (loop or hs.loop()):run_until(function()
    local id, url = read(log):match("hearsay node (%S+) listening on (%S+)")
    proc.id, proc.url = id, url
    return url ~= nil
  end, timeout or 10, 0.02)
  if not ok then
    H.kill(proc, "KILL")
    error("hearsay process did not start:\n" .. read(log))
  end
  return proc
end

function H.output(proc) return read(proc.log) end

function H.kill(proc, sig)
  os.execute(("kill -%s %d 2>/dev/null"):format(sig or "TERM", proc.pid))
end

function H.alive(proc) return alive(proc.pid) end

-- Waits (bounded) for a process to exit; returns true if it did, or
-- false and what the process looks like (for the failure message).
function H.wait_exit(proc, loop, timeout)
  local ok = (loop or hs.loop()):run_until(function() return not H.alive(proc) end,
    timeout or 5, 0.02)
  if ok then return true end
  local status = read(("/proc/%d/status"):format(proc.pid))
  return false, ("pid %d still running (%s, caught %s, ignored %s, blocked %s)\n%s"):format(
    proc.pid, status:match("State:%s*([^\n]*)") or "?", status:match("SigCgt:%s*(%x+)") or "?",
    status:match("SigIgn:%s*(%x+)") or "?", status:match("SigBlk:%s*(%x+)") or "?", H.output(proc))
end

-- The reference node (spec/reference/ref_node.py) in its own process, with
-- extra command-line args (fast gossip and health loops unless they say
-- otherwise); returns { pid, log, port, id, url }.
function H.start_ref(loop, args)
  args = args or ""
  local dir = H.tmpdir()
  local log = dir .. "/ref.log"
  local fast = (args:find("--gossip-interval", 1, true) and "" or "--gossip-interval 0.3 ")
    .. (args:find("--health-interval", 1, true) and "" or "--health-interval 0.5 ")
  local ref = launch(nil, ("/usr/bin/python3 %q/spec/reference/ref_node.py --port 0 %s%s")
    :format(H.src, fast, args), log)
  ref.log = log
  assert(loop:run_until(function()
    local port, id = H.read(log):match("READY (%d+) (%S+)")
    ref.port, ref.id = tonumber(port), id
    return port ~= nil
  end, 15, 0.05), "the reference node did not start:\n" .. H.read(log))
  ref.url = "http://127.0.0.1:" .. ref.port
  return ref
end

function H.stop_ref(loop, ref)
  H.kill(ref, "TERM")
  if not H.wait_exit(ref, loop, 5) then H.kill(ref, "KILL") end
end

-- What the reference node saw: GET ref.url .. "/_test/" .. what through
-- client's node ("received", "requests" or "status"), decoded.
function H.ref_test(loop, client, ref, what)
  local st, v = H.fetch_json(loop, client, "GET", ref.url .. "/_test/" .. what)
  assert(st == 200, "the reference node's /_test/" .. what .. " answered " .. tostring(st))
  return v
end

-- Runs a shell command; returns exit code and output.
function H.sh(cmd)
  local p = io.popen(cmd .. " 2>&1; echo \"exit=$?\"")
  local out = p:read("a")
  p:close()
  local code = tonumber(out:match("exit=(%d+)%s*$"))
  return code, out:gsub("exit=%d+%s*$", "")
end

-- `hearsay sim ARGS` (hearsay sim's specs): exit code and output.
function H.sim(args)
  return H.sh(("%q sim %s 2>&1"):format(H.bin, args))
end

-- The trace hash a `hearsay sim` run printed.
function H.trace_of(out)
  return out:match("trace (%x+)")
end

-- Runs a shell command in the background while driving `loop` (so that
-- in-process nodes answer it); returns its output (stdout and stderr)
-- once it exits, or raises after timeout seconds (default 10).
function H.sh_bg(loop, cmd, timeout)
  local dir = H.tmpdir()
  local out, done = dir .. "/out", dir .. "/done"
  local p = io.popen(("( (%s) >%q 2>&1; echo $? >%q ) &"):format(cmd, out, done))
  p:close()
  local ok = loop:run_until(function() return read(done) ~= "" end, timeout or 10, 0.01)
  assert(ok, "command did not finish: " .. cmd .. "\n" .. read(out))
  return read(out), tonumber(read(done))
end

-- Writes text to path (whole).
function H.write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

-- Feeds lines to `hearsay console --socket sock` through a pipe; returns
-- its exit code and output.
function H.console(sock, lines)
  local input = os.tmpname()
  H.write(input, table.concat(lines, "\n") .. "\n")
  local code, out = H.sh(("%q console --socket %q < %q"):format(H.bin, sock, input))
  os.remove(input)
  return code, out
end

return H
