-- Separate hearsay processes, where process death matters: a node killed
-- with SIGKILL is marked dead and removed by the others, and comes back when
-- restarted.
local hs = H.hs

local function peer(node, id, all)
  for _, p in ipairs(node:peers(all)) do
    if p.id == id then return p end
  end
end

describe("a killed node", function()
  it("is marked dead and removed, and comes back when restarted", function()
    local loop = hs.loop()
    local a = H.node({ dead_after = 2, retry_min = 0.2, retry_max = 0.5 }, loop)
    local b = H.node({ dead_after = 2, retry_min = 0.2, retry_max = 0.5 }, loop)
    b:add_peer(a:id(), a:url())
    local settings = H.settings({ port = 0, bootstrap = { a:url() } })
    local dir = H.config_dir(settings)
    local proc = H.spawn(dir, loop)

    -- It joins: both in-process nodes know it.
    assert.is_true(loop:run_until(function()
      return peer(a, proc.id) ~= nil and peer(b, proc.id) ~= nil
    end, 10), "the process node joined")

    H.kill(proc, "KILL")
    assert.is_true(H.wait_exit(proc, loop, 5))
    assert.is_true(loop:run_until(function()
      local pa, pb = peer(a, proc.id, true), peer(b, proc.id, true)
      return pa and pa.state == "dead" and pb and pb.state == "dead"
    end, 10), "both marked it dead")
    assert.is_nil(peer(a, proc.id))
    local _, list = H.fetch_json(loop, a, "GET", a:url() .. "/peers")
    for _, p in ipairs(list) do assert.not_equal(proc.id, p.peer_id) end

    -- Restarted on the same port with the same id (kept in its config dir).
    local port = tonumber(proc.url:match(":(%d+)$"))
    settings.port = port
    H.config_dir(settings, dir)
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
