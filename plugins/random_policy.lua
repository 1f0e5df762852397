-- random_policy.lua -- peer selection policy "random": a uniform sample of
-- `want` candidates. It is what the core does when no policy is chosen; it
-- ships as the smallest example of a policy (select it with
-- policy = "random" in node.lua).
policy("random", function(msg, candidates, want)
  local picked = {}
  for i = 1, #candidates do picked[i] = candidates[i] end
  -- Partial Fisher-Yates: the first `want` slots become the sample.
  for i = 1, math.min(want, #picked) do
    local j = math.random(i, #picked)
    picked[i], picked[j] = picked[j], picked[i]
  end
  for i = #picked, want + 1, -1 do picked[i] = nil end
  return picked
end)
