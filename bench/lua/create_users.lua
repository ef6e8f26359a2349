-- POST /Users with a new userName on every request (Okta's create body shape).
package.path = (os.getenv("BENCH_LUA_DIR") or ".") .. "/?.lua;" .. package.path
local c = require("common")
setup = c.setup
done = c.done
local n = 0

function request()
  n = n + 1
  local name = string.format("new-%s-%d-%d@example.com", c.nonce, tid, n)
  local body = string.format(
    '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"%s",' ..
    '"name":{"givenName":"Ada","familyName":"Lovelace %d"},' ..
    '"emails":[{"primary":true,"value":"%s","type":"work"}],"displayName":"Ada Lovelace",' ..
    '"externalId":"ext-%s-%d-%d","active":true}', name, n, name, c.nonce, tid, n)
  return wrk.format("POST", c.prefix .. "/Users", c.headers, body)
end
