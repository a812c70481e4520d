import NIOCore

/// Where and how to reach Redis: `redis://[user:pass@]host:port/db` or `unix:///path[?db=N]`.
public struct RedisConfiguration: Sendable, Equatable {
    public enum Address: Sendable, Equatable {
        case tcp(host: String, port: Int)
        case unix(path: String)
    }

    public var address: Address
    public var username: String?
    public var password: String?
    public var database: Int
    /// How long a command may wait for its reply (`--redis-timeout`).
    public var timeout: TimeAmount
    /// Sentinel mode: `address` is only a placeholder; the primary is whatever these sentinels say.
    public var sentinel: SentinelConfiguration?
    /// Cluster mode: seed nodes; `address` is only a placeholder, the slot map says where each key lives.
    public var cluster: [HostPort]?
    /// TLS on every connection (the Redis, the sentinels, every cluster node), from
    /// a `rediss://` URL or `--redis-tls`; nil: plain TCP.
    public var tls: RedisTLS?
    /// `--min-replicas-ack`: writes are followed by `WAIT n` and only succeed when n
    /// replicas have them, so an acknowledged write survives a failover.
    public var minReplicasAck: Int = 0

    public init(address: Address, username: String? = nil, password: String? = nil,
                database: Int = 0, timeout: TimeAmount = .seconds(2)) {
        self.address = address
        self.username = username
        self.password = password
        self.database = database
        self.timeout = timeout
    }

    /// How long `WAIT` may block: half the command timeout, so a write whose
    /// replicas are slow still gets its answer (503) before the request's 504.
    public var replicaAckTimeout: TimeAmount { .nanoseconds(max(timeout.nanoseconds / 2, 1_000_000)) }

    /// `WAIT <--min-replicas-ack> <replicaAckTimeout in ms>`.
    var waitCommand: RedisCommand {
        var command = RedisCommand("WAIT")
        command.append(minReplicasAck)
        command.append(Int(replicaAckTimeout.nanoseconds / 1_000_000))
        return command
    }

    public struct InvalidURL: Error, CustomStringConvertible {
        public let description: String
    }

    public init(url: String, timeout: TimeAmount = .seconds(2)) throws {
        self.timeout = timeout
        self.username = nil
        self.password = nil
        self.database = 0
        if url.hasPrefix("unix://") {
            var rest = Substring(url.dropFirst("unix://".count))
            if let q = rest.firstIndex(of: "?") {
                let query = rest[rest.index(after: q)...]
                rest = rest[..<q]
                for pair in query.split(separator: "&") {
                    let kv = pair.split(separator: "=", maxSplits: 1).map(String.init)
                    guard kv.count == 2 else { throw InvalidURL(description: "bad query item '\(pair)' in \(url)") }
                    switch kv[0] {
                    case "db":
                        guard let db = Int(kv[1]), db >= 0 else { throw InvalidURL(description: "bad db in \(url)") }
                        database = db
                    case "password": password = Self.percentDecode(kv[1])
                    case "user", "username": username = Self.percentDecode(kv[1])
                    default: throw InvalidURL(description: "unknown query item '\(kv[0])' in \(url)")
                    }
                }
            }
            guard rest.hasPrefix("/") else { throw InvalidURL(description: "unix URL needs an absolute path: \(url)") }
            address = .unix(path: String(rest))
            return
        }
        let scheme: String
        if url.hasPrefix("redis://") {
            scheme = "redis://"
        } else if url.hasPrefix("rediss://") {
            scheme = "rediss://"
            // The system's trust store until the caller says otherwise (--redis-tls-ca).
            do { tls = try RedisTLS() } catch { throw InvalidURL(description: "\(error)") }
        } else {
            throw InvalidURL(description: "expected redis://[user:pass@]host:port/db, rediss://… (TLS) or unix:///path, got \(url)")
        }
        var rest = Substring(url.dropFirst(scheme.count))
        if let at = rest.lastIndex(of: "@") {
            let auth = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = auth.firstIndex(of: ":") {
                let user = String(auth[..<colon])
                username = user.isEmpty ? nil : Self.percentDecode(user)
                password = Self.percentDecode(String(auth[auth.index(after: colon)...]))
            } else {
                password = Self.percentDecode(String(auth))
            }
        }
        var hostPort = rest
        if let slash = rest.firstIndex(of: "/") {
            hostPort = rest[..<slash]
            let dbText = rest[rest.index(after: slash)...]
            if !dbText.isEmpty {
                guard let db = Int(dbText), db >= 0 else { throw InvalidURL(description: "bad database number '\(dbText)' in \(url)") }
                database = db
            }
        }
        var host = "127.0.0.1"
        var port = 6379
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { throw InvalidURL(description: "bad IPv6 host in \(url)") }
            host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
            let after = hostPort[hostPort.index(after: close)...]
            if after.hasPrefix(":") {
                guard let p = Int(after.dropFirst()), (1...65535).contains(p) else { throw InvalidURL(description: "bad port in \(url)") }
                port = p
            }
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = String(hostPort[..<colon])
            guard let p = Int(hostPort[hostPort.index(after: colon)...]), (1...65535).contains(p) else {
                throw InvalidURL(description: "bad port in \(url)")
            }
            port = p
        } else if !hostPort.isEmpty {
            host = String(hostPort)
        }
        if host.isEmpty { host = "127.0.0.1" }
        address = .tcp(host: host, port: port)
    }

    /// The target for logs: never the password.
    public var redactedDescription: String {
        if let cluster {
            return "cluster\(tls == nil ? "" : "+tls")://\(cluster.map(\.description).joined(separator: ","))"
        }
        if let sentinel {
            return "sentinel\(tls == nil ? "" : "+tls")://\(sentinel.sentinels.map(\.description).joined(separator: ","))/\(sentinel.masterName)"
                + (database != 0 ? "?db=\(database)" : "")
        }
        let auth: String
        switch (username, password) {
        case (nil, nil): auth = ""
        case (let u?, nil): auth = "\(u)@"
        case (let u, _?): auth = "\(u ?? ""):***@"
        }
        switch address {
        case .tcp(let host, let port):
            let h = host.contains(":") ? "[\(host)]" : host
            return "redis\(tls == nil ? "" : "s")://\(auth)\(h):\(port)/\(database)"
        case .unix(let path):
            return "unix://\(path)" + (database != 0 ? "?db=\(database)" : "") + (password != nil ? " (with password)" : "")
        }
    }

    static func percentDecode(_ s: String) -> String {
        var out: [UInt8] = []
        var bytes = Array(s.utf8)[...]
        while let b = bytes.popFirst() {
            if b == UInt8(ascii: "%"), bytes.count >= 2,
               let v = UInt8(String(decoding: bytes.prefix(2), as: UTF8.self), radix: 16) {
                out.append(v)
                bytes = bytes.dropFirst(2)
            } else {
                out.append(b)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
