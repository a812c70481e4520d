import ArgumentParser
import Foundation
import HTTPFront
import Logging
import Metrics
import NIOCore
import NIOPosix
import Redis
import ServiceLifecycle
import Sessions

/// `sessiond`: flags of §5 of the contract, each also `SESSIOND_<NAME>` in the environment.
struct SessiondCommand: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "sessiond",
        abstract: "A session cache daemon: web apps keep their users' sessions in it over HTTP; it keeps them in Redis.",
        discussion: """
        Every option can also be set in the environment as SESSIOND_<NAME> (e.g. SESSIOND_REDIS, \
        SESSIOND_NO_TOUCH_ON_READ=1); a flag on the command line wins over the environment.
        With no --redis, sessiond starts a private redis-server on a unix socket (for trying it out; \
        its data is gone when sessiond stops).
        """,
        version: version)

    @Option(help: "Where to listen: host:port or unix:/path.sock.")
    var listen = "127.0.0.1:8080"

    @Option(help: "Redis: redis://[user:pass@]host:port/db or unix:///path[?db=N]. Omit to run a private redis-server.")
    var redis: String?

    @Option(help: "Prefix of every Redis key sessiond writes.")
    var keyPrefix = "sessiond:"

    @Option(help: "Idle timeout of new sessions, in seconds (Django's default: two weeks).")
    var defaultTTL = 1_209_600

    @Option(help: "Absolute cap on a session's life from its creation, in seconds (off by default).")
    var maxLifetime: Int?

    @Flag(help: "Do not refresh a session's TTL when it is read (clients can still ask with ?touch=true).")
    var noTouchOnRead = false

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

    @Option(help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel = "info"

    @Option(help: "text or json.")
    var logFormat = "text"

    /// The names that `SESSIOND_*` variables map onto (`--no-touch-on-read` is the one flag).
    static let optionNames = [
        "listen", "redis", "key-prefix", "default-ttl", "max-lifetime", "auth-token-file", "redis-timeout",
        "max-body-bytes", "max-depth", "max-keys", "min-ttl", "max-ttl", "log-level", "log-format",
    ]
    static let flagNames = ["no-touch-on-read"]

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level: unknown level '\(logLevel)'") }
        guard ["text", "json"].contains(logFormat) else { throw ValidationError("--log-format must be text or json") }
        guard minTTL >= 1, maxTTL >= minTTL else { throw ValidationError("--min-ttl must be ≥ 1 and ≤ --max-ttl") }
        guard (minTTL...maxTTL).contains(defaultTTL) else { throw ValidationError("--default-ttl must lie within --min-ttl…--max-ttl") }
        if let m = maxLifetime, m < 1 { throw ValidationError("--max-lifetime must be ≥ 1 second") }
        guard maxBodyBytes >= 64, maxDepth >= 1, maxKeys >= 1 else { throw ValidationError("limits must be positive (--max-body-bytes ≥ 64)") }
        guard !keyPrefix.isEmpty else { throw ValidationError("--key-prefix must not be empty") }
        _ = try Self.parseDuration(redisTimeout)
        _ = try ServerConfiguration.Listen(parsing: listen)
        if let redis { _ = try RedisConfiguration(url: redis) }
    }

    static func parseDuration(_ text: String) throws -> TimeAmount {
        let t = text.trimmingCharacters(in: .whitespaces)
        let (number, scale): (Substring, Double)
        if t.hasSuffix("ms") { (number, scale) = (t.dropLast(2), 1e6) }
        else if t.hasSuffix("s") { (number, scale) = (t.dropLast(1), 1e9) }
        else { (number, scale) = (Substring(t), 1e9) }
        guard let v = Double(number), v > 0, v < 3600 else {
            throw ValidationError("--redis-timeout: expected a duration such as 2, 2s or 500ms, got '\(text)'")
        }
        return .nanoseconds(Int64(v * scale))
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        let json = logFormat == "json"
        LoggingSystem.bootstrap { label in
            var handler: LogHandler = json ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "sessiond")

        var token: String? = nil
        if let file = authTokenFile {
            do {
                token = try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            } catch {
                throw ValidationError("cannot read --auth-token-file \(file): \(error.localizedDescription)")
            }
            if token?.isEmpty ?? true { throw ValidationError("--auth-token-file \(file) is empty") }
        }
        let listenAddress = try ServerConfiguration.Listen(parsing: listen)
        let timeout = try Self.parseDuration(redisTimeout)

        var embedded: RedisServerProcess? = nil
        let redisConfiguration: RedisConfiguration
        if let redis {
            redisConfiguration = try RedisConfiguration(url: redis, timeout: timeout)
        } else {
            do {
                embedded = try RedisServerProcess.start()
            } catch {
                throw ValidationError("no --redis given and the private redis-server could not start: \(error)")
            }
            redisConfiguration = try RedisConfiguration(url: embedded!.url, timeout: timeout)
            logger.notice("no --redis given: started a private redis-server (embedded default, for trying sessiond out; sessions are lost when sessiond stops)",
                          metadata: ["redis": "\(redisConfiguration.redactedDescription)"])
        }

        // NIO's process-wide group (one loop per core), never shut down: the process ends instead.
        let group = MultiThreadedEventLoopGroup.singleton
        let metrics = ServerMetrics()
        MetricsSystem.bootstrap(metrics.factory)
        let embeddedUp = Meter(label: "sessiond_embedded_redis_up", factory: metrics.factory)
        embeddedUp.set(embedded == nil ? 0 : 1)
        if let embedded {
            // The private Redis should never die on its own; if it does, operators see it here.
            group.next().scheduleRepeatedTask(initialDelay: .seconds(5), delay: .seconds(5)) { _ in
                embeddedUp.set(embedded.isRedisAlive ? 1 : 0)
            }
        }
        let client = RedisClient(configuration: redisConfiguration, eventLoopGroup: group, logger: logger,
                                 metricsFactory: metrics.factory)
        let store = SessionStore(configuration: SessionConfiguration(
            keyPrefix: keyPrefix, defaultTTL: defaultTTL, maxLifetime: maxLifetime, touchOnRead: !noTouchOnRead,
            limits: SessionLimits(maxBodyBytes: maxBodyBytes, maxDepth: maxDepth, maxKeys: maxKeys, ttlRange: minTTL...maxTTL)),
            redis: client)

        let server: SessiondServer
        do {
            server = try await SessiondServer.start(
                configuration: ServerConfiguration(listen: listenAddress, authToken: token),
                store: store, metrics: metrics, group: group, logger: logger)
        } catch {
            await client.shutdown()
            embedded?.stop()
            throw ValidationError("cannot listen on \(listen): \(error)")
        }
        if !listenAddress.isLocalOnly && token == nil {
            logger.warning("listening on a non-loopback address without --auth-token-file: anyone who can reach it can read every session")
        }
        logger.info("sessiond started", metadata: [
            "version": "\(Self.version)", "listen": "\(listenAddress)", "redis": "\(redisConfiguration.redactedDescription)",
            "key_prefix": "\(keyPrefix)", "default_ttl": "\(defaultTTL)", "max_lifetime": "\(maxLifetime.map(String.init) ?? "off")",
            "touch_on_read": "\(!noTouchOnRead)", "auth": "\(token == nil ? "off" : "bearer")",
            "limits": "body=\(maxBodyBytes)B depth=\(maxDepth) keys=\(maxKeys) ttl=\(minTTL)...\(maxTTL)s",
        ])

        let service = SessiondService(server: server, client: client, embedded: embedded, logger: logger)
        let serviceGroup = ServiceGroup(configuration: .init(
            services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await serviceGroup.run()
    }
}

/// Waits for SIGTERM/SIGINT, then: stop accepting, finish in-flight requests,
/// close Redis, stop the private redis-server, and return (exit 0).
struct SessiondService: Service {
    let server: SessiondServer
    let client: RedisClient
    let embedded: RedisServerProcess?
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        logger.info("shutting down: finishing in-flight requests")
        await server.shutdown()
        await client.shutdown()
        if let embedded {
            embedded.stop()
            logger.info("private redis-server stopped")
        }
        logger.info("sessiond stopped")
    }
}

@main
enum Main {
    static func main() async {
        let args = EnvironmentDefaults.merge(Array(CommandLine.arguments.dropFirst()),
                                             environment: ProcessInfo.processInfo.environment)
        await SessiondCommand.main(args)
    }
}

/// `SESSIOND_<NAME>` variables become flags unless the command line already has them.
enum EnvironmentDefaults {
    static func merge(_ args: [String], environment: [String: String]) -> [String] {
        var out = args
        func present(_ name: String) -> Bool {
            args.contains { $0 == "--\(name)" || $0.hasPrefix("--\(name)=") }
        }
        func variable(_ name: String) -> String {
            "SESSIOND_" + name.uppercased().replacingOccurrences(of: "-", with: "_")
        }
        for name in SessiondCommand.optionNames where !present(name) {
            if let v = environment[variable(name)], !v.isEmpty { out.append("--\(name)=\(v)") }
        }
        for name in SessiondCommand.flagNames where !present(name) {
            if let v = environment[variable(name)]?.lowercased(), ["1", "true", "yes", "on"].contains(v) {
                out.append("--\(name)")
            }
        }
        return out
    }
}
