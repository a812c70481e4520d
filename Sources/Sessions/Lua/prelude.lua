-- Shared by every script (Scripts.swift prepends it): the helpers below.
local META = {'meta:ttl', 'meta:created', 'meta:expires_at', 'meta:user', 'meta:version', 'meta:device', 'meta:seen'}
local function int(n) return string.format('%d', n) end
-- A session with a user or a device records when it was last written or slid.
local function seen_now(key, m, now)
  if m[4] or m[6] then
    redis.call('HSET', key, 'meta:seen', int(now))
    m[7] = int(now)
  end
end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- When the session expires (unix ms): its fixed expires_at, or ttl from now;
-- never after created + max lifetime (OWASP absolute timeout).
local function expiry_at(ttl, created, fixed, maxlife, now)
  local at = fixed or (now + ttl * 1000)
  if maxlife > 0 and created + maxlife < at then at = created + maxlife end
  return at
end
-- A session past its absolute lifetime (after --max-lifetime was lowered) is over.
local function outlived(m, maxlife, now)
  return maxlife > 0 and tonumber(m[2]) + maxlife <= now
end
local function drop(key, m, uprefix, id)
  redis.call('DEL', key)
  if m[4] and uprefix ~= '' then redis.call('SREM', uprefix .. m[4], id) end
end
-- The metadata of a live session and Redis's clock, or nil; a session past
-- its absolute lifetime is dropped on the way.
local function live(key, maxlife, uprefix, id)
  local m = redis.call('HMGET', key, unpack(META))
  if not m[1] then return nil end
  local now = now_ms()
  if outlived(m, maxlife, now) then drop(key, m, uprefix, id); return nil end
  return m, now
end
-- The user's index lives at least as long as each of its sessions.
local function index_keep(uprefix, user, id, at, now)
  if uprefix == '' then return end
  local ukey = uprefix .. user
  redis.call('SADD', ukey, id)
  local pt = redis.call('PTTL', ukey)
  if pt < 0 or now + pt < at then redis.call('PEXPIREAT', ukey, int(at)) end
end
-- --max-sessions-per-user (§6): deletes the least recently seen sessions of `user`
-- beyond `cap` (never `keep`, the one just written), with their index entries, and
-- prunes stale entries on the way. Returns how many it deleted. Run inside the
-- script that added the session, so the cap holds however many logins race.
local function enforce_cap(uprefix, sprefix, user, keep, cap)
  if cap <= 0 or uprefix == '' then return 0 end
  local ukey = uprefix .. user
  local members = redis.call('SMEMBERS', ukey)
  if #members <= cap then return 0 end
  local live = {}
  for _, sid in ipairs(members) do
    local mm = redis.call('HMGET', sprefix .. sid, 'meta:user', 'meta:seen', 'meta:created')
    if mm[1] ~= user then
      redis.call('SREM', ukey, sid)
    elseif sid ~= keep then
      live[#live + 1] = {sid, tonumber(mm[2] or mm[3]) or 0}
    end
  end
  local excess = #live + 1 - cap
  if excess <= 0 then return 0 end
  table.sort(live, function(a, b) if a[2] ~= b[2] then return a[2] < b[2] end return a[1] < b[1] end)
  for i = 1, excess do
    redis.call('DEL', sprefix .. live[i][1])
    redis.call('SREM', ukey, live[i][1])
  end
  return excess
end
-- The session key prefix, from a session key and its id.
local function session_prefix(key, id) return string.sub(key, 1, #key - #id) end
-- On reads: extend the index without writing the member again.
local function index_extend(uprefix, user, id, at, now)
  if uprefix == '' then return end
  local ukey = uprefix .. user
  local pt = redis.call('PTTL', ukey)
  if pt == -2 then redis.call('SADD', ukey, id); pt = -1 end
  if pt < 0 or now + pt < at then redis.call('PEXPIREAT', ukey, int(at)) end
end
-- list is ',v1,v2,' (entity tags already reduced to versions).
local function listed(list, version)
  return version and string.find(list, ',' .. version .. ',', 1, true) ~= nil
end
-- HSET/HDEL in chunks: Lua's unpack has a stack limit.
local function chunked(cmd, key, args)
  local i = 1
  while i <= #args do
    local j = math.min(i + 999, #args)
    redis.call(cmd, key, unpack(args, i, j))
    i = j + 1
  end
end
