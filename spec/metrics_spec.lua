-- GET /metrics: Prometheus's text format, checked by promtool (Debian's
-- prometheus package) on a busy cluster, and the same counters as /health.
local hs = H.hs

-- The samples of a text exposition: name{labels} -> value.
local function samples(text)
  local t = {}
  for line in text:gmatch("[^\n]+") do
    if not line:match("^#") then
      local key, value = line:match("^(.+) (%S+)$") -- (a label value may hold spaces)
      assert(key, "a sample line: " .. line)
      t[key] = tonumber(value) or value
    end
  end
  return t
end

-- One sample of node's /metrics (the whole text too).
-- Runs the loop for `seconds` with a timer that keeps its thread working
-- 9 ms of every 10.
local function keep_busy(loop, seconds)
  local t = loop:timer(0, 0.01, function()
    local until_t = os.clock() + 0.009
    repeat until os.clock() >= until_t
  end)
  loop:run_for(seconds)
  t:close()
end

local function sample(loop, node, name)
  local st, text = H.fetch(loop, node, "GET", node:url() .. "/metrics")
  assert.equal(200, st)
  return samples(text)[name], text
end

describe("GET /metrics", function()
  it("passes promtool on a busy 5-node cluster and agrees with /health", function()
    -- quiet once our traffic is done (no announces, probes or rounds of
    -- its own), so that /metrics and /health read the same counters
    local loop, nodes = H.mesh(5, { ae_interval = 0, gossip_interval = 60, health_interval = 60,
      peer_exchange_interval = 60, probe_interval = 30 })
    -- busy: broadcasts, a rejected message, a query, a refused envelope
    H.plugins(nodes[2], H.plugin_dir({ judge = [[
      on.message("bad", function() return "reject" end)
      on.query("q", function() return 1 end)
    ]] }), { "judge" })
    for i = 1, 20 do nodes[1 + i % 5]:broadcast("chat", { i = i }) end
    nodes[1]:broadcast("bad", {})
    local done
    nodes[1]:query("q", nil, { timeout = 3 }, function(r) done = r end)
    assert.is_true(loop:run_until(function() return done ~= nil end, 5))
    loop:run_for(0.5)
    local before = H.peer(nodes[2], nodes[3]:id()).score
    assert.equal(400, (H.fetch(loop, nodes[3], "POST", nodes[2]:url() .. "/gossip",
      hs.json_encode({ message_id = "x" }), "X-Hearsay-From: " .. nodes[3]:id())))
    assert.equal(404, (H.fetch(loop, nodes[1], "GET", nodes[2]:url() .. "/no/such/path")))
    local st, text, err = H.fetch(loop, nodes[2], "GET", nodes[2]:url() .. "/metrics")
    assert.equal(200, st, err)
    local _, health = H.fetch_json(loop, nodes[2], "GET", nodes[2]:url() .. "/health")
    local file = H.tmpdir() .. "/metrics.txt"
    H.write(file, text)
    local code, out = H.sh(("promtool check metrics < %q"):format(file))
    assert.equal(0, code, out)
    local s = samples(text)
    -- every counter of /health is there: at most what /health said just
    -- after (the cluster runs on between the two requests), and exactly
    -- it for those nothing moved meanwhile
    local m = health.metrics
    local n = 0
    for k, v in pairs(m) do
      if math.type(v) == "integer" then
        n = n + 1
        local got = s["hearsay_" .. k .. "_total"]
        assert.is_not_nil(got, k)
        assert.is_true(got <= v, k)
      end
    end
    for _, k in ipairs({ "messages_rejected", "messages_invalid", "query_answers", "queries_sent",
      "messages_received" }) do
      assert.equal(m[k], s["hearsay_" .. k .. "_total"], k)
    end
    assert.is_true(n >= 60)
    assert.is_true(s.hearsay_messages_rejected_total >= 1)
    assert.is_true(s.hearsay_messages_received_total >= 16) -- (4 of the 20 were its own)
    local build
    for k, v in pairs(s) do
      local ver, lua = k:match('^hearsay_build_info{version="([^"]*)",lua_version="([^"]*)"}$')
      if ver then build = { ver, lua, v } end
    end
    assert.equal(health.version, build[1])
    assert.matches("^Lua 5%.4%.%d+$", build[2])
    assert.equal(1, build[3])
    assert.equal(4, s['hearsay_peers{state="alive"}'])
    assert.equal(4, s['hearsay_peer_score_bucket{le="+Inf"}'])
    assert.equal(4, s.hearsay_peer_score_count)
    -- node 3 sent an invalid envelope: it cost it score_invalid (its
    -- first deliveries had earned it some); the buckets count what
    -- peers() shows
    assert.is_true(before - H.peer(nodes[2], nodes[3]:id()).score >= 9)
    for _, le in ipairs({ -1, 0, 5 }) do
      local k = 0
      for _, p in ipairs(nodes[2]:peers()) do if p.score <= le then k = k + 1 end end
      assert.equal(k, s[('hearsay_peer_score_bucket{le="%d"}'):format(le)], le)
    end
    -- the breakdowns: by result, by route and status (a path no route has
    -- is "other", never the path), probes and their durations, plugins
    assert.equal(s.hearsay_messages_rejected_total, s['hearsay_messages_by_result_total{result="rejected"}'])
    assert.equal(1, s['hearsay_http_requests_by_route_total{route="other",code="404"}'])
    assert.is_true(s['hearsay_http_requests_by_route_total{route="/gossip",code="400"}'] >= 1)
    assert.is_nil(text:find("/no/such/path", 1, true))
    local ok = s['hearsay_probes_total{result="ok"}']
    assert.is_true(ok >= 4, "the mesh's first probes")
    assert.equal(ok, s['hearsay_probe_duration_seconds_bucket{le="+Inf"}'])
    assert.equal(ok, s.hearsay_probe_duration_seconds_count)
    local last = 0
    for _, le in ipairs({ "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1" }) do
      local v = s[('hearsay_probe_duration_seconds_bucket{le="%s"}'):format(le)]
      assert.is_true(v >= last, le)
      last = v
    end
    assert.is_true(s['hearsay_plugin_calls_total{plugin="judge"}'] >= 2)
    -- bytes: at least the bodies of the broadcasts it took and passed on
    assert.is_true(s.hearsay_bytes_in_total > 16 * 100, s.hearsay_bytes_in_total)
    assert.is_true(s.hearsay_bytes_out_total > 0)
    assert.equal(0, s['hearsay_plugin_errors_total{plugin="judge"}'])
    assert.equal(0, s['hearsay_plugin_reloads_total{result="failed"}'])
    -- by hook: the handler's calls, the query's, and their time
    assert.is_true(s['hearsay_plugin_hook_calls_total{hook="on_message"}'] >= 1)
    assert.is_true(s['hearsay_plugin_hook_calls_total{hook="on_query"}'] >= 1)
    assert.is_true(s['hearsay_plugin_hook_seconds_total{hook="on_message"}'] > 0)
    assert.equal(0, s['hearsay_plugin_hook_errors_total{hook="on_message"}'])
    -- no label holds a peer id
    for _, node in ipairs(nodes) do assert.is_nil(text:find(node:id(), 1, true)) end
    for _, node in ipairs(nodes) do node:close() end
    loop:close()
  end)

  it("says how long the node's thread waited for a CPU (cpu_wait_seconds_total)", function()
    -- Linux's run-queue delay of the loop's thread: a counter of seconds
    -- that only grows (how much depends on what else runs here).
    local a, loop = H.node()
    local function waited()
      local v, text = sample(loop, a, "hearsay_cpu_wait_seconds_total")
      assert.matches("# TYPE hearsay_cpu_wait_seconds_total counter", text, 1, true)
      return v
    end
    local first = waited()
    assert.is_number(first)
    assert.is_true(first >= 0)
    keep_busy(loop, 0.5)
    assert.is_true(waited() >= first)
    a:close()
    loop:close()
  end)

  it("says how busy the node's thread is (loop_busy_ratio)", function()
    -- The loop blocks in epoll for most of a second, then a timer keeps
    -- it working 9 ms of every 10 for a second: the share the node
    -- reads from libuv's idle time goes from near 0 to most of it
    -- (smoothed over 0.5 s: about 0.86 of 0.9 after a second).
    local a, loop = H.node()
    local function ratio() return (sample(loop, a, "hearsay_loop_busy_ratio")) end
    loop:run_for(1)
    local idle = ratio()
    assert.is_true(idle >= 0 and idle < 0.3, idle)
    keep_busy(loop, 1)
    local busy = ratio()
    assert.is_true(busy > 0.5 and busy <= 1, busy)
    a:close(); loop:close()
  end)

  it("takes GET only, and is refused without a key in a keyed cluster", function()
    local a, loop = H.node()
    local st, body = H.fetch(loop, a, "POST", a:url() .. "/metrics", "{}")
    assert.equal(405, st)
    assert.matches("takes GET", body)
    a:close()
    a = H.node({ security = "cluster", cluster_keys = { hs.keygen() } }, loop)
    local stranger = H.node({}, loop) -- (a's own client would sign with a's key)
    st = H.fetch(loop, stranger, "GET", a:url() .. "/metrics")
    assert.equal(401, st)
    a:close(); stranger:close(); loop:close()
  end)
end)
