-- POST /Users with a new userName on every request (Okta's create body shape).
package.path = (os.getenv("BENCH_LUA_DIR") or ".") .. "/?.lua;" .. package.path
local c = require("common")
setup = c.setup
done = c.done
local n = 0

function request()
  n = n + 1
  -- Concatenated, not string.format: LuaJIT compiles concatenation (see common.request).
  local name = "new-" .. c.nonce .. "-" .. tid .. "-" .. n .. "@example.com"
  local body = '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"' .. name ..
    '","name":{"givenName":"Ada","familyName":"Lovelace ' .. n .. '"},' ..
    '"emails":[{"primary":true,"value":"' .. name .. '","type":"work"}],"displayName":"Ada Lovelace",' ..
    '"externalId":"ext-' .. c.nonce .. "-" .. tid .. "-" .. n .. '","active":true}'
  return c.request("POST", c.prefix .. "/Users", body)
end
