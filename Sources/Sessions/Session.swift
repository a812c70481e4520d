import Redis
#if canImport(Glibc)
import Glibc
#endif

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
    /// The app's device object (`meta:device`), as the exact JSON text it sent.
    public var device: [UInt8]?
    /// Last write or sliding read (`meta:seen`, unix ms), kept for sessions with a user or a device.
    public var seenMilliseconds: Int64?
    /// How many of the user's other sessions the operation evicted (`--max-sessions-per-user`).
    public var evicted = 0
    /// The data as a read's HGETALL returned it, when it came that way: written
    /// out in place (`forEachData`) instead of copied into `data` entry by entry.
    var hash: HashData?

    public init(id: String, data: [DataEntry], ttl: Int, expiresInMilliseconds: Int64, nowMilliseconds: Int64,
                createdMilliseconds: Int64, user: String?, version: Int64, fixedExpiry: Int64?,
                device: [UInt8]? = nil, seenMilliseconds: Int64? = nil) {
        self.id = id
        self.data = data
        self.ttl = ttl
        self.expiresInMilliseconds = expiresInMilliseconds
        self.nowMilliseconds = nowMilliseconds
        self.createdMilliseconds = createdMilliseconds
        self.user = user
        self.version = version
        self.fixedExpiry = fixedExpiry
        self.device = device
        self.seenMilliseconds = seenMilliseconds
    }

    /// Sessions with a user or a device keep `meta:seen` ("your devices" pages sort by it);
    /// others skip it, so their reads stay a MULTI that writes nothing but the TTL.
    public var tracksSeen: Bool { user != nil || device != nil }

    /// Calls `body` with each data key (without `data:`) and raw JSON value, in stored order.
    public func forEachData(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void) {
        if let hash {
            hash.forEach(body)
        } else {
            for entry in data {
                entry.key.withUnsafeBytes { key in entry.json.withUnsafeBytes { json in body(key, json) } }
            }
        }
    }

    /// Bytes of all keys and values (to size a response buffer).
    public var dataByteCount: Int {
        if let hash { return hash.byteCount }
        return data.reduce(0) { $0 + $1.key.count + $1.json.count }
    }

    /// `data`, also when the session was read as a hash.
    public var entries: [DataEntry] {
        guard let hash else { return data }
        var out: [DataEntry] = []
        hash.forEach { out.append(DataEntry(key: Array($0), json: Array($1))) }
        return out
    }

    public static func == (a: Session, b: Session) -> Bool {
        a.id == b.id && a.entries == b.entries && a.ttl == b.ttl && a.expiresInMilliseconds == b.expiresInMilliseconds
            && a.nowMilliseconds == b.nowMilliseconds && a.createdMilliseconds == b.createdMilliseconds
            && a.user == b.user && a.version == b.version && a.fixedExpiry == b.fixedExpiry
            && a.device == b.device && a.seenMilliseconds == b.seenMilliseconds
    }

    public var expiresIn: Int64 { Timestamps.seconds(fromMilliseconds: expiresInMilliseconds) }
    public var expiresAtMilliseconds: Int64 { nowMilliseconds + expiresInMilliseconds }
}

/// The `data:` fields of an HGETALL reply, left in the reply's buffer.
struct HashData: Sendable {
    let reply: RedisReply
    /// Index of the HGETALL array in `reply`.
    let at: Int

    func forEach(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void) {
        reply.withBytes { bytes in
            var i = reply.firstChild(at)
            let end = reply.next(at)
            while i + 1 < end {
                let field = UnsafeRawBufferPointer(rebasing: bytes[reply.range(i)])
                if Meta.hasPrefix(field, "data:") {
                    body(UnsafeRawBufferPointer(rebasing: field[5...]),
                         UnsafeRawBufferPointer(rebasing: bytes[reply.range(i + 1)]))
                }
                i += 2
            }
        }
    }

    var byteCount: Int { reply.byteCount }
}

/// The metadata fields of the hash, fetched with HMGET in this order by every script.
enum Meta {
    static let fields = ["meta:ttl", "meta:created", "meta:expires_at", "meta:user", "meta:version", "meta:device", "meta:seen"]

    struct Values {
        var ttl: Int
        var created: Int64
        var expiresAt: Int64?
        var user: String?
        var version: Int64
        var device: [UInt8]? = nil
        var seen: Int64? = nil
    }

    static func parse(_ reply: RESPValue) throws(SessionError) -> Values {
        guard let m = reply.array, m.count == fields.count, let ttl = m[0].int, let created = m[1].int,
              let version = m[4].int else {
            throw .storeFailed("session metadata: \(reply)")
        }
        return Values(ttl: Int(ttl), created: created, expiresAt: m[2].int, user: m[3].string, version: version,
                      device: m[5].bytes, seen: m[6].int)
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
        var ttl: Int?, created: Int64?, version: Int64?, expiresAt: Int64?, user: String?, device: [UInt8]?, seen: Int64?
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
                case names[5]: device = value.bytes
                case names[6]: seen = value.int
                default: break
                }
            }
            i += 2
        }
        guard let ttl, let created, let version else { return nil }
        return Values(ttl: ttl, created: created, expiresAt: expiresAt, user: user, version: version,
                      device: device, seen: seen)
    }

    /// Whether `bytes` starts with `prefix`: a memcmp against a static string (the
    /// generic `starts(with:)`, and arrays of field names, showed up in perf).
    static func hasPrefix(_ bytes: UnsafeRawBufferPointer, _ prefix: StaticString) -> Bool {
        guard bytes.count >= prefix.utf8CodeUnitCount, let base = bytes.baseAddress else { return false }
        return memcmp(base, prefix.utf8Start, prefix.utf8CodeUnitCount) == 0
    }

    private static func equals(_ bytes: UnsafeRawBufferPointer, _ name: StaticString) -> Bool {
        bytes.count == name.utf8CodeUnitCount && hasPrefix(bytes, name)
    }

    /// `parse(hash:)` on a flat reply: the HGETALL array at `at`.
    static func parse(hashIn r: RedisReply, at: Int) -> Values? {
        var ttl: Int?, created: Int64?, version: Int64?, expiresAt: Int64?, user: String?, device: [UInt8]?, seen: Int64?
        r.withBytes { bytes in
            var i = r.firstChild(at)
            let end = r.next(at)
            while i + 1 < end {
                let f = UnsafeRawBufferPointer(rebasing: bytes[r.range(i)])
                let value = { UnsafeRawBufferPointer(rebasing: bytes[r.range(i + 1)]) }
                // By length first: data fields (most of them) fail at once.
                switch f.count {
                case 8 where equals(f, "meta:ttl"): ttl = RESPValue.parseInt(value()).map { Int($0) }
                case 9 where equals(f, "meta:user"): user = String(decoding: value(), as: UTF8.self)
                case 9 where equals(f, "meta:seen"): seen = RESPValue.parseInt(value())
                case 11 where equals(f, "meta:device"): device = Array(value())
                case 12 where equals(f, "meta:created"): created = RESPValue.parseInt(value())
                case 12 where equals(f, "meta:version"): version = RESPValue.parseInt(value())
                case 15 where equals(f, "meta:expires_at"): expiresAt = RESPValue.parseInt(value())
                default: break
                }
                i += 2
            }
        }
        guard let ttl, let created, let version else { return nil }
        return Values(ttl: ttl, created: created, expiresAt: expiresAt, user: user, version: version,
                      device: device, seen: seen)
    }
}
