if redis.call('EXISTS', KEYS[1]) == 1 then return -2 end
local args = {}
for i = 2, #ARGV do args[#args + 1] = ARGV[i] end
chunked('HSET', KEYS[1], args)
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return 1
