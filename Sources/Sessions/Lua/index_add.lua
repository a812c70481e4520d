redis.call('SADD', KEYS[1], ARGV[1])
local pt = redis.call('PTTL', KEYS[1])
if pt < 0 or now_ms() + pt < tonumber(ARGV[2]) then redis.call('PEXPIREAT', KEYS[1], ARGV[2]) end
return 1
