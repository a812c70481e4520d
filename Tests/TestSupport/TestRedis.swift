import Foundation
import NIOCore
import NIOPosix
import Redis
import Logging

/// The private redis-server of this test process: started on a free loopback
/// port the first time a test needs it, stopped when the process exits (the
/// guard in `RedisServerProcess` sees our end of its pipe close).
public enum TestRedis {
    public static let shared: RedisServerProcess = {
        do {
            return try RedisServerProcess.start(listen: .tcp(port: RedisServerProcess.freePort()))
        } catch {
            fatalError("cannot start the test redis-server: \(error)")
        }
    }()

    public static var url: String { shared.url }

    /// `SESSIOND_TEST_REDIS_CLUSTER=host:port,…` (and `SESSIOND_TEST_REDIS_PASSWORD`): the
    /// daemon tests run against that Redis Cluster instead (scripts/test-cluster sets them up).
    public static let clusterNodes: [HostPort]? = ProcessInfo.processInfo.environment["SESSIOND_TEST_REDIS_CLUSTER"]
        .flatMap { try? HostPort.list($0) }

    /// Where the daemon tests' Redis is: the cluster when asked for, else the private test Redis.
    public static func configuration(timeout: TimeAmount = .seconds(2)) throws -> RedisConfiguration {
        guard let nodes = clusterNodes else { return try RedisConfiguration(url: url, timeout: timeout) }
        var configuration = RedisConfiguration(address: nodes[0].address,
                                               password: ProcessInfo.processInfo.environment["SESSIOND_TEST_REDIS_PASSWORD"],
                                               timeout: timeout)
        configuration.cluster = nodes
        return configuration
    }

    /// A client for inspecting Redis the way an operator's `redis-cli` would.
    public static let inspector: RedisClient = RedisClient(
        configuration: try! configuration(),
        eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
        logger: Logger(label: "test-inspector"))

    /// Runs one command on the test Redis (`["HGETALL", key]`); in a cluster it goes to the key's node.
    @discardableResult
    public static func command(_ args: [String]) async throws -> RESPValue {
        let key = args.count > 1 && args[0].uppercased() != "SCAN" ? args[1] : nil
        return try await inspector.send(RedisCommand(args), key: key, on: MultiThreadedEventLoopGroup.singleton.any()).get()
    }

    /// Every key matching `pattern`, from every node (`redis-cli --scan --pattern`).
    public static func scan(_ pattern: String) async throws -> Set<String> {
        let loop = MultiThreadedEventLoopGroup.singleton.any()
        var out = Set<String>()
        for node in try await inspector.primaries(on: loop).get() {
            var cursor = "0"
            repeat {
                let r = try await inspector.send(RedisCommand(["SCAN", cursor, "MATCH", pattern, "COUNT", "1000"]),
                                                 to: node, on: loop).get()
                cursor = r.array?[0].string ?? "0"
                out.formUnion(r.array?[1].strings ?? [])
            } while cursor != "0"
        }
        return out
    }

    /// A one-off inspector for another Redis (fault tests run their own).
    public static func inspector(port: Int) throws -> Inspector {
        Inspector(client: RedisClient(configuration: try RedisConfiguration(url: "redis://127.0.0.1:\(port)/0"),
                                      eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: "inspector")))
    }

    public struct Inspector: Sendable {
        let client: RedisClient

        @discardableResult
        public func command(_ args: [String]) async throws -> RESPValue {
            try await client.send(RedisCommand(args), on: MultiThreadedEventLoopGroup.singleton.any()).get()
        }

        public func hash(_ key: String) async throws -> [String: String] {
            defer { Task { [client] in await client.shutdown() } }
            return try await client.send(RedisCommand(["HGETALL", key]), on: MultiThreadedEventLoopGroup.singleton.any()).get().hash
        }
    }

    /// A key prefix no other test uses, so tests never see each other's keys.
    public static func uniquePrefix() -> String {
        "t\(UInt64.random(in: 0...UInt64.max)):"
    }
}

extension RESPValue {
    /// A flat HGETALL reply as a dictionary of strings.
    public var hash: [String: String] {
        var out: [String: String] = [:]
        guard let a = array else { return out }
        var i = 0
        while i + 1 < a.count {
            if let k = a[i].string, let v = a[i + 1].string { out[k] = v }
            i += 2
        }
        return out
    }

    public var strings: [String] { array?.compactMap(\.string) ?? [] }
}

/// Polls `condition` until it holds or `seconds` pass (no fixed sleeps in tests).
public func eventually(within seconds: Double = 5, _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try await condition() { return true }
        try await Task.sleep(nanoseconds: 10_000_000)
    }
    return try await condition()
}
