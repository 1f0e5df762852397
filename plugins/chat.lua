-- chat.lua -- an example message handler for the "chat" type, payload
-- { text = "...", from = "..." }. It drops chat messages without text,
-- stops spreading anything over max_length (processed here, not
-- forwarded), trims whitespace before forwarding, and counts messages per
-- origin in its state (kept across reloads).
--
-- Settings: { "chat", max_length = 2000 }
local max_length = tonumber(config.max_length) or 2000

state.by_origin = state.by_origin or {}

on.message("chat", function(msg)
  local text = type(msg.payload) == "table" and msg.payload.text
  if type(text) ~= "string" or text:match("^%s*$") then
    return "drop"
  end
  state.by_origin[msg.origin] = (state.by_origin[msg.origin] or 0) + 1
  if #text > max_length then
    return "stop"
  end
  local trimmed = text:match("^%s*(.-)%s*$")
  if trimmed ~= text then
    msg.payload.text = trimmed
    return "accept", msg.payload
  end
end)
