-- The README's examples, run or checked against the program, so that the
-- README cannot drift from it (issue 20): every `hearsay` command its
-- shell blocks show exists, the TLS recipe makes a certificate that
-- verifies, its node.lua fragments name real settings and parse, the
-- plugin example is the shipped plugins/moderate.lua, and the Lua module
-- example runs.
local config = require "hearsay.config"

local function readme()
  local f = assert(io.open(H.src .. "/README.md"))
  local text = f:read("a")
  f:close()
  return text
end

-- The fenced blocks: { lang = "sh" | "lua" | "", text = ..., line = n }.
local function blocks()
  local list, lang, buf, start = {}, nil, nil, 0
  local n = 0
  for line in (readme() .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    local fence = line:match("^```(%w*)%s*$")
    if fence and not buf then
      lang, buf, start = fence, {}, n + 1
    elseif fence and buf then
      list[#list + 1] = { lang = lang, text = table.concat(buf, "\n"), line = start }
      buf = nil
    elseif buf then
      buf[#buf + 1] = line
    end
  end
  return list
end

local function of(lang)
  local t = {}
  for _, b in ipairs(blocks()) do if b.lang == lang then t[#t + 1] = b end end
  return t
end

describe("the README's examples", function()
  it("has them (the extraction works)", function()
    assert.is_true(#of("sh") >= 4)
    assert.is_true(#of("lua") >= 4)
  end)

  it("shows only hearsay commands there are, each with its --help", function()
    local cmds = {}
    for _, b in ipairs(of("sh")) do
      for cmd in b.text:gmatch("hearsay (%l[%l%-]*)") do cmds[cmd] = b.line end
    end
    assert.is_not_nil(next(cmds))
    for cmd, line in pairs(cmds) do
      local code, out = H.sh(("%q %s --help"):format(H.bin, cmd))
      assert.equal(0, code, ("README.md:%d: hearsay %s --help: %s"):format(line, cmd, out))
      assert.matches("usage: hearsay", out)
    end
  end)

  it("makes a CA and a node certificate with its TLS recipe, and the certificate verifies", function()
    local recipe
    for _, b in ipairs(of("sh")) do
      if b.text:match("openssl req %-x509") then recipe = b end
    end
    assert.is_not_nil(recipe, "the TLS recipe")
    local dir = H.tmpdir()
    local code, out = H.sh(("cd %q && (%s) 2>&1"):format(dir, recipe.text))
    assert.equal(0, code, ("README.md:%d: %s"):format(recipe.line, out))
    code, out = H.sh(("openssl verify -CAfile %q/ca.pem %q/node.pem 2>&1"):format(dir, dir))
    assert.equal(0, code, out)
    local _, mode = H.sh("stat -c %a " .. dir .. "/node.key")
    assert.equal("600", mode:match("%d+"))
  end)

  it("shows node.lua fragments that parse and name real settings", function()
    local checked = 0
    for _, b in ipairs(of("lua")) do
      -- A fragment of node.lua: "key = value," lines (and comments), no
      -- statement.
      local code = b.text:gsub("%-%-[^\n]*", "")
      if not code:match("%f[%w]local%f[%W]") and code:match("^%s*[%w_]+%s*=") then
        local chunk = assert(load("return {\n" .. b.text .. "\n}", "=README.md:" .. b.line))
        local t = chunk()
        for k in pairs(t) do
          assert.is_truthy(config.node_keys[k] or config.shell_keys[k],
            ("README.md:%d: %s is no setting"):format(b.line, tostring(k)))
        end
        checked = checked + 1
      end
    end
    assert.is_true(checked >= 2, checked .. " fragments")
  end)

  for _, name in ipairs({ "moderate", "inventory" }) do
    it("shows plugins/" .. name .. ".lua as it ships", function()
      local f = assert(io.open(H.src .. "/plugins/" .. name .. ".lua"))
      local shipped = f:read("a")
      f:close()
      local shown
      for _, b in ipairs(of("lua")) do
        if b.text:match("^%-%- " .. name .. "%.lua") then shown = b end
      end
      assert.is_not_nil(shown, "the " .. name .. ".lua example")
      assert.equal(shipped:gsub("%s+$", ""), (shown.text:gsub("%s+$", "")))
    end)
  end

  it("runs the Lua module example: b gets a's chat, one hop", function()
    local example
    for _, b in ipairs(of("lua")) do
      if b.text:match('require "hearsay"') and b.text:match("broadcast") then example = b end
    end
    assert.is_not_nil(example, "the module example")
    local file = H.tmpdir() .. "/example.lua"
    H.write(file, example.text)
    local code, out = H.sh(("%q lua %q 2>&1"):format(H.bin, file))
    assert.equal(0, code, ("README.md:%d: %s"):format(example.line, out))
    assert.matches("chat\thello\t1", out)
  end)
end)
