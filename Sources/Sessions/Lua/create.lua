local key = KEYS[1]
if redis.call('EXISTS', key) == 1 then return {-2} end
local now = now_ms()
local ttl = tonumber(ARGV[1])
local args = {'meta:ttl', ARGV[1], 'meta:created', int(now), 'meta:version', '1'}
if ARGV[2] ~= '' then args[#args + 1] = 'meta:user'; args[#args + 1] = ARGV[2] end
if ARGV[6] ~= '' then args[#args + 1] = 'meta:device'; args[#args + 1] = ARGV[6] end
if ARGV[2] ~= '' or ARGV[6] ~= '' then args[#args + 1] = 'meta:seen'; args[#args + 1] = int(now) end
for i = 8, #ARGV do args[#args + 1] = ARGV[i] end
chunked('HSET', key, args)
local at = expiry_at(ttl, now, nil, tonumber(ARGV[3]), now)
redis.call('PEXPIREAT', key, int(at))
local evicted = 0
if ARGV[2] ~= '' then
  index_keep(ARGV[4], ARGV[2], ARGV[5], at, now)
  evicted = enforce_cap(ARGV[4], session_prefix(key, ARGV[5]), ARGV[2], ARGV[5], tonumber(ARGV[7]))
end
return {2, now, at - now, evicted}
