-- The Lua plugin shell on real nodes: handlers, policies, reactions,
-- timers, isolation and limits, and atomic hot reload.
local hs = H.hs

local function count(t) local n = 0 for _ in pairs(t) do n = n + 1 end return n end

-- A line a - b - c: each knows only its neighbours, announces off, so a
-- message from a reaches c only through b (by push, lazy push or
-- anti-entropy: `extra` may make the last fast).
local function line_of_three(loop, extra)
  local s = { gossip_interval = 60, announce_ttl = 0, peer_exchange_interval = 60 }
  for k, v in pairs(extra or {}) do s[k] = v end
  local a, b, c = H.node(s, loop), H.node(s, loop), H.node(s, loop)
  a:add_peer(b:id(), b:url())
  b:add_peer(c:id(), c:url())
  loop:run_for(0.1)
  return a, b, c
end

-- A node with the plugins `list` from `dir`, policy `policy`, fanout 2 and
-- six peers: 60 broadcasts each reach exactly two of them, and every peer
-- gets a fair share (20 expected; fewer than 5 has odds of about 1 in
-- 100000 for a uniform choice). Returns the policy plugin's counters.
local function fair_spread(dir, list, policy)
  local loop = hs.loop()
  local a = H.node({ fanout = 2, gossip_interval = 60, peer_exchange_interval = 60 }, loop)
  local leaves = {}
  for i = 1, 6 do
    leaves[i] = H.node({ gossip_interval = 60, peer_exchange_interval = 60 }, loop)
    a:add_peer(leaves[i]:id(), leaves[i]:url())
  end
  H.probed(loop, a)
  H.plugins(a, dir, list, { policy = policy })
  local got = H.record(leaves, "chat")
  local ids = {}
  for k = 1, 60 do ids[k] = a:broadcast("chat", { k = k }) end
  local function copies(id)
    local n = 0
    for i = 1, 6 do if got[i][id] then n = n + 1 end end
    return n
  end
  assert.is_true(loop:run_until(function()
    for _, id in ipairs(ids) do if copies(id) < 2 then return false end end
    return true
  end, 5))
  loop:run_for(0.3)
  local p = a:plugin_info().plugins[1]
  local share = {}
  for i = 1, 6 do
    share[i] = 0
    for _ in pairs(got[i]) do share[i] = share[i] + 1 end
  end
  a:close(); for _, l in ipairs(leaves) do l:close() end; loop:close()
  for _, id in ipairs(ids) do assert.equal(2, copies(id)) end
  for i = 1, 6 do
    assert.is_true(share[i] >= 5, "peer " .. i .. " got " .. share[i] .. " of 60: "
      .. table.concat(share, " "))
  end
  return p
end

describe("a message handler", function()
  local dir = H.plugin_dir({
    no_spam = [[
      on.message("spam", function(msg) return "drop" end)
    ]],
    shout = [[
      on.message("chat", function(msg)
        msg.payload.text = msg.payload.text:upper()
        return "accept", msg.payload
      end)
    ]],
    keep_local = [[
      on.message("local", function(msg) return "stop" end)
    ]],
  })

  it("that drops a type stops it network-wide", function()
    local loop = hs.loop()
    local a, b, c = line_of_three(loop)
    H.plugins(b, dir, { "no_spam" })
    local got = H.record({ a, b, c })
    local spam = a:broadcast("spam", { buy = "now" })
    local chat = a:broadcast("chat", { text = "hi" })
    assert.is_true(loop:run_until(function() return got[3][chat] ~= nil end, 5))
    loop:run_for(0.2)
    assert.is_nil(got[3][spam], "c never sees what b dropped")
    assert.equal(1, b:metrics().messages_dropped)
    a:close(); b:close(); c:close(); loop:close()
  end)

  it("can rewrite the payload that is processed and forwarded", function()
    local loop = hs.loop()
    local a, b, c = line_of_three(loop)
    H.plugins(b, dir, { "shout" })
    local got = H.record({ a, b, c }, "chat")
    local id = a:broadcast("chat", { text = "quiet please" })
    assert.is_true(loop:run_until(function() return got[3][id] ~= nil end, 5))
    assert.equal("QUIET PLEASE", got[3][id].payload.text)
    a:close(); b:close(); c:close(); loop:close()
  end)

  it("can stop forwarding while still accepting, and nothing repairs it past that node", function()
    local loop = hs.loop()
    -- anti-entropy every 0.1 s: a stopped message must not reach c by a
    -- repair either
    local a, b, c = line_of_three(loop, { ae_interval = 0.1, ae_max_interval = 0.1 })
    H.plugins(b, dir, { "keep_local" })
    local got = H.record({ a, b, c }, "local")
    local id = a:broadcast("local", {})
    assert.is_true(loop:run_until(function() return got[2][id] ~= nil end, 5))
    local rounds = b:metrics().ae_rounds + c:metrics().ae_rounds
    loop:run_for(1)
    assert.is_true(b:metrics().ae_rounds + c:metrics().ae_rounds - rounds >= 5)
    assert.is_nil(got[3][id])
    assert.equal(0, c:copies(id))
    a:close(); b:close(); c:close(); loop:close()
  end)
end)

describe("message dispatch to plugins", function()
  local function post_types(loop, client, node, types)
    for _, t in ipairs(types) do
      local st = H.fetch(loop, client, "POST", node:url() .. "/gossip",
        hs.json_encode(H.envelope({ message_id = H.id(), message_type = t, ttl = 0 })))
      assert.equal(200, st)
    end
  end

  it("runs the \"*\" handlers once for a message whose type is \"*\"", function()
    local dir = H.plugin_dir({ star = [[
      state.n = 0
      on.message("*", function() state.n = state.n + 1 end)
    ]] })
    local loop = hs.loop()
    local node, client = H.node({}, loop), H.node({}, loop)
    H.plugins(node, dir, { "star" })
    post_types(loop, client, node, { "*", "chat" })
    assert.equal(2, node:plugin_state("star").n)
    node:close(); client:close(); loop:close()
  end)

  it("runs handlers for the types they handle, \"*\" for all, across reloads", function()
    local dir = H.plugin_dir({
      seen = [[
        state.n = {}
        on.message("chat", function(msg) state.n[msg.type] = (state.n[msg.type] or 0) + 1 end)
      ]],
    })
    local loop = hs.loop()
    local node, client = H.node({}, loop), H.node({}, loop)
    H.plugins(node, dir, { "seen" })
    post_types(loop, client, node, { "chat", "news", "chat" })
    assert.same({ chat = 2 }, node:plugin_state("seen").n)
    -- A reload that adds a handler for another type: it runs from then on.
    H.plugin_dir({ seen = [[
      state.n = {}
      on.message("chat", function(msg) state.n.chat = (state.n.chat or 0) + 1 end)
      on.message("news", function(msg) state.n.news = (state.n.news or 0) + 1 end)
    ]] }, dir)
    assert.is_true(node:reload())
    post_types(loop, client, node, { "news", "chat", "other" })
    assert.same({ chat = 1, news = 1 }, node:plugin_state("seen").n)
    -- "*" sees every type.
    H.plugin_dir({ seen = [[
      state.n = {}
      on.message("*", function(msg) state.n[msg.type] = (state.n[msg.type] or 0) + 1 end)
    ]] }, dir)
    assert.is_true(node:reload())
    post_types(loop, client, node, { "news", "other" })
    assert.same({ news = 1, other = 1 }, node:plugin_state("seen").n)
    -- A reload back to no handler at all: nothing runs.
    H.plugin_dir({ seen = [[ state.n = {} ]] }, dir)
    assert.is_true(node:reload())
    post_types(loop, client, node, { "news" })
    assert.same({}, node:plugin_state("seen").n)
    node:close(); client:close(); loop:close()
  end)

  it("takes any type name a message may carry, as the message carries it", function()
    local odd = 'caf\xc3\xa9 "order"/report \\ #1'
    local dir = H.plugin_dir({
      any = ([[
        state.got = {}
        on.message(%q, function(msg) state.got[#state.got + 1] = msg.type end)
        on.message("has space", function(msg) state.got[#state.got + 1] = msg.type end)
      ]]):format(odd),
    })
    local loop = hs.loop()
    local node, client = H.node({}, loop), H.node({}, loop)
    H.plugins(node, dir, { "any" })
    post_types(loop, client, node, { odd, "has space", "caf\xc3\xa9", "chat" })
    assert.same({ odd, "has space" }, node:plugin_state("any").got)
    node:close(); client:close(); loop:close()
  end)

  it("runs a handler a plugin registers while it runs (from a timer)", function()
    local dir = H.plugin_dir({
      late = [[
        state.n = 0
        local t
        t = every(10, function()
          if not state.added then
            state.added = true
            on.message("late", function() state.n = state.n + 1 end)
          end
        end)
      ]],
    })
    local loop = hs.loop()
    local node, client = H.node({}, loop), H.node({}, loop)
    H.plugins(node, dir, { "late" })
    assert.is_true(loop:run_until(function() return node:plugin_state("late").added end, 2))
    post_types(loop, client, node, { "late", "late" })
    assert.equal(2, node:plugin_state("late").n)
    node:close(); client:close(); loop:close()
  end)
end)

describe("a peer-selection policy", function()
  it("that always picks one peer changes the path a message takes", function()
    local dir = H.plugin_dir({
      lowest = [[
        policy("lowest", function(msg, candidates, want)
          table.sort(candidates, function(x, y) return x.id < y.id end)
          return { candidates[1] }
        end)
      ]],
    })
    local loop = hs.loop()
    local hub = H.node({ gossip_interval = 60, peer_exchange_interval = 60 }, loop)
    local leaves = {}
    for i = 1, 5 do
      leaves[i] = H.node({ gossip_interval = 60, peer_exchange_interval = 60 }, loop)
      hub:add_peer(leaves[i]:id(), leaves[i]:url())
    end
    -- the first probes tell the hub which leaves take lazy offers
    H.probed(loop, hub)
    local got = H.record(leaves, "chat")
    local function reached(id)
      local ids = {}
      for i = 1, 5 do if got[i][id] then ids[#ids + 1] = leaves[i]:id() end end
      return ids
    end
    local first = hub:broadcast("chat", {})
    -- the default: fanout random peers, and the id offered to the others
    -- (lazy push, after lazy_delay), who ask for it
    assert.is_true(loop:run_until(function() return #reached(first) == 5 end, 3))
    H.plugins(hub, dir, { "lowest" }, { policy = "lowest" })
    local lowest = leaves[1]:id()
    for i = 2, 5 do if leaves[i]:id() < lowest then lowest = leaves[i]:id() end end
    for _ = 1, 5 do -- the policy alone decides: no lazy offers either
      local id = hub:broadcast("chat", {})
      assert.is_true(loop:run_until(function() return #reached(id) > 0 end, 3))
      loop:run_for(0.4) -- past lazy_delay: an offer would have gone by now
      assert.same({ lowest }, reached(id))
    end
    hub:close(); for _, l in ipairs(leaves) do l:close() end; loop:close()
  end)

  it("sees every documented field of a candidate, by name and with pairs()", function()
    local dir = H.plugin_dir({
      inspect = [[
        local kept -- a candidate left untouched during its call
        policy("inspect", function(msg, candidates, want)
          if kept then state.stale = { id = kept.id, index = kept.index } end
          kept = candidates[2]
          state.n, state.keys, state.fields = #candidates, {}, {}
          for k in pairs(candidates[1]) do state.keys[#state.keys + 1] = k end
          table.sort(state.keys)
          local c = candidates[#candidates]
          state.fields = { id = c.id, url = c.url, healthy = c.healthy, state = c.state,
            failures = c.failures, index = c.index, tags = c.tags, msg_type = msg.type,
            latency = type(c.latency_ms) }
          return { c.id }
        end)
      ]],
    })
    local loop = hs.loop()
    local hub = H.node({ gossip_interval = 60 }, loop)
    local leaves = {}
    for i = 1, 3 do
      leaves[i] = H.node({ gossip_interval = 60, tags = { n = tostring(i) } }, loop)
      hub:add_peer(leaves[i]:id(), leaves[i]:url())
    end
    -- probed: latencies and tags known
    assert.is_true(loop:run_until(function()
      for _, p in ipairs(hub:peers()) do if not p.tags.n then return false end end
      return #hub:peers() == 3
    end, 5))
    H.plugins(hub, dir, { "inspect" }, { policy = "inspect" })
    local got = H.record(leaves, "chat")
    local id = hub:broadcast("chat", {})
    assert.is_true(loop:run_until(function()
      for i = 1, 3 do if got[i][id] then return true end end
    end, 3))
    loop:run_for(0.3) -- (no other copy comes)
    local s = hub:plugin_state("inspect")
    assert.equal(3, s.n)
    assert.same({ "eager", "failures", "feeds", "graylisted", "healthy", "id", "index",
      "last_seen", "latency_ms", "merkle_root", "score", "state", "tags", "url" }, s.keys)
    assert.equal(3, s.fields.index)
    assert.is_true(s.fields.healthy)
    assert.equal("alive", s.fields.state)
    assert.equal(0, s.fields.failures)
    assert.equal("number", s.fields.latency)
    assert.equal("chat", s.fields.msg_type)
    local reached = 0
    for i = 1, 3 do
      if got[i][id] then
        reached = reached + 1
        assert.equal(leaves[i]:id(), s.fields.id)
        assert.equal(leaves[i]:url(), s.fields.url)
        assert.same({ n = tostring(i) }, s.fields.tags)
      end
    end
    assert.equal(1, reached)
    -- Fields are filled in during their own call only.
    hub:broadcast("chat", {})
    loop:run_for(0.1)
    assert.same({ index = 2 }, hub:plugin_state("inspect").stale)
    hub:close(); for _, l in ipairs(leaves) do l:close() end; loop:close()
  end)

  it("gets a list that behaves as a plain table: #, ipairs, sort, remove, insert, pairs", function()
    local dir = H.plugin_dir({
      listy = [[
        policy("listy", function(msg, candidates, want)
          if state.prev then -- a list kept past its call: what was read during it
            state.prev_len = rawlen(state.prev)
            state.prev_first = state.prev[1] and state.prev[1].index
            state.prev_second = state.prev[2]
            state.done = true
            return {}
          end
          local r = { len = #candidates, ids = {} }
          for i, c in ipairs(candidates) do r.ids[i] = c.id end
          r.same = rawequal(candidates[2], candidates[2])
          r.outside = candidates[0] == nil and candidates[#candidates + 1] == nil
            and candidates.id == nil
          table.sort(candidates, function(a, b) return a.id > b.id end)
          r.sorted = {}
          for i = 1, #candidates do r.sorted[i] = candidates[i].id end
          local last = table.remove(candidates)
          r.after_remove = #candidates
          candidates[1] = nil
          r.hole = #candidates -- 2 or 0: both borders, as in a plain table
          candidates[1] = last
          table.insert(candidates, "x")
          r.after_insert, r.plain = #candidates, getmetatable(candidates) == nil
          local keys = 0
          for k, v in pairs(candidates) do keys = keys + 1 end
          r.keys = keys
          state.r = r
          return { candidates[1], candidates[2] }
        end)
      ]],
      whole = [[
        local calls, kept = 0, nil
        policy("whole", function(msg, candidates, want)
          calls = calls + 1
          if calls == 1 then -- the first broadcast: all of them, unread
            state.n = #candidates
            return candidates
          elseif not kept then -- a list kept past its call
            kept = candidates
            local _ = candidates[1].id -- only the first is read during the call
          else
            state.prev = { raw = rawlen(kept), len = #kept, first = kept[1] and kept[1].index,
              second = kept[2] == nil }
          end
          return {}
        end)
      ]],
    })
    local function star(loop) -- a hub that knows 3 leaves
      local hub = H.node({ gossip_interval = 60, fanout = 3, lazy_fanout = 0 }, loop)
      local leaves = {}
      for i = 1, 3 do
        leaves[i] = H.node({ gossip_interval = 60 }, loop)
        hub:add_peer(leaves[i]:id(), leaves[i]:url())
      end
      assert(H.probed(loop, hub, 5))
      return hub, leaves
    end
    local loop = hs.loop()
    local hub, leaves = star(loop)
    local ids = {}
    for i = 1, 3 do ids[i] = leaves[i]:id() end
    table.sort(ids)
    H.plugins(hub, dir, { "listy" }, { policy = "listy" })
    local got = H.record(leaves, "chat")
    local id = hub:broadcast("chat", {})
    assert.is_true(loop:run_until(function()
      local n = 0
      for i = 1, 3 do if got[i][id] then n = n + 1 end end
      return n == 2
    end, 3))
    loop:run_for(0.3) -- (no third copy comes)
    local r = hub:plugin_state("listy").r
    assert.equal(3, r.len)
    assert.equal(3, #r.ids)
    assert.is_true(r.same)
    assert.is_true(r.outside)
    assert.same({ ids[3], ids[2], ids[1] }, r.sorted)
    assert.equal(2, r.after_remove)
    assert.is_true(r.hole == 2 or r.hole == 0)
    assert.equal(3, r.after_insert)
    assert.is_true(r.plain)
    assert.equal(3, r.keys)
    -- Sorted down, the last (ids[1]) removed and put back in slot 1: it
    -- returned ids[1] and ids[2].
    local reached = {}
    for i = 1, 3 do if got[i][id] then reached[#reached + 1] = leaves[i]:id() end end
    table.sort(reached)
    assert.same({ ids[1], ids[2] }, reached)
    assert.equal(1, hub:plugin_info().plugins[1].calls)

    -- A policy returning its whole list, unread, sends to every candidate;
    -- a list kept past its call holds what was read during it.
    hub:close(); for _, l in ipairs(leaves) do l:close() end; loop:close()
    loop = hs.loop()
    hub, leaves = star(loop)
    H.plugins(hub, dir, { "whole" }, { policy = "whole" })
    got = H.record(leaves, "chat")
    id = hub:broadcast("chat", {})
    assert.is_true(loop:run_until(function() return got[1][id] and got[2][id] and got[3][id] end, 3))
    assert.equal(3, hub:plugin_state("whole").n)
    for _ = 1, 2 do
      hub:broadcast("chat", {})
      loop:run_for(0.1)
    end
    assert.same({ raw = 1, len = 1, first = 1, second = true }, hub:plugin_state("whole").prev)
    hub:close(); for _, l in ipairs(leaves) do l:close() end; loop:close()
  end)

  it("sees latency, health and tags of candidates; the region policy reads them", function()
    local loop = hs.loop()
    local hub = H.node({ gossip_interval = 60, peer_exchange_interval = 60, fanout = 2, tags = { region = "eu" } }, loop)
    local eu, us = {}, {}
    -- (The leaves do not ask to be fed: the hub would name them to each
    -- other, and their own pushes would add copies the policy did not pick.)
    for i = 1, 3 do
      eu[i] = H.node({ gossip_interval = 60, peer_exchange_interval = 60, tags = { region = "eu" },
        tree = false }, loop)
      us[i] = H.node({ gossip_interval = 60, peer_exchange_interval = 60, tags = { region = "us" },
        tree = false }, loop)
      hub:add_peer(eu[i]:id(), eu[i]:url())
      hub:add_peer(us[i]:id(), us[i]:url())
    end
    -- Probes carry the tags over (GET /health).
    assert.is_true(loop:run_until(function()
      for _, p in ipairs(hub:peers()) do if not p.tags.region then return false end end
      return true
    end, 5))
    H.plugins(hub, H.src .. "/plugins", { { "region_policy", remote = 1 } }, { policy = "region" })
    local got_eu, got_us = H.record(eu, "chat"), H.record(us, "chat")
    for _ = 1, 10 do
      local id = hub:broadcast("chat", {})
      local n_eu, n_us
      local function count()
        n_eu, n_us = 0, 0
        for i = 1, 3 do
          if got_eu[i][id] then n_eu = n_eu + 1 end
          if got_us[i][id] then n_us = n_us + 1 end
        end
        return n_eu + n_us >= 2
      end
      assert.is_true(loop:run_until(count, 3))
      loop:run_for(0.05) -- (no third copy comes)
      count()
      assert.same({ 1, 1 }, { n_eu, n_us }) -- one local copy, `remote` = 1 abroad
    end
    hub:close()
    for i = 1, 3 do eu[i]:close(); us[i]:close() end
    loop:close()
  end)

  -- A policy `source` (named "p", in plugin "pp") over six peers: see
  -- fair_spread.
  local function falls_back(source)
    return fair_spread(H.plugin_dir({ pp = 'policy("p", ' .. source .. ')' }), { "pp" }, "p")
  end

  it("falls back to a uniform random choice when the policy fails", function()
    local p = falls_back('function() error("no idea") end')
    assert.equal(60, p.errors)
    assert.equal(60, p.calls)
    assert.matches("no idea", p.last_error)
  end)

  it("falls back to a uniform random choice when the policy returns no list", function()
    local p = falls_back('function() return "anyone" end')
    assert.equal(60, p.errors)
    assert.equal("did not return a list of peers", p.last_error)
  end)
end)

describe("reactions and timers", function()
  local watcher = [[
      state.changes = state.changes or {}
      state.peers = state.peers or {}
      state.ups, state.downs = state.ups or {}, state.downs or {}
      state.ticks = state.ticks or 0
      on.state(function(ch)
        state.changes[#state.changes + 1] = { ch.old_version, ch.version, ch.root, ch.from }
      end)
      on.peer(function(peer, up) state.peers[#state.peers + 1] = (up and "up " or "down ") .. peer.id end)
      on.peer_up(function(peer) state.ups[#state.ups + 1] = peer.id end)
      on.peer_down(function(peer) state.downs[#state.downs + 1] = peer.id end)
      every(20, function() state.ticks = state.ticks + 1 end)
      on.start(function() state.started = (state.started or 0) + 1 end)
      on.stop(function() state.stopped = (state.stopped or 0) + 1 end)
  ]]

  it("fire on state changes, peers up and down, and on a timer", function()
    local dir = H.plugin_dir({ watcher = watcher })
    local loop = hs.loop()
    local a = H.node({ dead_after = 1 }, loop)
    local b = H.node({}, loop)
    H.plugins(a, dir, { "watcher" })
    a:add_peer(b:id(), b:url())
    b:add_peer(a:id(), a:url())
    b:update_state("root-7")
    assert.is_true(loop:run_until(function() return a:merkle_root() == "root-7" end, 3))
    local b_id = b:id()
    b:close()
    assert.is_true(loop:run_until(function()
      local s = a:plugin_state("watcher")
      return #s.peers == 2
    end, 5))
    local s = a:plugin_state("watcher")
    assert.same({ 0, 1, "root-7", b_id }, s.changes[1])
    assert.same({ "up " .. b_id, "down " .. b_id }, s.peers)
    assert.same({ b_id }, s.ups)
    assert.same({ b_id }, s.downs)
    assert.is_true(s.ticks >= 3)
    assert.equal(1, s.started)
    assert.is_nil(s.stopped)
    a:close(); loop:close()
  end)

  it("stop with their plugin set: on.stop runs, timers stop, the new set starts", function()
    local dir = H.plugin_dir({ watcher = watcher })
    local node, loop = H.node({})
    H.plugins(node, dir, { "watcher" })
    assert.is_true(loop:run_until(function() return node:plugin_state("watcher").ticks >= 2 end, 3))
    -- the new version has no timer
    H.plugin_dir({ watcher = [[
      on.start(function() state.started = state.started + 1 end)
      on.stop(function() state.stopped = (state.stopped or 0) + 1 end)
    ]] }, dir)
    assert.is_true(node:reload())
    local s = node:plugin_state("watcher")
    assert.equal(1, s.stopped)
    assert.equal(2, s.started)
    local ticks = s.ticks
    loop:run_for(0.2) -- ten periods of the old timer
    assert.equal(ticks, node:plugin_state("watcher").ticks)
    -- and the second set stops in turn
    assert.is_true(node:reload())
    assert.equal(2, node:plugin_state("watcher").stopped)
    node:close(); loop:close()
  end)
end)

describe("handlers and the node's own messages", function()
  it("run for messages from the network, not for the node's own broadcasts", function()
    local dir = H.plugin_dir({ count = [[
      state.n = 0
      on.message("chat", function(msg) state.n = state.n + 1 end)
      every(10, function()
        if not state.sent then state.sent = node.broadcast("chat", { from = "plugin" }) end
      end)
    ]] })
    local loop = hs.loop()
    local a, b = H.node({}, loop), H.node({}, loop)
    a:add_peer(b:id(), b:url())
    b:add_peer(a:id(), a:url())
    H.plugins(a, dir, { "count" })
    local got = H.record({ b }, "chat")
    local mine = a:broadcast("chat", { from = "node" })
    assert.is_true(loop:run_until(function()
      local sent = a:plugin_state("count").sent
      return got[1][mine] and sent and got[1][sent]
    end, 3))
    assert.equal(0, a:plugin_state("count").n, "a handled its own broadcasts")
    local theirs = b:broadcast("chat", { from = "b" })
    assert.is_true(loop:run_until(function() return a:plugin_state("count").n == 1 end, 3))
    assert.equal(a:copies(theirs), 1)
    a:close(); b:close(); loop:close()
  end)
end)

describe("the plugins that ship", function()
  it("random_policy: a uniform sample of `want` candidates", function()
    local p = fair_spread(H.src .. "/plugins", { "random_policy" }, "random")
    assert.equal(60, p.calls)
    assert.equal(0, p.errors)
  end)

  it("latency_policy: the slow peer is almost never picked", function()
    -- Three leaves answer at once; the fourth runs on a loop of its own,
    -- turned only every 50 ms, so its probes take ~25-50 ms. With power 2
    -- its weight is ~1/1000 of a fast leaf's: fanout 1, 40 messages.
    local loop, sloop = hs.loop(), hs.loop()
    local hub = H.node({ fanout = 1, gossip_interval = 60, peer_exchange_interval = 60,
      health_interval = 0.2, probe_timeout = 1 }, loop)
    local leaves = {}
    -- (The leaves do not ask to be fed: the hub would name them to each
    -- other, and their own pushes would bring the slow leaf what the
    -- policy did not pick.)
    local quiet = { gossip_interval = 60, peer_exchange_interval = 60, tree = false }
    for i = 1, 3 do
      leaves[i] = H.node(quiet, loop)
    end
    leaves[4] = H.node(quiet, sloop)
    for i = 1, 4 do hub:add_peer(leaves[i]:id(), leaves[i]:url()) end
    local got = H.record(leaves, "chat")
    local function both_until(cond, seconds)
      local t0 = loop:now()
      while loop:now() - t0 < seconds do
        if cond() then return true end
        loop:run_for(0.05)
        sloop:run_for(0.001)
      end
      return cond()
    end
    -- every leaf probed a few times: the latencies are averages
    assert.is_true(both_until(function()
      local n = 0
      for _, p in ipairs(hub:peers()) do if p.latency_ms then n = n + 1 end end
      return n == 4 and hub:metrics().health_checks >= 12
    end, 10))
    local slow = H.peer(hub, leaves[4]:id()).latency_ms
    H.plugins(hub, H.src .. "/plugins", { { "latency_policy", power = 2 } }, { policy = "latency" })
    local ids = {}
    for k = 1, 40 do ids[k] = hub:broadcast("chat", { k = k }) end
    assert.is_true(both_until(function()
      for _, id in ipairs(ids) do
        local n = 0
        for i = 1, 4 do if got[i][id] then n = n + 1 end end
        if n == 0 then return false end
      end
      return true
    end, 10))
    local share = {}
    for i = 1, 4 do
      share[i] = 0
      for _ in pairs(got[i]) do share[i] = share[i] + 1 end
    end
    local p = hub:plugin_info().plugins[1]
    hub:close(); for _, l in ipairs(leaves) do l:close() end
    sloop:run_for(0.05)
    loop:close(); sloop:close()
    assert.equal(40, p.calls)
    assert.equal(0, p.errors)
    assert.is_true(slow > 10, ("the slow leaf measured %.1f ms"):format(slow))
    assert.is_true(share[4] <= 2, "the slow leaf got " .. share[4] .. " of 40")
    for i = 1, 3 do assert.is_true(share[i] >= 3, table.concat(share, " ")) end
  end)

  it("chat: drops blank text, stops long text, trims before forwarding, counts by origin", function()
    local loop = hs.loop()
    local a, b, c = line_of_three(loop, { ae_interval = 0.1, ae_max_interval = 0.1 })
    H.plugins(b, H.src .. "/plugins", { { "chat", max_length = 10 } })
    local got = H.record({ a, b, c }, "chat")
    local trimmed = a:broadcast("chat", { text = "  hi \t\n" })
    local blank = a:broadcast("chat", { text = " \t " })
    local long = a:broadcast("chat", { text = ("x"):rep(11) })
    local none = a:broadcast("chat", { nothing = true })
    assert.is_true(loop:run_until(function() return got[3][trimmed] end, 3))
    assert.is_true(loop:run_until(function() return got[2][long] end, 3))
    loop:run_for(0.5) -- anti-entropy rounds too
    assert.equal("hi", got[3][trimmed].payload.text)
    assert.is_nil(got[3][blank]) -- dropped
    assert.is_nil(got[3][none])
    assert.is_nil(got[3][long]) -- stopped at b
    assert.equal(2, b:metrics().messages_dropped)
    -- counted by origin: a's two that had text, then another origin's
    assert.same({ [a:id()] = 2 }, b:plugin_state("chat").by_origin)
    local other = H.node({ gossip_interval = 60 }, loop)
    other:add_peer(b:id(), b:url())
    local id = other:broadcast("chat", { text = "elsewhere" })
    assert.is_true(loop:run_until(function() return got[2][id] end, 3))
    assert.same({ [a:id()] = 2, [other:id()] = 1 }, b:plugin_state("chat").by_origin)
    a:close(); b:close(); c:close(); other:close(); loop:close()
  end)

  it("audit: keeps the last `keep` state changes and peer events", function()
    local loop = hs.loop()
    local a = H.node({ dead_after = 1 }, loop)
    local b = H.node({}, loop)
    H.plugins(a, H.src .. "/plugins", { { "audit", keep = 2 } })
    a:add_peer(b:id(), b:url())
    b:add_peer(a:id(), a:url())
    for v = 1, 3 do
      b:update_state("r" .. v)
      assert.is_true(loop:run_until(function() return a:state_version() == v end, 3))
    end
    local s = a:plugin_state("audit")
    assert.equal(2, #s.changes)
    assert.same({ "r2", 2, b:id() }, { s.changes[1].root, s.changes[1].version, s.changes[1].from })
    assert.same({ "r3", 3, b:id() }, { s.changes[2].root, s.changes[2].version, s.changes[2].from })
    a:update_state("mine")
    assert.equal("mine", a:plugin_state("audit").changes[2].root)
    assert.is_nil(a:plugin_state("audit").changes[2].from)
    local b_id = b:id()
    b:close()
    assert.is_true(loop:run_until(function() return #a:plugin_state("audit").peers == 2 end, 5))
    s = a:plugin_state("audit")
    assert.same({ b_id, true }, { s.peers[1].id, s.peers[1].up })
    assert.same({ b_id, false }, { s.peers[2].id, s.peers[2].up })
    a:close(); loop:close()
  end)
end)

describe("isolation", function()
  it("gives each plugin its own globals and no io, os but its clock, require, dofile, loadfile, collectgarbage or binary load", function()
    local dir = H.plugin_dir({
      one = [[ shared = "one"; state.seen = shared ]],
      two = [[
        state.other = tostring(shared)
        state.io, state.exit, state.require = type(io), type(os.exit), type(require)
        state.debug = type(debug)
        state.absent = {}
        for _, name in ipairs({ "dofile", "loadfile", "collectgarbage", "rawequal_x" }) do
          state.absent[#state.absent + 1] = type(_ENV[name])
        end
        state.os = {}
        for k in pairs(os) do state.os[#state.os + 1] = k end
        table.sort(state.os)
        state.execute, state.remove = type(os.execute), type(os.remove)
        state.getenv, state.rename, state.tmpname = type(os.getenv), type(os.rename), type(os.tmpname)
        state.binary = select(2, load(string.char(27) .. "Lua", "x", "b")) or "loaded"
        state.strmeta = tostring(getmetatable(""))
        state.dump = type(string.dump)
      ]],
    })
    local node, loop = H.node({})
    H.plugins(node, dir, { "one", "two" })
    local two = node:plugin_state("two")
    assert.equal("one", node:plugin_state("one").seen)
    assert.equal("nil", two.other)
    assert.same({ "nil", "nil", "nil", "nil" }, { two.io, two.exit, two.require, two.debug })
    assert.same({ "nil", "nil", "nil", "nil" }, two.absent)
    assert.same({ "nil", "nil", "nil", "nil", "nil" },
      { two.execute, two.remove, two.getenv, two.rename, two.tmpname })
    assert.same({ "clock", "date", "difftime", "time" }, two.os)
    assert.matches("text chunks only", two.binary)
    assert.equal("nil", two.strmeta)
    assert.equal("nil", two.dump)
    node:close(); loop:close()
  end)
end)

describe("a plugin error", function()
  local dir = H.plugin_dir({
    faulty = [[
      on.message("chat", function(msg) local x = nil; return x.boom end)
    ]],
    spin = [[
      on.message("chat", function(msg)
        if msg.payload.spin then
          while true do pcall(function() while true do end end) end
        end
      end)
    ]],
    bomb = [[
      on.message("chat", function(msg)
        if msg.payload.bomb then
          local t = {}
          for i = 1, 1e9 do t[i] = ("x"):rep(1024) .. i end
        end
      end)
    ]],
  })

  local function setup(list, extra)
    local loop = hs.loop()
    local a, b, c = line_of_three(loop)
    H.plugins(b, dir, list, extra)
    return loop, a, b, c, H.record({ a, b, c }, "chat")
  end

  it("is caught, logged with file and line, counted, and the message goes on", function()
    local loop, a, b, c, got = setup({ "faulty" })
    local id = a:broadcast("chat", { text = "x" })
    assert.is_true(loop:run_until(function() return got[3][id] ~= nil end, 3))
    local p = b:plugin_info().plugins[1]
    assert.equal(1, p.errors)
    assert.matches("faulty%.lua:1: attempt to index a nil value", p.last_error)
    local _, health = H.fetch_json(loop, a, "GET", b:url() .. "/health")
    assert.equal(1, health.plugins.errors.faulty)
    a:close(); b:close(); c:close(); loop:close()
  end)

  it("from an infinite loop is cut by the instruction limit; the node keeps serving", function()
    local loop, a, b, c, got = setup({ "spin" }, { instruction_limit = 200000 })
    local id = a:broadcast("chat", { spin = true })
    assert.is_true(loop:run_until(function() return got[3][id] ~= nil end, 5))
    local p = b:plugin_info().plugins[1]
    assert.equal(1, p.errors)
    assert.matches("instruction limit exceeded", p.last_error)
    local st = H.fetch(loop, a, "GET", b:url() .. "/health")
    assert.equal(200, st)
    -- and the plugin still works for the next message
    local id2 = a:broadcast("chat", { spin = false })
    assert.is_true(loop:run_until(function() return got[3][id2] ~= nil end, 3))
    a:close(); b:close(); c:close(); loop:close()
  end)

  it("from a memory bomb is stopped by the memory cap; the node keeps serving", function()
    -- (a generous time limit: it is the memory cap that must stop it, also
    -- in a sanitizer build, where filling 8 MiB takes longer than 50 ms)
    local loop, a, b, c, got = setup({ "bomb" }, { memory_limit = 8 << 20, timeout = 10 })
    local id = a:broadcast("chat", { bomb = true })
    assert.is_true(loop:run_until(function() return got[3][id] ~= nil end, 10))
    local info = b:plugin_info()
    assert.equal(1, info.plugins[1].errors)
    assert.matches("not enough memory", info.plugins[1].last_error)
    assert.is_true(info.memory_used < 8 << 20)
    local st = H.fetch(loop, a, "GET", b:url() .. "/health")
    assert.equal(200, st)
    local id2 = a:broadcast("chat", {})
    assert.is_true(loop:run_until(function() return got[3][id2] ~= nil end, 3))
    a:close(); b:close(); c:close(); loop:close()
  end)
end)

describe("hot reload", function()
  it("replaces the plugin set atomically and keeps each plugin's state", function()
    local dir = H.plugin_dir({ counter = [[
      state.loads = (state.loads or 0) + 1
      state.version = "v1"
    ]] })
    local node, loop = H.node({})
    H.plugins(node, dir, { "counter" })
    H.plugin_dir({ counter = [[
      state.loads = (state.loads or 0) + 1
      state.version = "v2"
    ]] }, dir)
    assert.is_true(node:reload())
    local s = node:plugin_state("counter")
    assert.equal(2, s.loads)
    assert.equal("v2", s.version)
    node:close(); loop:close()
  end)

  it("keeps the old set running when any new plugin fails, naming file and line", function()
    local dir = H.plugin_dir({
      good = [[ on.message("chat", function() return "drop" end) ]],
      other = [[ state.ok = true ]],
    })
    local loop = hs.loop()
    local a, b, c = line_of_three(loop)
    H.plugins(b, dir, { "good", "other" })
    H.plugin_dir({ other = "state.ok = true\nthis is not lua\n" }, dir)
    local ok, err = b:reload()
    assert.is_nil(ok)
    assert.matches("other%.lua:2:", err)
    H.plugin_dir({ other = "state.ok = true\nlocal x = nil\nx.y = 1\n" }, dir)
    ok, err = b:reload()
    assert.is_nil(ok)
    assert.matches("other%.lua:3: attempt to index", err)
    -- The old set still drops chat.
    local got = H.record({ a, b, c }, "chat")
    local id = a:broadcast("chat", {})
    loop:run_for(0.3)
    assert.is_nil(got[3][id])
    local info = b:plugin_info()
    assert.equal(2, info.reload_errors)
    assert.equal(2, #info.plugins)
    a:close(); b:close(); c:close(); loop:close()
  end)

  it("in the middle of a flood loses no message and handles none twice", function()
    local dir = H.plugin_dir({ tally = [[
      state.ids = state.ids or {}
      state.dupes = state.dupes or 0
      on.message("chat", function(msg)
        if state.ids[msg.id] then state.dupes = state.dupes + 1 end
        state.ids[msg.id] = true
      end)
    ]] })
    local loop = hs.loop()
    local sender = H.node({ gossip_interval = 60 }, loop)
    local node = H.node({ gossip_interval = 60 }, loop)
    sender:add_peer(node:id(), node:url())
    H.plugins(node, dir, { "tally" })
    local sent = {}
    local reloads = 0
    local t = loop:timer(0, 0.005, function() assert(node:reload()); reloads = reloads + 1 end)
    for i = 1, 300 do
      sent[sender:broadcast("chat", { i = i })] = true
      if i % 20 == 0 then loop:run_for(0.01) end
    end
    assert.is_true(loop:run_until(function()
      return count(node:plugin_state("tally").ids) >= 300
    end, 10))
    t:close()
    local s = node:plugin_state("tally")
    assert.is_true(reloads >= 3, reloads .. " reloads")
    assert.equal(0, s.dupes)
    for id in pairs(sent) do assert.is_true(s.ids[id], id) end
    assert.equal(300, count(s.ids))
    sender:close(); node:close(); loop:close()
  end)

  it("re-reads the plugin list from node.lua in the config directory", function()
    local dir = H.config_dir({ plugins = { "a" }, port = 0 })
    H.plugin_dir({ a = "state.x = 1", b = "state.y = 2" }, dir)
    os.execute("mkdir -p " .. dir .. "/plugins && mv " .. dir .. "/a.lua " .. dir .. "/b.lua "
      .. dir .. "/plugins/")
    local node, loop = H.node({})
    node:plugins({ dir = dir })
    assert.equal(1, #node:plugin_info().plugins)
    H.config_dir({ plugins = { "a", "b" }, port = 0 }, dir)
    assert.is_true(node:reload())
    local info = node:plugin_info()
    assert.same({ "a", "b" }, { info.plugins[1].name, info.plugins[2].name })
    assert.equal(2, node:plugin_state("b").y)
    node:close(); loop:close()
  end)
end)

describe("the README's example plugin (plugins/moderate.lua)", function()
  it("mutes nodes, caps chat length, counts what it saw", function()
    local loop = hs.loop()
    local a, b, c = line_of_three(loop)
    H.plugins(b, H.src .. "/plugins", { { "moderate", max_length = 5 } })
    local got = H.record({ a, b, c })
    local long = a:broadcast("chat", { text = "far too long" })
    assert.is_true(loop:run_until(function() return got[3][long] ~= nil end, 3))
    assert.equal("far t...", got[3][long].payload.text)
    local mute = a:broadcast("mute", { node = a:id() })
    assert.is_true(loop:run_until(function() return got[2][mute] ~= nil end, 3))
    local muted = a:broadcast("chat", { text = "hi" })
    loop:run_for(0.2)
    assert.is_nil(got[3][mute])  -- "stop": processed by b, not forwarded
    assert.is_nil(got[3][muted]) -- dropped
    assert.equal(2, b:plugin_state("moderate").seen)
    a:close(); b:close(); c:close(); loop:close()
  end)
end)

describe("node.broadcast from a plugin", function()
  it("says why it refuses a type", function()
    local loop = hs.loop()
    local node = H.node({}, loop)
    H.plugins(node, H.plugin_dir({ caster = [[
      local ok, err = pcall(node.broadcast, ("x"):rep(65), {})
      state.err = err
      ok, err = pcall(node.broadcast, "", {})
      state.empty = err
    ]] }), { "caster" })
    local st = node:plugin_state("caster")
    assert.matches("broadcast: a message type is 1 to 64 bytes", st.err)
    assert.matches("broadcast: a message type is 1 to 64 bytes", st.empty)
    node:close(); loop:close()
  end)

  it("refuses a number for a type or a root rather than making it a string (issue 20)", function()
    local loop = hs.loop()
    local node = H.node({}, loop)
    H.plugins(node, H.plugin_dir({ caster = [[
      local ok, err = pcall(node.broadcast, 42, "x")
      state.type_ok, state.type_err = ok, err
      ok, err = pcall(node.update_state, 123)
      state.root_ok, state.root_err = ok, err
    ]] }), { "caster" })
    local st = node:plugin_state("caster")
    assert.is_false(st.type_ok)
    assert.matches("string expected, got number", st.type_err)
    assert.is_false(st.root_ok)
    assert.matches("string expected, got number", st.root_err)
    assert.equal(0, node:state_version())
    -- and the module's node the same
    assert.has_error(function() node:broadcast(42, "x") end)
    assert.has_error(function() node:update_state(123) end)
    assert.equal(0, node:state_version())
    node:close(); loop:close()
  end)
end)

describe("node:plugin_state", function()
  it("shows a state that holds functions, with each function as \"<function>\" (issue 20)", function()
    local loop = hs.loop()
    local node = H.node({}, loop)
    H.plugins(node, H.plugin_dir({ keeper = [[
      state.count = 3
      state.fn = function() end
      state.nested = { co = coroutine.create(function() end), list = { 1, 2 } }
    ]] }), { "keeper" })
    local st = node:plugin_state("keeper")
    assert.is_table(st)
    assert.equal(3, st.count)
    assert.equal("<function>", st.fn)
    assert.equal("<thread>", st.nested.co)
    assert.same({ 1, 2 }, st.nested.list)
    node:close(); loop:close()
  end)
end)

describe("node:plugins(opts) (issue 20)", function()
  it("returns true, and refuses an unknown option, naming it and the options there are", function()
    local node = H.node({})
    local ok, err = pcall(node.plugins, node, { plugins = {}, memory_limt = 1 << 20 })
    assert.is_false(ok)
    assert.matches("unknown option memory_limt", err, 1, true)
    assert.matches("plugin_path", err, 1, true)
    assert.is_true(node:plugins({ plugins = {}, memory_limit = 8 << 20 }))
    node:close()
  end)
end)
