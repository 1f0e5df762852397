-- chat.lua -- an example message handler for the "chat" type, payload
-- { text = "...", from = "..." }. It drops chat messages without text,
-- stops spreading anything over max_length (processed here, not
-- forwarded), trims whitespace before forwarding, and counts messages per
-- origin in its state (kept across reloads).
--
-- Its work is linear in the text (no backtracking pattern: one over
-- leading blanks, one loop back over trailing ones), and its state is
-- bounded: at most max_origins origins are counted by name, the rest
-- together under "(others)".
--
-- Settings: { "chat", max_length = 2000, max_origins = 1000 }
local max_length = tonumber(config.max_length) or 2000
local max_origins = tonumber(config.max_origins) or 1000

state.by_origin = state.by_origin or {}
state.origins = state.origins or 0

-- Bytes Lua's %s matches: \t \n \v \f \r and space.
local function blank(b) return b == 32 or (b >= 9 and b <= 13) end

-- text (not all whitespace) without leading and trailing whitespace.
local function trim(text)
  local first = text:find("%S")
  local last = #text
  while blank(text:byte(last)) do last = last - 1 end
  return text:sub(first, last)
end

local function count(origin)
  local n = state.by_origin[origin]
  if not n and state.origins >= max_origins then
    origin, n = "(others)", state.by_origin["(others)"]
  elseif not n then
    state.origins = state.origins + 1
  end
  state.by_origin[origin] = (n or 0) + 1
end

on.message("chat", function(msg)
  local text = type(msg.payload) == "table" and msg.payload.text
  if type(text) ~= "string" or not text:find("%S") then
    return "drop"
  end
  count(msg.origin)
  if #text > max_length then
    return "stop"
  end
  local trimmed = trim(text)
  if trimmed ~= text then
    msg.payload.text = trimmed
    return "accept", msg.payload
  end
end)
