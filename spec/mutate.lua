-- mutate.lua -- the mutation check: applies each deliberate one-line
-- breakage of spec/mutations.lua to a copy of the source tree, builds it,
-- runs the specs that should notice, and says which broke them (caught)
-- and which did not (MISSED). Run by hand before a release (minutes, not
-- part of ctest):
--
--   lua5.4 spec/mutate.lua [--src DIR] [--work DIR] [--asan] [--all|--extended]
--                          [name-pattern ...]
--
-- The working tree is never touched: the copy lives in --work (default
-- /tmp/hearsay-mutate), and each mutation is undone in the copy before the
-- next. The listed specs must pass on the unmutated copy first (else the
-- run stops: a failure there would be counted as a catch). Exit status 0
-- only when every mutation was applied, built and caught.

local function dirname(p) return p:match("^(.*)/[^/]*$") or "." end

local args, patterns = { src = nil, work = "/tmp/hearsay-mutate" }, {}
do
  local i = 1
  while arg[i] do
    local a = arg[i]
    if a == "--src" or a == "--work" then
      args[a:sub(3)] = assert(arg[i + 1], a .. " needs a directory")
      i = i + 2
    elseif a == "--asan" or a == "--all" or a == "--extended" then
      args[a:sub(3)] = true
      i = i + 1
    elseif a == "--help" or a == "-h" then
      io.write((io.open(arg[0]):read("a"):match("^(.-)\n\n")):gsub("%-%- ?", ""), "\n")
      os.exit(0)
    else
      patterns[#patterns + 1] = a
      i = i + 1
    end
  end
end
args.src = args.src or dirname(dirname(arg[0]))

local function sh(cmd)
  local ok, _, code = os.execute(cmd)
  return ok == true, code
end

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function write(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

local function count(hay, needle)
  local n, at = 0, 1
  while true do
    local s, e = hay:find(needle, at, true)
    if not s then return n end
    n, at = n + 1, e + 1
  end
end

local mutations = dofile(args.src .. "/spec/mutations.lua")
local chosen = {}
for _, m in ipairs(mutations) do
  -- the release list by default; --all adds the extended entries (release
  -- = false), --extended runs those alone
  local group = m.release == false and "extended" or "release"
  local take = #patterns == 0
  if (group == "extended" and not (args.all or args.extended))
      or (group == "release" and args.extended) then
    goto next
  end
  for _, p in ipairs(patterns) do
    if m.name:find(p, 1, true) then take = true end
  end
  if take then chosen[#chosen + 1] = m end
  ::next::
end
if #chosen == 0 then
  io.stderr:write("no mutation matches\n")
  os.exit(2)
end

local src, build = args.work .. "/src", args.work .. "/build"
local log = args.work .. "/log"
assert(sh(("mkdir -p %q %q %q"):format(src, build, log)))
io.write(("copying %s to %s\n"):format(args.src, src))
assert(sh(("cd %q && tar --exclude='./build*' --exclude=./.git -cf - . | (cd %q && tar -xf -)")
  :format(args.src, src)), "copy failed")
io.write("configuring and building (", args.asan and "ASan" or "RelWithDebInfo", ")\n")
assert(sh(("cmake -S %q -B %q -DCMAKE_BUILD_TYPE=RelWithDebInfo %s >%q/configure.log 2>&1")
  :format(src, build, args.asan and "-DHS_SANITIZE=ON" or "", log)), "cmake failed: see " .. log)

local function build_ok(name)
  return sh(("cmake --build %q -j2 >%q/%s.build.log 2>&1"):format(build, log, name))
end

local function run_specs(specs, name)
  local re = "^(" .. table.concat(specs, "|") .. ")$"
  return sh(("cd %q && ctest -j2 -R %q --timeout 300 --output-on-failure >%q/%s.ctest.log 2>&1"):format(build, re, log, name))
end

assert(build_ok("baseline"), "the unmutated copy does not build: see " .. log .. "/baseline.build.log")
local all, seen = {}, {}
for _, m in ipairs(chosen) do
  for _, s in ipairs(m.specs) do
    if not seen[s] then seen[s], all[#all + 1] = true, s end
  end
end
io.write("baseline: ", table.concat(all, " "), "\n")
if not run_specs(all, "baseline") then
  io.stderr:write("the specs fail without any mutation: see " .. log .. "/baseline.ctest.log\n")
  os.exit(2)
end

local results, bad = {}, 0
for i, m in ipairs(chosen) do
  local path = src .. "/" .. m.file
  local orig = read(path)
  local status
  local t0 = os.time()
  local n = count(orig, m.find)
  if n ~= 1 then
    status = ("STALE (%d matches in %s)"):format(n, m.file)
  else
    local s, e = orig:find(m.find, 1, true)
    write(path, orig:sub(1, s - 1) .. m.replace .. orig:sub(e + 1))
    local tag = ("m%02d"):format(i)
    if not build_ok(tag) then
      status = "DOES NOT BUILD"
    elseif run_specs(m.specs, tag) then
      status = "MISSED"
    else
      status = "caught"
    end
    write(path, orig)
  end
  if status ~= "caught" then bad = bad + 1 end
  results[#results + 1] = { m = m, status = status }
  io.write(("%-14s %-58s %s (%d s)\n"):format(status:gsub(" %(.*", ""), m.name,
    table.concat(m.specs, ","), os.time() - t0))
  io.flush()
end
build_ok("restored")

io.write("\n")
for _, r in ipairs(results) do
  io.write(("%s  %s\n"):format(r.status, r.m.name))
end
io.write(("\n%d of %d caught; logs in %s\n"):format(#results - bad, #results, log))
os.exit(bad == 0 and 0 or 1)
