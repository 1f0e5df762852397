-- Loads the hearsay module into the stock lua5.4 interpreter (not the
-- hearsay binary) and gossips between two nodes: the module stands alone.
local hs = require "hearsay"
local loop = hs.loop()
local a = hs.node(loop, { port = 0, log_level = "error" })
assert(a:start())
local b = hs.node(loop, { port = 0, bootstrap = { a:url() }, log_level = "error" })
assert(b:start())
local got
b:on("message", function(m) if m.type == "chat" then got = m end end)
assert(loop:run_until(function() return #a:peers() > 0 end, 5), "b joined a")
a:broadcast("chat", { text = "hello" })
assert(loop:run_until(function() return got ~= nil end, 5), "b got the message")
assert(got.payload.text == "hello" and got.hops == 1)
a:close(); b:close(); loop:close()
print("1 passed, 0 failed")
