-- GET /Users?filter=userName eq "…" for a random existing userName (Okta's and Entra's
-- matching query before every create).
package.path = (os.getenv("BENCH_LUA_DIR") or ".") .. "/?.lua;" .. package.path
local c = require("common")
setup = c.setup
done = c.done
local paths = {}

function init(args)
  math.randomseed(os.time() + tid * 7919)
  for _, name in ipairs(c.load_list()) do
    paths[#paths + 1] = c.prefix .. "/Users?filter=" .. c.urlencode('userName eq "' .. name .. '"')
  end
end

function request()
  return c.request("GET", paths[math.random(#paths)])
end
