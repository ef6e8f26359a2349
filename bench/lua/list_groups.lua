-- GET /Groups with default parameters.
package.path = (os.getenv("BENCH_LUA_DIR") or ".") .. "/?.lua;" .. package.path
local c = require("common")
setup = c.setup
done = c.done

function request()
  return c.request("GET", c.prefix .. "/Groups")
end
