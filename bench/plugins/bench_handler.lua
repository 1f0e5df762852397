-- bench_handler.lua -- the plugin benchmark's message handler: a small,
-- realistic one. It sees every message type, counts messages per type in
-- its state table, reads the payload, and accepts (nil) every message.
state.by_type = state.by_type or {}

on.message("*", function(msg)
  local t = state.by_type
  t[msg.type] = (t[msg.type] or 0) + 1
  if type(msg.payload) == "table" and msg.payload.text == "" then return "drop" end
end)
