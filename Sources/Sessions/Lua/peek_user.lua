local m = redis.call('HMGET', KEYS[1], unpack(META))
if not m[1] or m[4] ~= ARGV[1] then return {0} end
return {1, now_ms(), redis.call('PTTL', KEYS[1]), m, redis.call('HGETALL', KEYS[1])}
