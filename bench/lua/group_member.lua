-- PATCH /Groups/{BENCH_GROUP}: add one member (Okta's push form), then on the next pass over
-- the thread's share of BENCH_LIST (users outside the group) remove them again, so every
-- request changes the group.
package.path = (os.getenv("BENCH_LUA_DIR") or ".") .. "/?.lua;" .. package.path
local c = require("common")
setup = c.setup
done = c.done
local threads = tonumber(os.getenv("BENCH_THREADS")) or 2
local group = os.getenv("BENCH_GROUP")
local ids = {}
local i = 0
local pass = 0

function init(args)
  local all = c.load_list()
  for k = tid + 1, #all, threads do ids[#ids + 1] = all[k] end
end

function request()
  i = i + 1
  if i > #ids then i = 1; pass = pass + 1 end
  local op
  if pass % 2 == 0 then
    op = '{"op":"add","path":"members","value":[{"value":"' .. ids[i] .. '"}]}'
  else
    op = '{"op":"remove","path":"members[value eq \\"' .. ids[i] .. '\\"]"}'
  end
  local body = '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[' .. op .. ']}'
  return c.request("PATCH", c.prefix .. "/Groups/" .. group, body)
end
