local key = KEYS[1]
local uprefix, id = ARGV[3], ARGV[4]
local maxlife = tonumber(ARGV[2])
local m, now = live(key, maxlife, uprefix, id)
if not m then return {0} end
local im = ARGV[1]
if im ~= '' and im ~= '*' and not listed(im, m[5]) then return {-1} end
local clear = ARGV[5] == '1'
local nset = tonumber(ARGV[8])
local first_del = 9 + 2 * nset
if nset > 0 then
  -- Check the key limit before changing anything: a refused write changes nothing.
  local meta = 3
  for j = 3, 7 do
    if j ~= 5 and m[j] then meta = meta + 1 end
  end
  local limit = tonumber(ARGV[6])
  local count = 0
  if not clear then count = redis.call('HLEN', key) - meta end
  -- Exact count only near the limit: with every set key new and no delete
  -- it is at most count + nset (saves a call per key on the usual write).
  if count + nset > limit then
    for i = 9, first_del - 1, 2 do
      if clear or redis.call('HEXISTS', key, ARGV[i]) == 0 then count = count + 1 end
    end
    if not clear then
      for i = first_del, #ARGV do
        if redis.call('HEXISTS', key, ARGV[i]) == 1 then count = count - 1 end
      end
    end
    if count > limit then return {-3} end
  end
end
if clear then
  local dels = {}
  for _, f in ipairs(redis.call('HKEYS', key)) do
    if string.sub(f, 1, 5) == 'data:' then dels[#dels + 1] = f end
  end
  chunked('HDEL', key, dels)
end
if nset > 0 then
  local sets = {}
  for i = 9, first_del - 1 do sets[#sets + 1] = ARGV[i] end
  chunked('HSET', key, sets)
end
if first_del <= #ARGV then
  local dels = {}
  for i = first_del, #ARGV do dels[#dels + 1] = ARGV[i] end
  chunked('HDEL', key, dels)
end
m[5] = redis.call('HINCRBY', key, 'meta:version', 1)
seen_now(key, m, now)
local fixed = nil
if m[3] then fixed = tonumber(m[3]) end
local at = expiry_at(tonumber(m[1]), tonumber(m[2]), fixed, maxlife, now)
if at <= now then at = now + 1 end
redis.call('PEXPIREAT', key, int(at))
if m[4] then index_keep(uprefix, m[4], id, at, now) end
if ARGV[7] == 'all' then return {1, now, at - now, m, redis.call('HGETALL', key)} end
return {1, now, at - now, m}
