-- bench_query.lua -- the query benchmark's answer: every node answers the
-- query "bench" with a small table.
on.query("bench", function(q) return { ok = true, n = q.payload and q.payload.k } end)
