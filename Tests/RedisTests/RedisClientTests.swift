import Foundation
import Logging
import NIOCore
import NIOPosix
import Redis
import Testing
import TestSupport

/// The client against real redis-servers started for the test.
@Suite struct RedisClientTests {
    let group = MultiThreadedEventLoopGroup.singleton

    func client(_ url: String, timeout: TimeAmount = .seconds(2)) throws -> RedisClient {
        RedisClient(configuration: try RedisConfiguration(url: url, timeout: timeout), eventLoopGroup: group,
                    logger: Logger(label: "test"))
    }

    @Test func pingsAndPipelinesManyCommandsOnOneConnection() async throws {
        let c = try client(TestRedis.url)
        defer { Task { await c.shutdown() } }
        let key = TestRedis.uniquePrefix() + "counter"
        let loop = group.any()
        try await c.ping(on: loop).get()
        // 1000 commands written without waiting: replies must match requests in order.
        let futures = (0..<1000).map { _ in c.send(RedisCommand(["INCR", key]), on: loop) }
        let replies = try await EventLoopFuture.whenAllSucceed(futures, on: loop).get()
        #expect(replies.map(\.int) == (1...1000).map { Int64($0) })
        try await TestRedis.command(["DEL", key])
    }

    @Test func errorRepliesFailWithServerError() async throws {
        let c = try client(TestRedis.url)
        defer { Task { await c.shutdown() } }
        await #expect(throws: RedisError.server("ERR unknown command 'NOSUCHCOMMAND', with args beginning with: ")) {
            try await c.send(RedisCommand("NOSUCHCOMMAND"), on: group.any()).get()
        }
    }

    @Test func scriptsSurviveAScriptFlush() async throws {
        let c = try client(TestRedis.url)
        defer { Task { await c.shutdown() } }
        let script = RedisScript(name: "t", source: "return ARGV[1] .. '-' .. KEYS[1] -- \(UUID())")
        var call = ScriptCall(script, keys: ["k"])
        call.append("v")
        #expect(try await c.run(call, on: group.any()).get() == .bulk(Array("v-k".utf8)))
        try await TestRedis.command(["SCRIPT", "FLUSH"])
        #expect(try await c.run(call, on: group.any()).get() == .bulk(Array("v-k".utf8)))
    }

    @Test func unreachableRedisFailsFastAndRecoversWhenItAppears() async throws {
        let port = RedisServerProcess.freePort()
        let c = try client("redis://127.0.0.1:\(port)/0")
        defer { Task { await c.shutdown() } }
        let loop = group.any()
        await #expect(throws: RedisError.self) { try await c.ping(on: loop).get() }
        let server = try RedisServerProcess.start(listen: .tcp(port: port))
        defer { server.stop() }
        let recovered = try await eventually(within: 3) { (try? await c.ping(on: loop).get()) != nil }
        #expect(recovered)
    }

    @Test func droppedConnectionFailsInFlightCommandsAndReconnects() async throws {
        let c = try client(TestRedis.url)
        defer { Task { await c.shutdown() } }
        let loop = group.any()
        let id = try await c.send(RedisCommand(["CLIENT", "ID"]), on: loop).get().int!
        // A slow command in flight while the connection is killed from the server side.
        let inFlight = c.send(RedisCommand(["BLPOP", TestRedis.uniquePrefix() + "never", "5"]), on: loop)
        try await TestRedis.command(["CLIENT", "KILL", "ID", String(id)])
        await #expect(throws: RedisError.self) { try await inFlight.get() }
        let back = try await eventually(within: 3) { (try? await c.ping(on: loop).get()) != nil }
        #expect(back)
    }

    @Test func frozenRedisTimesOutAndServiceResumes() async throws {
        let server = try RedisServerProcess.start(listen: .tcp(port: RedisServerProcess.freePort()))
        defer { server.stop() }
        let c = try client(server.url, timeout: .milliseconds(300))
        defer { Task { await c.shutdown() } }
        let loop = group.any()
        try await c.ping(on: loop).get()
        let pid = try #require(server.redisPID)
        kill(pid, SIGSTOP)
        let start = Date()
        await #expect(throws: RedisError.timeout) { try await c.ping(on: loop).get() }
        #expect(Date().timeIntervalSince(start) < 2)
        kill(pid, SIGCONT)
        let back = try await eventually(within: 3) { (try? await c.ping(on: loop).get()) != nil }
        #expect(back)
    }

    @Test func authenticatesWithUserAndPasswordAndSelectsTheDatabase() async throws {
        let server = try RedisServerProcess.start(
            listen: .tcp(port: RedisServerProcess.freePort()),
            extraArguments: ["--requirepass", "topsecret", "--user", "app", "on", ">apppw", "~*", "&*", "+@all"])
        defer { server.stop() }
        let port = server.port!
        let withUser = try client("redis://app:apppw@127.0.0.1:\(port)/5")
        defer { Task { await withUser.shutdown() } }
        _ = try await withUser.send(RedisCommand(["SET", "where", "db5"]), on: group.any()).get()
        let withPassword = try client("redis://:topsecret@127.0.0.1:\(port)/5")
        defer { Task { await withPassword.shutdown() } }
        #expect(try await withPassword.send(RedisCommand(["GET", "where"]), on: group.any()).get().string == "db5")
        let db0 = try client("redis://:topsecret@127.0.0.1:\(port)/0")
        defer { Task { await db0.shutdown() } }
        #expect(try await db0.send(RedisCommand(["GET", "where"]), on: group.any()).get() == .null)
        let wrong = try client("redis://app:nope@127.0.0.1:\(port)/0")
        defer { Task { await wrong.shutdown() } }
        await #expect(throws: RedisError.self) { try await wrong.ping(on: group.any()).get() }
    }

    @Test func connectsOverAUnixSocket() async throws {
        let server = try RedisServerProcess.start()
        defer { server.stop() }
        #expect(server.url.hasPrefix("unix://"))
        let c = try client(server.url)
        defer { Task { await c.shutdown() } }
        try await c.ping(on: group.any()).get()
    }

    // MARK: --min-replicas-ack (WAIT)

    private func counterScript() -> RedisScript {
        RedisScript(name: "incr", source: "return redis.call('INCR', KEYS[1]) -- \(UUID())")
    }

    @Test func durableWritesFailWhenTooFewReplicasConfirmThem() async throws {
        // WAIT blocks for half the timeout each time it fails (twice for the first call: NOSCRIPT, then EVAL);
        // 1 s leaves slow sanitizer builds room before the command deadline.
        var configuration = try RedisConfiguration(url: TestRedis.url, timeout: .seconds(1))
        configuration.minReplicasAck = 1  // the test Redis has no replica
        let c = RedisClient(configuration: configuration, eventLoopGroup: group, logger: Logger(label: "test"))
        defer { Task { await c.shutdown() } }
        let key = TestRedis.uniquePrefix() + "n"
        await #expect(throws: RedisError.notReplicated(acknowledged: 0, wanted: 1)) {
            try await c.run(ScriptCall(counterScript(), keys: [key]), on: group.any()).get()
        }
        // Reads (non-durable scripts) and plain commands do not wait.
        let read = RedisScript(name: "get", source: "return redis.call('GET', KEYS[1]) -- \(UUID())", durable: false)
        #expect(try await c.run(ScriptCall(read, keys: [key]), on: group.any()).get() == .bulk(Array("1".utf8)))
        await #expect(throws: RedisError.notReplicated(acknowledged: 0, wanted: 1)) {
            try await c.send(RedisCommand(["DEL", key]), on: group.any(), durable: true).get()
        }
    }

    @Test func durableWritesSucceedOnceAReplicaHasThem() async throws {
        let primary = try RedisServerProcess.start(listen: .tcp(port: RedisServerProcess.freePort()),
                                                   extraArguments: ["--repl-diskless-sync-delay", "0"])
        defer { primary.stop() }
        let replica = try RedisServerProcess.start(listen: .tcp(port: RedisServerProcess.freePort()),
                                                   extraArguments: ["--replicaof", "127.0.0.1", String(primary.port!)])
        defer { replica.stop() }
        let replicaInspector = try TestRedis.inspector(port: replica.port!)
        #expect(try await eventually(within: 10) {
            (try await replicaInspector.command(["INFO", "replication"])).string?.contains("master_link_status:up") == true
        })
        var configuration = try RedisConfiguration(url: "redis://127.0.0.1:\(primary.port!)/0")
        configuration.minReplicasAck = 1
        let c = RedisClient(configuration: configuration, eventLoopGroup: group, logger: Logger(label: "test"))
        defer { Task { await c.shutdown() } }
        let script = counterScript()
        for expected in 1...20 {
            #expect(try await c.run(ScriptCall(script, keys: ["n"]), on: group.any()).get() == .integer(Int64(expected)))
        }
        // Acknowledged means on the replica now, not eventually.
        #expect(try await replicaInspector.command(["GET", "n"]).string == "20")
    }
}
