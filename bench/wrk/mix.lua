-- A random mix of one read and one write request.
-- Arguments: read=<path> (GET), write=<path> (PUT), body=<JSON for the write>,
-- read_pct=<0..100> (default 80), and optionally delay_ms=<mean pause before each
-- request, fractional allowed> to run below peak load (used by the soak).
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "common.lua")

local read_req, write_req, read_pct

function init(args)
  local o = options(args)
  math.randomseed(os.time() + (thread_index or 0))
  read_req = format("GET", o.read)
  write_req = format("PUT", o.write, o.body)
  read_pct = tonumber(o.read_pct or "80")
  if o.delay_ms then
    -- wrk waits whole milliseconds: dither between floor and floor + 1.
    local whole = math.floor(tonumber(o.delay_ms))
    local frac = tonumber(o.delay_ms) - whole
    delay = function()
      if math.random() < frac then return whole + 1 end
      return whole
    end
  end
end

function request()
  if math.random(100) <= read_pct then return read_req end
  return write_req
end
