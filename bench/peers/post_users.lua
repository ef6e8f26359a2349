-- wrk script: POST a new User per request, with a userName unique per run,
-- per wrk thread and per request.
-- Usage: wrk -t2 -c16 -d10s -s post_users.lua http://127.0.0.1:PORT/<base>/Users
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  counter = 0
  run = os.getenv("WRK_RUN") or tostring(os.time())
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/scim+json"
end

function request()
  counter = counter + 1
  local name = string.format("wrk-%s-%d-%d", run, tid, counter)
  local body = '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],' ..
    '"userName":"' .. name .. '",' ..
    '"name":{"givenName":"Given' .. counter .. '","familyName":"Family' .. tid .. '"},' ..
    '"emails":[{"value":"' .. name .. '@example.com","type":"work","primary":true}],' ..
    '"active":true,"externalId":"ext-' .. name .. '"}'
  return wrk.format(nil, nil, nil, body)
end
