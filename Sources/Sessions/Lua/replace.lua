local key = KEYS[1]
local uprefix, id = ARGV[8], ARGV[9]
local maxlife = tonumber(ARGV[7])
local m = redis.call('HMGET', key, unpack(META))
local now = now_ms()
local exists = m[1] ~= false
if exists and outlived(m, maxlife, now) then
  drop(key, m, uprefix, id)
  exists = false
end
local im, inm = ARGV[1], ARGV[2]
if im ~= '' and (not exists or (im ~= '*' and not listed(im, m[5]))) then return {-1} end
if inm == '*' and exists then return {-1} end
if inm ~= '' and inm ~= '*' and exists and listed(inm, m[5]) then return {-1} end
local ttl
if ARGV[3] ~= '' then ttl = tonumber(ARGV[3]) elseif exists then ttl = tonumber(m[1]) else ttl = tonumber(ARGV[6]) end
local created = now
local version = 1
local fixed = nil
local old_user, old_device = false, false
if exists then
  created = tonumber(m[2])
  version = tonumber(m[5]) + 1
  if m[3] and ARGV[3] == '' then fixed = tonumber(m[3]) end
  old_user = m[4]
  old_device = m[6]
end
local user = false
if ARGV[4] == 'keep' then user = old_user elseif ARGV[4] == 'set' then user = ARGV[5] end
local device = false
if ARGV[10] == 'keep' then device = old_device elseif ARGV[10] == 'set' then device = ARGV[11] end
local seen = false
if user or device then seen = int(now) end
local args = {'meta:ttl', int(ttl), 'meta:created', int(created), 'meta:version', int(version)}
if user then args[#args + 1] = 'meta:user'; args[#args + 1] = user end
if fixed then args[#args + 1] = 'meta:expires_at'; args[#args + 1] = int(fixed) end
if device then args[#args + 1] = 'meta:device'; args[#args + 1] = device end
if seen then args[#args + 1] = 'meta:seen'; args[#args + 1] = seen end
for i = 13, #ARGV do args[#args + 1] = ARGV[i] end
redis.call('DEL', key)
chunked('HSET', key, args)
local at = expiry_at(ttl, created, fixed, maxlife, now)
if at <= now then at = now + 1 end
redis.call('PEXPIREAT', key, int(at))
if old_user and old_user ~= user and uprefix ~= '' then redis.call('SREM', uprefix .. old_user, id) end
local evicted = 0
if user then
  index_keep(uprefix, user, id, at, now)
  -- A replace that sets the user (or creates one with it) is a login: the cap applies.
  if ARGV[4] == 'set' then evicted = enforce_cap(uprefix, session_prefix(key, id), user, id, tonumber(ARGV[12])) end
end
local code = 2
if exists then code = 1 end
return {code, now, at - now, {int(ttl), int(created), fixed and int(fixed) or false, user, int(version), device, seen},
        old_user, evicted}
