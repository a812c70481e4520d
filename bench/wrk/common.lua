-- Shared by the bench/wrk scripts (loaded with dofile from each of them).
-- Counts response statuses in every thread and, when wrk is done, prints one
-- line that bench/run parses:  BENCH_STATUS 200=51234 404=2
-- Script arguments (after "--" on wrk's command line) are name=value pairs.

local threads = {}
statuses = {}  -- per thread; global so that done() can read it with thread:get

function setup(thread)
  threads[#threads + 1] = thread
  thread:set("thread_index", #threads)
end

function count_status(status)
  local code = tostring(status)
  statuses[code] = (statuses[code] or 0) + 1
end

function response(status, headers, body)
  count_status(status)
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for code, n in pairs(thread:get("statuses")) do
      total[code] = (total[code] or 0) + n
    end
  end
  local parts = {}
  for code, n in pairs(total) do
    parts[#parts + 1] = code .. "=" .. n
  end
  table.sort(parts)
  io.write("BENCH_STATUS ", table.concat(parts, " "), "\n")
end

-- {"method=PUT", "body=x"} -> {method = "PUT", body = "x"}
function options(args)
  local o = {}
  for _, arg in ipairs(args) do
    local name, value = arg:match("^([%w_]+)=(.*)$")
    assert(name, "script argument is not name=value: " .. arg)
    o[name] = value
  end
  return o
end

-- A request with an optional JSON body.
function format(method, path, body)
  local headers = {}
  if body then headers["Content-Type"] = "application/json" end
  return wrk.format(method, path, headers, body)
end
