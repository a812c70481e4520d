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

/// `sessiond`: serves the API. `sessiond check`: validates the configuration and pings Redis.
struct SessiondCommand: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "sessiond",
        abstract: "A session cache daemon: web apps keep their users' sessions in it over HTTP; it keeps them in Redis.",
        discussion: """
        Settings, strongest first: command-line flags, then SESSIOND_<NAME> environment variables \
        (SESSIOND_REDIS, SESSIOND_NO_TOUCH_ON_READ=1, …), then the --config file (or SESSIOND_CONFIG), then defaults.
        With no --redis, sessiond starts a private redis-server on a unix socket (for trying it out; \
        its data is gone when sessiond stops).
        """,
        version: version,
        subcommands: [CheckCommand.self])

    @OptionGroup var options: ServerOptions

    func run() async throws {
        let logger = LogSetup.bootstrap(options)
        let token = try options.token()
        let listenAddress = try options.listenAddress()
        let timeout = try options.timeout()

        var embedded: RedisServerProcess? = nil
        var redisConfiguration: RedisConfiguration
        if let configured = try options.redisConfiguration() {
            redisConfiguration = configured
        } else {
            do {
                embedded = try RedisServerProcess.start()
            } catch {
                throw Failure("no --redis given and the private redis-server could not start: \(error)")
            }
            redisConfiguration = try RedisConfiguration(url: embedded!.url, timeout: timeout)
            redisConfiguration.minReplicasAck = options.minReplicasAck
            logger.notice("no --redis given: started a private redis-server (embedded default, for trying sessiond out; sessions are lost when sessiond stops)",
                          metadata: ["redis": "\(redisConfiguration.redactedDescription)"])
        }

        // One loop per usable CPU (or --threads), never shut down: the process ends instead.
        let threads = options.threads > 0 ? options.threads : EventLoopThreads.automatic()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
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
        let store = SessionStore(configuration: options.sessions, redis: client)

        let server: SessiondServer
        do {
            server = try await SessiondServer.start(
                configuration: ServerConfiguration(listen: listenAddress, authToken: token),
                store: store, metrics: metrics, group: group, logger: logger)
        } catch {
            await client.shutdown()
            embedded?.stop()
            throw Failure("cannot listen on \(options.listen): \(error)")
        }
        if !listenAddress.isLocalOnly && token == nil {
            logger.warning("listening on a non-loopback address without --auth-token-file: anyone who can reach it can read every session")
        }
        logger.info("sessiond started", metadata: [
            "version": "\(Self.version)", "listen": "\(listenAddress)", "redis": "\(redisConfiguration.redactedDescription)",
            "key_prefix": "\(options.keyPrefix)", "default_ttl": "\(options.defaultTTL)",
            "max_lifetime": "\(options.maxLifetime.map(String.init) ?? "off")",
            "touch_on_read": "\(!options.noTouchOnRead)", "min_replicas_ack": "\(options.minReplicasAck)", "threads": "\(threads)", "auth": "\(token == nil ? "off" : "bearer")",
            "limits": "\(options.limitsDescription)",
        ])
        for warning in await RedisCheck.warnings(client, on: group.next()) {
            logger.warning("\(warning)")
        }

        let service = SessiondService(server: server, client: client, embedded: embedded, logger: logger)
        let serviceGroup = ServiceGroup(configuration: .init(
            services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await serviceGroup.run()
    }
}

/// `sessiond check`: the configuration as `sessiond` would take it, and Redis reachable.
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate the configuration and ping Redis; exit non-zero with a clear message if anything is wrong.")

    @OptionGroup var options: ServerOptions

    func run() async throws {
        _ = try options.token()
        let listen = try options.listenAddress()
        print("ok: configuration (listen \(listen), key prefix \(options.keyPrefix), limits \(options.limitsDescription))")
        guard let configuration = try options.redisConfiguration() else {
            guard let path = RedisServerProcess.executablePath() else {
                throw Failure("no --redis given and no redis-server on PATH for the embedded default")
            }
            print("ok: no --redis: sessiond would start a private \(path)")
            return
        }
        var logger = Logger(label: "sessiond-check")
        logger.logLevel = .critical
        let group = MultiThreadedEventLoopGroup.singleton
        let client = RedisClient(configuration: configuration, eventLoopGroup: group, logger: logger)
        defer { Task { await client.shutdown() } }
        let over = configuration.tls.map { " over \($0)" } ?? ""
        do {
            try await client.ready(on: group.next()).get()
        } catch {
            throw Failure("Redis at \(configuration.redactedDescription)\(over) is not ready: \(error)")
        }
        print("ok: Redis at \(configuration.redactedDescription)\(over) answers PING as a primary")
        for warning in await RedisCheck.warnings(client, on: group.next()) {
            print("warning: \(warning)")
        }
    }
}

/// A failure at run time (not a usage error): printed as "Error: …", exit status 1.
struct Failure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Settings of the Redis server that can hurt sessions.
enum RedisCheck {
    static func warnings(_ client: RedisClient, on loop: EventLoop) async -> [String] {
        // CONFIG may be forbidden by ACLs or renamed; then there is nothing to say.
        guard let reply = try? await client.send(RedisCommand(["CONFIG", "GET", "maxmemory-policy"]), on: loop).get(),
              let policy = reply.array?.last?.string else { return [] }
        if policy != "noeviction" {
            return ["Redis maxmemory-policy is '\(policy)': when memory runs out Redis can silently evict live sessions; "
                + "use 'noeviction' (sessiond then answers 507 on writes)"]
        }
        return []
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

enum LogSetup {
    static func bootstrap(_ options: ServerOptions) -> Logger {
        let level = Logger.Level(rawValue: options.logLevel) ?? .info
        let json = options.logFormat == "json"
        LoggingSystem.bootstrap { label in
            var handler: LogHandler = json ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        return Logger(label: "sessiond")
    }
}

@main
enum Main {
    static func main() async {
        let args: [String]
        do {
            args = try ConfigurationSources.merge(Array(CommandLine.arguments.dropFirst()),
                                                  environment: ProcessInfo.processInfo.environment)
        } catch {
            FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
            exit(64)
        }
        await SessiondCommand.main(args)
    }
}

/// How many event loops to run when `--threads` is not given.
enum EventLoopThreads {
    /// The CPUs this process may run on: NIO's count honours cgroup limits but not
    /// `taskset`, and two loops time-sharing one CPU only add context switches.
    static func automatic() -> Int {
        // `Cpus_allowed` is the affinity mask as comma-separated hex words (Linux).
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let mask = status.split(separator: "\n").first { $0.hasPrefix("Cpus_allowed:") }?
            .dropFirst("Cpus_allowed:".count).filter(\.isHexDigit) ?? ""
        let affinity = mask.reduce(0) { $0 + (Int(String($1), radix: 16) ?? 0).nonzeroBitCount }
        return max(1, min(System.coreCount, affinity > 0 ? affinity : System.coreCount))
    }
}
