-- audit.lua -- reactions, for operators: logs every state change and every
-- peer that comes or goes, and keeps the last few of each in its state, so
-- `plugin_state("audit")` in the console shows recent history.
--
-- Settings: { "audit", keep = 20 }
local keep = tonumber(config.keep) or 20

state.changes = state.changes or {}
state.peers = state.peers or {}

local function remember(list, entry)
  list[#list + 1] = entry
  while #list > keep do table.remove(list, 1) end
end

on.state(function(change)
  -- (An empty root, a node's first, shows as "(none)".)
  local function shown(root) return root ~= "" and root or "(none)" end
  log.info("state %s v%d -> %s v%d (from %s)", shown(change.old_root), change.old_version,
    shown(change.root), change.version, change.from or "this node")
  remember(state.changes, { root = change.root, version = change.version,
    from = change.from, at = os.time() })
end)

on.peer(function(peer, up)
  log.info("peer %s %s (%s)", peer.id, up and "up" or "down", peer.url)
  remember(state.peers, { id = peer.id, up = up, at = os.time() })
end)
