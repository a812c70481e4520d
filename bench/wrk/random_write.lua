-- PUT one data key of a random one of n pre-populated sessions.
-- Arguments: path=<format with one %d, e.g. /v1/sessions/bench%010d/data/a>, n=<count>,
-- body=<JSON value>; ids 0..n-1.
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "common.lua")

local path, n, body

function init(args)
  local o = options(args)
  path, n, body = o.path, tonumber(o.n), o.body
  math.randomseed(os.time() + (thread_index or 0))
end

function request()
  return wrk.format("PUT", string.format(path, math.random(0, n - 1)), { ["Content-Type"] = "application/json" }, body)
end
