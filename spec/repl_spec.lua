-- The console's evaluation core: fed lines like the stock `lua` REPL, it
-- prints values, continues unfinished input, survives errors, and writes
-- only through the caller's write(). repl.pretty renders values safely.
local repl = require "hearsay.repl"

-- A console over `env` (a fresh table unless given); take() returns what
-- was written since the last take().
local function console(env)
  local written = {}
  local session = repl.new {
    env = env or {},
    write = function(text) written[#written + 1] = text end,
    chunkname = "=console",
  }
  local function take()
    local text = table.concat(written)
    written = {}
    return text
  end
  return session, take
end

describe("printing values", function()
  it("prints the value of `=expr`", function()
    local session, take = console()
    assert.equal("> ", session:feed("=1+1"))
    assert.equal("2\n", take())
  end)

  it("prints the value of a bare expression", function()
    local session, take = console({ peers = function() return { "a", "b" } end })
    session:feed("peers()")
    assert.equal('{ "a", "b" }\n', take())
  end)

  it("separates several values with tabs, nil included", function()
    local session, take = console()
    session:feed("1, nil, 'x'")
    assert.equal('1\tnil\t"x"\n', take())
  end)

  it("prints a lone nil", function()
    local session, take = console()
    session:feed("nope")
    assert.equal("nil\n", take())
  end)

  it("prints nothing for a statement or a bare return", function()
    local session, take = console()
    assert.equal("> ", session:feed("local y = 1"))
    session:feed("return")
    assert.equal("", take())
  end)

  it("ignores a blank line", function()
    local session, take = console()
    assert.equal("> ", session:feed("   \t"))
    assert.equal("", take())
  end)
end)

describe("globals", function()
  it("persist between lines and land in env", function()
    local env = {}
    local session, take = console(env)
    session:feed("x = 41")
    assert.equal(41, env.x)
    session:feed("x + 1")
    assert.equal("42\n", take())
  end)

  it("are read from env", function()
    local session, take = console({ answer = 42 })
    session:feed("answer")
    assert.equal("42\n", take())
  end)
end)

describe("print", function()
  it("goes through write, tab-separated like the stock print", function()
    local session, take = console()
    session:feed("print(1, nil, 'a')")
    assert.equal("1\tnil\ta\n", take())
  end)

  it("is the caller's own when env has one", function()
    local printed
    local session, take = console({ print = function(...) printed = { ... } end })
    session:feed("print('mine')")
    assert.same({ "mine" }, printed)
    assert.equal("", take())
  end)

  it("is not copied into env", function()
    local env = {}
    local session = console(env)
    session:feed("print('x')")
    assert.is_nil(rawget(env, "print"))
  end)
end)

describe("unfinished input", function()
  it("waits for the rest of a function with the '>> ' prompt", function()
    local env = {}
    local session, take = console(env)
    assert.equal(">> ", session:feed("function f()"))
    assert.equal(">> ", session:feed("  return 1"))
    assert.equal("> ", session:feed("end"))
    assert.equal("function", type(env.f))
    session:feed("f()")
    assert.equal("1\n", take())
  end)

  it("continues a table constructor across lines", function()
    local env = {}
    local session = console(env)
    assert.equal(">> ", session:feed("t = {"))
    assert.equal(">> ", session:feed("  1, 2,"))
    assert.equal("> ", session:feed("}"))
    assert.same({ 1, 2 }, env.t)
  end)

  it("continues a long string, keeping its newline", function()
    local env = {}
    local session = console(env)
    assert.equal(">> ", session:feed("s = [[first"))
    assert.equal("> ", session:feed("second]]"))
    assert.equal("first\nsecond", env.s)
  end)

  it("continues an unfinished expression", function()
    local session, take = console()
    assert.equal(">> ", session:feed("1 +"))
    assert.equal("> ", session:feed("2"))
    assert.equal("3\n", take())
  end)

  it("keeps blank lines inside unfinished input", function()
    local session = console()
    session:feed("do")
    assert.equal(">> ", session:feed(""))
    assert.equal("> ", session:feed("end"))
  end)

  it("is dropped by reset()", function()
    local session, take = console()
    assert.equal(">> ", session:feed("function g()"))
    assert.equal("> ", session:reset())
    -- Had "function g()" been kept, this would be a syntax error.
    assert.equal("> ", session:feed("1"))
    assert.equal("1\n", take())
  end)
end)

describe("syntax errors", function()
  it("are written with the chunk name and reset the prompt", function()
    local session, take = console()
    session:feed("t = {")
    assert.equal("> ", session:feed("= }"))
    assert.matches("^console:2: unexpected symbol near '='\n$", take())
  end)

  it("leave the session usable", function()
    local session, take = console()
    session:feed("x = = 1")
    take()
    session:feed("2")
    assert.equal("2\n", take())
  end)

  it("refuse binary chunks: code is compiled as text only", function()
    local session, take = console()
    assert.equal("> ", session:feed(string.dump(function() return 42 end)))
    local out = take()
    assert.matches("attempt to load a binary chunk", out)
    assert.not_matches("42", out)
  end)
end)

describe("runtime errors", function()
  it("are written with a traceback that shows no REPL or caller frames", function()
    local session, take = console({ error = error })
    assert.equal("> ", session:feed("function f() error('boom') end"))
    session:feed("f()")
    local out = take()
    assert.matches("^console:1: boom\nstack traceback:\n", out)
    assert.matches("in function 'error'", out)
    assert.matches("\n$", out)
    assert.not_matches("repl%.lua", out)
    assert.not_matches("xpcall", out)
    assert.not_matches("busted", out)
  end)

  it("leave the session usable", function()
    local session, take = console({ error = error })
    session:feed("error('boom')")
    take()
    session:feed("1")
    assert.equal("1\n", take())
  end)

  it("describe a non-string error object like the stock lua does", function()
    local session, take = console({ error = error, setmetatable = setmetatable })
    session:feed("error({})")
    assert.matches("^%(error object is a table value%)\n", take())
    session:feed("error(setmetatable({}, { __tostring = function() return 'custom' end }))")
    assert.matches("^custom\n", take())
  end)
end)

describe("repl.pretty", function()
  local pretty = repl.pretty

  it("quotes strings, escaping newlines readably", function()
    assert.equal('"say \\"hi\\"\\nbye"', pretty('say "hi"\nbye'))
  end)

  it("shows numbers, booleans and nil as tostring does", function()
    assert.equal("1.5", pretty(1.5))
    assert.equal("true", pretty(true))
    assert.equal("nil", pretty(nil))
  end)

  it("wraps functions in angle brackets", function()
    assert.matches("^<function: .+>$", pretty(print))
  end)

  it("shows a sequence, then the other keys: numbers, then strings, sorted", function()
    local t = { "a", "b", zeta = 1, alpha = 2, [10] = true, [2.5] = false }
    assert.equal('{ "a", "b", [2.5] = false, [10] = true, alpha = 2, zeta = 1 }', pretty(t))
  end)

  it("brackets and quotes keys that are not identifiers", function()
    assert.equal('{ ["end"] = 1, ["two words"] = 2 }', pretty({ ["two words"] = 2, ["end"] = 1 }))
  end)

  it("shows an empty table as {}", function()
    assert.equal("{}", pretty({}))
  end)

  it("keeps short nested tables on one line", function()
    assert.equal("{ 1, { 2, { 3 } }, peer = { id = 7 } }", pretty({ 1, { 2, { 3 } }, peer = { id = 7 } }))
  end)

  it("puts a long table one entry per line, indented", function()
    local t = { name = ("x"):rep(40), addr = ("y"):rep(40), tags = { 1, 2 } }
    assert.equal(table.concat({
      "{",
      '  addr = "' .. ("y"):rep(40) .. '",',
      '  name = "' .. ("x"):rep(40) .. '",',
      "  tags = { 1, 2 },",
      "}",
    }, "\n"), pretty(t))
  end)

  it("indents nested multi-line tables with opts.indent", function()
    local t = { inner = { a = ("a"):rep(40), b = ("b"):rep(40) } }
    assert.equal(table.concat({
      "{",
      "\tinner = {",
      '\t\ta = "' .. ("a"):rep(40) .. '",',
      '\t\tb = "' .. ("b"):rep(40) .. '",',
      "\t},",
      "}",
    }, "\n"), pretty(t, { indent = "\t" }))
  end)

  it("shows a cycle as <cycle>, but not a table seen twice", function()
    local t = {}
    t.self = t
    assert.equal("{ self = <cycle> }", pretty(t))
    local shared = { 1 }
    assert.equal("{ a = { 1 }, b = { 1 } }", pretty({ a = shared, b = shared }))
  end)

  it("elides tables deeper than max_depth (default 4)", function()
    local t = { a = { b = { c = { d = { e = 1 } } } } }
    assert.equal("{ a = { b = { c = { d = {...} } } } }", pretty(t))
    assert.equal("{ a = {...} }", pretty(t, { max_depth = 1 }))
  end)

  it("shows at most max_items entries (default 50) and counts the rest", function()
    local t = {}
    for i = 1, 10 do t[i] = i end
    t.extra = true
    assert.equal("{ 1, 2, 3, ... (8 more) }", pretty(t, { max_items = 3 }))
    local big = {}
    for i = 1, 60 do big[i] = 0 end
    assert.matches("\n  %.%.%. %(10 more%),\n}$", pretty(big))
  end)

  it("uses __tostring when a table has one", function()
    local peer = setmetatable({}, { __tostring = function() return "peer(a)" end })
    assert.equal("peer(a)", pretty(peer))
    assert.equal("{ peer(a) }", pretty({ peer }))
  end)

  it("never raises, even when __tostring does", function()
    local bad = setmetatable({}, { __tostring = function() error("no") end })
    assert.equal("<table: __tostring failed>", pretty(bad))
  end)

  it("does not run __index or __pairs", function()
    local trap = setmetatable({ 1, k = "v" }, {
      __index = function() error("__index ran") end,
      __pairs = function() error("__pairs ran") end,
    })
    assert.equal('{ 1, k = "v" }', pretty(trap))
  end)
end)
