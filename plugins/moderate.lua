-- moderate.lua: drops "chat" messages from muted nodes, caps their length,
-- counts what it saw (in `state`, which survives reloads), reports every
-- minute, and reacts to state changes and peers.
local max = tonumber(config.max_length) or 500   -- { "moderate", max_length = 500 }
state.seen = state.seen or 0
state.muted = state.muted or {}

on.message("chat", function(msg)
  state.seen = state.seen + 1
  if state.muted[msg.origin] then return "drop" end        -- not processed, not forwarded
  local text = msg.payload.text
  if type(text) ~= "string" then return "drop" end
  if #text > max then
    msg.payload.text = text:sub(1, max) .. "..."
    return "accept", msg.payload                           -- forwarded rewritten
  end
end)                                                       -- nil = accept as is

on.message("mute", function(msg)
  local who = msg.payload.node                             -- from the network: bounded
  if type(who) == "string" and #who <= 64 and (state.n_muted or 0) < 1000 then
    if not state.muted[who] then state.n_muted = (state.n_muted or 0) + 1 end
    state.muted[who] = true
  end
  return "stop"                                            -- processed here, not forwarded
end)

every(60000, function()
  log.info("%d chat messages, %d peers", state.seen, #node.peers())
end)

on.state(function(ch)
  log.info("state %s v%d -> %s v%d from %s", ch.old_root, ch.old_version,
           ch.root, ch.version, ch.from or "us")
end)

on.peer(function(peer, up) log.info("peer %s %s", peer.id, up and "up" or "down") end)
