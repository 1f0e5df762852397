-- latency_policy.lua -- peer selection policy "latency": biased toward the
-- peers with the lowest measured latency, but still random, so slow peers
-- are not starved and the gossip graph stays well mixed. Each candidate is
-- drawn (without replacement) with weight 1 / (latency_ms + 1) ^ power;
-- peers not measured yet weigh as much as the median peer.
--
-- Settings: { "latency_policy", power = 2 }
local power = tonumber(config.power) or 2

local function median_latency(candidates)
  local l = {}
  for _, c in ipairs(candidates) do
    if c.latency_ms then l[#l + 1] = c.latency_ms end
  end
  if #l == 0 then return 1 end
  table.sort(l)
  return l[(#l + 1) // 2]
end

policy("latency", function(msg, candidates, want)
  local median = median_latency(candidates)
  local pool, weights, total = {}, {}, 0
  for i, c in ipairs(candidates) do
    pool[i] = c
    weights[i] = 1 / ((c.latency_ms or median) + 1) ^ power
    total = total + weights[i]
  end
  local picked = {}
  while #picked < want and #pool > 0 do
    local r, k = math.random() * total, #pool
    for i = 1, #pool do
      r = r - weights[i]
      if r <= 0 then k = i break end
    end
    picked[#picked + 1] = pool[k]
    total = total - weights[k]
    table.remove(pool, k)
    table.remove(weights, k)
  end
  return picked
end)
