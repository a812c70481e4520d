local m, now = live(KEYS[1], tonumber(ARGV[1]), '', '')
if not m then return {0} end
return {1, now, m, redis.call('HGETALL', KEYS[1])}
