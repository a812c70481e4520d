-- One fixed request, sent as fast as possible (wrk's static path: no Lua per request).
-- Arguments: method=GET|PUT|... (default GET), body=<JSON> (sent as application/json).
-- The path is the URL's.
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "common.lua")

function init(args)
  local o = options(args)
  wrk.method = o.method or "GET"
  if o.body then
    wrk.body = o.body
    wrk.headers["Content-Type"] = "application/json"
  end
end
