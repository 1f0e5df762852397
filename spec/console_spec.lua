-- The operator console of a running `hearsay run` process, driven through
-- its unix socket (by `hearsay console` and by a raw socket client), and
-- hot reload of that process on SIGHUP and on file change.
local hs = H.hs

local write, console = H.write, H.console

describe("the console", function()
  local loop, dir, proc, sock

  setup(function()
    loop = hs.loop()
    dir = H.config_dir({ port = 0, plugins = { "greeter" }, log_level = "info" })
    os.execute("mkdir -p " .. dir .. "/plugins")
    write(dir .. "/plugins/greeter.lua", 'state.version = "v1"\n')
    proc = H.spawn(dir, loop)
    sock = dir .. "/console.sock"
  end)

  teardown(function()
    H.kill(proc, "TERM")
    H.wait_exit(proc, loop, 5)
    loop:close()
  end)

  it("listens on a unix socket only its owner may use (mode 0600)", function()
    local _, mode = H.sh("stat -c %a " .. sock)
    assert.equal("600", mode:match("%d+"))
  end)

  it("is not reachable over HTTP", function()
    local node = H.node({}, loop)
    local st = H.fetch(loop, node, "GET", proc.url .. "/console")
    assert.equal(404, st)
    node:close()
  end)

  it("evaluates expressions, `=expr` and statements in the node's Lua state", function()
    local code, out = console(sock, { "=1+1", "x = 20", "x * 2 + 2", "=node.id()" })
    assert.equal(0, code)
    assert.matches("hearsay console: node " .. proc.id, out, 1, true)
    assert.matches("\n2\n", out)
    assert.matches("\n42\n", out)
    assert.matches('"' .. proc.id .. '"', out, 1, true)
  end)

  it("continues an incomplete statement on the next line", function()
    local _, out = console(sock, { "function twice(n)", "  return n * 2", "end", "=twice(21)",
      "t = {", "  a = 1,", "}", "=t.a" })
    assert.matches("\n42\n", out)
    assert.matches("\n1\n", out)
  end)

  it("prints errors and the session goes on", function()
    local _, out = console(sock, { "error('kaboom')", "this is not lua", "=7*6" })
    assert.matches("console:1: kaboom", out)
    assert.matches("syntax error", out)
    assert.matches("\n42\n", out)
  end)

  it("cuts an infinite loop with the instruction limit and goes on", function()
    local _, out = console(sock, { "while true do end", "=1" })
    assert.matches("instruction limit exceeded", out)
    assert.matches("\n1\n", out)
  end)

  it("has operator helpers: peers, state, metrics, broadcast, plugins", function()
    local _, out = console(sock, { "=#peers()", "=state().node_id", "=metrics().messages_sent",
      "=broadcast('chat', { text = 'hi' }):len()", "=plugins().plugins[1].name",
      "=update_state('console-root')", "=state().merkle_root" })
    assert.matches("\n0\n", out)
    assert.matches('"' .. proc.id .. '"', out, 1, true)
    assert.matches("\n64\n", out)
    assert.matches('"greeter"', out)
    assert.matches('"console%-root"', out)
  end)

  it("pretty-prints tables", function()
    local _, out = console(sock, { "={ b = 2, a = { 1, 2 } }" })
    assert.matches("{ a = { 1, 2 }, b = 2 }", out, 1, true)
  end)

  it("speaks a line protocol with a prompt marker, for any client", function()
    local script = [[
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(5)
def answer():
    buf = b""
    while b"\x1e" not in buf or not buf.split(b"\x1e", 1)[1].count(b"\n"):
        buf += s.recv(65536)
    out, prompt = buf.split(b"\x1e", 1)
    return out.decode(), prompt.decode().rstrip("\n")
answer()
s.sendall(b"function f()\n"); print(repr(answer()))
s.sendall(b"end\n"); print(repr(answer()))
s.sendall(b"=40+2\n"); print(repr(answer()))
]]
    local py = os.tmpname()
    write(py, script)
    local code, out = H.sh(("/usr/bin/python3 %q %q"):format(py, sock))
    os.remove(py)
    assert.equal(0, code, out)
    assert.matches("%('', '>> '%)", out)
    assert.matches("%('', '> '%)", out)
    assert.matches("%('42\\n', '> '%)", out)
  end)

  it("reloads plugins with reload(), keeping the old set on an error with file and line", function()
    write(dir .. "/plugins/greeter.lua", 'state.version = "v2"\n')
    local _, out = console(sock, { "=reload()", "=plugin_state('greeter').version" })
    assert.matches('"v2"', out)
    write(dir .. "/plugins/greeter.lua", 'state.version = "v3"\nthis is broken\n')
    _, out = console(sock, { "=reload()", "=plugin_state('greeter').version" })
    assert.matches("greeter%.lua:2:", out)
    assert.matches('"v2"', out)
  end)

  it("reloads on SIGHUP", function()
    -- A valid plugin again (the test before left it broken); let the file
    -- watcher's reload pass, then change no file: only the signal can
    -- cause the next reload.
    write(dir .. "/plugins/greeter.lua", 'state.version = "fixed"\n')
    assert.is_true(loop:run_until(function()
      local _, out = console(sock, { "=plugin_state('greeter').version" })
      return out:match('"fixed"') ~= nil
    end, 5, 0.2))
    loop:run_for(0.3)
    local _, before = console(sock, { "=plugins().reloads" })
    H.kill(proc, "HUP")
    assert.is_true(loop:run_until(function()
      return H.output(proc):match("plugins reloaded %(SIGHUP%)") ~= nil
    end, 5, 0.05))
    local _, after = console(sock, { "=plugins().reloads" })
    assert.equal(tonumber(before:match("\n(%d+)\n")) + 1, tonumber(after:match("\n(%d+)\n")))
  end)

  it("reloads when a plugin file changes", function()
    write(dir .. "/plugins/greeter.lua", 'state.version = "edited"\n')
    assert.is_true(loop:run_until(function()
      local _, out = console(sock, { "=plugin_state('greeter').version" })
      return out:match('"edited"') ~= nil
    end, 5, 0.2))
    assert.matches("plugins reloaded %(file change%)", H.output(proc))
  end)

  it("prints print() in the session, has help(), node.*, json.null and array, block (issue 20)", function()
    local _, out = console(sock, { "print('in the session', 42)", "=help()",
      "=#node.peers()", "=json.encode({ a = json.null, b = json.array({}) }, true)",
      "block('nobody-at-all')", "=health().status" })
    assert.matches("in the session\t42\n", out)
    assert.is_nil(H.output(proc):match("in the session"), "print went to the node's stderr")
    assert.matches("block%(id %[, blocked%]%)", out)
    assert.matches("\n0\n", out)
    assert.matches('{\\?"a\\?":null,\\?"b\\?":%[%]}', out)
    assert.matches('"healthy"', out)
  end)

  it("runs -e lines in one session and exits; --raw prints strings bare and tables as JSON (issue 20)", function()
    local code, out = H.sh(("%q console --socket %q -e 'x = 20' -e '=x * 2 + 2' -e '=node.id()'")
      :format(H.bin, sock))
    assert.equal(0, code, out)
    assert.equal('42\n"' .. proc.id .. '"\n', out)
    code, out = H.sh(("%q console --socket %q --raw -e '=node.id()' -e '=state()'"):format(H.bin, sock))
    assert.equal(0, code, out)
    local id, json = out:match("^(%S+)\n(%b{})\n$")
    assert.equal(proc.id, id, out)
    assert.is_table(hs.json_decode(json), out)
  end)

  it("shows a failed reload() as text, its lines and all (issue 20)", function()
    write(dir .. "/plugins/greeter.lua", 'this is broken\n')
    local _, out = console(sock, { "=reload()" })
    write(dir .. "/plugins/greeter.lua", 'state.version = "fixed again"\n')
    assert.matches("greeter%.lua:1:", out)
    assert.is_nil(out:match('"[^"\n]*greeter%.lua:1:'), out) -- not a quoted, escaped string
    assert.is_nil(out:match("nil\t"), out)
  end)

  it("says so when no node serves the socket", function()
    local code, out = console(dir .. "/nope.sock", { "=1" })
    assert.equal(2, code)
    assert.matches("cannot reach a console", out)
  end)
end)

describe("hot reload of a plugins/ made after start (issue 20)", function()
  it("watches the directory once it appears, so edits to its plugins reload", function()
    local loop = hs.loop()
    local settings = { port = 0, log_level = "info" }
    local dir = H.config_dir(settings)
    local proc = H.spawn(dir, loop)
    local sock = dir .. "/console.sock"
    local function version()
      local _, out = console(sock, { "=(plugin_state('greeter') or {}).version" })
      return out:match('"(v%d)"')
    end
    -- The README's way: make plugins/, put a plugin there, list it.
    os.execute("mkdir -p " .. dir .. "/plugins")
    write(dir .. "/plugins/greeter.lua", 'state.version = "v1"\n')
    settings.plugins = { "greeter" }
    H.config_dir(settings, dir)
    local ok1 = loop:run_until(function() return version() == "v1" end, 5, 0.2)
    -- An edit of the plugin alone: before, nothing watched plugins/.
    write(dir .. "/plugins/greeter.lua", 'state.version = "v2"\n')
    local ok2 = loop:run_until(function() return version() == "v2" end, 5, 0.2)
    local out = H.output(proc)
    H.kill(proc, "TERM")
    H.wait_exit(proc, loop, 5)
    loop:close()
    assert.is_true(ok1, out)
    assert.is_true(ok2, out)
    assert.matches("watching " .. dir .. "/plugins (it appeared)", out, 1, true)
  end)
end)

describe("a plugin's persist() (issue 20)", function()
  it("keeps its state across restarts: saved on a timer and at stop, read at start", function()
    local loop = hs.loop()
    local dir = H.config_dir({ port = 0, plugins = { "counter" } })
    os.execute("mkdir -p " .. dir .. "/plugins")
    write(dir .. "/plugins/counter.lua", [[
      persist(1)
      state.starts = (state.starts or 0) + 1
    ]])
    local sock = dir .. "/console.sock"
    local function run_once(set_bumps, how)
      local proc = H.spawn(dir, loop)
      local _, out = console(sock, { "=plugin_state('counter').starts",
        "=plugin_state('counter').bumps", "plugin_state('counter').bumps = " .. set_bumps })
      if how == "KILL" then -- the timer saves it (every second)
        loop:run_until(function()
          return H.read(dir .. "/counter.state.json"):match('"bumps":' .. set_bumps) ~= nil
        end, 10, 0.1)
      end
      H.kill(proc, how)
      H.wait_exit(proc, loop, 5)
      return out
    end
    local first = run_once(5, "KILL")   -- killed: only the timer saved
    local second = run_once(7, "TERM")  -- stopped: saved at once
    local third = run_once(9, "TERM")
    local saved = H.read(dir .. "/counter.state.json")
    loop:close()
    assert.matches("\n1\nnil\n", first)
    assert.matches("\n2\n5\n", second)
    assert.matches("\n3\n7\n", third)
    assert.same({ starts = 3, bumps = 9 }, hs.json_decode(saved))
  end)

  it("is refused without a config directory, with file and line", function()
    local node = H.node({})
    local dir = H.tmpdir()
    write(dir .. "/p.lua", "persist()\n")
    local ok, err = pcall(H.plugins, node, dir, { "p" })
    node:close()
    assert.is_false(ok)
    assert.matches("p%.lua:1: persist needs a config directory", tostring(err))
  end)
end)

describe("small things a newcomer met (issue 20)", function()
  it("settings() shows what is in effect, and a node.lua change says it waits for a restart", function()
    local loop = hs.loop()
    local settings = { port = 0, log_level = "info", fanout = 3, plugins = { "random_policy" },
      policy = "random" }
    local dir = H.config_dir(settings)
    local proc = H.spawn(dir, loop)
    local sock = dir .. "/console.sock"
    local _, before = console(sock, { "=settings().node.fanout", "=settings().policy",
      "=settings().node.node_key", "=settings().changed_since_start" })
    settings.fanout = 5
    H.config_dir(settings, dir)
    local ok = loop:run_until(function()
      return H.output(proc):match("node settings take effect when the node restarts")
    end, 5, 0.1)
    local _, after = console(sock, { "=settings().node.fanout",
      "=settings().changed_since_start.fanout.now" })
    local out = H.output(proc)
    H.kill(proc, "TERM")
    H.wait_exit(proc, loop, 5)
    loop:close()
    assert.matches("\n3\n\"random\"\nnil\nnil\n", before)
    assert.truthy(ok, out)
    assert.matches("node.lua changes fanout:", out, 1, true)
    assert.matches("\n3\n5\n", after)
  end)

  it("a reload applies log_level, tags and intervals at once; log_format = \"json\" writes JSON lines", function()
    local loop = hs.loop()
    local settings = { port = 0, log_level = "warn", log_format = "json", plugins = {},
      ae_interval = 2, ae_max_interval = 30 }
    local dir = H.config_dir(settings)
    local proc = H.spawn(dir, loop)
    local sock = dir .. "/console.sock"
    settings.log_level, settings.tags = "info", { role = "cache" }
    settings.gossip_interval, settings.ae_interval, settings.ae_max_interval = 0.1, 0.5, 1
    H.config_dir(settings, dir)
    local ok = loop:run_until(function() return H.output(proc):match("tags applied") end, 5, 0.05)
    local _, after = console(sock, { "=health().tags.role", "=settings().changed_since_start" })
    loop:run_until(function() return H.output(proc):match("ae_interval applied") end, 5, 0.05)
    -- the announce round runs at its new pace (every 0.1 s, from every 30)
    local _, r1 = console(sock, { "=metrics().gossip_rounds" })
    loop:run_for(1)
    local _, r2 = console(sock, { "=metrics().gossip_rounds" })
    local rounds = tonumber(r2:match("(%d+)%s*$")) - tonumber(r1:match("(%d+)%s*$"))
    H.kill(proc, "HUP")
    loop:run_until(function() return H.output(proc):match("reloaded %(SIGHUP%)") end, 5, 0.05)
    local out = H.output(proc)
    H.kill(proc, "TERM")
    H.wait_exit(proc, loop, 5)
    loop:close()
    assert.truthy(ok, out)
    assert.matches('\n"cache"\n', after)
    assert.is_nil(out:match("take effect when the node restarts"), out)
    -- every line but the one that names the URL (stdout) is a JSON object
    local json_lines = 0
    for line in out:gmatch("[^\n]+") do
      if not line:match("^hearsay node %S+ listening on") then
        local j = hs.json_decode(line)
        assert.is_table(j, line)
        assert.matches("^%d%d%d%d%-%d%d%-%d%dT", j.time)
        assert.is_string(j.level)
        assert.is_string(j.message)
        json_lines = json_lines + 1
      end
    end
    assert.is_true(json_lines >= 3, out) -- applied, reloaded (info: the new level)
    assert.matches("log_level applied", out)
    -- both ae settings moved, though each alone would have broken their order
    assert.matches("gossip_interval applied", out)
    assert.matches("ae_interval applied", out)
    assert.matches("ae_max_interval applied", out)
    assert.is_nil(out:match("not applied"), out)
    assert.is_true(rounds >= 3, rounds .. " announce rounds in 1 s")
  end)

  it("log lines carry a timestamp, and a reload or its failure is said once, without a traceback", function()
    local loop = hs.loop()
    local dir = H.config_dir({ port = 0, log_level = "info", plugins = { "greeter" } })
    os.execute("mkdir -p " .. dir .. "/plugins")
    write(dir .. "/plugins/greeter.lua", 'log.info("greeter loaded")\n')
    local proc = H.spawn(dir, loop)
    H.kill(proc, "HUP")
    local ok1 = loop:run_until(function() return H.output(proc):match("reloaded %(SIGHUP%)") end, 5, 0.05)
    write(dir .. "/plugins/greeter.lua", 'this is broken\n')
    local ok2 = loop:run_until(function() return H.output(proc):match("reload failed") end, 5, 0.05)
    loop:run_for(0.3)
    local out = H.output(proc)
    H.kill(proc, "TERM")
    H.wait_exit(proc, loop, 5)
    loop:close()
    assert.truthy(ok1 and ok2, out)
    local stamped, lines = 0, 0
    for line in out:gmatch("[^\n]+") do
      if line:match("hearsay[:%[]") and not line:match("^hearsay node ") then
        lines = lines + 1
        assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%dZ ", line)
        stamped = stamped + 1
      end
    end
    assert.is_true(lines >= 4, out) -- the plugin's line, two reloads, the failure
    assert.equal(lines, stamped)
    local _, reloads = out:gsub("reloaded", "")
    local _, failures = out:gsub("reload failed", "")
    assert.equal(1, reloads, out)
    assert.equal(1, failures, out)
    assert.matches("greeter%.lua:1:", out)
    assert.is_nil(out:match("traceback"), out)
    assert.is_nil(out:match("\n%s+%["), out) -- no "  [C]: in ..." lines
  end)

  it("a plugin_path entry that does not exist is named, and the audit log shows an empty root as (none)", function()
    local loop = hs.loop()
    local dir = H.config_dir({ port = 0, log_level = "info", plugins = { "audit" },
      plugin_path = { "nowhere" } })
    local proc = H.spawn(dir, loop)
    local _, said = console(dir .. "/console.sock", { "=update_state('abc')" })
    local ok = loop:run_until(function() return H.output(proc):match("state %S+ v0 %->") end, 5, 0.1)
    local out = H.output(proc)
    H.kill(proc, "TERM")
    H.wait_exit(proc, loop, 5)
    loop:close()
    assert.truthy(ok, out .. said)
    assert.matches("plugin_path entry " .. dir .. "/nowhere does not exist", out, 1, true)
    assert.matches("state (none) v0 -> abc v1 (from this node)", out, 1, true)
  end)
end)

describe("the console of a node whose plugin holds the memory cap", function()
  it("still answers, and the operator can free the memory", function()
    local loop = hs.loop()
    local dir = H.config_dir({ port = 0, plugins = { "hog" }, plugin_memory = 2 << 20 })
    os.execute("mkdir -p " .. dir .. "/plugins")
    write(dir .. "/plugins/hog.lua", [[
      on.message("fill", function()
        pcall(function()
          while true do state.hog = { next = state.hog } end
        end)
      end)
      on.message("chat", function() state.chats = (state.chats or 0) + 1 end)
    ]])
    local proc = H.spawn(dir, loop)
    local node = H.node({}, loop)
    finally(function() -- also when an assertion fails: no process left behind
      H.kill(proc, "TERM")
      H.wait_exit(proc, loop, 5)
      node:close(); loop:close()
    end)
    local st = H.post_gossip(loop, node, proc.url, H.envelope({ message_type = "fill", ttl = 0 }))
    assert.equal(200, st)
    local _, out = console(dir .. "/console.sock", { "=collectgarbage('count') > 1900",
      "plugin_state('hog').hog = nil", "collectgarbage()", "=collectgarbage('count') < 1024" })
    assert.is_true(H.alive(proc), H.output(proc))
    assert.matches("\ntrue\n.*\ntrue\n", out)
    -- Freed: the handler runs again.
    st = H.post_gossip(loop, node, proc.url, H.envelope({ ttl = 0 }))
    assert.equal(200, st)
    _, out = console(dir .. "/console.sock", { "=plugin_state('hog').chats" })
    assert.matches("\n1\n", out)
  end)
end)

describe("hearsay repl", function()
  it("starts a local node with the config's plugins and gives its console", function()
    local input = os.tmpname()
    write(input, "=#plugins().plugins\n=state().state_version\n")
    local code, out = H.sh(("%q repl --config %q/config < %q"):format(H.bin, H.src, input))
    os.remove(input)
    assert.equal(0, code, out)
    assert.matches("node 1: %S+ at http://127%.0%.0%.1:%d+", out)
    assert.matches("\n5\n", out) -- the five plugins the default config enables
    assert.matches("\n0\n", out)
  end)

  it("starts a local cluster with --nodes", function()
    local input = os.tmpname()
    write(input, "=#peers()\n")
    local code, out = H.sh(("%q repl --nodes 3 --config %q/config < %q"):format(H.bin, H.src, input))
    os.remove(input)
    assert.equal(0, code, out)
    assert.matches("node 3:", out)
    assert.matches("\n2\n", out)
  end)

  it("says how far the cluster has formed, moves among nodes with \\node, waits with \\wait, shows logs (issue 20)", function()
    local input = os.tmpname()
    write(input, table.concat({ "print('one', node.id())", "\\node 2", "print('two', node.id())",
      "id = broadcast('chat', { text = 'hi' })", "\\wait 0.5", "\\node 3",
      "=#peers()", "\\node 7", "" }, "\n"))
    local code, out = H.sh(("%q repl --nodes 3 --log-level info --config %q/config < %q 2>&1")
      :format(H.bin, H.src, input))
    os.remove(input)
    assert.equal(0, code, out)
    assert.matches("starting 3 nodes", out)
    assert.matches("forming: %d of 3 nodes know every other", out)
    assert.matches("formed in [%d.]+ s", out)
    local ids = {}
    for i, id in out:gmatch("node (%d): (%x+) at") do ids[tonumber(i)] = id end
    assert.matches("one\t" .. ids[1], out)
    assert.matches("two\t" .. ids[2], out)
    assert.matches("\n2\n", out) -- node 3's peers
    assert.matches("\\node takes 1 to 3", out)
    assert.matches("%d%d%d%d%-%d%d%-%d%dT[%d:.]+Z hearsay%[%x+%] info: ", out) -- node logs
  end)
end)
