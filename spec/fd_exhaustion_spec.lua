-- A node out of file descriptors (README, Running a node: max_connections):
-- a `hearsay run` process started with a low RLIMIT_NOFILE (prlimit), its
-- descriptors taken by clients that hold connections to it, or by its own
-- requests to peers that never answer. It must stay up, never spin, pause
-- accepting rather than retry in a loop, log each episode once, count it,
-- blame no peer for what its own lack of descriptors failed, and answer
-- again once descriptors are free. Every helper process here ends by
-- itself (a stop file, or its own deadline); all traffic is to 127.0.0.1.
local hs = H.hs

local LIMIT = 64 -- the node's descriptors; it uses about 16 idle

-- Python helpers, each given a stop file and a deadline in seconds; each
-- also ends when its directory goes (H.cleanup, after a failure too).
local STOPPED = [[
import os
def stopped(stop):
    return os.path.exists(stop) or not os.path.isdir(os.path.dirname(stop))
]]
-- Holds n connections to the node; with refill, one the node closes is
-- opened again (at most 20 n times), so that the node stays out of
-- descriptors however many of them it frees.
local HOLDER = [[
import os, selectors, socket, sys, time
port, n, refill = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
stop, most = sys.argv[4], float(sys.argv[5])
sel = selectors.DefaultSelector()
def connect():
    s = socket.socket()
    s.setblocking(False)
    try:
        s.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    sel.register(s, selectors.EVENT_READ)
for _ in range(n):
    connect()
print("holding", n, flush=True)
budget = 20 * n if refill else 0
end = time.time() + most
while time.time() < end and not stopped(stop):
    for key, _ in sel.select(0.02):
        s = key.fileobj
        try:
            data = s.recv(4096)
        except OSError:
            data = b""
        if data:
            continue
        sel.unregister(s)
        s.close()
        if budget > 0:
            budget -= 1
            connect()
for key in list(sel.get_map().values()):
    key.fileobj.close()
print("closed", flush=True)
]]

-- Listens on n ports and never accepts: connects to it complete, and no
-- answer ever comes.
local TARPIT = [[
import os, socket, sys, time
n, stop, most = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
ls = []
for _ in range(n):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    ls.append(s)
print(" ".join(str(s.getsockname()[1]) for s in ls), flush=True)
end = time.time() + most
while time.time() < end and not stopped(stop):
    time.sleep(0.02)
]]

-- A peer that answers /health, /peers and POSTs, and closes the connection
-- after every answer (HTTP/1.0): each request to it needs a new socket.
local PEER = [[
import json, os, sys, time
from http.server import BaseHTTPRequestHandler, HTTPServer
stop, most = sys.argv[1], float(sys.argv[2])
class Peer(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    def answer(self, body):
        b = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def do_GET(self):
        if self.path.startswith("/peers"):
            self.answer([])
        else:
            self.answer({"status": "healthy", "node_id": "closing-peer", "peer_count": 0,
                         "uptime": 1.0, "metrics": {}})
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.answer({"status": "accepted", "message_id": ""})
    def log_message(self, *args):
        pass
srv = HTTPServer(("127.0.0.1", 0), Peer)
srv.timeout = 0.05
print(srv.server_address[1], flush=True)
end = time.time() + most
while time.time() < end and not stopped(stop):
    srv.handle_request()
]]

-- Runs a Python script in the background; returns { out, stop } (touch
-- stop to end it; it ends by itself after `most` s anyway).
local function python(loop, script, args, most)
  local dir = H.tmpdir()
  local file, out, stop = dir .. "/helper.py", dir .. "/out", dir .. "/stop"
  H.write(file, STOPPED .. script)
  local p = io.popen(("( /usr/bin/python3 %q %s %q %s >%q 2>&1 ) &"):format(file, args, stop,
    most, out))
  p:close()
  local h = { out = out, stop = stop }
  function h.finish() H.write(stop, "") end
  function h.read() return H.read(out) end
  return h
end

-- The first line the helper printed, waited for (bounded).
local function first_line(loop, h, timeout)
  local line
  assert(loop:run_until(function()
    line = h.read():match("^([^\n]*)\n")
    return line ~= nil
  end, timeout or 10, 0.02), "the helper did not start: " .. h.read())
  return line
end

-- The process's CPU time so far (user + system), in seconds.
local tck = tonumber(select(2, H.sh("getconf CLK_TCK")):match("%d+")) or 100
local function cpu(pid)
  local stat = H.read(("/proc/%d/stat"):format(pid))
  local rest = stat:match("^%d+ %b() (.*)$")
  local f = {}
  for x in rest:gmatch("%S+") do f[#f + 1] = x end
  -- (fields 14 and 15 of the whole line: 12 and 13 after pid and name)
  return (tonumber(f[12]) + tonumber(f[13])) / tck
end

local function fds(pid)
  local p = io.popen(("ls /proc/%d/fd 2>/dev/null | wc -l"):format(pid))
  local n = tonumber(p:read("a"):match("%d+"))
  p:close()
  return n or 0
end

-- Bytes of a file (its log), without reading it: a node that floods its
-- log writes hundreds of MB.
local function size(path)
  local f = io.open(path)
  if not f then return 0 end
  local n = f:seek("end")
  f:close()
  return n
end

local function count(text, plain)
  local n, i = 0, 1
  while true do
    local s, e = text:find(plain, i, true)
    if not s then return n end
    n, i = n + 1, e + 1
  end
end

-- Waits (bounded) until the node says it ran out of descriptors (MHD's
-- own words, or ours).
local function ran_out(loop, proc)
  return loop:run_until(function()
    local log = H.output(proc)
    return log:find("out of file descriptors", 1, true) ~= nil
      or log:find("resource limit", 1, true) ~= nil
  end, 5, 0.02)
end

-- `hearsay run` with LIMIT descriptors and fast timers.
local function spawn(loop, settings)
  local s = H.settings(settings)
  s.port, s.log_level = 0, "info"
  return H.spawn(H.config_dir(s), loop, 10, ("prlimit --nofile=%d:%d"):format(LIMIT, LIMIT))
end

-- The node's /health, asked on a new connection (a client of its own: a
-- kept-alive connection would be answered without any accept): status,
-- decoded body.
local function health(loop, proc, timeout)
  local client = H.node({}, loop)
  local st, body = H.fetch(loop, client, "GET", proc.url .. "/health", nil, nil, timeout or 2)
  client:close()
  return st, st == 200 and hs.json_decode(body) or nil
end

-- Waits (bounded) until the node answers /health; its metrics, or nil.
local function answers(loop, proc, timeout)
  local m
  loop:run_until(function()
    local st, h = health(loop, proc, 1)
    m = st == 200 and h.metrics or nil
    return m ~= nil
  end, timeout or 10, 0.05)
  return m
end

-- CPU seconds the process used over `s` s of wall time, driving the loop.
local function cpu_over(loop, proc, s)
  local c0 = cpu(proc.pid)
  loop:run_for(s)
  return cpu(proc.pid) - c0
end

describe("a node out of file descriptors", function()
  local loop

  before_each(function() loop = hs.loop() end)
  after_each(function()
    loop:close()
    H.cleanup()
  end)

  it("keeps answering while clients hold every descriptor, without spinning, and logs it once", function()
    local proc = spawn(loop, {})
    assert.equal(200, (health(loop, proc)))
    local holder = python(loop, HOLDER, ("%d 300 1"):format(tonumber(proc.url:match(":(%d+)$"))), 30)
    assert.matches("^holding 300", first_line(loop, holder))
    assert.is_true(ran_out(loop, proc), "the node never ran out: " .. fds(proc.pid) .. " open")
    -- It does not retry accept() in a loop while it lasts...
    local used = cpu_over(loop, proc, 2)
    assert.is_true(used < 0.5, ("%.2f s of CPU in 2 s out of descriptors"):format(used))
    -- ...and, shutting the connections idle longest, it still answers.
    local st = health(loop, proc, 3)
    assert.equal(200, st, "no answer while clients held its descriptors")
    holder.finish()
    assert.is_true(loop:run_until(function() return holder.read():find("closed") ~= nil end, 5, 0.02))
    local m = answers(loop, proc, 5)
    assert.is_not_nil(m, "no answer once the clients let go")
    assert.is_true(m.fd_exhausted_accepts >= 1, "episode not counted")
    assert.is_true(H.alive(proc))
    local log = H.output(proc)
    assert.equal(1, count(log, "cannot accept connections"), log)
    assert.matches("ulimit %-n", log)
  end)

  it("raises its soft descriptor limit to the hard one, and starts where the soft one would not", function()
    -- Soft 40, hard 4096, thirty bootstrap URLs that take connections
    -- and never answer: the bootstrap's connects took the 40, and `hearsay
    -- run` ended with "module 'hearsay.plugins' not found".
    local tarpit = python(loop, TARPIT, "30", 60)
    local urls = {}
    for port in first_line(loop, tarpit):gmatch("%d+") do
      urls[#urls + 1] = "http://127.0.0.1:" .. port
    end
    local st = H.settings({ bootstrap = urls, min_peers = 2, request_timeout = 30,
      peer_connections = 4 })
    st.port, st.log_level = 0, "info"
    local proc = H.spawn(H.config_dir(st), loop, 10, "prlimit --nofile=40:4096")
    local limits = H.read("/proc/" .. proc.pid .. "/limits")
    assert.matches("Max open files%s+4096%s+4096", limits)
    loop:run_for(1) -- the bootstrap rounds go on
    local code, m = health(loop, proc, 2)
    assert.equal(200, code)
    assert.is_not_nil(m)
    assert.is_true(H.alive(proc))
    H.kill(proc, "TERM")
    H.wait_exit(proc, loop, 5)
    tarpit.finish()
  end)

  for _, curl in ipairs({ false, true }) do
    it(("neither spins, floods its log nor blames its peers when its requests hold every "
      .. "descriptor%s"):format(curl and " (through libcurl)" or ""), function()
      -- A peer that answers, on a new connection each time...
      local peer = python(loop, PEER, "", 60)
      local url = "http://127.0.0.1:" .. first_line(loop, peer)
      -- ...and thirty "peers" that take connections and never answer. Short
      -- of min_peers, the node bootstraps through all again every 0.3 s, and
      -- each round holds more sockets (up to peer_connections, 4 here, each)
      -- until none is left: nothing idle to shut, nothing to free.
      local tarpit = python(loop, TARPIT, "30", 60)
      local urls = {}
      for port in first_line(loop, tarpit):gmatch("%d+") do
        urls[#urls + 1] = "http://127.0.0.1:" .. port
      end
      assert.equal(30, #urls)
      -- (last: in each round the silent ones take whatever socket is freed)
      urls[#urls + 1] = url
      local proc = spawn(loop, { bootstrap = urls, min_peers = 2, request_timeout = 30,
        curl_for_http = curl, peer_connections = 4 })
      assert.is_true(loop:run_until(function() return fds(proc.pid) >= LIMIT end, 10, 0.05),
        "the node never ran out: " .. fds(proc.pid) .. " descriptors open")
      -- A client knocks: nothing to accept it with.
      local st = health(loop, proc, 1)
      assert.is_not.equal(200, st)
      -- 2 s more out of descriptors (its peer probed every 0.2 s, dead_after 3).
      local used = cpu_over(loop, proc, 2)
      assert.is_true(used < 0.5, ("%.2f s of CPU in 2 s out of descriptors"):format(used))
      assert.is_true(size(proc.log) < 256 * 1024, ("its log grew to %d bytes"):format(size(proc.log)))
      assert.is_true(H.alive(proc))
      -- The silent peers go away, their sockets with them: it answers again
      -- (within the 1 s pause).
      tarpit.finish()
      local m = answers(loop, proc, 8)
      assert.is_not_nil(m, "no answer once its descriptors were free")
      assert.is_true(m.fd_exhausted_accepts >= 1, "accept episode not counted")
      assert.is_true(m.fd_exhausted_connects >= 1, "failed connects not counted")
      assert.equal(0, m.suspicions, "it suspected a peer it could not reach for want of sockets")
      assert.equal(0, m.peers_removed, "it declared a peer dead for want of sockets")
      local log = H.output(proc)
      assert.equal(1, count(log, "cannot accept connections"), log)
      assert.equal(1, count(log, "requests to peers fail"), log)
      assert.matches("ulimit %-n", log)
      peer.finish()
      assert.is_true(H.alive(proc))
    end)
  end
end)
