-- The operator's commands on a running node's console socket (README,
-- Operations: Commands): hearsay members, info, event, join, tags,
-- reachability and monitor, against an in-process 5-node cluster (H.sh_bg
-- drives its loop while a command runs). leave and force-leave:
-- leave_spec.
local hs = H.hs

local function sh(loop, cmd) return H.sh_bg(loop, cmd, 20) end

describe("operator commands", function()
  local loop, nodes, sock
  setup(function()
    loop, nodes = H.mesh(5, { ae_interval = 0 })
    nodes[2]:set_tags({ role = "db" })
    H.plugins(nodes[1], H.plugin_dir({ none = "" }), { "none" })
    sock = H.tmpdir() .. "/console.sock"
    nodes[1]:console(sock)
    assert(loop:run_until(function() return H.peer(nodes[1], nodes[2]:id()).tags.role == "db" end, 5))
  end)
  teardown(function()
    for _, n in ipairs(nodes) do n:close() end
    loop:close()
  end)

  local function hearsay(args) return sh(loop, ("%q %s --socket %q"):format(H.bin, args, sock)) end

  it("hearsay members lists the node and its peers, filters, and prints JSON", function()
    local out, code = hearsay("members")
    assert.equal(0, code, out)
    local lines = {}
    for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.equal(5, #lines)
    assert.matches("^" .. nodes[1]:id():sub(1, 16) .. ".*alive%*", lines[1])
    assert.matches("role=db", out)
    out, code = hearsay("members --tag role=db --format json")
    assert.equal(0, code, out)
    local list = hs.json_decode(out)
    assert.equal(1, #list)
    assert.equal(nodes[2]:id(), list[1].id)
    out = hearsay("members --status dead --format json")
    assert.same({}, hs.json_decode(out))
    out, code = hearsay("members --detailed")
    assert.equal(0, code, out)
    assert.matches(nodes[3]:id(), out, 1, true)
    assert.matches("score", out)
    out, code = hearsay("members --tag role")
    assert.equal(2, code)
    assert.matches("K=V", out)
  end)

  it("hearsay info says who the node is", function()
    local out, code = hearsay("info --format json")
    assert.equal(0, code, out)
    local info = hs.json_decode(out)
    assert.equal(nodes[1]:id(), info.id)
    assert.equal(nodes[1]:url(), info.url)
    assert.equal(4, info.peers.alive)
    out = hearsay("info")
    assert.matches("\nid: +" .. nodes[1]:id(), "\n" .. out)
  end)

  it("hearsay event broadcasts from the node", function()
    local got = H.record({ nodes[3] }, "deploy")
    local out, code = hearsay("event deploy '{\"v\":2}'")
    assert.equal(0, code, out)
    local id = out:match("^(%x+)\n$")
    assert.equal(64, #id)
    assert.is_true(loop:run_until(function() return got[1][id] ~= nil end, 3))
    assert.equal(2, got[1][id].payload.v)
    out, code = hearsay("event deploy 'nope'")
    assert.equal(2, code)
  end)

  it("hearsay tags sets and deletes, and the peers hear it", function()
    local out, code = hearsay("tags --set zone=b --set role=web")
    assert.equal(0, code, out)
    assert.equal("role=web\nzone=b\n", out)
    assert.is_true(loop:run_until(function()
      local p = H.peer(nodes[3], nodes[1]:id())
      return p.tags.zone == "b" and p.tags.role == "web"
    end, 3))
    out = hearsay("tags --delete zone")
    assert.equal("role=web\n", out)
    out = hearsay("tags")
    assert.equal("role=web\n", out)
  end)

  it("hearsay join makes the node join another cluster's node", function()
    local lone = H.node({ ae_interval = 0 }, loop)
    local out, code = hearsay("join " .. lone:url())
    assert.equal(0, code, out)
    assert.matches("joining through 1 node", out)
    assert.is_true(loop:run_until(function() return H.peer(nodes[1], lone:id()) ~= nil end, 5))
    out, code = hearsay("join ftp://x")
    assert.equal(1, code)
    assert.matches("not an http%(s%) URL", out)
    lone:close()
  end)

  it("hearsay reachability finds the member whose responses do not come back", function()
    local out, code = hearsay("reachability --timeout 2 --format json")
    assert.equal(0, code, out)
    local r = hs.json_decode(out)
    local function by_id(list)
      local t = {}
      for _, m in ipairs(list) do t[m.id] = m end
      return t
    end
    local by = by_id(r.members)
    assert.is_true(by[nodes[2]:id()].responded and by[nodes[3]:id()].responded, out)
    -- node 1 now refuses node 3's requests: node 3 still looks alive to it
    -- (its probes of node 3 go through), but nothing of node 3's comes back
    nodes[1]:block(nodes[3]:id())
    out, code = hearsay("reachability --timeout 1 --format json")
    assert.equal(0, code, out)
    r = hs.json_decode(out)
    by = by_id(r.members)
    assert.is_true(by[nodes[2]:id()].responded)
    assert.is_false(by[nodes[3]:id()].responded)
    assert.is_true(r.missing >= 1)
    out = hearsay("reachability --timeout 1")
    assert.matches("NO RESPONSE", out)
    nodes[1]:block(nodes[3]:id(), false)
  end)

  it("hearsay monitor streams the node's log lines, up to a level", function()
    local talker = H.node({ log_level = "info" }, loop)
    H.plugins(talker, H.plugin_dir({ ticker = [[
      state.n = 0
      every(50, function()
        state.n = state.n + 1
        log.info("tick %d", state.n)
        log.warn("warn tick %d", state.n)
      end)
    ]] }), { "ticker" })
    local tsock = H.tmpdir() .. "/talker.sock"
    talker:console(tsock)
    local out, code = sh(loop, ("timeout 1.5 %q monitor --socket %q"):format(H.bin, tsock))
    assert.equal(124, code, out) -- (it streams until stopped)
    assert.matches("info: %[ticker%] tick %d+", out)
    assert.matches("warn: %[ticker%] warn tick %d+", out)
    out = sh(loop, ("timeout 1 %q monitor --level warn --socket %q"):format(H.bin, tsock))
    assert.matches("warn tick", out)
    assert.is_nil(out:find("info:", 1, true), out)
    -- the node went on as ever meanwhile, and its console still answers
    local n0 = talker:plugin_state("ticker").n
    loop:run_for(0.3)
    assert.is_true(talker:plugin_state("ticker").n > n0)
    out = sh(loop, ("%q console --socket %q -e '=1+1'"):format(H.bin, tsock))
    assert.matches("2", out)
    talker:close()
  end)
end)

