-- TLS between nodes and where a node may connect (README, Security): an
-- HTTPS cluster whose every request is TLS, certificates from another CA
-- refused both ways, mutual TLS, peer_allow outbound (the own client and
-- libcurl) and inbound, and node.lua's TLS settings. The certificates are
-- made here, with the openssl command line, in a throwaway directory.
local hs = H.hs

-- ---- a throwaway PKI ---------------------------------------------------------

local pki -- { dir, file(name) }

local function openssl(dir, args)
  local code, out = H.sh(("cd %q && openssl %s"):format(dir, args))
  assert(code == 0, "openssl " .. args .. ":\n" .. out)
end

-- A CA (P-256, valid for two days) named `name`: name.pem, name.key.
local function make_ca(dir, name)
  openssl(dir, ("req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout %s.key "
    .. "-out %s.pem -days 2 -subj /CN=%s -addext basicConstraints=critical,CA:TRUE "
    .. "-addext keyUsage=critical,keyCertSign,cRLSign"):format(name, name, name))
end

-- A node certificate signed by `ca`, for both ends of a connection, with
-- the loopback addresses the specs use as IP SANs.
local function make_cert(dir, name, ca)
  H.write(("%s/%s.ext"):format(dir, name), "subjectAltName=IP:127.0.0.1,IP:127.0.0.2\n"
    .. "extendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n")
  openssl(dir, ("req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout %s.key "
    .. "-out %s.csr -subj /CN=%s"):format(name, name, name))
  openssl(dir, ("x509 -req -in %s.csr -CA %s.pem -CAkey %s.key -set_serial 0x%s -days 2 "
    .. "-out %s.pem -extfile %s.ext"):format(name, ca, ca, H.id():sub(1, 16), name, name))
end

local function make_pki()
  local dir = H.tmpdir()
  make_ca(dir, "ca")
  make_ca(dir, "rogueca")
  for _, n in ipairs({ "n1", "n2", "n3", "n4" }) do make_cert(dir, n, "ca") end
  make_cert(dir, "rogue", "rogueca")
  -- The rogue trusts both CAs: it can check the cluster's certificates,
  -- so only its own certificate can keep it out.
  H.write(dir .. "/both.pem", H.read(dir .. "/ca.pem") .. H.read(dir .. "/rogueca.pem"))
  return { dir = dir, file = function(name) return dir .. "/" .. name end }
end

-- Settings for a node with certificate `name` (n1..n4, rogue), trusting
-- `ca` (default the cluster's).
local function tls(name, extra, ca)
  local s = {
    tls_cert = pki.file(name .. ".pem"), tls_key = pki.file(name .. ".key"),
    tls_ca = pki.file((ca or "ca") .. ".pem"),
  }
  for k, v in pairs(extra or {}) do s[k] = v end
  return s
end

-- A TLS cluster of n nodes (certificates n1..), all bootstrapping from node 1.
local function tls_cluster(n, extra)
  return H.cluster(n, {}, function(i, s)
    for k, v in pairs(tls("n" .. i, extra)) do s[k] = v end
  end)
end

local function listed(node, id)
  return H.peer(node, id, true) ~= nil
end

setup(function()
  pki = make_pki()
end)

-- ---- HTTPS between nodes -----------------------------------------------------

describe("an HTTPS cluster", function()
  it("forms and spreads a broadcast with every request over TLS", function()
    local c = tls_cluster(3)
    local ok = c:converge(10, 2)
    local got = H.record(c.nodes, "chat")
    local id = ok and c.nodes[1]:broadcast("chat", { text = "over tls" })
    local spread = ok and c.loop:run_until(function()
      return got[2][id] ~= nil and got[3][id] ~= nil
    end, 5)
    -- nodes call themselves https:// and know each other only so
    local urls = {}
    for _, node in ipairs(c.nodes) do
      urls[#urls + 1] = node:url()
      for _, p in ipairs(node:peers(true)) do urls[#urls + 1] = p.url end
    end
    -- the port speaks TLS only: a plain HTTP request to it fails
    local plain = H.node({}, c.loop)
    local st, _, err = H.fetch(c.loop, plain, "GET",
      c.nodes[1]:url():gsub("^https:", "http:") .. "/health", nil, nil, 1)
    local m = c.nodes[1]:metrics()
    plain:close()
    c:close()
    assert.is_true(ok, "the cluster did not form")
    assert.is_true(spread, "the broadcast did not reach every node")
    assert.equal(9, #urls) -- 3 nodes, each listing the 2 others
    for _, u in ipairs(urls) do assert.matches("^https://127%.0%.0%.1:%d+$", u) end
    assert.equal(0, st, "a plain request was answered")
    assert.is_string(err)
    assert.is_true(m.messages_sent > 0 and m.http_requests > 0)
    assert.equal(0, m.tls_verify_failed)
    assert.equal(0, m.tls_plain_refused)
  end)

  it("refuses to learn or ask an http:// peer, and counts it", function()
    local loop = hs.loop()
    local a = H.node(tls("n1"), loop)
    -- b speaks plain HTTP but trusts the CA: it reaches a and announces
    -- itself there with its http:// URL
    local b = H.node({ tls_ca = pki.file("ca.pem"), bootstrap = { a:url() } }, loop)
    local b_knows_a = loop:run_until(function() return listed(b, a:id()) end, 5)
    loop:run_until(function() return a:metrics().tls_plain_refused > 0 end, 3)
    local add_ok, add_err = pcall(a.add_peer, a, "plain-peer", "http://127.0.0.1:1")
    local fetch_ok, fetch_err = pcall(a.fetch, a, "GET", b:url() .. "/health", nil,
      function() end)
    local m = a:metrics()
    local a_knows_b = listed(a, b:id())
    a:close(); b:close(); loop:close()
    assert.is_true(b_knows_a, "b never reached a")
    assert.is_false(a_knows_b, "a learned an http:// peer")
    assert.is_false(add_ok)
    assert.matches("not allowed by the security settings", add_err)
    assert.is_false(fetch_ok)
    assert.matches("not allowed by the security settings", fetch_err)
    -- b's announce (and its retries), add_peer, the fetch
    assert.is_true(m.tls_plain_refused >= 3, "tls_plain_refused " .. m.tls_plain_refused)
  end)
end)

-- ---- certificates the cluster's CA did not sign --------------------------------

describe("a node whose certificate another CA signed", function()
  it("cannot join: its requests fail verification, counted, and no one lists it", function()
    local c = tls_cluster(2)
    local formed = c:converge(10, 1)
    local a = c.nodes[1]
    local rogue = H.node(tls("rogue", { bootstrap = { a:url() } }, "rogueca"), c.loop)
    local failed = c.loop:run_until(function()
      return rogue:metrics().tls_verify_failed >= 2
    end, 5)
    c.loop:run_for(0.5)
    -- and the cluster's side refuses the rogue's certificate the same way
    local st, _, err = H.fetch(c.loop, a, "GET", rogue:url() .. "/health")
    local listed_by = {}
    for i, node in ipairs(c.nodes) do
      if listed(node, rogue:id()) then listed_by[#listed_by + 1] = i end
    end
    local rm, am = rogue:metrics(), a:metrics()
    local rogue_peers = #rogue:peers(true)
    rogue:close()
    c:close()
    assert.is_true(formed)
    assert.is_true(failed, "tls_verify_failed " .. rm.tls_verify_failed)
    assert.same({}, listed_by)
    assert.equal(0, rogue_peers)
    assert.equal(0, st)
    assert.matches("certificate", err)
    assert.equal(1, am.tls_verify_failed)
  end)

  it("is refused by a cluster with tls_client_auth even when it trusts the cluster's CA", function()
    local c = tls_cluster(2, { tls_client_auth = true })
    local formed = c:converge(10, 1)
    local a = c.nodes[1]
    -- the rogue can verify a (it trusts both CAs); a cannot verify it
    local rogue = H.node(tls("rogue", { bootstrap = { a:url() } }, "both"), c.loop)
    local refused = c.loop:run_until(function() return a:metrics().tls_refused >= 1 end, 5)
    c.loop:run_for(0.5)
    local st, body = H.fetch(c.loop, rogue, "GET", a:url() .. "/health")
    local listed_by = {}
    for i, node in ipairs(c.nodes) do
      if listed(node, rogue:id()) then listed_by[#listed_by + 1] = i end
    end
    local rogue_peers = #rogue:peers(true)
    rogue:close()
    c:close()
    assert.is_true(formed, "nodes with the cluster's certificates did not form")
    assert.is_true(refused, "a never refused the rogue")
    assert.equal(403, st)
    assert.matches("client certificate", body)
    assert.same({}, listed_by)
    assert.equal(0, rogue_peers)
  end)
end)

-- ---- mutual TLS ------------------------------------------------------------------

describe("tls_client_auth", function()
  it("refuses a client without a certificate (403, tls_refused) and takes one with", function()
    local loop = hs.loop()
    local a = H.node(tls("n1", { tls_client_auth = true }), loop)
    -- trusts the CA, so it can check a, but has no certificate to show
    local bare = H.node({ tls_ca = pki.file("ca.pem") }, loop)
    local member = H.node(tls("n2"), loop)
    local st1, body1 = H.fetch(loop, bare, "GET", a:url() .. "/health")
    local st2, body2 = H.fetch(loop, bare, "POST", a:url() .. "/gossip",
      hs.json_encode(H.envelope()))
    local st3 = H.fetch(loop, member, "GET", a:url() .. "/health")
    local m = a:metrics()
    a:close(); bare:close(); member:close(); loop:close()
    assert.equal(403, st1)
    assert.matches("client certificate", body1)
    assert.equal(403, st2, body2)
    assert.equal(200, st3)
    assert.equal(0, m.messages_received)
    assert.equal(2, m.tls_refused) -- one per connection: it closes after its 403
  end)
end)

-- ---- peer_allow ------------------------------------------------------------------

describe("peer_allow", function()
  it("refuses add_peer outside its ranges, and says so (not \"out of memory\")", function()
    local loop = hs.loop()
    local a = H.node({ peer_allow = { "127.0.0.1/32" } }, loop)
    local ok, err = pcall(a.add_peer, a, "outside-peer", "http://127.0.0.2:1")
    local known = listed(a, "outside-peer")
    a:close(); loop:close()
    assert.is_false(ok)
    assert.matches("add_peer: not allowed by the security settings", err, 1, true)
    assert.is_false(known)
  end)

  it("keeps the own client from connecting outside its ranges", function()
    local loop = hs.loop()
    local outside = H.node({ host = "127.0.0.2" }, loop)
    local inside = H.node({}, loop)
    local a = H.node({ peer_allow = { "127.0.0.1/32" }, bootstrap = { outside:url() } }, loop)
    local st, _, err = H.fetch(loop, a, "GET", outside:url() .. "/health")
    local st_in = H.fetch(loop, a, "GET", inside:url() .. "/health")
    loop:run_for(0.5)
    local m, om = a:metrics(), outside:metrics()
    local knows = listed(a, outside:id())
    a:close(); inside:close(); outside:close(); loop:close()
    assert.equal(0, st)
    assert.equal("peer_allow: 127.0.0.2 is outside the allowed ranges", err)
    assert.equal(200, st_in)
    assert.is_false(knows)
    assert.is_true(m.peer_allow_refused >= 2, "peer_allow_refused " .. m.peer_allow_refused)
    assert.equal(0, om.http_requests)
  end)

  it("keeps libcurl (https://) from connecting outside its ranges", function()
    local loop = hs.loop()
    local outside = H.node(tls("n1", { host = "127.0.0.2" }), loop)
    local inside = H.node(tls("n2"), loop)
    local a = H.node(tls("n3", { peer_allow = { "127.0.0.0/31" } }), loop)
    local st, _, err = H.fetch(loop, a, "GET", outside:url() .. "/health")
    local st_in = H.fetch(loop, a, "GET", inside:url() .. "/health")
    local m, om = a:metrics(), outside:metrics()
    a:close(); inside:close(); outside:close(); loop:close()
    assert.equal(0, st)
    assert.equal("peer_allow: 127.0.0.2 is outside the allowed ranges", err)
    assert.equal(200, st_in)
    assert.equal(1, m.peer_allow_refused)
    assert.equal(0, om.http_requests)
  end)

  it("refuses connections from addresses outside its ranges", function()
    local loop = hs.loop()
    -- on Linux a connection to 127.0.0.1 comes from 127.0.0.1
    local closed = H.node({ peer_allow = { "127.0.0.2/32" } }, loop)
    local open = H.node({ peer_allow = { "10.0.0.0/8", "127.0.0.1" } }, loop)
    local client = H.node({}, loop)
    local st, _, err = H.fetch(loop, client, "GET", closed:url() .. "/health", nil, nil, 1)
    local st_open = H.fetch(loop, client, "GET", open:url() .. "/health")
    local cm, om = closed:metrics(), open:metrics()
    closed:close(); open:close(); client:close(); loop:close()
    assert.equal(0, st)
    assert.is_string(err)
    assert.equal(0, cm.http_requests)
    assert.equal(1, cm.peer_allow_refused)
    assert.equal(200, st_open)
    assert.equal(0, om.peer_allow_refused)
  end)
end)

-- ---- node.lua ----------------------------------------------------------------------

describe("node.lua's TLS settings", function()
  local config = require "hearsay.config"

  local function load(settings)
    local cfg, err = config.load(H.config_dir(settings))
    return cfg, err
  end

  local function copy(from, to)
    H.write(to, H.read(from))
  end

  it("take files relative to the config directory: `hearsay run` serves HTTPS", function()
    local dir = H.tmpdir()
    os.execute(("mkdir -p %q/tls"):format(dir))
    for _, f in ipairs({ "n1.pem", "n1.key", "ca.pem" }) do copy(pki.file(f), dir .. "/tls/" .. f) end
    H.config_dir({ port = 0, tls_cert = "tls/n1.pem", tls_key = "tls/n1.key", tls_ca = "tls/ca.pem",
      tls_client_auth = true, peer_allow = { "127.0.0.0/8" }, plugins = {} }, dir)
    local cfg = assert(config.load(dir))
    assert.equal(dir .. "/tls/n1.pem", cfg.node.tls_cert)
    local loop = hs.loop()
    local proc = H.spawn(dir, loop)
    local member = H.node(tls("n2"), loop)
    local st, h = H.fetch_json(loop, member, "GET", proc.url .. "/health")
    H.kill(proc)
    H.wait_exit(proc, loop)
    member:close(); loop:close()
    assert.matches("^https://127%.0%.0%.1:%d+$", proc.url)
    assert.equal(200, st)
    assert.equal(proc.id, h.node_id)
  end)

  it("name the file that cannot be read, the range that does not parse, what is missing", function()
    local _, err = load({ tls_cert = "missing.pem", tls_key = "missing.key" })
    assert.matches("node%.lua:%d+: tls_%a+ cannot be read %(.*missing%.%a+: No such file", err)
    _, err = load({ tls_cert = pki.file("ca.key"), tls_key = pki.file("n1.key"),
      tls_ca = "/etc/hostname" })
    assert.matches("node%.lua:%d+: tls_ca is not a PEM file", err)
    _, err = load({ tls_cert = pki.file("n1.pem") })
    assert.matches("node%.lua:%d+: tls_cert needs tls_cert and tls_key together", err)
    _, err = load({ tls_cert = pki.file("n1.pem"), tls_key = pki.file("n1.key"),
      tls_client_auth = true })
    assert.matches("tls_client_auth needs tls_cert, tls_key and tls_ca", err)
    _, err = load({ tls_cert = pki.file("n1.pem"), tls_key = pki.file("n1.key"),
      bootstrap = { "http://127.0.0.1:1" } })
    assert.matches("bootstrap entry 1 must be an https:// URL", err)
    for _, bad in ipairs({ "10.0.0.0/33", "10.0.0", "10.0.0.256", "::1/129", "1::2::3", "fe80::1/",
      "example.com" }) do
      _, err = load({ peer_allow = { "127.0.0.1", bad } })
      assert.matches("peer_allow entry 2 %(" .. bad:gsub("%p", "%%%0") .. "%)", err)
    end
    for _, good in ipairs({ "10.0.0.0/8", "127.0.0.1", "::1", "::1/128", "fe80::/10",
      "::ffff:10.0.0.0/104", "2001:db8:0:0:0:0:0:1" }) do
      assert.is_table(load({ peer_allow = { good } }), good)
    end
  end)

  it("stop `hearsay run` when the key is not the certificate's, naming both files", function()
    local dir = H.config_dir({ port = 0, tls_cert = pki.file("n1.pem"), tls_key = pki.file("n2.key"),
      plugins = {} })
    local code, out = H.sh(("timeout 10 %q run --config %q"):format(H.bin, dir))
    assert.not_equal(0, code, out)
    assert.matches("tls_cert " .. pki.file("n1.pem"):gsub("%p", "%%%0") .. ", tls_key "
      .. pki.file("n2.key"):gsub("%p", "%%%0") .. ": not a certificate and its key", out)
  end)
end)
