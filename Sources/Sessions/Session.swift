import Redis

/// A session as read from Redis, ready to be rendered.
public struct Session: Sendable, Equatable {
    public var id: String
    /// In Redis hash order; values are the exact JSON text stored.
    public var data: [DataEntry]
    /// Idle timeout, seconds.
    public var ttl: Int
    /// Milliseconds until Redis expires the key.
    public var expiresInMilliseconds: Int64
    /// Redis's clock when the operation ran (unix ms).
    public var nowMilliseconds: Int64
    public var createdMilliseconds: Int64
    public var user: String?
    public var version: Int64
    /// Set when `expires_at` fixed the expiry (no sliding).
    public var fixedExpiry: Int64?

    public var expiresIn: Int64 { Timestamps.seconds(fromMilliseconds: expiresInMilliseconds) }
    public var expiresAtMilliseconds: Int64 { nowMilliseconds + expiresInMilliseconds }
    /// The strong entity tag: the version, quoted.
    public var etag: String { "\"\(version)\"" }
}

/// The metadata fields of the hash, fetched with HMGET in this order by every script.
enum Meta {
    static let fields = ["meta:ttl", "meta:created", "meta:expires_at", "meta:user", "meta:version"]

    struct Values {
        var ttl: Int
        var created: Int64
        var expiresAt: Int64?
        var user: String?
        var version: Int64
    }

    static func parse(_ reply: RESPValue) throws(SessionError) -> Values {
        guard let m = reply.array, m.count == 5, let ttl = m[0].int, let created = m[1].int, let version = m[4].int else {
            throw .redis(.unexpectedReply("session metadata: \(reply)"))
        }
        return Values(ttl: Int(ttl), created: created, expiresAt: m[2].int, user: m[3].string, version: version)
    }

    /// Splits an HGETALL reply into data entries (the `meta:*` fields are read via HMGET).
    static func data(fromHash reply: RESPValue) -> [DataEntry] {
        guard let flat = reply.array else { return [] }
        var out: [DataEntry] = []
        out.reserveCapacity(flat.count / 2)
        var i = 0
        let prefix = KeyLayout.dataFieldPrefix
        while i + 1 < flat.count {
            if case .bulk(let field) = flat[i], field.starts(with: prefix), case .bulk(let value) = flat[i + 1] {
                out.append(DataEntry(key: Array(field[prefix.count...]), json: value))
            }
            i += 2
        }
        return out
    }

    /// Reads metadata from an HGETALL reply (used where the script returns the whole hash).
    private static let metaPrefix = Array("meta:".utf8)
    private static let names = fields.map { Array($0.utf8) }

    static func parse(hash reply: RESPValue) -> Values? {
        guard let flat = reply.array else { return nil }
        var ttl: Int?, created: Int64?, version: Int64?, expiresAt: Int64?, user: String?
        var i = 0
        while i + 1 < flat.count {
            if case .bulk(let f) = flat[i], f.starts(with: metaPrefix) {
                let value = flat[i + 1]
                switch f {
                case names[0]: ttl = value.int.map { Int($0) }
                case names[1]: created = value.int
                case names[4]: version = value.int
                case names[2]: expiresAt = value.int
                case names[3]: user = value.string
                default: break
                }
            }
            i += 2
        }
        guard let ttl, let created, let version else { return nil }
        return Values(ttl: ttl, created: created, expiresAt: expiresAt, user: user, version: version)
    }

    /// `parse(hash:)` on a flat reply: the HGETALL array at `at`.
    static func parse(hashIn r: RedisReply, at: Int) -> Values? {
        var ttl: Int?, created: Int64?, version: Int64?, expiresAt: Int64?, user: String?
        var i = r.firstChild(at)
        let end = r.next(at)
        while i + 1 < end {
            let f = r.view(i)
            if f.starts(with: metaPrefix) {
                if f.elementsEqual(names[0]) { ttl = r.int(i + 1).map { Int($0) } }
                else if f.elementsEqual(names[1]) { created = r.int(i + 1) }
                else if f.elementsEqual(names[4]) { version = r.int(i + 1) }
                else if f.elementsEqual(names[2]) { expiresAt = r.int(i + 1) }
                else if f.elementsEqual(names[3]) { user = String(decoding: r.view(i + 1), as: UTF8.self) }
            }
            i += 2
        }
        guard let ttl, let created, let version else { return nil }
        return Values(ttl: ttl, created: created, expiresAt: expiresAt, user: user, version: version)
    }

    /// `data(fromHash:)` on a flat reply.
    static func data(hashIn r: RedisReply, at: Int) -> [DataEntry] {
        var out: [DataEntry] = []
        out.reserveCapacity(r.count(at) / 2)
        let prefix = KeyLayout.dataFieldPrefix
        var i = r.firstChild(at)
        let end = r.next(at)
        while i + 1 < end {
            let f = r.view(i)
            if f.starts(with: prefix) {
                out.append(DataEntry(key: Array(f.dropFirst(prefix.count)), json: Array(r.view(i + 1))))
            }
            i += 2
        }
        return out
    }
}
