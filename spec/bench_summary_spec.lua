-- The summary of a bench/run (bench/lua/summary.lua, issue 21): a target
-- is met only when every figure it reads is a measurement and every run
-- behind it, on both sides of a comparison, ran completely. Figures that
-- are missing, nan, never or given twice, and runs that are incomplete,
-- are reported as such ([ -- ]), never passed. bench/run gives every run
-- a directory of its own. BENCH_SUMMARY=FILE and BENCH_RUN=FILE run these
-- against another summary.lua and bench/run (the ones before the fix, say).
local SUMMARY = os.getenv("BENCH_SUMMARY") or (H.src .. "/bench/lua/summary.lua")
local RUN = os.getenv("BENCH_RUN") or (H.src .. "/bench/run")

-- A complete, healthy run: 100 nodes meets hearsay vs Serf/10 (100 ms vs
-- 2000 ms), 1000 nodes misses 250 ms (300 ms), the verdict handler misses
-- its 2 us (3 us), every other target is met.
local function healthy()
  local t = {
    ["hearsay_n100 calm"] = 1, ["hearsay_n100 converged"] = 1,
    ["hearsay_n100 complete"] = 20, ["hearsay_n100 repeats"] = 20,
    ["hearsay_n100 t100_ms_median"] = 100,
    ["serf_n100 complete"] = 20, ["serf_n100 repeats"] = 20, ["serf_n100 t100_ms_median"] = 2000,
    ["hearsay_n1000 calm"] = 1, ["hearsay_n1000 converged"] = 1,
    ["hearsay_n1000 complete"] = 20, ["hearsay_n1000 repeats"] = 20,
    ["hearsay_n1000 t100_ms_median"] = 300,
    ["ingest_hearsay_single msgs_per_s"] = 60000, ["ingest_hearsay_single errors"] = 0,
    ["ingest_bare_single msgs_per_s"] = 100000, ["ingest_bare_single errors"] = 0,
    ["ingest_hearsay_batch msgs_per_s"] = 700000, ["ingest_hearsay_batch errors"] = 0,
    ["ingest_hearsay_single cpu_us_per_msg"] = 10, ["ingest_bare_single cpu_us_per_msg"] = 8,
    ["ingest_hearsay_batch cpu_us_per_msg"] = 0.9,
    ["memory_peers kib_per_1000_peers"] = 200, ["memory_ids bytes_per_id"] = 80,
    ["idle bytes_per_s_per_node"] = 900,
  }
  local cost = { none = 10, handler = 11, verdict = 13, sinks_none = 20, sinks_policy = 21.5 }
  for r = 1, 3 do
    for run, us in pairs(cost) do
      local b = ("plugins_%s_r%d"):format(run, r)
      t[b .. " cpu_us_per_msg"], t[b .. " errors"] = us, 0
      if run == "handler" or run == "verdict" or run == "sinks_policy" then
        t[b .. " calls"], t[b .. " plugin_errors"] = 150000, 0
      end
    end
  end
  return t
end

-- Runs the summary on the healthy figures changed by `over` ("bench key" =
-- value, false to leave a figure out) with `extra` lines added; returns
-- its output and exit status.
local function summary(over, extra)
  local t = healthy()
  for id, v in pairs(over or {}) do t[id] = v or nil end
  local lines = {}
  for id, v in pairs(t) do lines[#lines + 1] = ("@ %s %s"):format(id, v) end
  for _, line in ipairs(extra or {}) do lines[#lines + 1] = line end
  table.sort(lines)
  local file = H.tmpdir() .. "/results.txt"
  H.write(file, table.concat(lines, "\n") .. "\n")
  local code, out = H.sh(("timeout 30 lua5.4 %q %q"):format(SUMMARY, file))
  return out, code
end

-- The line of the target whose name starts with `name`.
local function target(out, name)
  for line in out:gmatch("[^\n]+") do
    local mark, rest = line:match("^  %[(....)%] (.*)$")
    if mark and rest:sub(1, #name) == name then return mark, line end
  end
  error("no target line for " .. name .. " in:\n" .. out)
end

describe("bench summary: targets", function()
  it("meets a target the figures pass and misses one they fail", function()
    local out, code = summary()
    assert.equal(0, code, out)
    assert.equal(" met", (target(out, "100 nodes")))
    assert.equal("MISS", (target(out, "1000 nodes")))
    assert.equal(" met", (target(out, "ingest single")))
    assert.equal(" met", (target(out, "plugin handler")))
    assert.equal("MISS", (target(out, "plugin verdict")))
    assert.is_nil(out:find("[ -- ]", 1, true), out)
  end)

  it("does not meet hearsay vs Serf when Serf never reached every agent", function()
    local out, code = summary({ ["serf_n100 t100_ms_median"] = "inf" })
    assert.equal(0, code, out)
    local mark, line = target(out, "100 nodes")
    assert.equal(" -- ", mark, line)
    assert.truthy(line:find("never", 1, true), line)
  end)

  it("reports a nan figure as nan, without a Lua error", function()
    local out, code = summary({ ["hearsay_n100 t100_ms_median"] = "nan",
                                ["ingest_bare_single cpu_us_per_msg"] = "-nan" })
    assert.equal(0, code, out)
    for _, name in ipairs({ "100 nodes", "ingest single" }) do
      local mark, line = target(out, name)
      assert.equal(" -- ", mark, line)
      assert.truthy(line:find("nan: not a measurement", 1, true), line)
    end
  end)

  it("reports a missing figure as not measured", function()
    local out = summary({ ["serf_n100 t100_ms_median"] = false, ["idle bytes_per_s_per_node"] = false })
    for _, name in ipairs({ "100 nodes", "idle" }) do
      local mark, line = target(out, name)
      assert.equal(" -- ", mark, line)
      assert.truthy(line:find("not measured", 1, true), line)
    end
  end)

  it("reports a run that reached everyone in 17 of 20 repeats as incomplete", function()
    local mark, line = target(summary({ ["hearsay_n100 complete"] = 17 }), "100 nodes")
    assert.equal(" -- ", mark, line)
    assert.truthy(line:find("incomplete: hearsay_n100 reached 100% in 17 of 20 repeats", 1, true), line)
  end)

  it("reports a cluster that was not calm, or did not converge, as incomplete", function()
    local mark, line = target(summary({ ["hearsay_n100 calm"] = 0 }), "100 nodes")
    assert.equal(" -- ", mark, line)
    assert.truthy(line:find("incomplete: hearsay_n100 not calm", 1, true), line)
    mark, line = target(summary({ ["hearsay_n100 converged"] = 0 }), "100 nodes")
    assert.equal(" -- ", mark, line)
    assert.truthy(line:find("incomplete: hearsay_n100 warm-up did not converge", 1, true), line)
  end)

  it("needs both sides complete: an incomplete Serf run is not met either", function()
    local mark, line = target(summary({ ["serf_n100 complete"] = 19 }), "100 nodes")
    assert.equal(" -- ", mark, line)
    assert.truthy(line:find("serf_n100 reached 100% in 19 of 20 repeats", 1, true), line)
  end)

  it("reports a wrk run with errors as incomplete", function()
    local mark, line = target(summary({ ["ingest_bare_single errors"] = 3 }), "ingest single")
    assert.equal(" -- ", mark, line)
    assert.truthy(line:find("incomplete: ingest_bare_single had wrk errors (3)", 1, true), line)
  end)

  it("meets a plugin's target only when its hook ran in every run", function()
    local mark, line = target(summary({ ["plugins_handler_r2 calls"] = 0 }), "plugin handler")
    assert.equal(" -- ", mark, line)
    assert.truthy(line:find("the hook never ran", 1, true), line)
    mark, line = target(summary({ ["plugins_sinks_policy_r1 calls"] = false }), "plugin policy")
    assert.equal(" -- ", mark, line)
    assert.truthy(line:find("no count of the hook's calls", 1, true), line)
  end)

  it("reports a key given twice with different values, and meets nothing from it", function()
    local out, code = summary(nil, { "@ hearsay_n100 t100_ms_median 150" })
    assert.equal(0, code, out)
    assert.truthy(out:find("DUPLICATED: 1 figure(s) given twice with different values, read as not "
      .. "measured: hearsay_n100 t100_ms_median (100 | 150)", 1, true), out)
    local mark, line = target(out, "100 nodes")
    assert.equal(" -- ", mark, line)
    assert.truthy(line:find("duplicated", 1, true), line)
    -- The same figure twice is one figure.
    out = summary(nil, { "@ hearsay_n100 t100_ms_median 100.0" })
    assert.equal(" met", (target(out, "100 nodes")))
    assert.is_nil(out:find("DUPLICATED", 1, true), out)
  end)
end)

describe("bench/run: a directory per run", function()
  -- --build-dir names no build: a run that got past the check would stop
  -- at its snapshot ("build products missing") and measure nothing.
  local function run(dir)
    return H.sh(("timeout 30 %q --no-install --no-build --no-netns --build-dir %q --out %q --only nothing")
      :format(RUN, dir .. "/no-build", dir))
  end

  it("refuses an --out directory that holds an earlier run's results.txt or log.txt", function()
    for _, file in ipairs({ "results.txt", "log.txt" }) do
      local dir = H.tmpdir()
      H.write(dir .. "/" .. file, "@ hearsay_n100 t100_ms_median 100\n")
      local code, out = run(dir)
      assert.equal(2, code, out)
      assert.truthy(out:find("--out " .. dir .. " already holds a run (" .. file .. ")", 1, true), out)
      assert.equal("@ hearsay_n100 t100_ms_median 100\n", H.read(dir .. "/" .. file))
      assert.is_nil(io.open(dir .. "/artifacts"), "the refused run wrote its snapshot")
    end
  end)

  it("takes a fresh --out directory", function()
    local code, out = run(H.tmpdir())
    assert.is_nil(out:find("already holds", 1, true), out)
    assert.truthy(out:find("build products missing", 1, true), out)
    assert.equal(1, code, out)
  end)
end)
