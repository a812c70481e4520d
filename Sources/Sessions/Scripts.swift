import Redis

/// The Lua scripts behind every session operation. Each runs atomically in
/// Redis, so an operation is one round trip and concurrent writers never see
/// or leave a half-done change.
///
/// Shared conventions:
/// - `m` is `HMGET key meta:ttl meta:created meta:expires_at meta:user meta:version
///   meta:device meta:seen`.
/// - `meta:seen` (unix ms) is kept only for sessions with a user or a device: set by
///   every write and by every read that slides the TTL (`seen_now`).
/// - Results are arrays whose first element is a code: 1 ok, 2 created,
///   0 no session, -1 precondition failed, -2 id taken, -3 too many keys.
/// - Times are Redis's clock (`TIME`), so sidecars on different hosts agree.
/// - An empty user prefix (cluster mode) means "leave the user index alone":
///   it lives in another slot, and `SessionStore` updates it right after.
enum Scripts {
    static let prelude = """
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

    """

    /// Redis 7 script flags (the `#!lua` line). Without `allow-oom`, Redis refuses
    /// the whole script up front when it is out of memory (→ 507), instead of
    /// letting it run and refusing some command midway. Reads and deletes keep
    /// working when Redis is full: they only refresh TTLs or free memory.
    enum Memory {
        case denyWhenFull
        case allowWhenFull
    }

    /// `durable: false` for reads: their only writes (TTL refreshes, pruning
    /// stale index entries) need not wait for replicas under --min-replicas-ack.
    private static func script(_ name: String, memory: Memory = .denyWhenFull, durable: Bool = true,
                               _ body: String) -> RedisScript {
        let shebang = memory == .allowWhenFull ? "#!lua flags=allow-oom\n" : "#!lua\n"
        return RedisScript(name: name, source: shebang + prelude + body, durable: durable)
    }

    /// GET / HEAD / GET expiry / GET data key.
    /// ARGV: touch, maxlife_ms, user_prefix, id, mode (all|meta|field), field, repair,
    ///       touch_interval_ms (`--touch-interval`: slide only when that moves the expiry
    ///       later by more than this; 0: always).
    /// Reply: {1, now, pttl, meta (HMGET order) or false, HGETALL | field value}.
    /// `repair` (after a fast read touched with an outdated ttl, see `SessionStore`)
    /// also puts a fixed expiry back.
    /// Mode `all` is the hot path (every page view): one HGETALL serves both the
    /// metadata and the data, and after a touch the TTL is known without PTTL,
    /// so a read is three Redis calls (HGETALL, TIME, PEXPIREAT).
    static let read = script("read", memory: .allowWhenFull, durable: false, """
    local key = KEYS[1]
    local maxlife = tonumber(ARGV[2])
    local m, now, h
    if ARGV[5] == 'all' then
      h = redis.call('HGETALL', key)
      if #h == 0 then return {0} end
      m = {false, false, false, false, false, false, false}
      for i = 1, #h, 2 do
        local f = h[i]
        if f == 'meta:ttl' then m[1] = h[i + 1]
        elseif f == 'meta:created' then m[2] = h[i + 1]
        elseif f == 'meta:expires_at' then m[3] = h[i + 1]
        elseif f == 'meta:user' then m[4] = h[i + 1]
        elseif f == 'meta:version' then m[5] = h[i + 1]
        elseif f == 'meta:device' then m[6] = h[i + 1]
        elseif f == 'meta:seen' then m[7] = h[i + 1] end
      end
      if not m[1] then return {0} end
      now = now_ms()
      if outlived(m, maxlife, now) then drop(key, m, ARGV[3], ARGV[4]); return {0} end
    else
      m, now = live(key, maxlife, ARGV[3], ARGV[4])
      if not m then return {0} end
    end
    local pttl
    local interval = tonumber(ARGV[8])
    if ARGV[1] == '1' and not m[3] then
      local at = expiry_at(tonumber(m[1]), tonumber(m[2]), nil, maxlife, now)
      local current = interval > 0 and redis.call('PTTL', key) or -1
      if current >= 0 and at - (now + current) <= interval then
        pttl = current
      else
        redis.call('PEXPIREAT', key, int(at))
        if m[4] then index_extend(ARGV[3], m[4], ARGV[4], at, now) end
        seen_now(key, m, now)
        pttl = at - now
      end
    elseif ARGV[7] == '1' and m[3] then
      local at = expiry_at(tonumber(m[1]), tonumber(m[2]), tonumber(m[3]), maxlife, now)
      redis.call('PEXPIREAT', key, int(at))
      if at <= now then return {0} end
      pttl = at - now
    else
      pttl = redis.call('PTTL', key)
    end
    -- The hash was read before the slide wrote meta:seen: then send the fresh metadata too.
    if h then return {1, now, pttl, m[7] and m or false, h} end
    if ARGV[5] == 'field' then return {1, now, pttl, m, redis.call('HGET', key, ARGV[6])} end
    return {1, now, pttl, m}
    """)

    /// POST: create only, never overwrite.
    /// ARGV: ttl, user or '', maxlife_ms, user_prefix, id, device JSON or '', max_sessions_per_user,
    ///       then field/value pairs. Reply: {2, now, pttl, evicted}.
    static let create = script("create", """
    local key = KEYS[1]
    if redis.call('EXISTS', key) == 1 then return {-2} end
    local now = now_ms()
    local ttl = tonumber(ARGV[1])
    local args = {'meta:ttl', ARGV[1], 'meta:created', int(now), 'meta:version', '1'}
    if ARGV[2] ~= '' then args[#args + 1] = 'meta:user'; args[#args + 1] = ARGV[2] end
    if ARGV[6] ~= '' then args[#args + 1] = 'meta:device'; args[#args + 1] = ARGV[6] end
    if ARGV[2] ~= '' or ARGV[6] ~= '' then args[#args + 1] = 'meta:seen'; args[#args + 1] = int(now) end
    for i = 8, #ARGV do args[#args + 1] = ARGV[i] end
    chunked('HSET', key, args)
    local at = expiry_at(ttl, now, nil, tonumber(ARGV[3]), now)
    redis.call('PEXPIREAT', key, int(at))
    local evicted = 0
    if ARGV[2] ~= '' then
      index_keep(ARGV[4], ARGV[2], ARGV[5], at, now)
      evicted = enforce_cap(ARGV[4], session_prefix(key, ARGV[5]), ARGV[2], ARGV[5], tonumber(ARGV[7]))
    end
    return {2, now, at - now, evicted}
    """)

    /// PUT: replace (or create) with If-Match / If-None-Match.
    /// ARGV: if_match, if_none_match, ttl or '', user_mode (keep|clear|set), user,
    ///       default_ttl, maxlife_ms, user_prefix, id, device_mode (keep|clear|set), device,
    ///       max_sessions_per_user, then field/value pairs.
    /// Reply: {code, now, pttl, meta, previous user or false, evicted}.
    static let replace = script("replace", """
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
    """)

    /// PATCH, PUT/DELETE data key, DELETE data (clear).
    /// ARGV: if_match, maxlife_ms, user_prefix, id, clear (1|0), max_keys, reply (all|none),
    ///       nset, nset field/value pairs, then fields to delete.
    static let write = script("write", """
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
    """)

    /// DELETE: the session and its index entry. ARGV: user_prefix, id. Reply: {deleted, user or false}.
    static let delete = script("delete", memory: .allowWhenFull, """
    local u = redis.call('HGET', KEYS[1], 'meta:user')
    local n = redis.call('DEL', KEYS[1])
    if u and ARGV[1] ~= '' then redis.call('SREM', ARGV[1] .. u, ARGV[2]) end
    return {n, u}
    """)

    /// PUT expiry. ARGV: mode (ttl|at), value (seconds | unix ms), maxlife_ms, user_prefix, id.
    static let setExpiry = script("set_expiry", """
    local key = KEYS[1]
    local maxlife = tonumber(ARGV[3])
    local m, now = live(key, maxlife, ARGV[4], ARGV[5])
    if not m then return {0} end
    local ttl, fixed = tonumber(m[1]), nil
    if ARGV[1] == 'ttl' then
      ttl = tonumber(ARGV[2])
      redis.call('HSET', key, 'meta:ttl', ARGV[2])
      redis.call('HDEL', key, 'meta:expires_at')
      m[1] = ARGV[2]
      m[3] = false
    else
      fixed = tonumber(ARGV[2])
      redis.call('HSET', key, 'meta:expires_at', ARGV[2])
      m[3] = ARGV[2]
    end
    m[5] = redis.call('HINCRBY', key, 'meta:version', 1)
    seen_now(key, m, now)
    local at = expiry_at(ttl, tonumber(m[2]), fixed, maxlife, now)
    if at <= now then at = now + 1 end
    redis.call('PEXPIREAT', key, int(at))
    if m[4] then index_keep(ARGV[4], m[4], ARGV[5], at, now) end
    return {1, now, at - now, m}
    """)

    /// POST cycle: move the session to a new id.
    /// ARGV: maxlife_ms, user_prefix, old id, new id, max_sessions_per_user.
    /// Reply: {1, now, pttl, meta, HGETALL, evicted}.
    static let cycle = script("cycle", """
    local maxlife = tonumber(ARGV[1])
    local m, now = live(KEYS[1], maxlife, ARGV[2], ARGV[3])
    if not m then return {0} end
    if redis.call('EXISTS', KEYS[2]) == 1 then return {-2} end
    redis.call('RENAME', KEYS[1], KEYS[2])
    m[5] = redis.call('HINCRBY', KEYS[2], 'meta:version', 1)
    seen_now(KEYS[2], m, now)
    local fixed = nil
    if m[3] then fixed = tonumber(m[3]) end
    local at = expiry_at(tonumber(m[1]), tonumber(m[2]), fixed, maxlife, now)
    if at <= now then at = now + 1 end
    redis.call('PEXPIREAT', KEYS[2], int(at))
    if m[4] then
      redis.call('SREM', ARGV[2] .. m[4], ARGV[3])
      index_keep(ARGV[2], m[4], ARGV[4], at, now)
    end
    local evicted = 0
    if m[4] then evicted = enforce_cap(ARGV[2], session_prefix(KEYS[2], ARGV[4]), m[4], ARGV[4], tonumber(ARGV[5])) end
    return {1, now, at - now, m, redis.call('HGETALL', KEYS[2]), evicted}
    """)

    /// GET user sessions; prunes ids whose session is gone or now belongs to someone else.
    /// ARGV: session_prefix, user.
    static let listUser = script("list_user", memory: .allowWhenFull, durable: false, """
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
    """)

    /// DELETE user sessions (log out everywhere). ARGV: session_prefix, user, except id or ''.
    static let deleteUser = script("delete_user", memory: .allowWhenFull, """
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
    """)

    // MARK: Cluster mode
    // A session and its user's index live in different slots, so no script may
    // touch both: the scripts above run with an empty user prefix, and these
    // keep the index from the index's own slot, always after the session's
    // change (an index never names a session before it exists; a stale entry
    // is pruned by the next listing and expires with the index).

    /// KEYS[1] user index. ARGV: id, expiry (unix ms) of that session.
    static let indexAdd = script("index_add", """
    redis.call('SADD', KEYS[1], ARGV[1])
    local pt = redis.call('PTTL', KEYS[1])
    if pt < 0 or now_ms() + pt < tonumber(ARGV[2]) then redis.call('PEXPIREAT', KEYS[1], ARGV[2]) end
    return 1
    """)

    /// Listing a user's sessions, one session at a time. KEYS[1] session. ARGV: user.
    /// Reply as `read`'s with data, or {0} when gone or someone else's.
    static let peekUser = script("peek_user", memory: .allowWhenFull, durable: false, """
    local m = redis.call('HMGET', KEYS[1], unpack(META))
    if not m[1] or m[4] ~= ARGV[1] then return {0} end
    return {1, now_ms(), redis.call('PTTL', KEYS[1]), m, redis.call('HGETALL', KEYS[1])}
    """)

    /// Log out everywhere, one session at a time. KEYS[1] session. ARGV: user.
    static let deleteIfUser = script("delete_if_user", memory: .allowWhenFull, """
    if redis.call('HGET', KEYS[1], 'meta:user') ~= ARGV[1] then return 0 end
    return redis.call('DEL', KEYS[1])
    """)

    /// Cycle, step 1 of 3 (the ids are in different slots): the live session.
    /// KEYS[1] old session. ARGV: maxlife_ms. Reply: {1, now, meta, HGETALL} or {0}.
    static let cycleExport = script("cycle_export", memory: .allowWhenFull, durable: false, """
    local m, now = live(KEYS[1], tonumber(ARGV[1]), '', '')
    if not m then return {0} end
    return {1, now, m, redis.call('HGETALL', KEYS[1])}
    """)

    /// Cycle, step 2: the copy under the new id, never over an existing one.
    /// KEYS[1] new session. ARGV: expiry (unix ms), then the hash's field/value pairs.
    static let cycleImport = script("cycle_import", """
    if redis.call('EXISTS', KEYS[1]) == 1 then return -2 end
    local args = {}
    for i = 2, #ARGV do args[#args + 1] = ARGV[i] end
    chunked('HSET', KEYS[1], args)
    redis.call('PEXPIREAT', KEYS[1], ARGV[1])
    return 1
    """)

    /// Cycle, step 3: the old id goes, unless it was written since step 1
    /// (then the copy is stale: the caller deletes it and starts over).
    /// KEYS[1] old session. ARGV: the version step 1 saw.
    static let cycleRetire = script("cycle_retire", memory: .allowWhenFull, """
    if redis.call('HGET', KEYS[1], 'meta:version') ~= ARGV[1] then return 0 end
    return redis.call('DEL', KEYS[1])
    """)

    static let all: [RedisScript] = [read, create, replace, write, delete, setExpiry, cycle, listUser, deleteUser,
                                     indexAdd, peekUser, deleteIfUser, cycleExport, cycleImport, cycleRetire]
}
