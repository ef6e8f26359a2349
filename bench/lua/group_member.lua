-- PATCH /Groups/{BENCH_GROUP}: add one member (Okta's push form) or remove one, alternately,
-- so every request changes the group and the group keeps about the size it was seeded with,
-- as the workload names it: "add one member to a group of N". BENCH_LIST holds users outside
-- the group. Each thread adds its share of them in order and removes each again LAG adds
-- later: its group then holds at most LAG + 1 of them (per thread), and a remove is never
-- sent while its add may still be in flight (a thread has at most 16 requests in flight
-- at 32 connections; a remove without its member would be a 400 noTarget).
-- (Until session 21 each thread added its whole share of the list before removing any, so a
-- "group of 1 000" grew by thousands of members during a run, and every 200 carried them all.)
package.path = (os.getenv("BENCH_LUA_DIR") or ".") .. "/?.lua;" .. package.path
local c = require("common")
setup = c.setup
done = c.done
local threads = tonumber(os.getenv("BENCH_THREADS")) or 2
local group = os.getenv("BENCH_GROUP")
local LAG = 32
local ids = {}
local added, removed = 0, 0
local adding = true

function init(args)
  local all = c.load_list()
  for k = tid + 1, #all, threads do ids[#ids + 1] = all[k] end
end

function request()
  local op
  if adding or added <= LAG then
    added = added + 1
    local id = ids[(added - 1) % #ids + 1]
    op = '{"op":"add","path":"members","value":[{"value":"' .. id .. '"}]}'
  else
    removed = removed + 1
    local id = ids[(removed - 1) % #ids + 1]
    op = '{"op":"remove","path":"members[value eq \\"' .. id .. '\\"]"}'
  end
  adding = not adding
  local body = '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[' .. op .. ']}'
  return c.request("PATCH", c.prefix .. "/Groups/" .. group, body)
end
