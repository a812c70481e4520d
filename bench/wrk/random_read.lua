-- GET a random one of n pre-populated sessions.
-- Arguments: path=<format with one %d, e.g. /v1/sessions/bench%010d>, n=<count>;
-- ids 0..n-1.
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "common.lua")

local path, n

function init(args)
  local o = options(args)
  path, n = o.path, tonumber(o.n)
  math.randomseed(os.time() + (thread_index or 0))
end

function request()
  return wrk.format("GET", string.format(path, math.random(0, n - 1)))
end
