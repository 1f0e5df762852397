-- Discovery through DNS (README, Running a node): bootstrap entries
-- "dnssrv+_SERVICE._tcp.NAME" and "dns+NAME:PORT", served by a dnsmasq of
-- the spec's own. ctest runs this file in private network and mount
-- namespaces (only lo; /etc/resolv.conf bound to "nameserver 127.0.0.1"),
-- so the fixed ports and port 53 are the spec's alone; outside one it
-- refuses to run.
local hs = H.hs

local function private_netns()
  if os.getenv("HEARSAY_NETNS") ~= "1" then return false, "HEARSAY_NETNS is not 1" end
  local code, out = H.sh("ip -o link show")
  if code ~= 0 then return false, out end
  for line in out:gmatch("[^\n]+") do
    local name = line:match("^%d+:%s*([^:@%s]+)")
    if name and name ~= "lo" then return false, "this namespace has interface " .. name end
  end
  if not H.read("/etc/resolv.conf"):match("nameserver 127%.0%.0%.1") then
    return false, "/etc/resolv.conf does not point at 127.0.0.1"
  end
  return true
end

local dnsmasq_pid
local function dnsmasq(loop, ports)
  if dnsmasq_pid then
    os.execute(("kill %d 2>/dev/null"):format(dnsmasq_pid))
    loop:run_for(0.2)
  end
  local args = { "--keep-in-foreground", "--port=53", "--listen-address=127.0.0.1",
    "--bind-interfaces", "--no-resolv", "--no-hosts", "--conf-file=/dev/null", "--user=root",
    "--host-record=nodes.test,127.0.0.1", "--host-record=node.test,127.0.0.1" }
  for _, p in ipairs(ports) do
    args[#args + 1] = ("--srv-host=_hearsay._tcp.test,node.test,%d"):format(p)
  end
  local dir = H.tmpdir()
  local p = io.popen(("exec dnsmasq %s >%q 2>&1 & echo $!"):format(table.concat(args, " "),
    dir .. "/dnsmasq.log"))
  dnsmasq_pid = tonumber(p:read("l"))
  p:close()
  -- ready when it answers
  assert(loop:run_until(function()
    return H.sh("getent hosts nodes.test") == 0
  end, 5, 0.05), "dnsmasq did not start: " .. H.read(dir .. "/dnsmasq.log"))
end

local function peers_of(node)
  local t = {}
  for _, p in ipairs(node:peers()) do t[p.url] = true end
  return t
end

describe("discovery through DNS", function()
  it("forms a cluster from DNS alone, and finds a node added to DNS later", function()
    local ok, why = private_netns()
    assert(ok, "refusing to run a DNS server outside a private namespace (" .. tostring(why)
      .. "); run it through ctest (ctest -R dns_spec)")
    local loop = hs.loop()
    finally(function() if dnsmasq_pid then os.execute("kill " .. dnsmasq_pid) end end)
    dnsmasq(loop, { 7101, 7102 })
    local s = { discovery_interval = 0.5, bootstrap = { "dnssrv+_hearsay._tcp.test" } }
    local function node(port, extra)
      local t = {}
      for k, v in pairs(s) do t[k] = v end
      for k, v in pairs(extra or {}) do t[k] = v end
      t.port = port
      return H.node(t, loop)
    end
    local a, b = node(7101), node(7102)
    local c = node(7103, { bootstrap = { "dns+nodes.test:7101" } })
    assert.is_true(loop:run_until(function()
      return peers_of(a)[b:url()] and peers_of(b)[a:url()] and peers_of(c)[a:url()]
        and peers_of(a)[c:url()]
    end, 10), "the cluster formed from DNS alone")
    assert.is_true(a:metrics().discovered_addresses >= 2)
    -- a fourth node, added to DNS later, with no bootstrap of its own
    local d = node(7104, { bootstrap = {} })
    dnsmasq(loop, { 7101, 7102, 7104 })
    assert.is_true(loop:run_until(function()
      return peers_of(a)[d:url()] and peers_of(b)[d:url()]
    end, 10), "a and b found d through DNS")
    -- a name DNS does not know: said, and the node runs on
    local e = node(7105, { bootstrap = { "dnssrv+_none._tcp.test", "dns+nowhere.test:7101" } })
    loop:run_for(1)
    assert.equal(0, e:metrics().discovered_addresses)
    assert.is_true(e:is_open())
    for _, n in ipairs({ a, b, c, d, e }) do n:close() end
    loop:close()
  end)

  it("refuses a bootstrap entry that is neither a URL nor a DNS one", function()
    for _, bad in ipairs({ "dns+nowhere.test", "dns+:7101", "dnssrv+", "dnssrv+a b", "dns+x.test:0" }) do
      local ok, err = pcall(H.node, { bootstrap = { bad } })
      assert.is_false(ok, bad)
      assert.matches("bootstrap entry 1", tostring(err))
    end
  end)
end)
