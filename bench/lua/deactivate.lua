-- Pathless PATCH of `active` (Okta's deactivation). Thread t walks its own share of the ids;
-- the first pass sends active=false, the next true, and so on, so every request is a change.
package.path = (os.getenv("BENCH_LUA_DIR") or ".") .. "/?.lua;" .. package.path
local c = require("common")
setup = c.setup
done = c.done
local threads = tonumber(os.getenv("BENCH_THREADS")) or 2
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
  local active = (pass % 2 == 1) and "true" or "false"
  local body = '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],' ..
    '"Operations":[{"op":"replace","value":{"active":' .. active .. '}}]}'
  return c.request("PATCH", c.prefix .. "/Users/" .. ids[i], body)
end
