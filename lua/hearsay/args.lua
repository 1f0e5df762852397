-- args.lua -- a small getopt for the hearsay CLI: "--name value",
-- "--name=value" and boolean "--flag"; everything else is positional.
-- parse(argv, spec) returns opts, positional or nil, error text.
local M = {}

-- spec: { name = "number" | "string" | "boolean" | "list" }
function M.parse(argv, spec)
  local opts, pos = {}, {}
  local i = 1
  while i <= #argv do
    local a = argv[i]
    if a == "--" then
      table.move(argv, i + 1, #argv, #pos + 1, pos)
      break
    end
    local name, value = a:match("^%-%-([%w%-_]+)=(.*)$")
    name = name or a:match("^%-%-([%w%-_]+)$")
    if a == "-h" then name = "help" end
    if a == "-e" then name = "eval" end
    if name then
      local key = name:gsub("%-", "_")
      local kind = spec[key]
      if not kind then return nil, "unknown option --" .. name end
      if kind == "boolean" then
        if value then return nil, "--" .. name .. " takes no value" end
        opts[key] = true
      else
        if not value then
          i = i + 1
          value = argv[i]
          if value == nil then return nil, "--" .. name .. " needs a value" end
        end
        if kind == "number" then
          local n = tonumber(value)
          if not n then return nil, "--" .. name .. " needs a number, got '" .. value .. "'" end
          opts[key] = n
        elseif kind == "list" then
          opts[key] = opts[key] or {}
          table.insert(opts[key], value)
        else
          opts[key] = value
        end
      end
    else
      pos[#pos + 1] = a
    end
    i = i + 1
  end
  return opts, pos
end

return M
