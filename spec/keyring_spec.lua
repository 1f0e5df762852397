-- keyring_spec.lua -- cluster authentication (security = "cluster"): every
-- request between members carries a MAC of a cluster key (X-Hearsay-Auth),
-- the keyring rotates while the cluster runs, strangers and replays are
-- refused and counted, and `hearsay keys` changes a running node's ring
-- and its keyring file.
local hs = H.hs

local function settings(keys, extra)
  local s = { security = "cluster", cluster_keys = keys }
  for k, v in pairs(extra or {}) do s[k] = v end
  return s
end

local function sum(nodes, metric)
  local n = 0
  for _, node in ipairs(nodes) do n = n + node:metrics()[metric] end
  return n
end

local function key_texts(node)
  local t = {}
  for i, k in ipairs(node:keys()) do t[i] = k.key end
  return t
end

describe("a cluster with a keyring", function()
  it("rotates its key while broadcasting and loses no message", function()
    local k1, k2 = hs.keygen(), hs.keygen()
    local c = H.cluster(5, settings({ k1 }, { ae_interval = 0.5, ae_max_interval = 1 }))
    local loop = c.loop
    assert.is_true(c:converge(10))
    local got = H.record(c.nodes, "chat")
    local sent, i = {}, 0
    local ticker = loop:timer(0.03, 0.03, function()
      i = i + 1
      local from = i % 5 + 1
      local id = c.nodes[from]:broadcast("chat", { n = i })
      sent[#sent + 1] = id
      got[from][id] = true -- (its own: no message hook runs)
    end)
    loop:run_for(0.5)
    -- Step by step, node by node, with traffic flowing between the steps.
    for _, step in ipairs({ { "key_install", k2 }, { "key_use", k2 }, { "key_remove", k1 } }) do
      for _, node in ipairs(c.nodes) do
        assert.is_true(node[step[1]](node, step[2]))
        loop:run_for(0.15)
      end
      loop:run_for(0.5)
    end
    ticker:close()
    local before_end = #sent
    assert.is_true(before_end > 40, "broadcasts kept going through the rotation")
    local complete = loop:run_until(function()
      for n = 1, 5 do
        for _, id in ipairs(sent) do
          if not got[n][id] then return false end
        end
      end
      return true
    end, 15)
    local missing = {}
    for n = 1, 5 do
      for _, id in ipairs(sent) do
        if not got[n][id] then missing[#missing + 1] = ("node %d lacks %s"):format(n, id) end
      end
    end
    assert.is_true(complete, table.concat(missing, "\n"))
    for _, node in ipairs(c.nodes) do
      assert.same({ k2 }, key_texts(node))
      assert.is_true(node:keys()[1].primary)
    end
    -- No request was refused on the way: each step waited for the one before.
    assert.equal(0, sum(c.nodes, "auth_failed"))
    assert.equal(0, sum(c.nodes, "auth_replayed"))
    -- And the cluster goes on with the new key alone.
    local last = c.nodes[3]:broadcast("chat", { n = "after" })
    assert.is_true(loop:run_until(function()
      for n = 1, 5 do if n ~= 3 and not got[n][last] then return false end end
      return true
    end, 5))
    c:close()
  end)

  it("signs what goes through libcurl too (https://, or curl_for_http)", function()
    local c = H.cluster(3, settings({ hs.keygen() }, { curl_for_http = true }))
    assert.is_true(c:converge(10))
    local got = H.record(c.nodes, "chat")
    local id = c.nodes[2]:broadcast("chat", { text = "via curl" })
    assert.is_true(c.loop:run_until(function() return got[1][id] and got[3][id] end, 5))
    assert.equal(0, sum(c.nodes, "auth_failed"))
    c:close()
  end)

  it("keeps out a node with the wrong key: refused, counted, never a peer", function()
    local k, wrong = hs.keygen(), hs.keygen()
    local c = H.cluster(3, settings({ k }))
    local loop = c.loop
    assert.is_true(c:converge(10))
    local s = H.settings(settings({ wrong }, { host = "127.0.0.1", port = 0,
      bootstrap = { c.nodes[1]:url() } }))
    local got = H.record(c.nodes, "chat")
    local stranger = hs.node(loop, s)
    assert(stranger:start())
    -- It pushes at them too: its own broadcast, to the peer it was given.
    stranger:add_peer(c.nodes[2]:id(), c.nodes[2]:url())
    local pushed = stranger:broadcast("chat", { text = "let me in" })
    loop:run_for(2)
    local refused = sum(c.nodes, "auth_failed")
    assert.is_true(refused >= 3, "refusals counted: " .. refused)
    for i, node in ipairs(c.nodes) do
      assert.is_nil(H.peer(node, stranger:id(), true), "the stranger is not a peer")
      assert.is_nil(got[i][pushed], "its message reached nobody")
    end
    -- What it was told: 401 (a key id not in the ring) for everything but
    -- /health, which stays open.
    local st, body = H.fetch_json(loop, stranger, "GET", c.nodes[1]:url() .. "/peers")
    assert.equal(401, st)
    assert.matches("unknown cluster key", body.error)
    assert.equal(200, (H.fetch(loop, stranger, "GET", c.nodes[1]:url() .. "/health")))
    -- The members still talk among themselves.
    local id = c.nodes[1]:broadcast("chat", { text = "members only" })
    assert.is_true(loop:run_until(function()
      return got[2][id] ~= nil and got[3][id] ~= nil
    end, 5))
    stranger:close()
    c:close()
  end)
end)

describe("a node in security = \"cluster\"", function()
  local key, node, client, loop, base

  before_each(function()
    key = hs.keygen()
    node, loop = H.node(settings({ key }))
    client = H.node({}, loop) -- an open node: its requests go unsigned
    base = node:url()
  end)

  after_each(function()
    client:close()
    node:close()
    loop:run_for(0.05)
    loop:close()
  end)

  local function counted(metric, fn)
    local before = node:metrics()[metric]
    fn()
    return node:metrics()[metric] - before
  end

  it("refuses an unsigned request with 401, and counts it", function()
    assert.equal(2, counted("auth_failed", function()
      local st, body = H.fetch_json(loop, client, "GET", base .. "/peers")
      assert.equal(401, st)
      assert.same("error", body.status)
      assert.matches("authentication required", body.error)
      st = H.post_gossip(loop, client, base, H.envelope())
      assert.equal(401, st)
    end))
    assert.equal(0, node:metrics().messages_received)
  end)

  it("answers GET /health to anyone, with the auth counters", function()
    local st, h = H.fetch_json(loop, client, "GET", base .. "/health")
    assert.equal(200, st)
    assert.equal(0, h.metrics.auth_failed)
    assert.equal(0, h.metrics.auth_replayed)
    -- Only GET: anything else on /health needs the key like the rest.
    assert.equal(401, (H.fetch(loop, client, "POST", base .. "/health", "{}")))
  end)

  it("takes a request signed with its key", function()
    local env = hs.json_encode(H.envelope({ ttl = 0 }))
    local st = H.fetch(loop, client, "POST", base .. "/gossip", env,
      hs.auth_header(key, "POST", "/gossip", nil, env))
    assert.equal(200, st)
    assert.equal(1, node:metrics().messages_received)
    st = H.fetch(loop, client, "GET", base .. "/peers?sample=3&url=http%3A%2F%2Fh%3A1", nil,
      hs.auth_header(key, "GET", "/peers?sample=3&url=http%3A%2F%2Fh%3A1"))
    assert.equal(200, st)
  end)

  it("refuses a forged MAC with 403, and counts it", function()
    local h = hs.auth_header(key, "GET", "/state")
    local forged = h:sub(1, -2) .. (h:sub(-1) == "0" and "1" or "0")
    assert.equal(1, counted("auth_failed", function()
      local st, body = H.fetch_json(loop, client, "GET", base .. "/state", nil, forged)
      assert.equal(403, st)
      assert.matches("bad request MAC", body.error)
    end))
    -- A MAC of another request does not fit this one either.
    local env = hs.json_encode(H.envelope({ ttl = 0 }))
    local other = hs.auth_header(key, "POST", "/gossip", nil, env .. " ")
    assert.equal(403, (H.fetch(loop, client, "POST", base .. "/gossip", env, other)))
    assert.equal(0, node:metrics().messages_received)
  end)

  it("refuses a replayed request (the same header twice) with 403, and counts it", function()
    local env = hs.json_encode(H.envelope({ ttl = 0 }))
    local h = hs.auth_header(key, "POST", "/gossip", nil, env)
    assert.equal(200, (H.fetch(loop, client, "POST", base .. "/gossip", env, h)))
    assert.equal(1, counted("auth_replayed", function()
      local st, body = H.fetch_json(loop, client, "POST", base .. "/gossip", env, h)
      assert.equal(403, st)
      assert.matches("replayed", body.error)
    end))
    assert.equal(0, node:metrics().auth_failed)
  end)

  it("refuses a stale or future timestamp with 401, and counts it", function()
    assert.equal(2, counted("auth_failed", function()
      for _, at in ipairs({ os.time() - 120, os.time() + 120 }) do
        local st, body = H.fetch_json(loop, client, "GET", base .. "/state", nil,
          hs.auth_header(key, "GET", "/state", nil, nil, at))
        assert.equal(401, st)
        assert.matches("timestamp outside the auth window", body.error)
      end
    end))
    -- Inside the window (30 s by default) is fine.
    assert.equal(200, (H.fetch(loop, client, "GET", base .. "/state", nil,
      hs.auth_header(key, "GET", "/state", nil, nil, os.time() - 20))))
  end)

  it("refuses a malformed header or a key it does not hold with 401", function()
    assert.equal(2, counted("auth_failed", function()
      assert.equal(401, (H.fetch(loop, client, "GET", base .. "/state", nil,
        "X-Hearsay-Auth: v1 nothing like it")))
      assert.equal(401, (H.fetch(loop, client, "GET", base .. "/state", nil,
        hs.auth_header(hs.keygen(), "GET", "/state"))))
    end))
  end)
end)

describe("hearsay keys", function()
  local function mode(path)
    local _, out = H.sh(("stat -c %%a %q"):format(path))
    return out:match("%d+")
  end

  local function file_keys(path)
    local keys = {}
    for line in H.read(path):gmatch("[^\n]+") do
      if not line:match("^#") then keys[#keys + 1] = line end
    end
    return keys
  end

  local function keys_cmd(sock, ...)
    local args = {}
    for i, a in ipairs({ ... }) do args[i] = ("%q"):format(a) end
    return H.sh(("%q keys %s --socket %q"):format(H.bin, table.concat(args, " "), sock))
  end

  -- The status of GET /state on url, signed with key.
  local function signed_status(loop, client, url, key)
    return (H.fetch(loop, client, "GET", url .. "/state", nil,
      hs.auth_header(key, "GET", "/state")))
  end

  it("changes a running node's keyring and keeps it in the keyring file (mode 0600)", function()
    local k1, k2 = hs.keygen(), hs.keygen()
    local dir = H.config_dir({ host = "127.0.0.1", port = 0, security = "cluster",
      cluster_keys = { k1 }, plugins = {}, log_level = "info" })
    local file, sock = dir .. "/keyring", dir .. "/console.sock"
    local client, loop = H.node({})
    local proc = H.spawn(dir, loop)
    -- cluster_keys seeded the file, which is private.
    assert.same({ k1 }, file_keys(file))
    assert.equal("600", mode(file))

    local code, out = keys_cmd(sock, "list")
    assert.equal(0, code, out)
    assert.matches(hs.key_id(k1) .. "%s+" .. k1:gsub("%p", "%%%0") .. "%s+primary", out)

    -- (the key from stdin: a command line shows in ps)
    code, out = H.sh(("echo %q | %q keys install - --socket %q"):format(k2, H.bin, sock))
    assert.equal(0, code, out)
    assert.same({ k1, k2 }, file_keys(file))
    assert.equal("600", mode(file))
    code, out = keys_cmd(sock, "use", k2)
    assert.equal(0, code, out)
    assert.same({ k2, k1 }, file_keys(file))
    code, out = keys_cmd(sock, "remove", k1)
    assert.equal(0, code, out)
    assert.same({ k2 }, file_keys(file))
    assert.equal("600", mode(file))

    -- Refusals say why, exit 1, and change nothing.
    code, out = keys_cmd(sock, "remove", k2)
    assert.equal(1, code)
    assert.matches("primary key cannot be removed", out)
    code, out = keys_cmd(sock, "use", hs.keygen())
    assert.equal(1, code)
    assert.matches("no such key", out)
    code, out = keys_cmd(sock, "install", "not-a-key")
    assert.equal(2, code)
    assert.same({ k2 }, file_keys(file))

    -- The node took the new key: it verifies k2, not k1 any more.
    assert.equal(200, signed_status(loop, client, proc.url, k2))
    assert.equal(401, signed_status(loop, client, proc.url, k1))
    assert.matches("keyring: install key " .. hs.key_id(k2), H.output(proc))

    -- Restarted, it reads the file: node.lua's cluster_keys only seeded it.
    H.kill(proc, "TERM")
    assert.is_true(H.wait_exit(proc, loop, 5))
    proc = H.spawn(dir, loop)
    assert.equal(200, signed_status(loop, client, proc.url, k2))
    assert.equal(401, signed_status(loop, client, proc.url, k1))
    code, out = keys_cmd(sock, "list")
    assert.equal(0, code)
    assert.not_matches(k1:gsub("%p", "%%%0"), out)
    H.kill(proc, "TERM")
    assert.is_true(H.wait_exit(proc, loop, 5))
    client:close()
    loop:run_for(0.05)
    loop:close()
  end)

  it("keys.* in the console change the ring the same way", function()
    local k1, k2 = hs.keygen(), hs.keygen()
    local dir = H.config_dir({ host = "127.0.0.1", port = 0, security = "cluster",
      cluster_keys = { k1 }, plugins = {} })
    local proc = H.spawn(dir)
    local code, out = H.console(dir .. "/console.sock", {
      ("keys.install(%q)"):format(k2), ("keys.use(%q)"):format(k2), "=#keys.list()",
      "=keys.list()[1].key == " .. ("%q"):format(k2), ("keys.remove(%q)"):format(k2),
    })
    assert.equal(0, code, out)
    assert.matches("\n2\n", "\n" .. out)
    assert.matches("true", out)
    assert.matches("primary key cannot be removed", out)
    local keys = {}
    for line in H.read(dir .. "/keyring"):gmatch("[^\n]+") do
      if not line:match("^#") then keys[#keys + 1] = line end
    end
    assert.same({ k2, k1 }, keys)
    H.kill(proc, "TERM")
    assert.is_true(H.wait_exit(proc))
  end)

  it("keygen prints a fresh key; run refuses a keyed mode without one", function()
    local code, out = H.sh(("%q keygen"):format(H.bin))
    assert.equal(0, code)
    local k = out:match("^(%S+)\n$")
    assert.truthy(hs.key_id(k))
    local _, again = H.sh(("%q keygen"):format(H.bin))
    assert.not_equal(out, again)
    local dir = H.config_dir({ host = "127.0.0.1", port = 0, security = "cluster" })
    code, out = H.sh(("%q run --config %q"):format(H.bin, dir))
    assert.equal(2, code)
    assert.matches('security = "cluster" needs a cluster key', out)
  end)
end)
