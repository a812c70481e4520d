local key = KEYS[1]
local maxlife = tonumber(ARGV[3])
local m, now = live(key, maxlife, ARGV[4], ARGV[5])
if not m then return {0} end
local ttl, fixed = tonumber(m[1]), nil
if ARGV[1] == 'ttl' then
  ttl = tonumber(ARGV[2])
  redis.call('HSET', key, 'meta:ttl', ARGV[2])
  redis.call('HDEL', key, 'meta:expires_at')
  m[1] = ARGV[2]
  m[3] = false
else
  fixed = tonumber(ARGV[2])
  redis.call('HSET', key, 'meta:expires_at', ARGV[2])
  m[3] = ARGV[2]
end
m[5] = redis.call('HINCRBY', key, 'meta:version', 1)
seen_now(key, m, now)
local at = expiry_at(ttl, tonumber(m[2]), fixed, maxlife, now)
if at <= now then at = now + 1 end
redis.call('PEXPIREAT', key, int(at))
if m[4] then index_keep(ARGV[4], m[4], ARGV[5], at, now) end
return {1, now, at - now, m}
