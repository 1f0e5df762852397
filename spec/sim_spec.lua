-- hearsay sim and hearsay.sim: the real protocol on a virtual network in
-- virtual time (core/sim/sim.c, issue 16): deterministic by seed, the
-- report's figures taken from the run, the scenario API, and the
-- invariants failing with a replay command that repeats the run.
local hs = H.hs

local sim_cmd, trace_of = H.sim, H.trace_of

describe("hearsay sim", function()
  it("is documented", function()
    local code, out = sim_cmd("--help")
    assert.equal(0, code)
    assert.matches("usage: hearsay sim", out)
    assert.matches("at%(t, fn%)", out)
  end)

  it("gives the same run for the same seed, event for event, and another for another seed", function()
    local code1, a = sim_cmd("--nodes 30 --seed 11 --broadcasts 3")
    local code2, b = sim_cmd("--nodes 30 --seed 11 --broadcasts 3")
    local code3, c = sim_cmd("--nodes 30 --seed 12 --broadcasts 3")
    assert.equal(0, code1, a)
    assert.equal(0, code2, b)
    assert.equal(0, code3, c)
    assert.is_not_nil(trace_of(a))
    assert.equal(trace_of(a), trace_of(b))
    assert.not_equal(trace_of(a), trace_of(c))
    -- Everything but the CPU time is the same.
    local function strip(s) return (s:gsub("events: .-trace", "")) end
    assert.equal(strip(a), strip(b))
    assert.matches("invariants: all held", a)
  end)

  it("lets a crashed node go everywhere within ~25 s under 10% loss: a lost death claim is repaired", function()
    -- Membership chatter was not kept for anti-entropy: a holder that
    -- lost the pushes of hs.suspect and hs.dead found the crash only in
    -- its own probe round (50 peers, one a second): the last holder at
    -- 40 s (seed 2) and 32 s (seed 3). hs.dead is kept now, and repaired
    -- like any message (claims are still checked by a probe first).
    for _, seed in ipairs({ 2, 3 }) do
      local code, out = sim_cmd(("--nodes 100 --crash 5 --broadcasts 1 --loss 0.1 --settle 60 --seed %d --json -"):format(seed))
      assert.equal(0, code, out)
      for _, c in ipairs(hs.json_decode(out).crashes) do
        assert.equal(0, c.still_alive)
        assert.is_true(c.gone100 <= 26, ("seed %d, node %d: %.1f s"):format(seed, c.node, c.gone100))
      end
    end
  end)

  it("reports from the run: every broadcast reaches every live node, crashes are found", function()
    local code, out = sim_cmd("--nodes 40 --seed 5 --crash 3 --broadcasts 2 --json -")
    assert.equal(0, code, out)
    local r = hs.json_decode(out)
    assert.equal(40, r.nodes)
    assert.equal(2, #r.broadcasts)
    for _, d in ipairs(r.broadcasts) do
      assert.equal(37, d.live)
      assert.equal(37, d.reached)
      assert.is_true(d.p100 >= d.p50 and d.p50 > 0)
      assert.is_true(d.copies >= 1)
    end
    assert.equal(3, #r.crashes)
    for _, c in ipairs(r.crashes) do
      assert.is_true(c.watchers > 0)
      assert.is_number(c.gone100, "every node let the crashed one go")
      assert.equal(0, c.still_alive)
    end
    assert.is_true(r.events > 1000)
    assert.is_true(r.messages_per_node_s > 0)
  end)

  it("runs a scenario: a partition keeps a broadcast on its side, the heal brings it over", function()
    local dir = H.tmpdir()
    local file = dir .. "/split.lua"
    H.write(file, [[
      config { nodes = 24, settle = 20 }
      at(0, function() partition(0.5) end)
      at(1, function() first = broadcast(1, "chat", { n = 1 }) end)
      at(10, function()
        local got = 0
        for i = 13, 24 do got = got + (sim_has(i, first) and 1 or 0) end
        print("other side", got)
      end)
      at(12, function() heal() end)
      at(40, function() broadcast(13, "chat", { n = 2 }) end)
    ]])
    -- sim_has is not part of the API: the scenario fails, and says where.
    local code, out = sim_cmd(("--seed 3 %q"):format(file))
    assert.equal(1, code)
    assert.matches("split%.lua:6:", out)
    assert.matches("VIOLATED: the run stopped: scenario:", out)
    H.write(file, [[
      config { nodes = 24, settle = 20 }
      at(0, function() partition(0.5) end)
      at(1, function() broadcast(1, "chat", { n = 1 }) end)
      at(12, function() heal() end)
      at(40, function() broadcast(13, "chat", { n = 2 }) end)
    ]])
    code, out = sim_cmd(("--seed 3 --json - %q"):format(file))
    assert.equal(0, code, out)
    local r = hs.json_decode(out)
    assert.equal(24, r.nodes)
    assert.equal(2, #r.broadcasts)
    -- The first crossed only after the heal (anti-entropy), the second at once.
    assert.equal(24, r.broadcasts[1].reached)
    assert.is_true(r.broadcasts[1].p100 > 11, "crossed after the heal: " .. tostring(r.broadcasts[1].p100))
    assert.equal(24, r.broadcasts[2].reached)
    assert.is_true(r.broadcasts[2].p100 < 5)
  end)

  it("after a 60 s partition, what either side said crosses within 5 s of the heal (catch-up)", function()
    local file = H.tmpdir() .. "/long.lua"
    H.write(file, [[
      config { nodes = 40, settle = 20 }
      at(0, function() partition(0.5) end)
      at(1, function() broadcast(1, "chat", { side = 1 }) end)
      at(2, function() broadcast(40, "chat", { side = 2 }) end)
      at(61, function() heal() end)
    ]])
    local code, out = sim_cmd(("--seed 5 --json - %q"):format(file))
    assert.equal(0, code, out)
    local r = hs.json_decode(out)
    for k, d in ipairs(r.broadcasts) do
      assert.equal(40, d.reached, "broadcast " .. k)
      -- sent at 1 or 2 s, healed at 61 s
      assert.is_true(d.p100 < 61 - d.sent + r.form + 5, ("broadcast %d: %.1f s"):format(k, d.p100))
    end
    -- They crossed by catch-up digests, and the report counts them.
    assert.is_true(r.totals.ae_catchups > 0)
    assert.is_true(r.totals.ae_pushed + r.totals.ae_fetched > 0)
    assert.is_true(r.totals.peers_recovered > 0)
  end)

  it("fails a violated invariant with the command that replays the run", function()
    local dir = H.tmpdir()
    local file = dir .. "/cut.lua"
    H.write(file, [[
      config { nodes = 16, loss = 0 }
      at(0, function() partition({ 1, 2, 3, 4, 5, 6, 7, 8 }, { 9, 10, 11, 12, 13, 14, 15, 16 }) end)
      at(1, function() broadcast(1, "chat", { n = 1 }) end)
    ]])
    local code, out = sim_cmd(("--seed 21 --latency 0.01 %q"):format(file))
    assert.equal(1, code, out)
    assert.matches("VIOLATED: broadcast 1 reached 8 of 16 live nodes", out)
    local replay = out:match("replay: (hearsay sim[^\n]*)")
    assert.is_not_nil(replay)
    assert.matches("%-%-seed 21", replay)
    assert.matches("%-%-latency 0%.01", replay)
    local code2, again = H.sh(("%q %s 2>&1"):format(H.bin, replay:gsub("^hearsay ", "")))
    assert.equal(1, code2)
    assert.equal(trace_of(out), trace_of(again))
  end)

  it("refuses settings the simulator sets itself, unknown settings and bad values", function()
    local code, out = sim_cmd("--nodes 5 --set node_id=x")
    assert.equal(2, code)
    assert.matches("sets node_id itself", out)
    code, out = sim_cmd("--nodes 5 --set colour=blue")
    assert.equal(2, code)
    assert.matches("colour is not a node setting", out)
    code, out = sim_cmd("--nodes 5 --set fanout=lots")
    assert.equal(2, code)
    assert.matches("fanout", out)
    code, out = sim_cmd("--nodes 2.5")
    assert.equal(2, code)
    code, out = sim_cmd("--nodes 5 --model gaussian")
    assert.equal(2, code)
    assert.matches("gaussian", out)
  end)
end)

describe("hearsay.sim", function()
  it("runs whole nodes in virtual time: a crash is declared, a node holds it dead", function()
    local s = hs.sim({ nodes = 12, seed = 4, settings = { suspicion_timeout = 2 } })
    assert.is_true(s:run(20))
    assert.equal(20, s:now())
    local id = s:broadcast(2, "chat", { text = "x" })
    assert.is_true(s:run(2))
    for i = 1, 12 do assert.is_true(s:has(i, id), "node " .. i) end
    s:crash(5)
    assert.is_true(s:crashed(5))
    assert.error_matches(function() s:broadcast(5, "chat", {}) end, "crashed")
    assert.is_true(s:run(30))
    local dead = 0
    for i = 1, 12 do if i ~= 5 and s:sees(i, 5) == "dead" then dead = dead + 1 end end
    assert.is_true(dead > 0)
    local d = s:detections()
    assert.equal(1, #d)
    assert.equal(5, d[1].node)
    assert.equal(0, d[1].still_alive)
    assert.equal(0, s:false_deaths())
    assert.equal(0, s:held_dead())
    local m, b = s:traffic()
    assert.is_true(m > 0 and b > 0)
    assert.error_matches(function() s:crash(13) end, "no node 13")
    s:close()
    assert.error_matches(function() s:run(1) end, "closed")
  end)

  it("shows each node's peers and its way in: sim:peers(i), sim:in_views(i)", function()
    -- What a tree diagnosis reads (README, Simulating a cluster): who
    -- holds node i, and who pushes to it. Both views of the same links
    -- agree, and after forming every node is on some eager link (feeding).
    local s = hs.sim({ nodes = 20, seed = 3 })
    assert.is_true(s:run(30))
    local held, pushed = {}, {}
    for j = 1, 20 do
      for _, p in ipairs(s:peers(j)) do
        assert.is_true(p.index >= 1 and p.index <= 20 and p.index ~= j)
        assert.equal(("sim-%05d"):format(p.index - 1), p.id)
        held[p.index] = (held[p.index] or 0) + 1
        if p.eager then pushed[p.index] = (pushed[p.index] or 0) + 1 end
      end
    end
    for i = 1, 20 do
      local holders, eager = s:in_views(i)
      assert.equal(held[i] or 0, holders, "node " .. i)
      assert.equal(pushed[i] or 0, eager, "node " .. i)
      assert.is_true(eager >= 1, "node " .. i .. " is on nobody's eager link")
    end
    assert.error_matches(function() s:peers(21) end, "no node 21")
    -- ...and each node's counters: every one has probed.
    for i = 1, 20 do assert.is_true(s:metrics(i).health_checks > 0, "node " .. i) end
    s:close()
  end)

  it("drains every queue once the broadcasts stop: sim:backlog([i])", function()
    -- A queue that does not drain grows without bound (issue 16's
    -- invariants): hearsay sim reports what waits at the end and fails a
    -- run where lazy offers or envelopes are stuck.
    local s = hs.sim({ nodes = 30, seed = 9 })
    assert.is_true(s:run(20))
    for k = 1, 20 do s:broadcast(1 + k % 30, "chat", { k = k }) assert.is_true(s:run(0.01)) end
    local b = s:backlog()
    assert.is_true(b.queued + b.offers > 0, "the broadcasts were still under way")
    -- One node's (sim:backlog(i)): the whole is the sum of the nodes'.
    local sum, most = { queued = 0, offers = 0, inflight = 0 }, 0
    for i = 1, 30 do
      local bi = s:backlog(i)
      for k in pairs(sum) do sum[k] = sum[k] + bi[k] end
      assert.is_true(bi.queued_max <= bi.queued and bi.offers_max <= bi.offers, "node " .. i)
      most = math.max(most, bi.queued_max)
    end
    assert.same({ b.queued, b.offers, b.inflight }, { sum.queued, sum.offers, sum.inflight })
    assert.equal(b.queued_max, most)
    assert.error_matches(function() s:backlog(31) end, "no node 31")
    assert.is_true(s:run(5))
    b = s:backlog()
    assert.same({ 0, 0, 0, 0 }, { b.queued, b.offers, b.stuck_offers, b.stuck_queues })
    s:close()
  end)

  it("keeps at most 4096 ids waiting to be offered to one peer", function()
    -- A flood of new messages (here 5000, offered only after 10 s) once
    -- grew a peer's lazy queue by rate x lazy_delay, without a bound.
    local s = hs.sim({ nodes = 6, seed = 2, settings = { lazy_delay = 10, fanout = 1 } })
    assert.is_true(s:run(10))
    for k = 1, 5000 do s:broadcast(1, "chat", { k = k }) end
    assert.is_true(s:run(1))
    local b = s:backlog()
    assert.is_true(b.offers_max > 0, "nothing was offered lazily")
    assert.is_true(b.offers_max <= 4096, b.offers_max .. " ids wait for one peer")
    s:close()
  end)

  it("restarts a node: same id, taken back alive, its broadcasts reach everyone", function()
    local s = hs.sim({ nodes = 15, seed = 6 })
    assert.is_true(s:run(20))
    s:crash(4)
    assert.is_true(s:run(40))
    local dead = 0
    for i = 1, 15 do if s:sees(i, 4) == "dead" then dead = dead + 1 end end
    assert.is_true(dead > 0, "it was held dead")
    s:restart(4)
    assert.is_false(s:crashed(4))
    assert.is_true(s:run(30))
    local alive = 0
    for i = 1, 15 do if i ~= 4 and s:sees(i, 4) == "alive" then alive = alive + 1 end end
    assert.is_true(alive >= dead, ("held alive by %d, dead by %d before"):format(alive, dead))
    assert.equal(0, s:held_dead())
    local id = s:broadcast(4, "chat", { text = "back" })
    assert.is_true(s:run(5))
    for i = 1, 15 do assert.is_true(s:has(i, id), "node " .. i) end
    local d = s:detections()
    assert.equal(1, #d)
    assert.is_number(d[1].gone100, "all had let it go before it came back")
    assert.is_false(d[1].restarted)
    -- Back before anyone noticed: the crash is marked so.
    s:restart(6)
    d = s:detections()
    assert.equal(2, #d)
    assert.is_true(d[2].restarted)
    s:close()
  end)

  it("pauses a node: nothing reaches it while it is stopped, all of it after", function()
    local s = hs.sim({ nodes = 12, seed = 9, settings = { suspicion_timeout = 30 } })
    assert.is_true(s:run(20))
    s:pause(3, 10)
    local id = s:broadcast(1, "chat", { text = "while stopped" })
    assert.is_true(s:run(5))
    assert.is_false(s:has(3, id))
    for i = 1, 12 do if i ~= 3 then assert.is_true(s:has(i, id), "node " .. i) end end
    assert.is_true(s:run(6))
    assert.is_true(s:has(3, id))
    assert.equal(0, s:held_dead())
    s:close()
  end)

  it("loses what a lossy network loses, and anti-entropy repairs it", function()
    -- (Under 30% loss for a whole minute, anti-entropy, which looks back
    -- ae_window seconds, missed a node on about one seed in four before
    -- and after feeding; once the loss ends it repairs every one: seeds
    -- 1-40, 40 of 40. At 30% loss, since sweeps, seed 1 reaches all 20
    -- within the 10 s and shows nothing; at 50% every seed of 1-10 misses
    -- 3-14 nodes, and repairs them all once the loss ends.)
    local s = hs.sim({ nodes = 20, seed = 1 })
    assert.is_true(s:run(20))
    s:loss(0.5)
    local id = s:broadcast(1, "chat", { text = "lossy" })
    assert.is_true(s:run(10))
    assert.is_true(s:deliveries()[1].reached < 20, "the loss lost nothing: the test shows nothing")
    s:loss(0)
    assert.is_true(s:run(50))
    local d = s:deliveries()[1]
    assert.equal(id, d.id)
    assert.equal(20, d.reached)
    -- (Half the probes lost for 10 s may make suspicions; 50 s on, no
    -- live node is held dead by another: seeds 1-6, none. This line
    -- asserted false_deaths() >= 0 before, which cannot fail.)
    assert.equal(0, s:held_dead())
    s:close()
  end)

  it("evens out who holds whom: a node in thousands of views is let go, the room goes to the few-held", function()
    -- Every node joins through node 1 and learns of others from views
    -- that hold the early nodes already; at 10,000 nodes half were in 8
    -- views or fewer, and a lost push reached them only by anti-entropy.
    -- A probe answer now says about how many hold the node ("held"), and
    -- one held by over twice max_peers is let go (README, Membership).
    -- 1000 nodes after 120 s, seeds 1-3: fewest holders 10-12 and a tenth
    -- at 23 or fewer before; 15-17 and 29-30 after. A full view that makes
    -- room lets go of the most held of three peers drawn, not a random
    -- one, and a node held by few says so in its probes (&few=N), which
    -- makes it a candidate of a full view: seed 1, the fewest holders 27
    -- instead of 15, a tenth at 34 instead of 29.
    local s = hs.sim({ nodes = 1000, seed = 1, latency = 0.02, jitter = 0.01 })
    assert.is_true(s:run(120))
    local d, shed = {}, 0
    for i = 1, 1000 do
      d[i] = (s:in_views(i))
      shed = shed + s:metrics(i).peers_shed
    end
    table.sort(d)
    s:close()
    assert.is_true(shed > 0)
    assert.is_true(d[1] >= 22, "a node held by " .. d[1])
    assert.is_true(d[101] >= 32, "a tenth held by " .. d[101] .. " or fewer")
  end)

  it("takes a node that joins a formed cluster into views within seconds", function()
    -- A joining node announces itself to the peers its bootstrap node
    -- listed; those are that node's word, so each gets a first probe and
    -- no other traffic until it answers, and the announce sent at once
    -- reached the bootstrap node alone, whose view is full in a formed
    -- cluster. It goes again (to 8 peers) once the first probes could be
    -- answered, if few hold the node by then, and a full view passes an
    -- announce on. 400 nodes, 10 of them held back 30 s: 20 s after they
    -- joined, each was held by 1-7 nodes before (seeds 1-3), by 10-25 now.
    local s = hs.sim({ nodes = 400, seed = 1, latency = 0.02, jitter = 0.01 })
    local late = {}
    for k = 1, 10 do
      late[k] = 1 + k * 36
      s:crash(late[k])
    end
    assert.is_true(s:run(30))
    for _, i in ipairs(late) do s:restart(i) end
    assert.is_true(s:run(20))
    for _, i in ipairs(late) do
      local held = s:in_views(i)
      assert.is_true(held >= 9, "node " .. i .. " held by " .. held)
    end
    s:close()
  end)

  -- Lossy links and nodes that stop now and then (GC, a busy host):
  -- each second one node in 200 pauses for `pause` s, for 60 s, after 30
  -- s of forming under the same loss. Returns the false deaths.
  local function pausing(loss, pause, seed, settings)
    local s = hs.sim({ nodes = 200, seed = seed or 1, latency = 0.02, jitter = 0.01, loss = loss,
      settings = settings })
    assert.is_true(s:run(30))
    local x = 12345
    for _ = 1, 60 do
      x = (x * 1103515245 + 12345) % 2147483648
      s:pause(x % 200 + 1, pause)
      assert.is_true(s:run(1))
    end
    assert.is_true(s:run(15))
    local f, held = s:false_deaths(), s:held_dead()
    s:close()
    return f, held
  end

  it("declares no live node dead under 10% loss with nodes pausing 2 s", function()
    -- Issue 16's bar, at 200 nodes for a minute. A helper asked to probe
    -- a node it did not know said "cannot reach it", so one lost probe
    -- and a helper that knew only its own 50 peers made a suspicion:
    -- 108 false deaths before, 0 with /probe of strangers (README,
    -- Failure detection).
    local f, held = pausing(0.1, 2)
    assert.equal(0, f)
    assert.equal(0, held)
  end)

  it("probes a stranger's peer again when its first probe came back late", function()
    -- A probe that fails long past its timeout (our loop stalled: here
    -- the prober was paused) says nothing of the peer; but a peer only a stranger vouched for gets no other probe
    -- than its first, so it sat in the view unchecked until dead_timeout.
    -- With dead_timeout 30 s (health_interval 10 s): seeds 1-4 declared
    -- 1, 1, 2 and 0 live nodes dead so before, none after.
    for _, seed in ipairs({ 2, 3 }) do
      local f = pausing(0.1, 2, seed, { health_interval = 10, dead_timeout = 30 })
      assert.equal(0, f, "seed " .. seed)
    end
  end)

  it("lets a probe that is out decide before dead_timeout declares a peer dead", function()
    -- The prober was paused while its probe was out: the late failure
    -- says nothing, and the peer's next turn came near dead_timeout (a
    -- peer answered at 52 s, the probe of 64 s came back late, the next
    -- turn at 82 s lost its direct probe, and dead_timeout took the peer
    -- at 83 s, in the middle of that round, before the helpers answered).
    -- Seeds 4 and 5 declared a live node dead so before (seeds 1-8 at
    -- 79130b3: 0, 0, 0, 1, 1, 0, 0, 0; none now).
    for _, seed in ipairs({ 4, 5 }) do
      local f = pausing(0.1, 2, seed, { health_interval = 10, dead_timeout = 30 })
      assert.equal(0, f, "seed " .. seed)
    end
  end)

  it("declares no live node dead under 10% loss with nodes pausing 5 s", function()
    -- dead_after (3) failed rounds of one prober before a suspicion span
    -- about 6.3 s when the peer is silent (a round is a probe's timeout,
    -- then the helpers'): a node that stops for less is suspected only
    -- if loss fails a round besides. A try on 2026-12-07 ran the rounds
    -- after a first failed one direct and indirect at once (about 4.2 s
    -- in all; a crash was let go everywhere 3 s sooner in the simulator):
    -- here 4, 37 and 22 live nodes declared dead on seeds 1-3 (368 on
    -- seeds 1-12), none before or after it; not kept (bench/RESULTS.md,
    -- Simulator, "Detection: parallel rounds, tried").
    for seed = 1, 3 do
      local f = pausing(0.1, 5, seed)
      assert.equal(0, f, "seed " .. seed)
    end
  end)

  it("keeps probing a suspect until its suspicion runs out: at 20% loss, pauses of 3 s", function()
    -- A node that heard a suspicion and failed its own probe (20% loss
    -- loses one in three) probed the peer no more: unless the refutation
    -- came after, it was dead 5 s later. 136 false deaths before, 1 with
    -- a direct probe each tick while it is suspect. With suspicions that
    -- bear each other out (2026-12-06), 20 here until a refutation made
    -- the suspicions counted before it count no more, a refutation that
    -- came while a round was out was checked at once, and the rounds of a
    -- suspect took the helpers too: 0 now (seeds 1-6: 24 false deaths in
    -- all, against 16 at 79130b3; most from one node held by many, dead
    -- at each of its holders at once).
    local f = pausing(0.2, 3)
    assert.is_true(f <= 5, f .. " false deaths")
  end)

  it("puts nodes in regions, and a link between regions takes the matrix's latency", function()
    -- Two regions, 1 ms within, 300 ms between (no jitter): a broadcast
    -- from node 1 (region 1) reaches region 1 in milliseconds and region
    -- 2 no sooner than 300 ms; the same network with 1 ms everywhere is
    -- done within 100 ms.
    local function first(matrix)
      local s = hs.sim({ nodes = 20, seed = 4, jitter = 0, matrix = matrix })
      assert.is_true(s:run(30))
      s:broadcast(1, "chat", { text = "regions" })
      assert.is_true(s:run(10))
      local d, regions = s:deliveries()[1], {}
      for i = 1, 20 do regions[i] = s:region(i) end
      s:close()
      return d, regions
    end
    local d, regions = first({ { 0.001, 0.3 }, { 0.3, 0.001 } })
    assert.same({ 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2 }, regions)
    assert.equal(20, d.reached)
    assert.is_true(d.p100 >= 0.3, "region 2 no sooner than the link between: " .. d.p100)
    assert.is_true(d.p100 < 1.5, d.p100)
    local near = first({ { 0.001, 0.001 }, { 0.001, 0.001 } })
    assert.equal(20, near.reached)
    assert.is_true(near.p100 < 0.1, near.p100)
    assert.has_error(function() hs.sim({ nodes = 4, matrix = { { 0.001, 0.3 } } }) end)
    assert.has_error(function() hs.sim({ nodes = 4, matrix = { { -1 } } }) end)
  end)

  it("finds the dead at once when most of the cluster crashes: every survivor has the next broadcast within 2 s", function()
    -- 200 nodes, 80% crashed at once, a broadcast 5 s later. Probing one
    -- peer a second, the survivors still pushed, offered and sent their
    -- anti-entropy rounds to dead peers: 36-39 of the 40 had it within 10
    -- s (seeds 1-4), never all. An unanswered probe now has every quiet
    -- peer probed at once (a sweep): all 40, within 0.13-0.55 s.
    for seed = 1, 4 do
      local s = hs.sim({ nodes = 200, seed = seed, latency = 0.02, jitter = 0.01 })
      assert.is_true(s:run(30))
      for i = 1, 200 do if i % 5 ~= 1 then s:crash(i) end end
      assert.is_true(s:run(5))
      s:broadcast(6, "chat", { text = "after the crash" })
      assert.is_true(s:run(10))
      local d = s:deliveries()[1]
      local sweeps = 0
      for i = 1, 200, 5 do sweeps = sweeps + s:metrics(i).probe_sweeps end
      s:close()
      assert.equal(40, d.live)
      assert.equal(40, d.reached, "seed " .. seed)
      assert.is_true(d.p100 >= 0 and d.p100 < 2, "seed " .. seed .. ": " .. d.p100)
      assert.is_true(sweeps >= 40, "each survivor swept: " .. sweeps)
    end
  end)

  it("charges work to hosts and cores (sim.cpu): a shared host or core serves one thing at a time", function()
    -- 20 nodes, 0.1 ms links, 10 ms to serve a request. Each node's
    -- first copy is work of its own: on one host (or all hosts on one
    -- core) those 19 pieces run one after another, so the last node has
    -- the message no sooner than 19 x 10 ms after it was sent. A host
    -- and a core each: a few hops of ~10 ms. Without sim.cpu: a few hops
    -- of 0.1 ms.
    local function run(cpu)
      local s = hs.sim({ nodes = 20, seed = 4, latency = 0.0001, jitter = 0, cpu = cpu })
      assert.is_true(s:run(30))
      local used0 = s:cpu()
      s:broadcast(1, "chat", { text = "cpu" })
      assert.is_true(s:run(10))
      local d, used, host, host_s = s:deliveries()[1], s:cpu()
      local _, busiest, busiest_s = s:cpu()
      host, host_s = busiest, busiest_s
      local trace = s:trace()
      s:close()
      return d, used - used0, host, host_s, trace
    end
    local serve = 0.01
    local shared, used = run({ per_host = 20, serve = serve })
    assert.equal(20, shared.reached)
    assert.is_true(shared.p100 >= 19 * serve, "19 receptions in turn: " .. shared.p100)
    assert.is_true(used >= 19 * serve, "each served request charged: " .. used)
    -- A gossip push alone costing it: the same turns, as only first
    -- copies (and a few duplicates) are pushes.
    local pushes = run({ per_host = 20, gossip = serve })
    assert.is_true(pushes.p100 >= 19 * serve, "19 pushes in turn: " .. pushes.p100)
    -- `envelope`: each envelope of a push costs it. Ten messages at once
    -- from node 1 go to node 2 in fewer POSTs than envelopes (batched):
    -- charged per POST (gossip), 3 of them here; per envelope, every one.
    local function batch(cpu)
      local s = hs.sim({ nodes = 2, seed = 4, latency = 0.0001, jitter = 0, cpu = cpu })
      assert.is_true(s:run(30))
      local used0 = s:cpu()
      for i = 1, 10 do s:broadcast(1, "chat", { i = i }) end
      assert.is_true(s:run(10))
      local d, used = s:deliveries(), s:cpu() - used0
      s:close()
      for _, b in ipairs(d) do assert.equal(2, b.reached) end
      return used
    end
    local per_envelope, per_post = batch({ per_host = 1, envelope = serve }), batch({ per_host = 1, gossip = serve })
    assert.is_true(per_envelope >= 10 * serve - 1e-9, "10 envelopes: " .. per_envelope)
    assert.is_true(per_post < per_envelope / 2, per_post .. " vs " .. per_envelope)
    local one_core = run({ per_host = 1, cores = 1, serve = serve })
    assert.equal(20, one_core.reached)
    assert.is_true(one_core.p100 >= 19 * serve, "one core for all: " .. one_core.p100)
    local own, _, host, host_s, trace = run({ per_host = 1, serve = serve })
    assert.equal(20, own.reached)
    assert.is_true(own.p100 >= serve and own.p100 < 15 * serve, "a core each: " .. own.p100)
    assert.is_true(own.p100 < shared.p100 / 2, own.p100 .. " vs " .. shared.p100)
    assert.is_true(host >= 1 and host <= 20 and host_s > 0, host .. " " .. host_s)
    assert.equal(trace, select(5, run({ per_host = 1, serve = serve })), "the same run again")
    local free = run(nil)
    assert.is_true(free.p100 < 0.005, "no CPU model: " .. free.p100)
    assert.equal(0, (select(1, hs.sim({ nodes = 2 }):cpu())))
    assert.has_error(function() hs.sim({ nodes = 4, cpu = { per_host = 0 } }) end)
    assert.has_error(function() hs.sim({ nodes = 4, cpu = { serve = -1 } }) end)
    -- The command line takes it, and its replay line carries it.
    local code, out = sim_cmd("--nodes 20 --seed 4 --broadcasts 1 --cpu per_host=10,cores=2,serve=0.001,send=0.0005,envelope=2e-6")
    assert.equal(0, code, out)
    assert.matches("cpu: 10 nodes a host, 2 cores shared", out)
    assert.matches("2.0 us an envelope", out)
    assert.matches("replay: hearsay sim .*%-%-cpu 'per_host=10,cores=2,serve=0.001", out)
    local bad, msg = sim_cmd("--nodes 2 --cpu speed=3")
    assert.not_equal(0, bad)
    assert.matches("not one of per_host", msg)
  end)

  it("repairs, once a loss ends, every node that missed a message while its rounds were backed off", function()
    -- A round looked back ae_window (30 s) only; a node that missed the
    -- message had no reason to hurry its own rounds (backed off towards
    -- ae_max_interval, 30 s), and the others' rounds are random: on 1 of
    -- these 12 seeds a node never had it (seed 9; before feeding's last
    -- change, seed 7). Now a round looks back to our last round that came
    -- through.
    for seed = 1, 12 do
      local s = hs.sim({ nodes = 20, seed = seed })
      assert.is_true(s:run(20))
      s:loss(0.3)
      s:broadcast(1, "chat", { text = "lossy" })
      assert.is_true(s:run(10))
      s:loss(0)
      assert.is_true(s:run(50))
      assert.equal(20, s:deliveries()[1].reached, "seed " .. seed)
      s:close()
    end
  end)

  it("batches lazy offers under a steady stream: many ids per request, every message everywhere", function()
    -- 100 broadcasts a second from 5 origins. Each id went out alone
    -- before (it fell due alone: a request per offer, 85% of a loaded
    -- loopback cluster's requests at 60/s); lazy links and the slack (a
    -- peer's ids go together once its oldest has waited twice lazy_delay)
    -- put many in one.
    local n = 40
    local s = hs.sim({ nodes = n, seed = 2 })
    assert.is_true(s:run(20))
    local before = s:totals()
    for i = 1, 300 do
      s:broadcast(1 + (i % 5) * 8, "chat", { i = i })
      assert.is_true(s:run(0.01))
    end
    assert.is_true(s:run(10))
    local after = s:totals()
    local offered = after.lazy_offered - before.lazy_offered
    local requests = after.lazy_answered - before.lazy_answered
    assert.is_true(offered >= 300 * n, ("offered %d ids"):format(offered))
    -- 16.8 ids a request; 9.0 with half a lazy_delay of slack (before
    -- 2026-12-06), 4.6 with links drawn per message, 1.0 without slack.
    assert.is_true(offered >= 12 * requests, ("%d ids in %d lazy requests"):format(offered, requests))
    local d = s:deliveries()
    assert.equal(300, #d)
    for _, b in ipairs(d) do assert.equal(n, b.reached) end
    s:close()
  end)

  -- The copies per node over every broadcast send(s, seed) makes on a
  -- network of `opts` for each seed, formed for `form` s; each broadcast
  -- must reach every node.
  local function copies_over(seeds, opts, form, send)
    local copies, count = 0, 0
    for _, seed in ipairs(seeds) do
      local o = { seed = seed }
      for k, v in pairs(opts) do o[k] = v end
      local s = hs.sim(o)
      assert.is_true(s:run(form))
      send(s, seed)
      for _, b in ipairs(s:deliveries()) do
        assert.equal(o.nodes, b.reached)
        copies, count = copies + b.copies, count + 1
      end
      s:close()
    end
    return copies / count
  end

  it("keeps the tree a tree under a steady stream whose pushes go in batches", function()
    -- 256 broadcasts a second from 5 origins on 40 nodes, 20 ms links: a
    -- link's pushes queue behind the one in flight and go in batches. A
    -- batch answered with at least as many duplicates as new messages
    -- prunes the link (before 2026-12-06 only one of duplicates alone did:
    -- a link that brought one new message a batch was never pruned, and
    -- copies per node were 1.57 here (seeds 2 and 6: 1.64, 1.77), 1.15 now;
    -- on 100 loopback nodes at 150/s they went to 5). Over seeds 1-3, as
    -- one seed ranges widely. With one set of eager links for every
    -- origin, a link pruned by one origin's duplicates was pruned for
    -- the others too and grafted back by their misses: 1.16-1.35 over
    -- seeds 1-8, 1.25 over 1-3 (2026-12-06). Links kept per origin
    -- (origins.h): 1.05-1.23, 1.12 over 1-3; 1.04-1.12 (1.07 over 1-3) at
    -- 02315d0. One eager link from the peers a node learns, not `fanout`
    -- (membership.c, learned_eager): 1.000-1.004.
    local copies = copies_over({ 1, 2, 3 }, { nodes = 40, latency = 0.02, jitter = 0.001 }, 20,
      function(s)
        for i = 1, 512 do
          s:broadcast(1 + (i % 5) * 8, "chat", { i = i })
          assert.is_true(s:run(1 / 256))
        end
        assert.is_true(s:run(10))
        assert.equal(512, #s:deliveries())
      end)
    assert.is_true(copies <= 1.05, ("%.3f copies per node"):format(copies))
  end)

  -- 100 nodes on two hosts of 50 sharing 2 cores (sim.cpu `cpu`), 200
  -- broadcasts a second from 10 origins, 400-byte payloads; 6 s in, the
  -- first host stops for 0.5 s. Returns the copies per node of what was
  -- sent from 3 s after the pause on (every broadcast must reach every
  -- node), and the asks put off meanwhile (lazy_deferred).
  local function pause_under_stream(seed, cpu)
    local n, rate = 100, 200
    local s = hs.sim({
      nodes = n, seed = seed, latency = 1e-6, jitter = 0, cpu = cpu,
      settings = { max_peers = 50, gossip_interval = 600, health_interval = 600, peer_exchange_interval = 30 },
    })
    assert.is_true(s:run(20))
    local text = string.rep("abcdefghij", 40)
    local before = s:totals().lazy_deferred
    for i = 1, 11 * rate do
      s:broadcast(1 + (i % 10) * (n // 10), "load", { i = i, x = text })
      if i == 6 * rate then
        for j = 1, n // 2 do s:pause(j, 0.5) end
      end
      assert.is_true(s:run(1 / rate))
    end
    assert.is_true(s:run(5))
    local copies, count = 0, 0
    for _, b in ipairs(s:deliveries()) do
      assert.equal(n, b.reached)
      if b.sent >= 20 + 9 then copies, count = copies + b.copies, count + 1 end
    end
    local deferred = s:totals().lazy_deferred - before
    s:close()
    assert.is_true(count >= 2 * rate - 1)
    return copies / count, deferred
  end

  it("settles its tree again after half the cluster stopped for 0.5 s under a stream", function()
    -- The costs: what the loopback bench's two processes cost a hop,
    -- doubled. The stopped host's backlog brings a burst of duplicates,
    -- and the links that carried them take words for those origins
    -- (origins.h). A link held a word for at most 16 links an origin and
    -- let go of the oldest, which fell back to the shared link: the tree
    -- never settled again, copies per node 1.31-1.36 from 3 s after the
    -- pause (seeds 1-3), 1.30-1.45 over seeds 1-6 of a longer run, and the
    -- same storm on loopback (bench/RESULTS.md, Load, "A half-second
    -- pause"). Every link keeps its word now: 1.01-1.02.
    local copies = pause_under_stream(1,
      { per_host = 50, cores = 2, serve = 62e-6, send = 2.6e-6, answer = 17.4e-6 })
    assert.is_true(copies <= 1.1, ("%.3f copies per node after the pause"):format(copies))
  end)

  it("asks for what it lacks later while its asks bring second copies: the storm after a pause settles", function()
    -- The pause above, with each envelope of a push costing its receiver
    -- 10 us and the rest 1.5x the hop's costs: the resumed half's copies
    -- come late, offers overtake them, and each "missing" brought one more
    -- copy and a graft. Copies per node from 3 s after the pause: 1.18-1.31
    -- over seeds 1-6 when every lacked id was asked at once; a node whose
    -- asks lately brought second copies now fetches a lazy_delay later
    -- what it still lacks (lazypush.c, ask_waste): 1.02-1.07 (seed 2: 1.328
    -- before).
    local copies, deferred = pause_under_stream(2, { per_host = 50, cores = 2, serve = 46.5e-6,
      send = 1.95e-6, answer = 13.05e-6, envelope = 10e-6 })
    assert.is_true(deferred > 0, "asks deferred: " .. deferred)
    assert.is_true(copies <= 1.1, ("%.3f copies per node after the pause"):format(copies))
  end)

  it("keeps the tree a tree at 700 broadcasts a second on two loaded hosts", function()
    -- 100 nodes on two hosts of 50 sharing 2 cores (the loopback bench's
    -- hop costs, doubled, and 10 us an envelope), 700 broadcasts a second
    -- from 10 origins for 4 s. Queued pushes race the lazy offers, and
    -- some offers are answered "missing" (GRAFT). A grafted link opened
    -- for every origin: those whose trees the node keeps words for and
    -- that had none for the new link sent their messages down it to a
    -- node that had them, behind the pushes already queued; duplicates,
    -- prunes and more grafts followed, and the tree tore: 1.41 copies a
    -- node (seeds 2, 3: 1.36, 1.46), the 99% of the 99th percentiles at
    -- 2.3 s. A grafted link carries the missed origins (their words) and
    -- new ones only (peers.h, HS_EAGER_GRAFTED): 1.007 (1.017, 1.010).
    local n, rate = 100, 700
    local s = hs.sim({
      nodes = n, seed = 1, latency = 0.0002, jitter = 0.0001,
      cpu = { per_host = 50, cores = 2, serve = 62e-6, send = 2.6e-6, answer = 17.4e-6, envelope = 10e-6 },
      settings = { max_peers = 50, gossip_interval = 600, health_interval = 600, peer_exchange_interval = 30 },
    })
    assert.is_true(s:run(20))
    local text = string.rep("abcdefghij", 40)
    for i = 1, 4 * rate do
      s:broadcast(1 + (i % 10) * (n // 10), "load", { i = i, x = text })
      assert.is_true(s:run(1 / rate))
    end
    assert.is_true(s:run(5))
    local copies, count = 0, 0
    for _, b in ipairs(s:deliveries()) do
      if b.sent >= 20 then
        assert.equal(n, b.reached)
        copies, count = copies + b.copies, count + 1
      end
    end
    s:close()
    assert.equal(4 * rate, count)
    assert.is_true(copies / count <= 1.1, ("%.3f copies per node"):format(copies / count))
  end)

  it("holds pushes on a busy link for batch_interval and sends them as one batch", function()
    -- Node 1 broadcasts 6 messages 1/1024 s apart to its one peer. The
    -- first two go at once (the credit of two POSTs), the other four wait
    -- for the next credit, a batch_interval (1/16 s) on, and go in one
    -- POST: 3 requests, not 6. With batch_interval 0 each goes alone.
    local function run(every)
      local s = hs.sim({ nodes = 2, seed = 3, latency = 1 / 4096, jitter = 0,
        settings = { batch_interval = every } })
      assert.is_true(s:run(5))
      local before = s:totals()
      for i = 1, 6 do
        s:broadcast(1, "chat", { i = i })
        assert.is_true(s:run(1 / 1024))
      end
      assert.is_true(s:run(2))
      local after, d = s:totals(), s:deliveries()
      s:close()
      return after.messages_sent - before.messages_sent, after.batches_sent - before.batches_sent, d
    end
    local sent, batches, d = run(1 / 16)
    assert.equal(6, sent)
    assert.equal(1, batches)
    for i, b in ipairs(d) do
      assert.equal(2, b.reached)
      if i <= 2 then
        assert.is_true(b.p100 < 1 / 64, ("message %d at once: %.4f s"):format(i, b.p100))
      else
        -- held until the credit comes back: 1/16 s after the second went
        assert.is_true(b.p100 >= 1 / 32 and b.p100 <= 1 / 16 + 1 / 64,
          ("message %d held: %.4f s"):format(i, b.p100))
      end
    end
    sent, batches, d = run(0)
    assert.equal(6, sent)
    assert.equal(0, batches)
    for i, b in ipairs(d) do assert.is_true(b.p100 < 1 / 64, ("message %d: %.4f s"):format(i, b.p100)) end
  end)

  it("brings the first broadcast after forming to every node by push (feeding)", function()
    -- Before feeding, the nodes' eager links all pointed at the first
    -- joiners: this first broadcast took 4.5 s to its last node, with
    -- 273 lazy repairs (seed 5); every node is now fed from the start
    -- (10 lazy repairs: askers whose feeder was still being chosen).
    -- A few nodes may still be on an eager link whose own feeder is late
    -- and get it by lazy push, 0.5 s on: seeds 1-12 had 0-12 such nodes
    -- before the in-degree shedding (25 in all), 0-3 after (8); seed 5
    -- had none before and 2 after.
    local s = hs.sim({ nodes = 300, seed = 5 })
    assert.is_true(s:run(30))
    local before = s:totals()
    s:broadcast(1, "chat", { text = "first" })
    assert.is_true(s:run(0.5))
    assert.is_true(s:deliveries()[1].reached >= 297)
    assert.is_true(s:run(5))
    local after = s:totals()
    assert.is_true(after.lazy_pushed - before.lazy_pushed <= 15)
    assert.equal(0, after.ae_fetched - before.ae_fetched)
    s:close()
  end)
  it("keeps about one copy a node for broadcasts from new origins: one eager link learned, not fanout", function()
    -- 200 nodes, 20 ms links, 8 broadcasts 2 s apart, each from a node
    -- that had sent none, the first right after forming. A node made an
    -- eager link of each of the first `fanout` peers it learned (and again
    -- whenever fewer were) until 2026-12-06: its eager links held cycles
    -- that seen_by hid from the duplicates that prune them, and every
    -- origin without a word of its own met them: 1.31 copies a node over
    -- seeds 1-4 (the first broadcasts 1.53-2.07, the rest 1.24); 1.03 with
    -- one (membership.c, learned_eager), the first 1.03-1.05.
    local copies = copies_over({ 1, 2, 3, 4 }, { nodes = 200, latency = 0.02, jitter = 0.01 }, 30,
      function(s, seed)
        for i = 1, 8 do
          s:broadcast(1 + (i * 23 + seed * 7) % 200, "chat", { i = i })
          assert.is_true(s:run(2))
        end
        assert.is_true(s:run(5))
      end)
    assert.is_true(copies <= 1.1, ("%.3f copies per node"):format(copies))
  end)
end)
