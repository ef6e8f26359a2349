-- Shared by every workload script: reads the harness's environment, loads id/name lists,
-- numbers the threads, and prints wrk's summary as one JSON line the harness parses.
--   BENCH_PREFIX  path prefix of the SCIM API ("/scim/v2")
--   BENCH_AUTH    value of the Authorization header ("" for none)
--   BENCH_LIST    file with one id or userName per line (workloads that need one)
--   BENCH_NONCE   text that makes created userNames unique across runs
local M = {}

M.prefix = os.getenv("BENCH_PREFIX") or "/scim/v2"
M.nonce = os.getenv("BENCH_NONCE") or tostring(os.time())
M.headers = { ["Content-Type"] = "application/scim+json", ["Accept"] = "application/scim+json" }
local auth = os.getenv("BENCH_AUTH") or ""
if auth ~= "" then M.headers["Authorization"] = auth end

function M.load_list()
  local path = os.getenv("BENCH_LIST")
  local items = {}
  if path then
    for line in io.lines(path) do
      if line ~= "" then items[#items + 1] = line end
    end
  end
  return items
end

-- The request's constant header lines (Host, then M.headers), joined once per thread.
local head = nil

-- A request, byte for byte as wrk.format(method, path, M.headers, body) writes it, but built
-- by concatenation around header lines joined once. wrk.format runs string.format for the
-- request line and for every header on every request, which LuaJIT does not compile: on the
-- 2-core benchmark machine that was CPU the load generator took from the servers it measures.
function M.request(method, path, body)
  if not head then
    local lines = { "Host: " .. wrk.headers["Host"] }
    for name, value in pairs(M.headers) do
      if name ~= "Host" then lines[#lines + 1] = name .. ": " .. value end
    end
    head = table.concat(lines, "\r\n") .. "\r\n"
  end
  if body then
    return method .. " " .. path .. " HTTP/1.1\r\n" .. head .. "Content-Length: " .. #body ..
      "\r\n\r\n" .. body
  end
  return method .. " " .. path .. " HTTP/1.1\r\n" .. head .. "\r\n"
end

function M.urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

local threads = {}
local counter = 0

function M.setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  threads[#threads + 1] = thread
end

function M.done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"errors_status":%d,"errors_connect":%d,"errors_read":%d,"errors_write":%d,"errors_timeout":%d,"bytes":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    errors.status, errors.connect, errors.read, errors.write, errors.timeout, summary.bytes))
end

return M
