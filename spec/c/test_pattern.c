/*
 * test_pattern.c -- lpattern's find, match, gmatch and gsub: the same
 * results, captures and errors as the stock string library on thousands of
 * generated cases, and the work they charge: a catastrophic pattern stops
 * at the budget, a quadratic trim is charged quadratically, charges come in
 * batches, and a charge that raises in the middle of a gsub leaks nothing.
 *
 * `test_pattern bench` times ordinary patterns against the stock library
 * instead (never run by ctest).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>
#include <lualib.h>

#include "check.h"
#include "lpattern.h"
#include "lwork.h"

/* The plugin host's side, stubbed: sums the units and fails the call past
 * charge_limit as the host fails a call past its budget. */
static size_t charged, charge_calls, charge_limit = SIZE_MAX;

void hs_work_charge(lua_State *L, size_t units)
{
    charged += units;
    charge_calls++;
    if (charged > charge_limit)
        luaL_error(L, "instruction limit exceeded");
}

static void budget(size_t limit)
{
    charged = 0;
    charge_calls = 0;
    charge_limit = limit;
}

static int l_budget(lua_State *L)
{
    budget((size_t)luaL_optinteger(L, 1, (lua_Integer)(SIZE_MAX >> 1)));
    return 0;
}

static int l_charged(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)charged);
    lua_pushinteger(L, (lua_Integer)charge_calls);
    return 2;
}

/* A state with the stock library as `string` and ours as global `P`. */
static lua_State *new_state(void)
{
    lua_State *L = luaL_newstate();

    luaL_openlibs(L);
    lua_newtable(L);
    hs_pattern_register(L, -1);
    lua_setglobal(L, "P");
    lua_register(L, "budget", l_budget);
    lua_register(L, "charged", l_charged);
    return L;
}

/* Runs chunk; returns its first result as an integer, or -1 (and reports)
 * when it raised. */
static lua_Integer run(lua_State *L, const char *chunk)
{
    lua_Integer r;

    if (luaL_loadstring(L, chunk) != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK) {
        fprintf(stderr, "lua: %s\n", lua_tostring(L, -1));
        lua_pop(L, 1);
        return -1;
    }
    r = lua_tointeger(L, -1);
    lua_pop(L, 1);
    return r;
}

/* The differential harness: `compare(impl_a, impl_b, fname, args, nargs)`
 * runs one call on both and says whether they agree; the generator builds
 * patterns from the pattern grammar (malformed ones included), subjects
 * over a small alphabet, and random init, plain, replacement and n
 * arguments. A case is skipped only when ours charges more than CAP units,
 * so the stock library never runs for long. */
static const char harness[] =
    "local CAP = 200000\n"
    "local S = string\n"
    "local seed = 0x2545F4914F6CDD1D\n"
    "local function rnd(n)\n"
    "  seed = seed ~ (seed << 13); seed = seed ~ (seed >> 7); seed = seed ~ (seed << 17)\n"
    "  return (seed >> 1) % n + 1\n"
    "end\n"
    "local function pick(t) return t[rnd(#t)] end\n"
    "local function q(v)\n"
    "  local t = type(v)\n"
    "  if t == 'string' or t == 'number' then return S.format('%q', v) end\n"
    "  return tostring(v)\n"
    "end\n"
    "local function ser(r, from)\n"
    "  local t = {}\n"
    "  for i = from, r.n do t[#t + 1] = type(r[i]) .. ':' .. q(r[i]) end\n"
    "  return table.concat(t, ',')\n"
    "end\n"
    "local function norm(msg)\n"
    "  return 'error:' .. S.gsub(tostring(msg), \"to '[^']*'\", \"to 'F'\")\n"
    "end\n"
    "local function call(impl, f, args, n)\n"
    "  if f ~= 'gmatch' then\n"
    "    local r = table.pack(pcall(impl[f], table.unpack(args, 1, n)))\n"
    "    if not r[1] then return norm(r[2]) end\n"
    "    return ser(r, 2)\n"
    "  end\n"
    "  local ok, it = pcall(impl.gmatch, table.unpack(args, 1, n))\n"
    "  if not ok then return norm(it) end\n"
    "  local out = {}\n"
    "  for _ = 1, 40 do\n"
    "    local r = table.pack(pcall(it))\n"
    "    if not r[1] then out[#out + 1] = norm(r[2]); break end\n"
    "    out[#out + 1] = ser(r, 2)\n"
    "    if r.n == 1 then break end\n"
    "  end\n"
    "  return table.concat(out, ';')\n"
    "end\n"
    "local stats = {cases = 0, skipped = 0, bad = 0, errors = 0}\n"
    "function compare(f, args, n, cap)\n"
    "  budget(cap or CAP)\n"
    "  local mine = call(P, f, args, n)\n"
    "  budget()\n"
    "  if mine:find('instruction limit exceeded', 1, true) then\n"
    "    stats.skipped = stats.skipped + 1\n"
    "    return\n"
    "  end\n"
    "  local stock = call(S, f, args, n)\n"
    "  stats.cases = stats.cases + 1\n"
    "  if stock:sub(1, 6) == 'error:' then stats.errors = stats.errors + 1 end\n"
    "  if mine ~= stock then\n"
    "    stats.bad = stats.bad + 1\n"
    "    if stats.bad <= 20 then\n"
    "      local a = {}\n"
    "      for i = 1, n do a[i] = q(args[i]) end\n"
    "      io.stderr:write(f, '(', table.concat(a, ', '), ')\\n  stock: ', stock,\n"
    "                      '\\n  ours:  ', mine, '\\n')\n"
    "    end\n"
    "  end\n"
    "end\n"
    "local lits = {'a', 'a', 'b', 'b', 'c', ' ', '1', 'A', '_', ']', '^', '-', '*', '\\0',\n"
    "  '\\200', '\\255'}\n"
    "local classes = {'a', 'd', 's', 'w', 'l', 'u', 'p', 'x', 'c', 'g', 'z', 'A', 'D', 'S',\n"
    "  'W', 'L', 'U', 'P', 'X', 'C', 'G', 'Z', '.', '%', '(', ')', '[', ']', '-', '^',\n"
    "  '$', 'q', 'b', 'f'}\n"
    "local function gen_set()\n"
    "  local t = {'['}\n"
    "  if rnd(3) == 1 then t[#t + 1] = '^' end\n"
    "  for _ = 1, rnd(3) do\n"
    "    local k = rnd(7)\n"
    "    if k == 1 then t[#t + 1] = pick(lits) .. '-' .. pick(lits)\n"
    "    elseif k == 2 then t[#t + 1] = '%' .. pick(classes)\n"
    "    elseif k == 3 then t[#t + 1] = pick({']', '-', '^', '%', '[', '%]'})\n"
    "    else t[#t + 1] = pick(lits) end\n"
    "  end\n"
    "  if rnd(12) ~= 1 then t[#t + 1] = ']' end\n"
    "  return table.concat(t)\n"
    "end\n"
    "local function gen_single()\n"
    "  local k = rnd(10)\n"
    "  if k <= 4 then return pick(lits)\n"
    "  elseif k == 5 then return '.'\n"
    "  elseif k <= 7 then return '%' .. pick(classes)\n"
    "  else return gen_set() end\n"
    "end\n"
    "local gen_seq\n"
    "local function gen_item(depth)\n"
    "  local k = rnd(22)\n"
    "  if k <= 10 then\n"
    "    local s = gen_single()\n"
    "    if rnd(2) == 1 then s = s .. pick({'*', '+', '-', '?'}) end\n"
    "    return s\n"
    "  elseif k <= 13 and depth < 3 then return '(' .. gen_seq(depth + 1, rnd(3)) .. ')'\n"
    "  elseif k == 14 then return '()'\n"
    "  elseif k == 15 then return '%b' .. pick({'()', 'ab', 'aa', '((', 'a', ''})\n"
    "  elseif k == 16 then return '%f' .. pick({'[%w]', '[^a]', '[a]', '[%s]', '[]', 'a', "
    "'[a', ''})\n"
    "  elseif k == 17 then return '%' .. (rnd(4) - 1)\n"
    "  elseif k == 18 then return pick({'(', ')', '%', '$', '^', '[', '%9', '[^', '[%'})\n"
    "  else return pick(lits) end\n"
    "end\n"
    "function gen_seq(depth, n)\n"
    "  local t = {}\n"
    "  for i = 1, n do t[i] = gen_item(depth) end\n"
    "  return table.concat(t)\n"
    "end\n"
    "local function gen_pattern()\n"
    "  local k = rnd(200)\n"
    "  if k == 1 then return S.rep('a?', 195 + rnd(10)) end\n"
    "  if k == 2 then return S.rep('(a)', 30 + rnd(4)) end\n"
    "  if k == 3 then return S.rep('(', 30 + rnd(4)) .. S.rep(')', 30 + rnd(4)) end\n"
    "  if k == 4 then return S.rep('a*', 190 + rnd(20)) end\n"
    "  if k == 5 then return S.rep('a-', 190 + rnd(20)) .. 'b' end\n"
    "  if k == 6 then return S.rep('()', 100) end\n"
    "  local p = gen_seq(0, rnd(6) - 1)\n"
    "  if rnd(4) == 1 then p = '^' .. p end\n"
    "  if rnd(5) == 1 then p = p .. '$' end\n"
    "  return p\n"
    "end\n"
    "local schars = {'a', 'a', 'a', 'b', 'b', 'c', ' ', '(', ')', '1', 'A', '_', '\\0', 'x',"
    " '-', '\\200', '\\255'}\n"
    "local function gen_subject(long)\n"
    "  local t = {}\n"
    "  for i = 1, rnd(long and 300 or 14) - 1 do t[i] = pick(schars) end\n"
    "  return table.concat(t)\n"
    "end\n"
    "local inits = {1, 2, 0, -1, -3, 4, 7, 20, -20, math.mininteger, math.maxinteger, '2', 3.0}\n"
    "local function gen_repl_string()\n"
    "  local t = {}\n"
    "  for _ = 1, rnd(4) - 1 do\n"
    "    local j = rnd(9)\n"
    "    if j <= 3 then t[#t + 1] = pick({'x', 'yy', '<', '>'})\n"
    "    elseif j <= 6 then t[#t + 1] = '%' .. (rnd(4) - 1)\n"
    "    elseif j == 7 then t[#t + 1] = '%%'\n"
    "    elseif j == 8 then t[#t + 1] = pick({'%', '%x', '%9', '%\\0'})\n"
    "    else t[#t + 1] = '%' .. rnd(9) end\n"
    "  end\n"
    "  return table.concat(t)\n"
    "end\n"
    "local repl_table = {a = 'T', b = false, c = 42, ab = 2.5, aa = {}, ['1'] = 'one',\n"
    "  [1] = 'p1', [3] = 'p3', [4] = true, A = '%1'}\n"
    "local function repl_func(...)\n"
    "  local n, s = select('#', ...), ''\n"
    "  for i = 1, n do s = s .. tostring((select(i, ...))) .. '/' end\n"
    "  local k = #s % 7\n"
    "  if k == 0 then return nil elseif k == 1 then return false\n"
    "  elseif k == 2 then return '<' .. s .. '>' elseif k == 3 then return #s\n"
    "  elseif k == 4 and n > 2 then return {} end\n"
    "  return s, 'ignored'\n"
    "end\n"
    "local function gen_repl()\n"
    "  local k = rnd(14)\n"
    "  if k <= 7 then return gen_repl_string()\n"
    "  elseif k == 8 then return pick({7, 2.5, -0.0, 1e100, math.mininteger})\n"
    "  elseif k <= 10 then return repl_table\n"
    "  elseif k <= 13 then return repl_func\n"
    "  else return pick({true, {}}) end\n"
    "end\n"
    "function generated(count)\n"
    "  for i = 1, count do\n"
    "    local p, s = gen_pattern(), gen_subject(rnd(50) == 1)\n"
    "    local init = rnd(2) == 1 and pick(inits) or nil\n"
    "    local plain = pick({nil, false, true, 1})\n"
    "    compare('find', {s, p, init, plain}, rnd(3) + 1)\n"
    "    compare('match', {s, p, init}, rnd(2) + 1)\n"
    "    compare('gmatch', {s, p, init}, rnd(2) + 1)\n"
    "    local n = rnd(3) == 1 and pick({-1, 0, 1, 2, 3, 1.0, '2'}) or nil\n"
    "    compare('gsub', {s, p, gen_repl(), n}, rnd(2) + 2)\n"
    "    if rnd(20) == 1 then compare('gsub', {s, p}, 2) end\n"
    "  end\n"
    "end\n"
    "function summary() return stats.cases, stats.skipped, stats.bad, stats.errors end\n";

/* Hand-picked cases: the manual's examples, each rule with its edge, every
 * error, and inputs big enough for the buffers and compiled patterns that
 * do not fit on the stack. */
static const char fixed_cases[] =
    "local S = string\n"
    "local big = S.rep('ab(c)d ', 20000)\n"
    "local cases = {\n"
    "  {'find', 'hello world', 'o w'}, {'find', 'hello', 'l', 1, true}, {'find', 'a.b', '.', 1, "
    "true},\n"
    "  {'find', 'abc', ')'}, {'match', 'abc', ')'}, {'find', 'abc', ''}, {'find', 'abc', '', 10},\n"
    "  {'find', 'abc', '', 4}, {'find', 'abc', 'c', -1}, {'find', 'abc', 'b', -100},\n"
    "  {'match', 'hello world', '(h)(e)(l)'}, {'match', 'key = value', '(%w+)%s*=%s*(%w+)'},\n"
    "  {'match', 'hello', '()ll()'}, {'match', '  trim  ', '^%s*(.-)%s*$'},\n"
    "  {'match', 'THE (quick) fox', '%f[%a]%a+'}, {'gsub', 'THE (quick) fox', '%f[%a]%a+', "
    "'W'},\n"
    "  {'gsub', 'hello world', '(%w+)', '%1 %1'}, {'gsub', 'hello world', '%w+', '%0 %0', 1},\n"
    "  {'gsub', 'hello world from Lua', '(%w+)%s*(%w+)', '%2 %1'},\n"
    "  {'gsub', 'abc', '', '-'}, {'gsub', 'abc', 'b*', '-'}, {'gsub', 'abc', 'x*', '-'},\n"
    "  {'gsub', '', '', 'x'}, {'gsub', 'abc', '^', '>'}, {'gsub', 'abc', '$', '<'},\n"
    "  {'gsub', 'abc', '%w', '%%%0'}, {'gsub', 'abc', '%w', '%'}, {'gsub', 'abc', '%w', '%2'},\n"
    "  {'gsub', 'abc', '(a', 'x'}, {'gsub', 'abc', '(a', '%1'}, {'gsub', 'abc', '()', '%1'},\n"
    "  {'gsub', 'f(a(b)c) g(h)', '%b()', '[]'}, {'match', 'x = (a(b)c', '%b()'},\n"
    "  {'match', 'abcabc', '(abc)%1'}, {'match', 'aXa', '(a)X%1'}, {'match', 'ab', '()%1'},\n"
    "  {'find', 'a', '%'}, {'find', 'a', '[a'}, {'find', 'a', '[^'}, {'find', 'a', '[]'},\n"
    "  {'find', 'a', '%f'}, {'find', 'a', '%fa'}, {'find', 'a', '%b'}, {'find', 'a', '%bx'},\n"
    "  {'find', 'a', '%1'}, {'find', 'a', '(%1)'}, {'find', 'a', '%0'}, {'match', 'a', 'a)'},\n"
    "  {'find', 'a', '(a'}, {'find', 'b', 'a['}, {'find', 'z\\0', '%z'}, {'find', 'z', '%Z'},\n"
    "  {'find', S.rep('a', 300), S.rep('a?', 199)}, {'find', S.rep('a', 300), S.rep('a?', "
    "200)},\n"
    "  {'find', S.rep('b', 300), S.rep('a?', 250)}, {'match', 'a', S.rep('(', 32)},\n"
    "  {'match', 'a', S.rep('(', 33)}, {'match', 'a', S.rep('()', 32)}, {'match', 'a', "
    "S.rep('()', 33)},\n"
    "  {'gmatch', 'one two  three', '%a+'}, {'gmatch', 'k=v, x=y', '(%w+)=(%w+)'},\n"
    "  {'gmatch', '^a^a', '^a'}, {'gmatch', 'abc', ''}, {'gmatch', 'abcabc', '()b', 3},\n"
    "  {'gmatch', 'abc', 'x*', 10}, {'gmatch', 'abc', '.', -1}, {'gmatch', 'aaa', 'a-'},\n"
    "  {'gsub', 'abc', '.', {a = 1, b = true}}, {'gsub', 'abc', '.', function() return {} end},\n"
    "  {'gsub', 'abc', '(.)(.)', function(a, b) return b .. a end}, {'gsub', 'abc', '.', 1.5},\n"
    "  {'gsub', 'abc', '.', 'x', 0}, {'gsub', 'abc', '.', 'x', -5}, {'gsub', 'abc', '.', nil},\n"
    "  {'gsub', 'abc', '.', 'x', 1.5}, {'find', 'abc', 'b', 1.5}, {'find', 'abc', 'b', 'x'},\n"
    "  {'find', nil, 'a'}, {'match', 'a', {}}, {'gmatch', 'abc'}, {'find', 123, 2},\n"
    "  {'find', big, 'd ab(c)d', 5}, {'find', big, S.rep('ab%(c%)d ', 30)},\n"
    "  {'gsub', big, '%((%a)%)', '<%1>'}, {'gsub', big, 'b', S.rep('x', 100)},\n"
    "  {'gsub', big, '%w+', {ab = 'AB'}}, {'gsub', big, '%s', function(s) return nil end},\n"
    "  {'match', big, '.*(ab)'}, {'match', big, '^(.-)%s*$'}, {'find', big, '%f[%)]'},\n"
    "  {'match', S.rep('a', 100), S.rep('a?', 60) .. S.rep('a', 40) .. '$'},\n"
    "  {'gmatch', big:sub(1, 2000), '%b()'}, {'find', S.rep('a', 10000) .. 'b', S.rep('a', "
    "5000) .. 'b', 1, true},\n"
    "  {'match', 'x\\0y\\0z', '%z(.)%z'}, {'find', 'a\\0b', '\\0', 1, true}, {'find', 'a\\0b', "
    "'[\\0]'},\n"
    "  {'match', '\\255\\128', '[\\128-\\255]+'}, {'match', 'a-z', '[a%-z]+'}, {'match', ']', "
    "'[]]'},\n"
    "  {'match', 'a]', '[^]]'}, {'match', '-', '[a-]'}, {'match', 'b', '[]-a]'},\n"
    "  {'find', S.rep('aab', 50) .. 'aac', 'aac', 1, true}, {'find', S.rep('aab', 50), 'aac', "
    "1, true},\n"
    "  {'find', S.rep('aab', 50) .. 'aac', 'aac%a*'}, {'gsub', S.rep('aab', 50) .. 'aac', 'aa', "
    "'X'},\n"
    "  {'match', 'x1_', '[%a%d%s%p%C%Z_]+'}, {'match', 'x1_', '[^%W%S]+'}, {'gsub', 'aXb', "
    "'%f[%u]', '|'},\n"
    "}\n"
    "for _, c in ipairs(cases) do compare(c[1], {table.unpack(c, 2, 6)}, 5, 50000000) end\n";

/* (1) the same behaviour as the stock library, fixed then generated cases */
static void agrees_with_the_stock_library(void)
{
    lua_State *L = new_state();
    lua_Integer cases, skipped, bad, errors;

    CHECK(run(L, harness) == 0);
    CHECK(run(L, fixed_cases) == 0);
    CHECK(run(L, "generated(12000)") == 0);
    lua_getglobal(L, "summary");
    lua_call(L, 0, 4);
    cases = lua_tointeger(L, -4);
    skipped = lua_tointeger(L, -3);
    bad = lua_tointeger(L, -2);
    errors = lua_tointeger(L, -1);
    printf("differential: %lld calls compared (%lld raised errors), %lld skipped over the cap, "
           "%lld differ\n",
           (long long)cases, (long long)errors, (long long)skipped, (long long)bad);
    CHECK(bad == 0);
    CHECK(cases >= 48000);
    CHECK(errors >= 2000);
    CHECK(skipped * 100 < cases);
    lua_close(L);
}

/* (2) the example that blocks stock Lua for seconds stops at the budget */
static void a_catastrophic_pattern_stops_at_the_budget(void)
{
    lua_State *L = new_state();
    clock_t t0 = clock();

    budget(10000000);
    CHECK(run(L, "local ok, err = pcall(P.find, ('a'):rep(350), '.-.-.-b')\n"
                 "return (not ok and err:find('instruction limit exceeded$')) and 1 or 0") == 1);
    CHECK(charged > 10000000 && charged < 10000000 + 2 * 1024);
    printf("catastrophic find: stopped after %zu units in %.0f ms\n", charged,
           (double)(clock() - t0) * 1000 / CLOCKS_PER_SEC);
    lua_close(L);
}

/* (3) a trim that is quadratic in stock Lua is charged quadratically */
static void a_quadratic_trim_is_charged_quadratically(void)
{
    lua_State *L = new_state();
    const double n = 2000;

    budget(SIZE_MAX);
    CHECK(run(L, "local s = 'x' .. (' '):rep(2000) .. 'x'\n"
                 "return P.match(s, '^%s*(.-)%s*$') == s and 1 or 0") == 1);
    CHECK((double)charged >= n * n / 2);
    printf("trim of 2000 spaces between two letters: %zu units (n^2 = %.0f)\n", charged, n * n);
    budget(SIZE_MAX);
    CHECK(run(L, "local s = (' '):rep(2000) .. 'x'\n"
                 "return P.gsub(s, '%s+$', '') == s and 1 or 0") == 1);
    CHECK((double)charged >= n * n / 2);

    /* 100 KB of spaces: about 5e9 steps, stopped at 10M units. */
    budget(10000000);
    CHECK(run(L, "local s = (' '):rep(100000) .. 'x'\n"
                 "local ok, err = pcall(P.gsub, s, '%s+$', '')\n"
                 "return (not ok and err:find('instruction limit exceeded$')) and 1 or 0") == 1);
    budget(10000000);
    CHECK(run(L, "local s = 'x' .. (' '):rep(100000) .. 'x'\n"
                 "local ok, err = pcall(P.match, s, '^%s*(.-)%s*$')\n"
                 "return (not ok and err:find('instruction limit exceeded$')) and 1 or 0") == 1);
    lua_close(L);
}

/* (4) charges come in batches of about 1024 units, plus one per call */
static void charges_come_in_batches(void)
{
    lua_State *L = new_state();

    budget(SIZE_MAX);
    CHECK(run(L, "return #P.match('x' .. (' '):rep(1000) .. 'x', '^%s*(.-)%s*$')") == 1002);
    CHECK(charged > 100000);
    CHECK(charge_calls <= charged / 1024 + 1);
    CHECK(charge_calls >= charged / 1024 / 2);

    /* A small call charges once, at its end, with what it used. */
    budget(SIZE_MAX);
    CHECK(run(L, "for i = 1, 100 do P.find('key=value', '(%w+)=(%w+)') end return 1") == 1);
    CHECK(charge_calls == 100);
    CHECK(charged >= 100 * 10 && charged <= 100 * 100);

    /* A plain find charges about len/16. */
    budget(SIZE_MAX);
    CHECK(run(L, "return P.find(('a'):rep(160000) .. 'b', 'b', 1, true)") == 160001);
    CHECK(charged >= 10000 && charged <= 10100);
    budget(SIZE_MAX);
    CHECK(run(L, "return P.find(('a'):rep(160000) .. 'b', 'ab')") == 160000);
    CHECK(charged >= 10000 && charged <= 10100);
    lua_close(L);
}

/* (5) a charge that raises mid-gsub (or mid-gmatch) leaves nothing behind:
 * everything it held was Lua's, and is collected (ASan's leak check covers
 * malloc in the sanitizer build). */
static void a_raising_charge_leaks_nothing(void)
{
    lua_State *L = new_state();
    int before, after;

    CHECK(run(L, "big = ('abc '):rep(250000) return 1") == 1);
    lua_gc(L, LUA_GCCOLLECT);
    before = lua_gc(L, LUA_GCCOUNT);
    for (size_t limit = 1000; limit <= 1000000; limit *= 10) {
        budget(limit);
        CHECK(run(L,
                  "local ok, err = pcall(P.gsub, big, '%w+', '<%0%0>')\n"
                  "return (not ok and err:find('instruction limit exceeded$')) and 1 or 0") == 1);
        budget(limit);
        CHECK(run(L,
                  "local ok, err = pcall(P.gsub, big, '(%w)(%w*)', function(a, b)\n"
                  "  return b .. a end)\n"
                  "return (not ok and err:find('instruction limit exceeded$')) and 1 or 0") == 1);
        budget(limit);
        CHECK(run(L,
                  "local ok, err = pcall(P.gsub, big, '%w+', {abc = 'x'})\n"
                  "return (not ok and err:find('instruction limit exceeded$')) and 1 or 0") == 1);
        budget(limit);
        CHECK(run(L,
                  "local n = 0\n"
                  "local ok, err = pcall(function()\n"
                  "  for w in P.gmatch(big, '%a+') do n = n + 1 end end)\n"
                  "return (not ok and err:find('instruction limit exceeded$')) and 1 or 0") == 1);
        budget(limit);
        CHECK(run(L,
                  "local ok, err = pcall(P.find, big .. ('(x)'):rep(100), ('(%a)'):rep(30) .. "
                  "'$')\n"
                  "return (not ok and err:find('instruction limit exceeded$')) and 1 or 0") == 1);
    }
    budget(SIZE_MAX);
    lua_gc(L, LUA_GCCOLLECT);
    after = lua_gc(L, LUA_GCCOUNT);
    CHECK(after <= before + 1);
    lua_close(L);
}

/* ---- `test_pattern bench` ---------------------------------------------- */

static const char bench_chunk[] =
    "local text = ('The quick brown fox, 42 jumps; over the lazy dog = 7.5 '):rep(20)\n"
    "local kv = 'content-type = application/json'\n"
    "local cases = {\n"
    "  {'find plain', function(F) return F.find(text, 'lazy dog = 7.5 The', 1, true) end},\n"
    "  {'find %d+', function(F) return F.find(text, '%d+') end},\n"
    "  {'find literal', function(F) return F.find(text, 'zzz?') end},\n"
    "  {'match kv', function(F) return F.match(kv, '^([%w%-]+)%s*=%s*(.-)%s*$') end},\n"
    "  {'match trim', function(F) return F.match('   hello world   ', '^%s*(.-)%s*$') end},\n"
    "  {'match set', function(F) return F.match('identifier_42(x)', '^[%a_][%w_]*') end},\n"
    "  {'match date', function(F) return F.match('2024-05-17T10:20:30Z', "
    "'(%d+)-(%d+)-(%d+)T(%d+):(%d+)') end},\n"
    "  {'gmatch words', function(F) local n = 0 for w in F.gmatch(text, '%a+') do n = n + 1 "
    "end return n end},\n"
    "  {'gmatch csv', function(F) local n = 0 for w in F.gmatch('a,bb,ccc,dddd,e,ff', "
    "'[^,]+') do n = n + 1 end return n end},\n"
    "  {'gsub spaces', function(F) return F.gsub(text, '%s+', ' ') end},\n"
    "  {'gsub func', function(F) return F.gsub(text, '%d+', function(d) return d end) end},\n"
    "  {'gsub table', function(F) return F.gsub('$a and $b', '%$(%w+)', {a = 1, b = 2}) end},\n"
    "  {'gsub escape', function(F) return F.gsub('a.b*c', '[%.%*]', '%%%0') end},\n"
    "}\n"
    "local total_s, total_p = 0, 0\n"
    "for _, c in ipairs(cases) do\n"
    "  local name, f = c[1], c[2]\n"
    "  local n, t0 = 1, os.clock()\n"
    "  repeat n = n * 2; t0 = os.clock(); for _ = 1, n do f(string) end until os.clock() - t0 "
    "> 0.05\n"
    "  local best = {}\n"
    "  for k, F in ipairs({string, P}) do\n"
    "    best[k] = math.huge\n"
    "    for _ = 1, 5 do\n"
    "      t0 = os.clock()\n"
    "      for _ = 1, n do f(F) end\n"
    "      best[k] = math.min(best[k], (os.clock() - t0) / n)\n"
    "    end\n"
    "  end\n"
    "  total_s, total_p = total_s + best[1], total_p + best[2]\n"
    "  print(string.format('%-14s stock %8.0f ns  ours %8.0f ns  ratio %.2f', name,\n"
    "                      best[1] * 1e9, best[2] * 1e9, best[2] / best[1]))\n"
    "end\n"
    "print(string.format('%-14s stock %8.0f ns  ours %8.0f ns  ratio %.2f', 'total',\n"
    "                    total_s * 1e9, total_p * 1e9, total_p / total_s))\n"
    "return 0\n";

static int bench(void)
{
    lua_State *L = new_state();
    int r = run(L, bench_chunk) == 0 ? 0 : 1;

    lua_close(L);
    return r;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "bench") == 0)
        return bench();
    agrees_with_the_stock_library();
    a_catastrophic_pattern_stops_at_the_budget();
    a_quadratic_trim_is_charged_quadratically();
    charges_come_in_batches();
    a_raising_charge_leaks_nothing();
    DONE();
}
