local maxlife = tonumber(ARGV[1])
local m, now = live(KEYS[1], maxlife, ARGV[2], ARGV[3])
if not m then return {0} end
if redis.call('EXISTS', KEYS[2]) == 1 then return {-2} end
redis.call('RENAME', KEYS[1], KEYS[2])
m[5] = redis.call('HINCRBY', KEYS[2], 'meta:version', 1)
seen_now(KEYS[2], m, now)
local fixed = nil
if m[3] then fixed = tonumber(m[3]) end
local at = expiry_at(tonumber(m[1]), tonumber(m[2]), fixed, maxlife, now)
if at <= now then at = now + 1 end
redis.call('PEXPIREAT', KEYS[2], int(at))
if m[4] then
  redis.call('SREM', ARGV[2] .. m[4], ARGV[3])
  index_keep(ARGV[2], m[4], ARGV[4], at, now)
end
local evicted = 0
if m[4] then evicted = enforce_cap(ARGV[2], session_prefix(KEYS[2], ARGV[4]), m[4], ARGV[4], tonumber(ARGV[5])) end
return {1, now, at - now, m, redis.call('HGETALL', KEYS[2]), evicted}
