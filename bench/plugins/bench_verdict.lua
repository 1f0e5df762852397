-- bench_verdict.lua -- the plugin benchmark's judging handler (issue 19):
-- sees every message type, reads the payload and gives every message a
-- verdict that ends it here: "reject" when it has no text (never, under
-- the benchmark's load), else "ignore". Each message thus takes the
-- verdict path (counted, the sender looked up for its score) instead of
-- being passed on.
on.message("*", function(msg)
  local p = msg.payload
  if type(p) ~= "table" or type(p.text) ~= "string" then return "reject" end
  return "ignore"
end)
