-- GET /Users?startIndex=…&count=100 at a random page (an import, many at once).
-- BENCH_TOTAL is the number of users to page through.
package.path = (os.getenv("BENCH_LUA_DIR") or ".") .. "/?.lua;" .. package.path
local c = require("common")
setup = c.setup
done = c.done
local pages = math.floor((tonumber(os.getenv("BENCH_TOTAL")) or 100000) / 100)

function init(args)
  math.randomseed(os.time() + tid * 7919)
end

function request()
  local start = (math.random(pages) - 1) * 100 + 1
  return c.request("GET", c.prefix .. "/Users?startIndex=" .. start .. "&count=100")
end
