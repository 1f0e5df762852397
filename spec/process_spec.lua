-- Separate hearsay processes, where process death matters: a node killed
-- with SIGKILL is marked dead and removed by the others, and comes back when
-- restarted.
local hs = H.hs

local peer = H.peer

describe("a killed node", function()
  it("is marked dead and removed, and comes back when restarted", function()
    local loop = hs.loop()
    local a = H.node({ dead_after = 2, retry_min = 0.2, retry_max = 0.5 }, loop)
    local b = H.node({ dead_after = 2, retry_min = 0.2, retry_max = 0.5 }, loop)
    b:add_peer(a:id(), a:url())
    -- On a spare port: it comes back on it.
    local settings, dir = H.settings({ bootstrap = { a:url() } }), nil
    local proc = H.on_spare_port(loop, function(port)
      settings.port = port
      dir = H.config_dir(settings, dir)
      local ok, p = pcall(H.spawn, dir, loop)
      if ok then return p end
      return nil, p
    end)

    -- It joins: both in-process nodes know it, and have probed it (known
    -- only from another's word, it would be forgotten, not declared dead).
    assert.is_true(loop:run_until(function()
      local pa, pb = peer(a, proc.id), peer(b, proc.id)
      return pa ~= nil and pa.latency_ms ~= nil and pb ~= nil and pb.latency_ms ~= nil
    end, 10), "the process node joined")

    H.kill(proc, "KILL")
    assert.is_true(H.wait_exit(proc, loop, 5))
    -- Up to 30 s, not 10: on a machine with every core taken, a and b see
    -- their own loop late and, as Lifeguard would, probe less often with
    -- longer timeouts (local health) rather than count the failures.
    assert.is_true(loop:run_until(function()
      local pa, pb = peer(a, proc.id, true), peer(b, proc.id, true)
      return pa and pa.state == "dead" and pb and pb.state == "dead"
    end, 30), "both marked it dead")
    assert.is_nil(peer(a, proc.id))
    local _, list = H.fetch_json(loop, a, "GET", a:url() .. "/peers")
    for _, p in ipairs(list) do assert.not_equal(proc.id, p.peer_id) end

    -- Restarted on the same port with the same id (kept in its config dir).
    local again = H.spawn(dir, loop)
    assert.equal(proc.id, again.id)
    assert.is_true(loop:run_until(function()
      local pa, pb = peer(a, proc.id), peer(b, proc.id)
      return pa and pa.state == "alive" and pb and pb.state == "alive"
    end, 10), "both saw it come back")

    H.kill(again, "TERM")
    H.wait_exit(again, loop, 5)
    a:close(); b:close(); loop:close()
  end)
end)

describe("failure detection across processes", function()
  local function cluster_with_process(loop, settings)
    local nodes = {}
    for i = 1, 3 do
      nodes[i] = H.node(settings, loop)
      for j = 1, i - 1 do
        nodes[i]:add_peer(nodes[j]:id(), nodes[j]:url())
        nodes[j]:add_peer(nodes[i]:id(), nodes[i]:url())
      end
    end
    local s = H.settings(settings)
    s.port, s.bootstrap = 0, { nodes[1]:url() }
    local proc = H.spawn(H.config_dir(s), loop)
    -- Every node has probed it (it answered as itself): a node that knew
    -- it only from another's word when it died would forget it, not
    -- declare it dead.
    assert.is_true(loop:run_until(function()
      for i = 1, 3 do
        local p = peer(nodes[i], proc.id)
        if not (p and p.latency_ms) then return false end
      end
      return true
    end, 10), "the process joined every node")
    local downs = {}
    for i = 1, 3 do
      nodes[i]:on("peer", function(p, up)
        if not up and p.id == proc.id then downs[#downs + 1] = i end
      end)
    end
    return nodes, proc, downs
  end

  it("a node killed with SIGKILL is marked dead by every other node", function()
    local loop = hs.loop()
    local nodes, proc, downs = cluster_with_process(loop,
      { dead_after = 1, suspicion_timeout = 0.5, health_interval = 0.2, probe_timeout = 0.3 })
    H.kill(proc, "KILL")
    assert.is_true(H.wait_exit(proc, loop, 5))
    assert.is_true(loop:run_until(function() return #downs == 3 end, 10))
    for i = 1, 3 do assert.equal("dead", peer(nodes[i], proc.id, true).state) end
    for i = 1, 3 do nodes[i]:close() end
    loop:close()
  end)

  it("a node stopped with SIGSTOP for less than the shortest suspicion is never declared dead", function()
    -- Every node that holds it suspects it, and each one's suspicion bears
    -- out the others' (Lifeguard): the suspicion runs suspicion_min, not
    -- suspicion_timeout, once enough of them have.
    local loop = hs.loop()
    local nodes, proc, downs = cluster_with_process(loop,
      { dead_after = 1, suspicion_timeout = 4, suspicion_min = 2.5, health_interval = 0.2,
        probe_timeout = 0.3 })
    H.kill(proc, "STOP")
    loop:run_for(1.5)
    -- It was suspected meanwhile (its probes failed, directly and indirectly).
    local suspected = 0
    for i = 1, 3 do suspected = suspected + nodes[i]:metrics().suspicions end
    H.kill(proc, "CONT")
    -- Back before its suspicion ran out: alive again everywhere, never dead.
    assert.is_true(loop:run_until(function()
      for i = 1, 3 do
        local p = peer(nodes[i], proc.id)
        if not p or p.state ~= "alive" then return false end
      end
      return true
    end, 5))
    loop:run_for(4) -- past the suspicion timeout
    assert.is_true(suspected >= 1, "the stop was noticed")
    assert.same({}, downs)
    for i = 1, 3 do assert.equal("alive", peer(nodes[i], proc.id).state) end
    H.kill(proc, "TERM")
    H.wait_exit(proc, loop, 5)
    for i = 1, 3 do nodes[i]:close() end
    loop:close()
  end)
end)

describe("a plugin holding its memory at the cap", function()
  it("fails the hooks it cannot be given arguments for; the node keeps serving", function()
    local loop = hs.loop()
    local dir = H.plugin_dir({ hog = [[
      -- Takes memory until the cap refuses more and keeps it: small tables
      -- in a list, so what is left under the cap is less than one of them.
      on.message("fill", function()
        pcall(function()
          while true do state.hog = { next = state.hog } end
        end)
      end)
      on.message("chat", function(msg) state.chats = (state.chats or 0) + 1 end)
      policy("first", function(msg, candidates) return { candidates[1] } end)
    ]] })
    local a = H.node({}, loop)
    local got = H.record({ a }, "chat")
    local s = H.settings({ port = 0, bootstrap = { a:url() }, plugin_path = { dir },
      plugins = { "hog" }, policy = "first", plugin_memory = 2 << 20 })
    local proc = H.spawn(H.config_dir(s, dir), loop)
    finally(function() -- also when an assertion fails: no process left behind
      H.kill(proc, "TERM")
      H.wait_exit(proc, loop, 5)
      a:close(); loop:close()
    end)
    assert.is_true(loop:run_until(function() return peer(a, proc.id) ~= nil end, 10))
    local st = H.post_gossip(loop, a, proc.url, H.envelope({ message_type = "fill", ttl = 0 }))
    assert.equal(200, st)
    -- Each of these needs more memory than is left: a message table with
    -- a 4 KiB text for the handler, the candidate list for the policy.
    local ids = {}
    for i = 1, 5 do
      local env = H.envelope({ payload = { text = ("x"):rep(4096) .. i } })
      ids[i] = env.message_id
      st = H.post_gossip(loop, a, proc.url, env)
      assert.equal(200, st, H.output(proc))
    end
    assert.is_true(H.alive(proc), H.output(proc))
    st = H.fetch(loop, a, "GET", proc.url .. "/health")
    assert.equal(200, st)
    -- Accepted and forwarded all the same (by the core's own choice).
    assert.is_true(loop:run_until(function()
      for i = 1, 5 do if not got[1][ids[i]] then return false end end
      return true
    end, 5), H.output(proc))
    assert.matches("not enough memory", H.output(proc))
  end)
end)
