-- Create, then delete what was created: every request is one HTTP request, and
-- every delete targets something whose create was acknowledged (one queue per
-- wrk thread, shared by its connections; a connection whose create was just
-- answered usually sends the matching delete next).
-- Arguments: mode=sessiond|webdis, body=<JSON>.
--   sessiond: POST /v1/sessions {"data":...} -> 201 with the id; DELETE /v1/sessions/{id}
--   webdis:   PUT /HSET/bench:cd:<thread>:<n>/a?jsonp=k<n> <body> -> 200 "k<n>({"HSET":1});"
--             (the JSONP callback names the key in the reply); GET /DEL/bench:cd:<thread>:<n>
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "common.lua")

local mode, body, prefix
local created = {}  -- acknowledged ids or keys, to delete
local n = 0

function init(args)
  local o = options(args)
  mode, body = o.mode, o.body
  assert(mode == "sessiond" or mode == "webdis", "mode must be sessiond or webdis")
  prefix = "bench:cd:" .. (thread_index or 0) .. ":"
end

function request()
  local target = table.remove(created)
  if mode == "sessiond" then
    if target then return wrk.format("DELETE", "/v1/sessions/" .. target) end
    return format("POST", "/v1/sessions", body)
  end
  if target then return wrk.format("GET", "/DEL/" .. prefix .. target) end
  n = n + 1
  return format("PUT", "/HSET/" .. prefix .. n .. "/a?jsonp=k" .. n, body)
end

function response(status, headers, response_body)
  count_status(status)
  local id
  if mode == "sessiond" then
    id = status == 201 and response_body:match('"id":"([^"]+)"')
  else
    id = response_body:match('^k(%d+)%(')
  end
  if id then created[#created + 1] = id end
end
