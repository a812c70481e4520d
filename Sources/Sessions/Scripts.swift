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
    /// Local helpers every script starts with (Lua/prelude.lua).
    static let prelude = String(decoding: PackageResources.prelude_lua, as: UTF8.self)

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
    /// `body` is `Lua/<name>.lua`, compiled into the binary (SwiftPM's `embedInCode`).
    private static func script(_ name: String, memory: Memory = .denyWhenFull, durable: Bool = true,
                               _ body: [UInt8]) -> RedisScript {
        let shebang = memory == .allowWhenFull ? "#!lua flags=allow-oom\n" : "#!lua\n"
        return RedisScript(name: name, source: shebang + prelude + String(decoding: body, as: UTF8.self), durable: durable)
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
    static let read = script("read", memory: .allowWhenFull, durable: false, PackageResources.read_lua)

    /// POST: create only, never overwrite.
    /// ARGV: ttl, user or '', maxlife_ms, user_prefix, id, device JSON or '', max_sessions_per_user,
    ///       then field/value pairs. Reply: {2, now, pttl, evicted}.
    static let create = script("create", PackageResources.create_lua)

    /// PUT: replace (or create) with If-Match / If-None-Match.
    /// ARGV: if_match, if_none_match, ttl or '', user_mode (keep|clear|set), user,
    ///       default_ttl, maxlife_ms, user_prefix, id, device_mode (keep|clear|set), device,
    ///       max_sessions_per_user, then field/value pairs.
    /// Reply: {code, now, pttl, meta, previous user or false, evicted}.
    static let replace = script("replace", PackageResources.replace_lua)

    /// PATCH, PUT/DELETE data key, DELETE data (clear).
    /// ARGV: if_match, maxlife_ms, user_prefix, id, clear (1|0), max_keys, reply (all|none),
    ///       nset, nset field/value pairs, then fields to delete.
    static let write = script("write", PackageResources.write_lua)

    /// DELETE: the session and its index entry. ARGV: user_prefix, id. Reply: {deleted, user or false}.
    static let delete = script("delete", memory: .allowWhenFull, PackageResources.delete_lua)

    /// PUT expiry. ARGV: mode (ttl|at), value (seconds | unix ms), maxlife_ms, user_prefix, id.
    static let setExpiry = script("set_expiry", PackageResources.set_expiry_lua)

    /// POST cycle: move the session to a new id.
    /// ARGV: maxlife_ms, user_prefix, old id, new id, max_sessions_per_user.
    /// Reply: {1, now, pttl, meta, HGETALL, evicted}.
    static let cycle = script("cycle", PackageResources.cycle_lua)

    /// GET user sessions; prunes ids whose session is gone or now belongs to someone else.
    /// ARGV: session_prefix, user.
    static let listUser = script("list_user", memory: .allowWhenFull, durable: false, PackageResources.list_user_lua)

    /// DELETE user sessions (log out everywhere). ARGV: session_prefix, user, except id or ''.
    static let deleteUser = script("delete_user", memory: .allowWhenFull, PackageResources.delete_user_lua)

    // MARK: Cluster mode
    // A session and its user's index live in different slots, so no script may
    // touch both: the scripts above run with an empty user prefix, and these
    // keep the index from the index's own slot, always after the session's
    // change (an index never names a session before it exists; a stale entry
    // is pruned by the next listing and expires with the index).

    /// KEYS[1] user index. ARGV: id, expiry (unix ms) of that session.
    static let indexAdd = script("index_add", PackageResources.index_add_lua)

    /// Listing a user's sessions, one session at a time. KEYS[1] session. ARGV: user.
    /// Reply as `read`'s with data, or {0} when gone or someone else's.
    static let peekUser = script("peek_user", memory: .allowWhenFull, durable: false, PackageResources.peek_user_lua)

    /// Log out everywhere, one session at a time. KEYS[1] session. ARGV: user.
    static let deleteIfUser = script("delete_if_user", memory: .allowWhenFull, PackageResources.delete_if_user_lua)

    /// Cycle, step 1 of 3 (the ids are in different slots): the live session.
    /// KEYS[1] old session. ARGV: maxlife_ms. Reply: {1, now, meta, HGETALL} or {0}.
    static let cycleExport = script("cycle_export", memory: .allowWhenFull, durable: false, PackageResources.cycle_export_lua)

    /// Cycle, step 2: the copy under the new id, never over an existing one.
    /// KEYS[1] new session. ARGV: expiry (unix ms), then the hash's field/value pairs.
    static let cycleImport = script("cycle_import", PackageResources.cycle_import_lua)

    /// Cycle, step 3: the old id goes, unless it was written since step 1
    /// (then the copy is stale: the caller deletes it and starts over).
    /// KEYS[1] old session. ARGV: the version step 1 saw.
    static let cycleRetire = script("cycle_retire", memory: .allowWhenFull, PackageResources.cycle_retire_lua)

    static let all: [RedisScript] = [read, create, replace, write, delete, setExpiry, cycle, listUser, deleteUser,
                                     indexAdd, peekUser, deleteIfUser, cycleExport, cycleImport, cycleRetire]
}
