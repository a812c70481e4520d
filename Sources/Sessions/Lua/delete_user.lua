local n = 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if id ~= ARGV[3] then
    local skey = ARGV[1] .. id
    if redis.call('HGET', skey, 'meta:user') == ARGV[2] then
      redis.call('DEL', skey)
      n = n + 1
    end
    redis.call('SREM', KEYS[1], id)
  end
end
return n
