-- Hostile plugins, as their authors would write them: nothing a plugin
-- does runs outside its budget, a plugin that overruns its time is
-- quarantined while the node keeps serving, plugins cannot reach into each
-- other, the shipped plugins are linear in their input, and the console
-- bounds what it keeps for a client and never removes what is not its own.
-- The attacks that used to hang a node for good run in a `hearsay run`
-- process, so a regression fails the spec instead of hanging it.
local hs = H.hs

local function info_of(node, name)
  for _, p in ipairs(node:plugin_info().plugins) do
    if p.name == name then return p end
  end
end

-- A `hearsay run` process whose config dir holds `files` as plugins
-- (name -> source), loading `list`, with the given extra settings.
local function spawn_with(loop, files, list, extra)
  local dir = H.tmpdir()
  assert(os.execute(("mkdir -p %q/plugins"):format(dir)))
  H.plugin_dir(files, dir .. "/plugins")
  local s = { port = 0, log_level = "info", plugins = list, plugin_path = {} }
  for k, v in pairs(extra or {}) do s[k] = v end
  return H.spawn(H.config_dir(s, dir), loop)
end

-- GET url/health through client within `timeout` s: status, body.
local function health(loop, client, url, timeout)
  local st, body = H.fetch(loop, client, "GET", url .. "/health", nil, nil, timeout)
  return st, body and st == 200 and hs.json_decode(body) or nil
end

-- Polls /health every ~20 ms for `seconds`, each with a `timeout`; returns
-- how many polls there were and how many were not answered in time.
local function keep_polling(loop, client, url, seconds, timeout)
  local polls, missed, stop = 0, 0, loop:now() + seconds
  while loop:now() < stop and polls < 500 do
    polls = polls + 1
    if health(loop, client, url, timeout) ~= 200 then missed = missed + 1 end
    loop:run_for(0.02)
  end
  return polls, missed
end

-- SIGTERM, then (bounded) wait; SIGKILL if it did not end. Idempotent.
local function stop(proc)
  if proc.stopped then return true end
  proc.stopped = true
  H.kill(proc, "TERM")
  local ok, why = H.wait_exit(proc, hs.loop(), 5)
  if not ok then H.kill(proc, "KILL") end
  return ok, why
end

describe("code a plugin hands back", function()
  it("is never run outside a budget: a verdict whose __tostring loops", function()
    local loop = hs.loop()
    local client = H.node({}, loop)
    local proc = spawn_with(loop, {
      evil = [[
        on.message("chat", function()
          return setmetatable({}, { __tostring = function() while true do end end })
        end)
      ]],
    }, { "evil" })
    finally(function() stop(proc) end)
    local st = H.post_gossip(loop, client, proc.url, H.envelope({ ttl = 0 }))
    assert.equal(200, st)
    local hst, h = health(loop, client, proc.url, 1)
    assert.equal(200, hst, "the node still answers")
    assert.equal(1, h.plugins.errors.evil, "the odd verdict is counted as the plugin's error")
    assert.matches("returned %(a table value%)", H.output(proc))
    assert.is_true(stop(proc), "and stops on SIGTERM")
    client:close(); loop:close()
  end)

  it("cannot make a finalizer: __gc would run with every hook off", function()
    local loop = hs.loop()
    local client = H.node({}, loop)
    local proc = spawn_with(loop, {
      evil = [[
        local loop_forever = function() while true do end end
        local ok = pcall(setmetatable, {}, { __gc = loop_forever })
        log.warn("gc refused: %s", tostring(not ok))
        -- Nor through the metatables the host shares (json arrays, lazy
        -- policy arguments): getmetatable shows them as false.
        local mt = getmetatable(json.array({}))
        log.warn("array metatable: %s", tostring(mt))
        local hijacked = pcall(function() mt.__gc = loop_forever end)
        log.warn("shared metatable hijacked: %s", tostring(hijacked))
        -- Garbage, so the collector runs (and would run any finalizer).
        every(5, function() local t = {} for i = 1, 2000 do t[i] = { i } end end)
      ]],
    }, { "evil" })
    finally(function() stop(proc) end)
    local polls, missed = keep_polling(loop, client, proc.url, 1, 1)
    assert.equal(0, missed, ("%d of %d /health polls unanswered"):format(missed, polls))
    local out = H.output(proc)
    assert.matches("gc refused: true", out)
    assert.matches("array metatable: false", out)
    assert.matches("shared metatable hijacked: false", out)
    client:close(); loop:close()
  end)

  it("cannot hide a shared metatable from the policy's arguments either", function()
    local loop = hs.loop()
    local a, b = H.node({}, loop), H.node({}, loop)
    a:add_peer(b:id(), b:url())
    H.plugins(a, H.plugin_dir({
      peek = [[
        policy("peek", function(msg, candidates, want)
          state.list_mt = getmetatable(candidates)
          state.msg_mt = getmetatable(msg)
          state.cand_mt = getmetatable(candidates[1])
          return candidates
        end)
      ]],
    }), { "peek" }, { policy = "peek" })
    a:broadcast("chat", { text = "x" })
    assert.is_true(loop:run_until(function() return a:plugin_state("peek").cand_mt ~= nil end, 3))
    local st = a:plugin_state("peek")
    assert.equal(false, st.list_mt)
    assert.equal(false, st.msg_mt)
    assert.equal(false, st.cand_mt)
    a:close(); b:close(); loop:close()
  end)
end)

describe("a plugin over its time", function()
  local files = {
    spin = [[
      on.message("chat", function(msg)
        state.calls = (state.calls or 0) + 1
        pcall(function() while true do end end) -- the time limit is not the plugin's to catch
        state.after_pcall = true
      end)
    ]],
    good = [[
      state.n = 0
      on.message("*", function() state.n = state.n + 1 end)
    ]],
  }

  it("is quarantined: its hooks stop, the others run, a reload brings it back", function()
    local loop = hs.loop()
    local node, client = H.node({}, loop), H.node({}, loop)
    -- An instruction budget too large to matter: only the clock stops it.
    H.plugins(node, H.plugin_dir(files), { "spin", "good" },
      { instruction_limit = 2000000000, timeout = 0.05 })
    assert.equal(200, (H.post_gossip(loop, client, node:url(), H.envelope({ ttl = 0 }))))
    local spin = info_of(node, "spin")
    assert.matches("plugin_timeout 50 ms", spin.quarantined)
    assert.equal(1, spin.timeouts)
    assert.is_nil(node:plugin_state("spin").after_pcall)
    for _ = 1, 3 do
      assert.equal(200, (H.post_gossip(loop, client, node:url(), H.envelope({ ttl = 0 }))))
    end
    assert.equal(1, node:plugin_state("spin").calls, "a quarantined plugin is not called")
    assert.equal(4, node:plugin_state("good").n, "the other plugins go on")
    assert.matches("spin", hs.json_encode(node:health().plugins.quarantined))
    assert.is_true(node:reload())
    assert.is_nil(info_of(node, "spin").quarantined, "a reload lifts the quarantine")
    H.post_gossip(loop, client, node:url(), H.envelope({ ttl = 0 }))
    assert.equal(2, node:plugin_state("spin").calls)
    node:close(); client:close(); loop:close()
  end)

  it("does not stop the node: /health within 100 ms meanwhile, and SIGTERM", function()
    local loop = hs.loop()
    local client = H.node({}, loop)
    local proc = spawn_with(loop, {
      spin = [[ every(20, function() while true do end end) ]],
    }, { "spin" }, { plugin_instructions = 2000000000, plugin_timeout = 0.05 })
    finally(function() stop(proc) end)
    local polls, missed = keep_polling(loop, client, proc.url, 1, 0.1)
    assert.equal(0, missed, ("%d of %d /health polls not answered within 100 ms"):format(
      missed, polls))
    local _, h = health(loop, client, proc.url, 1)
    assert.matches("plugin_timeout 50 ms", h.plugins.quarantined.spin)
    assert.matches("plugin spin %(.-%) quarantined: a call ran", H.output(proc))
    local ok, why = stop(proc)
    assert.is_true(ok, why)
    client:close(); loop:close()
  end)

  it("is quarantined when its calls take too much of the loop's time", function()
    local loop = hs.loop()
    local node, client = H.node({}, loop), H.node({}, loop)
    H.plugins(node, H.plugin_dir({
      hog = [[
        on.message("chat", function()
          local t0 = os.clock()
          while os.clock() - t0 < 0.004 do end -- 4 ms each, well under the timeout
        end)
      ]],
    }), { "hog" }, { timeout = 0.05, max_share = 0.2, share_window = 0.5 })
    local batch = {}
    for i = 1, 60 do batch[i] = H.envelope({ ttl = 0 }) end
    local st = H.fetch(loop, client, "POST", node:url() .. "/gossip", hs.json_encode(batch))
    assert.equal(200, st)
    local hog = info_of(node, "hog")
    assert.matches("plugin_max_share 0.20", hog.quarantined)
    assert.equal(0, hog.timeouts)
    -- It took at most a little over its share before it was stopped.
    assert.is_true(hog.calls < 60, hog.calls .. " calls")
    node:close(); client:close(); loop:close()
  end)

  it("as a policy: the core picks peers until the plugin is reloaded", function()
    local loop = hs.loop()
    local a, b = H.node({}, loop), H.node({}, loop)
    a:add_peer(b:id(), b:url())
    H.plugins(a, H.plugin_dir({
      slow = [[ policy("slow", function() while true do end end) ]],
    }), { "slow" }, { policy = "slow", instruction_limit = 2000000000, timeout = 0.05 })
    local got = H.record({ b })
    local first = a:broadcast("chat", { text = "one" })
    local second = a:broadcast("chat", { text = "two" })
    assert.is_true(loop:run_until(function() return got[1][first] and got[1][second] end, 5))
    local slow = info_of(a, "slow")
    assert.matches("plugin_timeout", slow.quarantined)
    assert.equal(1, slow.calls, "called once, then never again")
    a:close(); b:close(); loop:close()
  end)
end)

describe("C library work", function()
  it("is charged: a pathological pattern fails its call instead of blocking", function()
    local loop = hs.loop()
    local node, client = H.node({}, loop), H.node({}, loop)
    H.plugins(node, H.plugin_dir({
      regex = [[
        on.message("chat", function(msg)
          if msg.payload.text == "find" then
            state.r = ("a"):rep(350):find(".-.-.-b")
          elseif msg.payload.text == "trim" then
            state.r = ("x" .. (" "):rep(100000) .. "y"):match("^%s*(.-)%s*$")
          elseif msg.payload.text == "rep" then
            state.r = #("x"):rep(1 << 40)
          elseif msg.payload.text == "sort" then
            local t = {}
            for i = 1, 1000000 do t[i] = -i end -- 4M instructions
            table.sort(t)
          end
          state.done = msg.payload.text
        end)
      ]],
    }), { "regex" }, { memory_limit = 256 << 20, timeout = 2 }) -- only the budget stops them
    for i, what in ipairs({ "find", "trim", "rep", "sort" }) do
      local st = H.post_gossip(loop, client, node:url(),
        H.envelope({ ttl = 0, payload = { text = what } }))
      assert.equal(200, st)
      local p = info_of(node, "regex")
      assert.equal(i, p.errors, what)
      assert.matches("instruction limit exceeded", p.last_error, 1, true)
      assert.is_nil(node:plugin_state("regex").done, what .. " did not finish")
    end
    node:close(); client:close(); loop:close()
  end)

  it("the shipped chat plugin answers a 1 MB batch of padded texts at once", function()
    local loop = hs.loop()
    local node, client = H.node({}, loop), H.node({}, loop)
    H.plugins(node, H.src .. "/plugins", { { "chat", max_length = 2000 } })
    local batch = {}
    for i = 1, 450 do
      -- The worst case of a backtracking trim: one blank run between two words.
      batch[i] = H.envelope({ ttl = 0, payload = { text = "a" .. (" "):rep(1990) .. "b" } })
    end
    local body = hs.json_encode(batch)
    assert.is_true(#body > 950000 and #body <= 1048576, #body)
    local st, answer = H.fetch(loop, client, "POST", node:url() .. "/gossip", body, nil, 1)
    assert.equal(200, st, "answered within 1 s: " .. tostring(answer))
    assert.equal(450, hs.json_decode(answer).accepted)
    local chat = info_of(node, "chat")
    assert.equal(450, chat.calls)
    assert.equal(0, chat.errors)
    node:close(); client:close(); loop:close()
  end)
end)

describe("plugins are isolated", function()
  it("what one assigns to a library, another never sees", function()
    local loop = hs.loop()
    local node, client = H.node({}, loop), H.node({}, loop)
    H.plugins(node, H.plugin_dir({
      vandal = [[
        string.format = function() return "vandalised" end
        string.upper = nil
        table.insert = nil
        math.floor = nil
        os.time = nil
        utf8.char = nil
        coroutine.wrap = nil
        json.encode = nil
      ]],
      victim = [[
        on.message("chat", function()
          local t = {}
          table.insert(t, 1)
          state.r = {
            format = string.format("%d", 42), upper = ("abc"):upper(), upper2 = string.upper("x"),
            insert = #t, floor = math.floor(1.5), time = type(os.time()), char = utf8.char(72),
            wrap = type(coroutine.wrap), json = json.encode({ 1 }),
            dump = string.dump == nil and ("").dump == nil,
          }
        end)
      ]],
    }), { "vandal", "victim" })
    H.post_gossip(loop, client, node:url(), H.envelope({ ttl = 0 }))
    assert.same({ format = "42", upper = "ABC", upper2 = "X", insert = 1, floor = 1,
      time = "number", char = "H", wrap = "function", json = "[1]", dump = true },
      node:plugin_state("victim").r)
    node:close(); client:close(); loop:close()
  end)
end)

describe("every call into plugin code is bounded", function()
  it("a node.lua that never returns fails the reload; the node serves on", function()
    local loop = hs.loop()
    local client = H.node({}, loop)
    local proc = spawn_with(loop, { quiet = [[ state.x = 1 ]] }, { "quiet" })
    finally(function() stop(proc) end)
    H.write(proc.dir .. "/node.lua", "while true do end\n")
    H.kill(proc, "HUP")
    assert.is_true(loop:run_until(function()
      return H.output(proc):match("reload failed") ~= nil
    end, 10), H.output(proc))
    assert.matches("node.lua.-limit exceeded", H.output(proc))
    assert.equal(200, (health(loop, client, proc.url, 1)))
    client:close(); loop:close()
  end)

  it("a plugin file that never finishes loading fails the reload", function()
    local loop = hs.loop()
    local node = H.node({}, loop)
    local dir = H.plugin_dir({ p = [[ state.v = 1 ]] })
    H.plugins(node, dir, { "p" }, { instruction_limit = 2000000000, timeout = 0.05 })
    H.plugin_dir({ p = [[ while true do end ]] }, dir)
    local ok, err = node:reload()
    assert.is_nil(ok)
    assert.matches("time limit exceeded", err)
    assert.is_nil(info_of(node, "p").quarantined, "loading never quarantines")
    assert.equal(1, node:plugin_info().overruns, "counted as a frame no plugin answers for")
    node:close(); loop:close()
  end)

  it("hooks calling hooks stop at a fixed depth", function()
    local loop = hs.loop()
    local node = H.node({}, loop)
    H.plugins(node, H.plugin_dir({
      echo = [[
        state.depth, state.max = 0, 0
        on.state(function(change)
          state.depth = state.depth + 1
          state.max = math.max(state.max, state.depth)
          node.update_state(change.root .. "x")
          state.depth = state.depth - 1
        end)
      ]],
    }), { "echo" })
    node:update_state("r")
    assert.equal(4, node:plugin_state("echo").max)
    assert.matches("nested too deeply", info_of(node, "echo").last_error)
    node:close(); loop:close()
  end)
end)

describe("the console", function()
  it("cuts off a client that does not read its answers, and counts it", function()
    local loop = hs.loop()
    local node = H.node({}, loop)
    H.plugins(node, H.plugin_dir({}), {})
    local sock = H.tmpdir() .. "/c.sock"
    node:console(sock)
    -- 400 large answers asked for, none read.
    local script = [[
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
try:
    for i in range(400):
        s.sendall(b'=("x"):rep(500000)\n')
    time.sleep(5)
except OSError:
    pass
]]
    local py = H.tmpdir() .. "/slow_reader.py"
    H.write(py, script)
    local p = io.popen(("exec /usr/bin/python3 %q %q >/dev/null 2>&1 & echo $!"):format(py, sock))
    local pid = tonumber(p:read("l"))
    p:close()
    finally(function() os.execute(("kill %d 2>/dev/null"):format(pid)) end)
    assert.is_true(loop:run_until(function()
      return node:plugin_info().console_cut_off >= 1
    end, 10))
    assert.equal(1, node:health().plugins.console_cut_off)
    node:close(); loop:close()
  end)

  it("refuses a console_socket path that is not a socket, and leaves it alone", function()
    local loop = hs.loop()
    local node = H.node({}, loop)
    H.plugins(node, H.plugin_dir({}), {})
    local path = H.tmpdir() .. "/precious"
    H.write(path, "keep me")
    local ok, err = pcall(node.console, node, path)
    assert.is_false(ok)
    assert.matches("exists and is not a socket", err)
    assert.equal("keep me", H.read(path))
    node:close(); loop:close()
  end)

  it("removes only its own socket when it closes", function()
    local loop = hs.loop()
    local node = H.node({}, loop)
    H.plugins(node, H.plugin_dir({}), {})
    local path = H.tmpdir() .. "/c.sock"
    node:console(path)
    os.remove(path)
    H.write(path, "someone else's file now")
    node:close()
    loop:run_for(0.05)
    assert.equal("someone else's file now", H.read(path))
    loop:close()
  end)

  it("has no string.dump and cannot make finalizers either", function()
    local dir = H.config_dir({ port = 0, plugins = {} })
    local proc = H.spawn(dir)
    finally(function() stop(proc) end)
    local code, out = H.console(dir .. "/console.sock", {
      "=string.dump == nil and ('').dump == nil",
      "setmetatable({}, { __gc = function() while true do end end })",
    })
    assert.equal(0, code)
    assert.matches("\ntrue\n", out)
    assert.matches("a __gc metamethod is not allowed", out)
  end)
end)
