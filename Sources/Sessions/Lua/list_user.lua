local out = {now_ms()}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local skey = ARGV[1] .. id
  local m = redis.call('HMGET', skey, unpack(META))
  if not m[1] or m[4] ~= ARGV[2] then
    redis.call('SREM', KEYS[1], id)
  else
    out[#out + 1] = {id, redis.call('PTTL', skey), m, redis.call('HGETALL', skey)}
  end
end
return out
