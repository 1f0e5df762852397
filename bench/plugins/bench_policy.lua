-- bench_policy.lua -- the plugin benchmark's peer-selection policy "bench":
-- a uniform random sample of `want` candidates (what the core does without
-- a policy), returned as indices, the cheapest answer to read back.
policy("bench", function(msg, candidates, want)
  local n = #candidates
  local idx = {}
  for i = 1, n do idx[i] = i end
  for i = 1, math.min(want, n) do
    local j = math.random(i, n)
    idx[i], idx[j] = idx[j], idx[i]
  end
  for i = n, want + 1, -1 do idx[i] = nil end
  return idx
end)
