-- Deploying it like a daemon (issue 18): `cmake --install` gives a hearsay
-- that runs the demo from wherever the tree is, and the systemd unit in
-- config/deploy/systemd passes `systemd-analyze verify` with its hardening.
local build = H.bin:match("^(.*)/[^/]+$") or "."

local function read(path)
  local f = assert(io.open(path))
  local s = f:read("a")
  f:close()
  return s
end

describe("cmake --install", function()
  local prefix
  setup(function()
    prefix = H.tmpdir() .. "/prefix"
    local code, out = H.sh(("cmake --install %q --prefix %q"):format(build, prefix))
    assert(code == 0, out)
  end)

  it("installs a hearsay that finds its own Lua files, plugins and config", function()
    local script = H.tmpdir() .. "/where.lua"
    H.write(script, "print(package.hearsay_lua_dir)\n")
    local code, out = H.sh(("cd / && %q lua %q"):format(prefix .. "/bin/hearsay", script))
    assert.equal(0, code, out)
    assert.equal(prefix .. "/bin/../share/hearsay/lua\n", out)
    for _, f in ipairs({ "/share/hearsay/config/node.lua", "/share/hearsay/plugins/chat.lua",
      "/share/hearsay/plugins/inventory.lua", "/share/hearsay/lua/hearsay/cli.lua" }) do
      assert.is_not_nil(io.open(prefix .. f), f)
    end
  end)

  it("runs the demo from the installed tree, in a directory without a config", function()
    local code, out = H.sh(("cd %q && %q demo --nodes 3 --timeout 20"):format(H.tmpdir(),
      prefix .. "/bin/hearsay"))
    assert.equal(0, code, out)
    assert.matches("reached every node", out)
  end)

  it("goes with a systemd unit that systemd-analyze verifies, hardened", function()
    local unit = read(H.src .. "/config/deploy/systemd/hearsay.service")
    for _, line in ipairs({ "ExecReload=/bin/kill -HUP $MAINPID", "NoNewPrivileges=yes",
      "ProtectSystem=strict", "PrivateTmp=yes", "RestrictAddressFamilies=",
      "SystemCallFilter=@system-service", "StateDirectory=hearsay" }) do
      assert.is_not_nil(unit:find(line, 1, true), line)
    end
    -- verify checks that ExecStart's binary exists: point it at ours
    local dir = H.tmpdir()
    H.write(dir .. "/hearsay.service",
      (unit:gsub("/usr/local/bin/hearsay", prefix .. "/bin/hearsay")))
    local code, out = H.sh(("systemd-analyze verify %q"):format(dir .. "/hearsay.service"))
    assert.equal(0, code, out)
    -- a broken unit is caught, so the check means something
    H.write(dir .. "/broken.service", (unit:gsub("ExecStart=[^\n]*", "ExecStart=relative/bin")))
    code = H.sh(("systemd-analyze verify %q"):format(dir .. "/broken.service"))
    assert.is_not.equal(0, code)
  end)

  it("and a node.lua for it that loads, with the node's files where the unit lets it write", function()
    local dir = H.tmpdir()
    local text = read(H.src .. "/config/deploy/systemd/node.lua")
      :gsub("REPLACE%-WITH%-hearsay%-keygen%-OUTPUT=", H.hs.keygen())
    H.write(dir .. "/node.lua", text)
    local cfg, err = require("hearsay.config").load(dir)
    assert.is_table(cfg, err)
    assert.equal("/var/lib/hearsay/node_key", cfg.key_file)
    assert.equal("/run/hearsay/console.sock", cfg.console_socket)
    assert.equal("json", cfg.node.log_format)
  end)

  it("and a Kubernetes example whose node.lua loads, finding peers through SRV records", function()
    local yaml = read(H.src .. "/config/deploy/kubernetes/hearsay.yaml")
    local lua = yaml:match("node%.lua: |\n(.-)\n%-%-%-")
    assert.is_string(lua, "the ConfigMap's node.lua")
    local dir = H.tmpdir()
    H.write(dir .. "/node.lua", (lua:gsub("\n    ", "\n"):gsub("^    ", "")))
    local script = dir .. "/check.lua"
    H.write(script, ([[
      local cfg, err = require("hearsay.config").load(%q)
      assert(cfg, err)
      local node = require("hearsay").node(require("hearsay").loop(), cfg.node)
      print(cfg.node.bootstrap[1], cfg.node.public_url)
      node:close()
    ]]):format(dir))
    local code, out = H.sh(("HEARSAY_PUBLIC_URL=http://hearsay-0.hearsay.default.svc.cluster.local:8080 "
      .. "HEARSAY_CLUSTER_KEY=%q %q lua %q"):format(H.hs.keygen(), H.bin, script))
    assert.equal(0, code, out)
    assert.matches("^dnssrv%+_gossip%._tcp%.hearsay%.default%.svc%.cluster%.local%s+http://hearsay%-0", out)
    assert.matches("clusterIP: None", yaml)
    assert.matches("kind: StatefulSet", yaml)
  end)
end)

