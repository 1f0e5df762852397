-- Queries (README, Write a plugin: Queries): ask the cluster, collect the
-- answers, return as soon as everyone expected has answered.
local hs = H.hs

local ANSWER = [[
on.query("load", function(q)
  if q.payload and q.payload.big then return ("x"):rep(4000) end
  return { id = node.id(), role = node.tags().role, asked = q.payload and q.payload.k }
end)
]]

-- n nodes that know each other, each with the answering plugin; the first
-- `dbs` are tagged role=db.
local function cluster(n, dbs, extra)
  local s = { ae_interval = 0, query_answer_max = 1024 }
  for k, v in pairs(extra or {}) do s[k] = v end
  local loop, nodes = H.mesh(n, s)
  local dir = H.plugin_dir({ answer = ANSWER })
  for i, node in ipairs(nodes) do
    H.plugins(node, dir, { "answer" })
    if i <= dbs then node:set_tags({ role = "db" }) end
  end
  -- every node has heard every other's tags
  assert(loop:run_until(function()
    for _, node in ipairs(nodes) do
      local k = 0
      for _, p in ipairs(node:peers()) do if p.tags.role == "db" then k = k + 1 end end
      if k < (node:tags().role == "db" and dbs - 1 or dbs) then return false end
    end
    return true
  end, 5), "the tags spread")
  return loop, nodes
end

local function close(loop, nodes)
  for _, n in ipairs(nodes) do n:close() end
  loop:close()
end

-- Runs a query on node and waits for its result (bounded by its timeout).
local function ask(loop, node, name, payload, opts)
  local result
  local id = node:query(name, payload, opts, function(r) result = r end)
  assert.equal(32, #id)
  assert.is_true(loop:run_until(function() return result ~= nil end, (opts.timeout or 5) + 2))
  assert.equal(id, result.id)
  return result
end

local function keys(t)
  local k = {}
  for key in pairs(t) do k[#k + 1] = key end
  table.sort(k)
  return k
end

describe("queries", function()
  local loop, nodes
  setup(function() loop, nodes = cluster(10, 4) end)
  teardown(function() close(loop, nodes) end)

  it("collect every node's answer and return before their timeout", function()
    local r = ask(loop, nodes[1], "load", { k = 7 }, { timeout = 10 })
    assert.equal(10, r.answered)
    assert.equal(10, r.acks)
    assert.is_false(r.timed_out)
    assert.is_true(r.elapsed < 10, "returned early, not at its timeout")
    for _, node in ipairs(nodes) do
      local a = r.answers[node:id()]
      assert.equal(node:id(), a.id)
      assert.equal(7, a.asked)
    end
  end)

  it("filter by tags: only the matching nodes answer, the others still ack", function()
    local r = ask(loop, nodes[5], "load", nil, { timeout = 10, tags = { role = "db" } })
    local want = {}
    for i = 1, 4 do want[#want + 1] = nodes[i]:id() end
    table.sort(want)
    assert.same(want, keys(r.answers))
    assert.equal(4, r.expected)
    assert.is_false(r.timed_out)
    assert.is_true(r.elapsed < 10)
  end)

  it("filter by node ids, and return at `want` answers", function()
    local r = ask(loop, nodes[1], "load", nil,
      { timeout = 10, nodes = { nodes[2]:id(), nodes[3]:id() } })
    local w = { nodes[2]:id(), nodes[3]:id() }
    table.sort(w)
    assert.same(w, keys(r.answers))
    assert.is_false(r.timed_out)
    r = ask(loop, nodes[1], "load", nil, { timeout = 10, want = 3 })
    assert.is_true(r.answered >= 3)
    assert.is_false(r.timed_out)
  end)

  it("a query nobody can answer in full times out with what it has", function()
    local r = ask(loop, nodes[1], "load", nil, { timeout = 0.5, nodes = { nodes[2]:id(), "ghost" } })
    assert.is_true(r.timed_out)
    assert.equal(1, r.answered)
    assert.is_table(r.answers[nodes[2]:id()])
  end)

  it("counts a node answering twice once, and a response after the end as late", function()
    local result
    local base = nodes[1]:metrics().query_responses
    local qid = nodes[1]:query("load", nil, { timeout = 1, nodes = { nodes[2]:id(), "ghost" } },
      function(r) result = r end)
    assert.is_true(loop:run_until(function()
      return nodes[1]:metrics().query_responses >= base + 1
    end, 3), "node 2 responded")
    local body = hs.json_encode({ id = qid, node = nodes[2]:id(), answer = "again" })
    local st, b = H.fetch(loop, nodes[2], "POST", nodes[1]:url() .. "/query", body,
      "X-Hearsay-From: " .. nodes[2]:id())
    assert.equal(200, st)
    assert.equal("duplicate", hs.json_decode(b).status)
    -- a response in another node's name is refused
    st = H.fetch(loop, nodes[2], "POST", nodes[1]:url() .. "/query",
      hs.json_encode({ id = qid, node = nodes[3]:id(), answer = 1 }),
      "X-Hearsay-From: " .. nodes[2]:id())
    assert.equal(403, st)
    assert.is_true(loop:run_until(function() return result ~= nil end, 3))
    assert.equal(1, result.duplicates)
    assert.equal(1, result.answered)
    assert.is_table(result.answers[nodes[2]:id()], "the first answer is the one kept")
    local late = nodes[1]:metrics().query_late
    st, b = H.fetch(loop, nodes[2], "POST", nodes[1]:url() .. "/query", body,
      "X-Hearsay-From: " .. nodes[2]:id())
    assert.equal(200, st)
    assert.equal("late", hs.json_decode(b).status)
    assert.equal(late + 1, nodes[1]:metrics().query_late)
  end)

  it("refuses an oversized answer, at the node that made it and at the asker", function()
    local r = ask(loop, nodes[1], "load", { big = true }, { timeout = 10, want = 0 })
    assert.equal(0, r.answered)
    assert.equal(10, r.acks)
    assert.matches("too large", r.errors[nodes[3]:id()])
    local qid = nodes[1]:query("load", nil, { timeout = 1, nodes = { "ghost" } }, function() end)
    local st = H.fetch(loop, nodes[2], "POST", nodes[1]:url() .. "/query",
      hs.json_encode({ id = qid, node = nodes[2]:id(), answer = ("y"):rep(4000) }),
      "X-Hearsay-From: " .. nodes[2]:id())
    assert.equal(413, st)
  end)

  it("does not answer a stranger's query aimed at another address", function()
    local before = nodes[2]:metrics().queries_refused
    local answers = nodes[2]:metrics().query_answers
    local env = H.envelope({ message_type = "hs.query", origin_peer = "stranger",
      payload = { node_id = "stranger", id = ("ab"):rep(16), name = "load",
        reply = "http://127.0.0.1:9" } })
    env.seen_by = hs.array({ "stranger" })
    local st = H.fetch(loop, nodes[1], "POST", nodes[2]:url() .. "/gossip", hs.json_encode(env))
    assert.equal(200, st)
    assert.is_true(loop:run_until(function()
      return nodes[2]:metrics().queries_refused > before
    end, 3))
    assert.equal(answers, nodes[2]:metrics().query_answers)
  end)
end)

describe("queries on bad input", function()
  it("refuses bad names, tags and timeouts", function()
    local a, loop = H.node()
    assert.has_error(function() a:query("", nil, nil, function() end) end)
    assert.has_error(function() a:query("x", nil, { tags = { n = 1 } }, function() end) end)
    assert.has_error(function() a:query("x", nil, { timeout = 1e9 }, function() end) end)
    assert.has_error(function() a:query("x", nil, nil) end)
    local st, body = H.fetch(loop, a, "POST", a:url() .. "/query", "[1]")
    assert.equal(400, st)
    assert.matches("expected", body)
    a:close(); loop:close()
  end)
end)

describe("the shipped inventory plugin (README, Write a plugin: Queries)", function()
  local loop, nodes, sock
  setup(function()
    loop, nodes = H.mesh(4, { ae_interval = 0 })
    -- node 2 also asks, from a plugin of its own (the last spec)
    local asker = H.plugin_dir({ asker = [[
      on.message("ask", function()
        node.query("has", { item = "apple" }, { timeout = 10 }, function(r)
          state.answered = r.answered
        end)
      end)
    ]] })
    for i, node in ipairs(nodes) do
      H.plugins(node, asker, { { "inventory", region = i <= 2 and "eu" or "us" }, "asker" },
        { builtin_dir = H.src .. "/plugins" })
    end
    sock = H.tmpdir() .. "/console.sock"
    nodes[1]:console(sock)
    assert(loop:run_until(function()
      for _, node in ipairs(nodes) do
        for _, p in ipairs(node:peers()) do if p.tags.role ~= "inventory" then return false end end
      end
      return true
    end, 5), "the inventory tags spread")
  end)
  teardown(function() close(loop, nodes) end)

  it("holds stock (its own too), rejects malformed, ignores stale, answers \"has\"", function()
    nodes[2]:broadcast("stock", { item = "apple", count = 3, version = 2 })
    assert.is_true(loop:run_until(function()
      for _, node in ipairs(nodes) do
        local it = node:plugin_state("inventory").items.apple
        if not (it and it.count == 3) then return false end
      end
      return true
    end, 3), "every node holds the apple stock, its sender included")
    -- stale at home: a node's own handler refuses it before it leaves
    local id, err = nodes[1]:broadcast("stock", { item = "apple", count = 9, version = 1 })
    assert.is_nil(id)
    assert.matches("refused", err)
    id, err = nodes[1]:broadcast("stock", { item = "apple", count = "many", version = 3 })
    assert.is_nil(id, "its own malformed stock is refused too")
    -- stale from the network: ignored (no penalty); malformed: rejected
    local ignored, rejected = nodes[3]:metrics().messages_ignored, nodes[3]:metrics().messages_rejected
    assert.equal(200, (H.post_gossip(loop, nodes[4], nodes[3]:url(), H.envelope({
      message_type = "stock", payload = { item = "apple", count = 9, version = 1 } }))))
    assert.equal(200, (H.post_gossip(loop, nodes[4], nodes[3]:url(), H.envelope({
      message_type = "stock", payload = { item = "apple", count = "many", version = 5 } }))))
    assert.equal(ignored + 1, nodes[3]:metrics().messages_ignored)
    assert.equal(rejected + 1, nodes[3]:metrics().messages_rejected)
    assert.equal(3, nodes[3]:plugin_state("inventory").items.apple.count)
    local r = ask(loop, nodes[4], "has", { item = "apple" }, { timeout = 10 })
    assert.equal(4, r.answered)
    assert.equal(3, r.answers[nodes[1]:id()].count)
    assert.equal("us", r.answers[nodes[4]:id()].region)
    r = ask(loop, nodes[4], "has", { item = "apple" }, { timeout = 10, tags = { region = "eu" } })
    local eu = { nodes[1]:id(), nodes[2]:id() }
    table.sort(eu)
    assert.same(eu, keys(r.answers))
    r = ask(loop, nodes[4], "has", { item = "pear" }, { timeout = 10 })
    assert.equal(0, r.answered)
    assert.equal(4, r.acks)
  end)

  it("answers `hearsay query` and the console's query()", function()
    local out, code = H.sh_bg(loop, ("%q query has '{\"item\":\"apple\"}' --tag region=us "
      .. "--timeout 10 --socket %q"):format(H.bin, sock), 20)
    assert.equal(0, code, out)
    local r = hs.json_decode(out)
    assert.equal(2, r.answered)
    assert.is_false(r.timed_out)
    assert.equal("us", r.answers[nodes[3]:id()].region)
    out, code = H.sh_bg(loop, ("%q console --socket %q -e 'query(\"has\", {item = \"apple\"}, "
      .. "{want = 1, timeout = 10})' -e '=1 + 1'"):format(H.bin, sock), 20)
    assert.equal(0, code, out)
    assert.matches("answered = [1-4]", out)
    assert.matches("\n2\n", out, 1, true)
    out, code = H.sh_bg(loop, ("%q query has 'not json' --socket %q"):format(H.bin, sock), 20)
    assert.equal(2, code, "a usage error")
    assert.matches("PAYLOAD must be JSON", out)
  end)

  it("lets a plugin ask and get the result as its own code", function()
    nodes[1]:broadcast("ask", {})
    assert.is_true(loop:run_until(function()
      for i = 2, 4 do
        if nodes[i]:plugin_state("asker").answered == nil then return false end
      end
      return true
    end, 10))
    for i = 2, 4 do assert.equal(4, nodes[i]:plugin_state("asker").answered) end
  end)
end)

describe("queries, the defects a review found (each failed before its fix)", function()
  it("a callback that closes the node while another query ends in the same tick", function()
    local a, loop = H.node()
    local first, second = 0, 0
    a:query("x", nil, { timeout = 0.2, nodes = { "ghost" } }, function()
      first = first + 1
      a:close()
    end)
    a:query("y", nil, { timeout = 0.2, nodes = { "ghost" } }, function() second = second + 1 end)
    loop:run_for(0.6)
    assert.equal(1, first + second, "one ran and closed the node; the other was cancelled")
    loop:close()
  end)

  it("takes responses to a query that named its nodes only from them", function()
    local loop, nodes = H.mesh(2, {})
    local qid = nodes[1]:query("x", nil, { timeout = 1, nodes = { "ghost" } }, function() end)
    local st, body = H.fetch(loop, nodes[2], "POST", nodes[1]:url() .. "/query",
      hs.json_encode({ id = qid, node = nodes[2]:id(), answer = 1 }),
      "X-Hearsay-From: " .. nodes[2]:id())
    assert.equal(403, st)
    assert.matches("did not ask you", body)
    st = H.fetch(loop, nodes[2], "POST", nodes[1]:url() .. "/query",
      hs.json_encode({ id = "", node = nodes[2]:id() }), "X-Hearsay-From: " .. nodes[2]:id())
    assert.equal(400, st, "an empty id is no query's, not a late one")
    for _, n in ipairs(nodes) do n:close() end
    loop:close()
  end)

  it("a node the filter leaves out of its own listed query acknowledges it", function()
    local a, loop = H.node({ tags = { role = "web" } })
    local r
    a:query("x", nil, { timeout = 5, nodes = { a:id() }, tags = { role = "db" } },
      function(res) r = res end)
    assert.is_true(loop:run_until(function() return r ~= nil end, 3))
    assert.is_false(r.timed_out)
    assert.equal(1, r.acks)
    assert.equal(0, r.answered)
    a:close(); loop:close()
  end)

  it("takes the response of a peer it knows by a name, not an address", function()
    local loop = hs.loop()
    local a, b = H.node({}, loop), H.node({}, loop)
    local port = b:url():match(":(%d+)$")
    a:add_peer(b:id(), "http://localhost:" .. port)
    b:add_peer(a:id(), a:url())
    assert.is_true(H.probed(loop, a, 5) and H.probed(loop, b, 5))
    local r
    a:query("x", nil, { timeout = 5, nodes = { b:id() } }, function(res) r = res end)
    assert.is_true(loop:run_until(function() return r ~= nil end, 7))
    assert.is_false(r.timed_out)
    assert.equal(1, r.acks)
    a:close(); b:close(); loop:close()
  end)
end)
