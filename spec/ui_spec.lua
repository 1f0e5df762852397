-- The dashboard (GET /ui, issue 18) in headless Chromium (Debian's
-- chromium, chromium-driver and python3-selenium, driven by
-- spec/ui_check.py): it renders with no console error, shows the right
-- peer count, and updates after a broadcast and after a node stops. The
-- last screenshot it takes is the README's (HEARSAY_UI_SHOT=path keeps it).
local hs = H.hs

describe("the dashboard", function()
  it("is one page with its own files, under a strict Content-Security-Policy", function()
    local a, loop = H.node()
    local st, body = H.fetch(loop, a, "GET", a:url() .. "/ui")
    assert.equal(200, st)
    assert.matches("<script src=\"/ui/app.js\" defer>", body)
    assert.is_nil(body:find("http", 1, true), "no external request, no inline URL")
    for _, f in ipairs({ "/ui/app.js", "/ui/app.css" }) do
      assert.equal(200, (H.fetch(loop, a, "GET", a:url() .. f)))
    end
    local out = H.sh_bg(loop, ("/usr/bin/python3 -c %q"):format(
      "import urllib.request as u; r = u.urlopen('" .. a:url() .. "/ui'); "
      .. "print('\\n'.join(k + ': ' + v for k, v in r.getheaders()))"))
    assert.matches("Content%-Security%-Policy: default%-src 'none'; script%-src 'self'", out)
    assert.matches("X%-Content%-Type%-Options: nosniff", out)
    assert.matches("Content%-Type: text/html", out)
    a:close(); loop:close()
  end)

  it("renders in Chromium and follows the node: a broadcast, a peer gone", function()
    local loop, nodes = H.mesh(3, { ae_interval = 0.2 })
    local work = H.tmpdir()
    local log = work .. "/check.log"
    local p = io.popen(("/usr/bin/python3 %q %q %q >%q 2>&1 & echo $!"):format(H.src .. "/spec/ui_check.py",
      nodes[1]:url() .. "/ui", work, log))
    local pid = tonumber(p:read("l"))
    p:close()
    finally(function() os.execute(("kill %d 2>/dev/null"):format(pid)) end)
    local function alive() return os.execute(("kill -0 %d 2>/dev/null"):format(pid)) end
    local function step(name, timeout)
      local got = loop:run_until(function()
        return io.open(work .. "/" .. name) ~= nil or not alive()
      end, timeout, 0.05)
      assert(got and io.open(work .. "/" .. name), name .. " did not come: " .. H.read(log))
    end
    step("ok1", 60) -- (Chromium's start included)
    for i = 1, 3 do nodes[2]:broadcast("deploy", { i = i }) end
    H.write(work .. "/go2", "1")
    step("ok2", 30)
    nodes[3]:close()
    H.write(work .. "/go3", "1")
    step("ok3", 40)
    assert(loop:run_until(function() return io.open(work .. "/result.json") ~= nil end, 20, 0.05))
    local r = hs.json_decode(H.read(work .. "/result.json"))
    assert.equal(nodes[1]:id():sub(1, 16) .. "…", r.node_id)
    assert.equal(2, r.rows)
    assert.is_true(r.view_lines >= 2, "each peer's view drawn: " .. tostring(r.view_lines))
    local deploy
    for _, row in ipairs(r.types) do deploy = deploy or row:match("^deploy (%d+)$") end
    assert.equal("3", deploy, table.concat(r.types, ", "))
    assert.equal("1", r.dead)
    for _, e in ipairs(r.console or {}) do
      assert.is_not.equal("SEVERE", e.level, e.message)
    end
    local keep = os.getenv("HEARSAY_UI_SHOT")
    if keep and keep ~= "" then os.execute(("cp %q %q"):format(work .. "/shot.png", keep)) end
    nodes[1]:close(); nodes[2]:close(); loop:close()
  end)
end)
