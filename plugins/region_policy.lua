-- region_policy.lua -- peer selection policy "region": keeps most traffic
-- inside this node's region, as given by the `region` tag peers advertise
-- (set `tags = { region = "eu-west" }` in each node.lua), while always
-- sending `remote` copies out of the region so every region hears every
-- message. Candidates without a region tag count as remote.
--
-- Settings: { "region_policy", remote = 1, region = "eu-west" }
-- (region defaults to this node's own `region` tag.)
local remote_wanted = tonumber(config.remote) or 1

local function my_region()
  if config.region then return config.region end
  local tags = node.health().tags
  return tags and tags.region
end

local function shuffle(t)
  for i = #t, 2, -1 do
    local j = math.random(1, i)
    t[i], t[j] = t[j], t[i]
  end
  return t
end

policy("region", function(msg, candidates, want)
  local region = state.region or my_region()
  state.region = region
  local local_, remote = {}, {}
  for _, c in ipairs(candidates) do
    if region and c.tags.region == region then
      local_[#local_ + 1] = c
    else
      remote[#remote + 1] = c
    end
  end
  shuffle(local_)
  shuffle(remote)
  local picked = {}
  local n_remote = math.min(remote_wanted, #remote, want)
  for i = 1, n_remote do picked[#picked + 1] = remote[i] end
  for i = 1, #local_ do
    if #picked >= want then break end
    picked[#picked + 1] = local_[i]
  end
  -- Not enough peers in the region: fill up with more remote ones.
  for i = n_remote + 1, #remote do
    if #picked >= want then break end
    picked[#picked + 1] = remote[i]
  end
  return picked
end)
