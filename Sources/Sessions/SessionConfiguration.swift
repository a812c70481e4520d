/// The knobs of §1, §2 and §4 of the contract that the domain needs.
public struct SessionConfiguration: Sendable {
    /// `--key-prefix`, default `sessiond:`.
    public var keyPrefix: String
    /// `--default-ttl`, seconds (Django's two weeks).
    public var defaultTTL: Int
    /// `--max-lifetime`, seconds from creation; nil = off.
    public var maxLifetime: Int?
    /// false with `--no-touch-on-read`.
    public var touchOnRead: Bool
    /// `--touch-interval`, seconds: a read slides the TTL only when that moves the
    /// expiry later by more than this, so most reads of a busy session write
    /// nothing to Redis (no AOF entry, no replication). 0: every read slides.
    public var touchInterval: Int
    /// `--max-sessions-per-user` (§6): a login beyond it evicts the user's least
    /// recently seen sessions, in the same atomic operation. 0: no cap.
    public var maxSessionsPerUser: Int
    public var limits: SessionLimits

    public init(keyPrefix: String = "sessiond:", defaultTTL: Int = 1_209_600, maxLifetime: Int? = nil,
                touchOnRead: Bool = true, touchInterval: Int = 0, maxSessionsPerUser: Int = 0,
                limits: SessionLimits = SessionLimits()) {
        self.keyPrefix = keyPrefix
        self.defaultTTL = defaultTTL
        self.maxLifetime = maxLifetime
        self.touchOnRead = touchOnRead
        self.touchInterval = touchInterval
        self.maxSessionsPerUser = maxSessionsPerUser
        self.limits = limits
    }

    var maxLifetimeMilliseconds: Int { (maxLifetime ?? 0) * 1000 }
    var touchIntervalMilliseconds: Int64 { Int64(touchInterval) * 1000 }
}

/// Limits of §1, each a flag. Breaking `maxBodyBytes` is 413; any other, 400.
public struct SessionLimits: Sendable {
    public var maxBodyBytes: Int
    public var maxDepth: Int
    public var maxKeys: Int
    public var ttlRange: ClosedRange<Int>

    public init(maxBodyBytes: Int = 1_048_576, maxDepth: Int = 64, maxKeys: Int = 1000,
                ttlRange: ClosedRange<Int> = 1...31_536_000) {
        self.maxBodyBytes = maxBodyBytes
        self.maxDepth = maxDepth
        self.maxKeys = maxKeys
        self.ttlRange = ttlRange
    }
}

/// Where things live in Redis (§4): what `redis-cli` shows.
public struct KeyLayout: Sendable {
    public let prefix: String
    public let sessionPrefix: String
    public let userPrefix: String

    public init(prefix: String) {
        self.prefix = prefix
        self.sessionPrefix = prefix + "session:"
        self.userPrefix = prefix + "user:"
    }

    public func session(_ id: String) -> String { sessionPrefix + id }
    public func user(_ user: String) -> String { userPrefix + user }

    /// Hash fields: data values under `data:<key>`, metadata under `meta:*`.
    public static let dataFieldPrefix: [UInt8] = Array("data:".utf8)
    public static func dataField(_ key: [UInt8]) -> [UInt8] { dataFieldPrefix + key }
}
