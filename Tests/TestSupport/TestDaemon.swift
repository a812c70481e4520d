import Foundation
import HTTPFront
import Logging
import NIOCore
import NIOPosix
import Redis
import Sessions

/// A sessiond server in the test process, on a free port, against a Redis of
/// the test's choosing, under its own key prefix.
public struct TestDaemon: Sendable {
    public let server: SessiondServer
    public let client: TestHTTPClient
    public let redis: RedisClient
    public let store: SessionStore
    public let prefix: String

    /// `withDaemon { d in … }`: starts a daemon, runs the body, stops it even when the body throws.
    public static func with<T: Sendable>(
        sessions: SessionConfiguration = SessionConfiguration(),
        redisURL: String? = nil,
        redisTimeout: TimeAmount = .seconds(2),
        redisTLS: RedisTLS? = nil,
        listen: ServerConfiguration.Listen = .tcp(host: "127.0.0.1", port: 0),
        authToken: String? = nil,
        requestTimeout: TimeAmount = .seconds(30),
        _ body: (TestDaemon) async throws -> T
    ) async throws -> T {
        var config = sessions
        if config.keyPrefix == "sessiond:" { config.keyPrefix = TestRedis.uniquePrefix() }
        let group = MultiThreadedEventLoopGroup.singleton
        var logger = Logger(label: "sessiond-test")
        logger.logLevel = .error
        let metrics = ServerMetrics()
        var redisConfiguration = try redisURL.map { try RedisConfiguration(url: $0, timeout: redisTimeout) }
            ?? TestRedis.configuration(timeout: redisTimeout)
        if let redisTLS { redisConfiguration.tls = redisTLS }
        let redis = RedisClient(configuration: redisConfiguration,
                                eventLoopGroup: group, logger: logger, metricsFactory: metrics.factory)
        let store = SessionStore(configuration: config, redis: redis)
        let server = try await SessiondServer.start(
            configuration: ServerConfiguration(listen: listen, authToken: authToken, requestTimeout: requestTimeout),
            store: store, metrics: metrics,
            group: group, logger: logger)
        let target: TestHTTPClient.Target
        switch listen {
        case .tcp: target = .tcp(host: "127.0.0.1", port: server.port!)
        case .unix(let path): target = .unix(path: path)
        }
        let daemon = TestDaemon(server: server, client: TestHTTPClient(target: target), redis: redis, store: store,
                                prefix: config.keyPrefix)
        do {
            let result = try await body(daemon)
            await server.shutdown()
            await redis.shutdown()
            return result
        } catch {
            await server.shutdown()
            await redis.shutdown()
            throw error
        }
    }

    public func get(_ path: String, headers: [(String, String)] = []) async throws -> TestResponse {
        try await client.request("GET", path, headers: headers)
    }

    public func send(_ method: String, _ path: String, _ body: String? = nil,
                     headers: [(String, String)] = []) async throws -> TestResponse {
        try await client.request(method, path, headers: headers, body: body)
    }

    /// Creates a session and returns its id.
    public func create(_ body: String = "{}") async throws -> String {
        let r = try await send("POST", "/v1/sessions", body)
        guard r.status == 201, let id = r.json["id"] as? String else {
            throw TestFailure("create failed: \(r.status) \(r.text)")
        }
        return id
    }

    /// Creates a session on a Redis that may not be warm yet: the first call loads the
    /// scripts into a fresh Redis, which slow builds (sanitizers) can take past a short timeout.
    public func createWhenReady(_ body: String = "{}") async throws -> String {
        var created: String?
        _ = try await eventually(within: 5) { created = try? await create(body); return created != nil }
        guard let id = created else { throw TestFailure("no session could be created within 5 s") }
        return id
    }

    public func sessionKey(_ id: String) -> String { prefix + "session:" + id }
    public func userKey(_ user: String) -> String { prefix + "user:" + user }

    /// Every key under this daemon's prefix, as `redis-cli --scan --pattern` would list them.
    public func keys() async throws -> Set<String> {
        try await TestRedis.scan(prefix + "*")
    }

    /// A snapshot of everything under the prefix (keys, hash contents, set members), to prove "nothing changed".
    /// `port`: a Redis other than the shared test Redis.
    public func snapshot(port: Int? = nil) async throws -> [String: String] {
        let run: @Sendable ([String]) async throws -> RESPValue
        if let port {
            let inspector = try TestRedis.inspector(port: port)
            run = { try await inspector.command($0) }
        } else {
            run = { try await TestRedis.command($0) }
        }
        var keys = Set<String>()
        if port != nil {
            var cursor = "0"
            repeat {
                let r = try await run(["SCAN", cursor, "MATCH", prefix + "*", "COUNT", "1000"])
                cursor = r.array?[0].string ?? "0"
                keys.formUnion(r.array?[1].strings ?? [])
            } while cursor != "0"
        } else {
            keys = try await TestRedis.scan(prefix + "*")
        }
        var out: [String: String] = [:]
        for key in keys {
            let type = try await run(["TYPE", key]).string ?? ""
            switch type {
            case "hash": out[key] = try await run(["HGETALL", key]).hash.sorted { $0.key < $1.key }.description
            case "set": out[key] = try await run(["SMEMBERS", key]).strings.sorted().description
            default: out[key] = type
            }
        }
        return out
    }
}

public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
