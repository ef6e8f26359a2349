-- An Okta-like mix per 20 requests: 8 userName lookups, 4 GET by id, 3 profile PATCHes
-- (replace name.givenName), 2 creates, 2 deactivation PATCHes, 1 import page.
package.path = (os.getenv("BENCH_LUA_DIR") or ".") .. "/?.lua;" .. package.path
local c = require("common")
setup = c.setup
done = c.done
local pages = math.floor((tonumber(os.getenv("BENCH_TOTAL")) or 100000) / 100)
local ids, names = {}, {}
local n = 0

function init(args)
  math.randomseed(os.time() + tid * 7919)
  for _, line in ipairs(c.load_list()) do
    local id, name = line:match("^(%S+)%s+(%S+)$")
    if id then ids[#ids + 1] = id; names[#names + 1] = name end
  end
end

local function patch(id, value)
  local body = '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[' .. value .. ']}'
  return c.request("PATCH", c.prefix .. "/Users/" .. id, body)
end

function request()
  n = n + 1
  local slot = n % 20
  local k = math.random(#ids)
  if slot < 8 then
    return c.request("GET", c.prefix .. "/Users?filter=" .. c.urlencode('userName eq "' .. names[k] .. '"'))
  elseif slot < 12 then
    return c.request("GET", c.prefix .. "/Users/" .. ids[k])
  elseif slot < 15 then
    return patch(ids[k], '{"op":"replace","path":"name.givenName","value":"Given ' .. n .. '"}')
  elseif slot < 17 then
    local name = "mixed-" .. c.nonce .. "-" .. tid .. "-" .. n .. "@example.com"
    local body = '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"' .. name ..
      '","name":{"givenName":"Mixed","familyName":"User"},"emails":[{"primary":true,"value":"' .. name ..
      '","type":"work"}],"active":true}'
    return c.request("POST", c.prefix .. "/Users", body)
  elseif slot < 19 then
    local active = (math.random(2) == 1) and "true" or "false"
    return patch(ids[k], '{"op":"replace","value":{"active":' .. active .. '}}')
  else
    local start = (math.random(pages) - 1) * 100 + 1
    return c.request("GET", c.prefix .. "/Users?startIndex=" .. start .. "&count=100")
  end
end
