import ArgumentParser
import Foundation
import HTTPFront
import Logging
import NIOCore
import Redis
import Sessions

/// The flags of §5 of the contract, shared by `sessiond` (serve) and `sessiond check`.
/// Each is also `SESSIOND_<NAME>` in the environment and `name = value` in `--config`.
struct ServerOptions: ParsableArguments {
    @Option(help: ArgumentHelp("A file of 'name = value' lines using these option names (e.g. 'redis = redis://…').",
                               valueName: "file"))
    var config: String?

    @Option(help: "Where to listen: host:port or unix:/path.sock.")
    var listen = "127.0.0.1:8080"

    @Option(help: "Redis: redis://[user:pass@]host:port/db, rediss://… (TLS) or unix:///path[?db=N]. Omit to run a private redis-server.")
    var redis: String?

    @Flag(help: "TLS to every Redis connection: the sentinels, the data nodes, every cluster node (what rediss:// does for --redis).")
    var redisTls = false

    @Option(help: ArgumentHelp("PEM file of the CA(s) to trust for Redis's certificate (default: the system's trust store).",
                               valueName: "file"))
    var redisTlsCa: String?

    @Option(help: ArgumentHelp("PEM client certificate for mutual TLS (with --redis-tls-key).", valueName: "file"))
    var redisTlsCert: String?

    @Option(help: ArgumentHelp("PEM private key of --redis-tls-cert.", valueName: "file"))
    var redisTlsKey: String?

    @Option(help: ArgumentHelp("Redis Sentinel: find the primary through these sentinels (host:port,…); --redis then only carries user, password and db.",
                               valueName: "host:port,..."))
    var redisSentinel: String?

    @Option(help: ArgumentHelp("Redis Cluster: seed nodes (host:port,…); the slot map comes from them. --redis then only carries user and password.",
                               valueName: "host:port,..."))
    var redisCluster: String?

    @Option(help: "The master name the sentinels watch (sentinel.conf's 'sentinel monitor <name>').")
    var sentinelMaster: String?

    @Option(help: "Username for the sentinels (ACL), if they require one.")
    var sentinelUsername: String?

    @Option(help: "File holding the sentinels' password (their requirepass), never given on argv.")
    var sentinelPasswordFile: String?

    @Option(help: "Writes answer 2xx only once this many replicas have them (WAIT n, for half of --redis-timeout); 0: off.")
    var minReplicasAck = 0

    @Option(help: "Prefix of every Redis key sessiond writes.")
    var keyPrefix = "sessiond:"

    @Option(help: "Idle timeout of new sessions, in seconds (Django's default: two weeks).")
    var defaultTTL = 1_209_600

    @Option(help: "Absolute cap on a session's life from its creation, in seconds (off by default).")
    var maxLifetime: Int?

    @Flag(help: "Do not refresh a session's TTL when it is read (clients can still ask with ?touch=true).")
    var noTouchOnRead = false

    @Option(help: "A read slides the TTL only when that moves the expiry later by more than this many seconds (0: every read slides).")
    var touchInterval = 0

    @Option(help: "Most live sessions one user may hold: a login beyond it deletes their least recently seen ones (0: no cap).")
    var maxSessionsPerUser = 0

    @Option(help: "File holding the bearer token clients must send (Authorization: Bearer <token>).")
    var authTokenFile: String?

    @Option(help: "How long a request may wait for Redis before it gets 504: seconds, or with a unit (500ms, 2s).")
    var redisTimeout = "2s"

    @Option(help: "Largest request body, in bytes (larger: 413).")
    var maxBodyBytes = 1_048_576

    @Option(help: "Deepest JSON nesting accepted in a request body.")
    var maxDepth = 64

    @Option(help: "Most data keys in one session.")
    var maxKeys = 1000

    @Option(help: "Smallest ttl accepted, in seconds.")
    var minTTL = 1

    @Option(help: "Largest ttl accepted, in seconds (one year).")
    var maxTTL = 31_536_000

    @Option(help: "Event-loop threads (0: one per CPU sessiond may run on, honouring taskset and cgroup limits).")
    var threads = 0

    @Option(help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel = "info"

    @Option(help: "text or json.")
    var logFormat = "text"

    /// The names that `SESSIOND_*` variables and config-file lines map onto.
    static let optionNames = [
        "listen", "redis", "redis-tls-ca", "redis-tls-cert", "redis-tls-key", "redis-cluster", "redis-sentinel", "sentinel-master", "sentinel-username", "sentinel-password-file",
        "min-replicas-ack", "key-prefix", "default-ttl", "max-lifetime", "touch-interval", "max-sessions-per-user", "auth-token-file", "redis-timeout",
        "max-body-bytes", "max-depth", "max-keys", "min-ttl", "max-ttl", "threads", "log-level", "log-format",
    ]
    static let flagNames = ["no-touch-on-read", "redis-tls"]

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level: unknown level '\(logLevel)'") }
        guard ["text", "json"].contains(logFormat) else { throw ValidationError("--log-format must be text or json") }
        guard minTTL >= 1, maxTTL >= minTTL else { throw ValidationError("--min-ttl must be ≥ 1 and ≤ --max-ttl") }
        guard (minTTL...maxTTL).contains(defaultTTL) else { throw ValidationError("--default-ttl must lie within --min-ttl…--max-ttl") }
        if let m = maxLifetime, m < 1 { throw ValidationError("--max-lifetime must be ≥ 1 second") }
        guard maxSessionsPerUser >= 0 else { throw ValidationError("--max-sessions-per-user must be 0 (no cap) or more") }
        guard (0...maxTTL).contains(touchInterval) else { throw ValidationError("--touch-interval must be 0 (off) to --max-ttl seconds") }
        guard maxBodyBytes >= 64, maxDepth >= 1, maxKeys >= 1 else { throw ValidationError("limits must be positive (--max-body-bytes ≥ 64)") }
        guard (0...1024).contains(threads) else { throw ValidationError("--threads must be 0 (automatic) to 1024") }
        guard !keyPrefix.isEmpty else { throw ValidationError("--key-prefix must not be empty") }
        _ = try timeout()
        _ = try listenAddress()
        if let redis {
            do { _ = try RedisConfiguration(url: redis) } catch { throw ValidationError("--redis: \(error)") }
        }
        if wantsTLS {
            guard !wantsEmbeddedRedis else {
                throw ValidationError("--redis-tls needs --redis, --redis-sentinel or --redis-cluster: the private redis-server speaks plain text on a unix socket")
            }
            if let redis, redis.hasPrefix("unix://") { throw ValidationError("--redis-tls: TLS needs a TCP address, not \(redis)") }
            _ = try tls()
        } else if redisTlsCa != nil || redisTlsCert != nil || redisTlsKey != nil {
            throw ValidationError("--redis-tls-ca, --redis-tls-cert and --redis-tls-key need TLS: a rediss:// URL or --redis-tls")
        }
        guard (0...64).contains(minReplicasAck) else { throw ValidationError("--min-replicas-ack must be 0 (off) to 64") }
        if minReplicasAck > 0 && wantsEmbeddedRedis {
            throw ValidationError("--min-replicas-ack needs --redis or --redis-sentinel: the private redis-server has no replicas")
        }
        if let nodes = redisCluster {
            guard redisSentinel == nil else { throw ValidationError("--redis-cluster and --redis-sentinel exclude each other") }
            do { _ = try HostPort.list(nodes) } catch { throw ValidationError("--redis-cluster: \(error)") }
            if let redis, (try? RedisConfiguration(url: redis))?.database != 0 {
                throw ValidationError("--redis-cluster: Redis Cluster has only database 0")
            }
        }
        if let sentinels = redisSentinel {
            do { _ = try HostPort.list(sentinels) } catch { throw ValidationError("--redis-sentinel: \(error)") }
            guard let name = sentinelMaster, !name.isEmpty else {
                throw ValidationError("--redis-sentinel needs --sentinel-master (the name in 'sentinel monitor <name>')")
            }
        } else if sentinelMaster != nil || sentinelPasswordFile != nil || sentinelUsername != nil {
            throw ValidationError("--sentinel-master, --sentinel-username and --sentinel-password-file need --redis-sentinel")
        }
    }

    /// TLS to Redis: a `rediss://` URL or `--redis-tls` (no downgrade: TLS or nothing).
    var wantsTLS: Bool { redisTls || redis?.hasPrefix("rediss://") == true }

    /// The TLS context, certificates loaded once (nil without TLS).
    func tls() throws -> RedisTLS? {
        guard wantsTLS else { return nil }
        do {
            return try RedisTLS(caFile: redisTlsCa, certificateFile: redisTlsCert, keyFile: redisTlsKey)
        } catch {
            throw ValidationError("\(error)")
        }
    }

    /// Whether sessiond should start its private redis-server.
    var wantsEmbeddedRedis: Bool { redis == nil && redisSentinel == nil && redisCluster == nil }

    /// Where Redis is, from --redis and the sentinel flags (nil: the embedded default).
    func redisConfiguration() throws -> RedisConfiguration? {
        guard var configuration = try redisConfigurationWithoutTLS() else { return nil }
        configuration.tls = try tls()
        return configuration
    }

    private func redisConfigurationWithoutTLS() throws -> RedisConfiguration? {
        let timeout = try timeout()
        if let nodes = redisCluster {
            var configuration = try RedisConfiguration(url: redis ?? "redis://127.0.0.1:6379/0", timeout: timeout)
            configuration.cluster = try HostPort.list(nodes)
            configuration.minReplicasAck = minReplicasAck
            return configuration
        }
        guard let sentinels = redisSentinel else {
            guard let redis else { return nil }
            var configuration = try RedisConfiguration(url: redis, timeout: timeout)
            configuration.minReplicasAck = minReplicasAck
            return configuration
        }
        var configuration = try RedisConfiguration(url: redis ?? "redis://127.0.0.1:6379/0", timeout: timeout)
        var password: String? = nil
        if let file = sentinelPasswordFile {
            do {
                password = try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            } catch {
                throw ValidationError("cannot read --sentinel-password-file \(file): \(error.localizedDescription)")
            }
        }
        configuration.sentinel = SentinelConfiguration(sentinels: try HostPort.list(sentinels), masterName: sentinelMaster ?? "",
                                                       username: sentinelUsername, password: password)
        configuration.minReplicasAck = minReplicasAck
        return configuration
    }

    func timeout() throws -> TimeAmount {
        let t = redisTimeout.trimmingCharacters(in: .whitespaces)
        let (number, scale): (Substring, Double)
        if t.hasSuffix("ms") { (number, scale) = (t.dropLast(2), 1e6) }
        else if t.hasSuffix("s") { (number, scale) = (t.dropLast(1), 1e9) }
        else { (number, scale) = (Substring(t), 1e9) }
        guard let v = Double(number), v > 0, v < 3600 else {
            throw ValidationError("--redis-timeout: expected a duration such as 2, 2s or 500ms, got '\(redisTimeout)'")
        }
        return .nanoseconds(Int64(v * scale))
    }

    func listenAddress() throws -> ServerConfiguration.Listen {
        do { return try ServerConfiguration.Listen(parsing: listen) } catch { throw ValidationError("--listen: \(error)") }
    }

    /// The token from `--auth-token-file` (whitespace trimmed), never from argv.
    func token() throws -> String? {
        guard let file = authTokenFile else { return nil }
        let token: String
        do {
            token = try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        } catch {
            throw ValidationError("cannot read --auth-token-file \(file): \(error.localizedDescription)")
        }
        if token.isEmpty { throw ValidationError("--auth-token-file \(file) is empty") }
        return token
    }

    var sessions: SessionConfiguration {
        SessionConfiguration(
            keyPrefix: keyPrefix, defaultTTL: defaultTTL, maxLifetime: maxLifetime, touchOnRead: !noTouchOnRead,
            touchInterval: touchInterval, maxSessionsPerUser: maxSessionsPerUser,
            limits: SessionLimits(maxBodyBytes: maxBodyBytes, maxDepth: maxDepth, maxKeys: maxKeys, ttlRange: minTTL...maxTTL))
    }

    var limitsDescription: String {
        "body=\(maxBodyBytes)B depth=\(maxDepth) keys=\(maxKeys) ttl=\(minTTL)...\(maxTTL)s"
    }
}
