local key = KEYS[1]
local maxlife = tonumber(ARGV[2])
local m, now, h
if ARGV[5] == 'all' then
  h = redis.call('HGETALL', key)
  if #h == 0 then return {0} end
  m = {false, false, false, false, false, false, false}
  for i = 1, #h, 2 do
    local f = h[i]
    if f == 'meta:ttl' then m[1] = h[i + 1]
    elseif f == 'meta:created' then m[2] = h[i + 1]
    elseif f == 'meta:expires_at' then m[3] = h[i + 1]
    elseif f == 'meta:user' then m[4] = h[i + 1]
    elseif f == 'meta:version' then m[5] = h[i + 1]
    elseif f == 'meta:device' then m[6] = h[i + 1]
    elseif f == 'meta:seen' then m[7] = h[i + 1] end
  end
  if not m[1] then return {0} end
  now = now_ms()
  if outlived(m, maxlife, now) then drop(key, m, ARGV[3], ARGV[4]); return {0} end
else
  m, now = live(key, maxlife, ARGV[3], ARGV[4])
  if not m then return {0} end
end
local pttl
-- Never more than half the ttl: a session whose ttl is at most the interval still slides.
local interval = math.min(tonumber(ARGV[8]), tonumber(m[1]) * 500)
if ARGV[1] == '1' and not m[3] then
  local at = expiry_at(tonumber(m[1]), tonumber(m[2]), nil, maxlife, now)
  local current = interval > 0 and redis.call('PTTL', key) or -1
  if current >= 0 and at - (now + current) <= interval then
    pttl = current
  else
    redis.call('PEXPIREAT', key, int(at))
    if m[4] then index_extend(ARGV[3], m[4], ARGV[4], at, now) end
    seen_now(key, m, now)
    pttl = at - now
  end
elseif ARGV[7] == '1' and m[3] then
  local at = expiry_at(tonumber(m[1]), tonumber(m[2]), tonumber(m[3]), maxlife, now)
  redis.call('PEXPIREAT', key, int(at))
  if at <= now then return {0} end
  pttl = at - now
else
  pttl = redis.call('PTTL', key)
end
-- The hash was read before the slide wrote meta:seen: then send the fresh metadata too.
if h then return {1, now, pttl, m[7] and m or false, h} end
if ARGV[5] == 'field' then return {1, now, pttl, m, redis.call('HGET', key, ARGV[6])} end
return {1, now, pttl, m}
