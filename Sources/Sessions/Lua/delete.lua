local u = redis.call('HGET', KEYS[1], 'meta:user')
local n = redis.call('DEL', KEYS[1])
if u and ARGV[1] ~= '' then redis.call('SREM', ARGV[1] .. u, ARGV[2]) end
return {n, u}
