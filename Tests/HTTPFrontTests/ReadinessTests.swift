import Foundation
import Testing
import TestSupport
@testable import HTTPFront
import Sessions
import Redis

/// `/readyz` is 503 with `Retry-After` for every way Redis can fail, a timeout
/// included (the contract: "not ready" is 503), and 200 again once it recovers.
@Suite struct ReadinessTests {
    private func expectNotReady(_ d: TestDaemon, _ why: String, detail: String? = nil,
                                sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let r = try await d.get("/readyz")
        #expect(r.status == 503, "\(why): /readyz answered \(r.status) \(r.text)", sourceLocation: sourceLocation)
        #expect(r.header("Retry-After") == "1", "\(why): no Retry-After", sourceLocation: sourceLocation)
        #expect(r.header("Content-Type") == "application/problem+json", sourceLocation: sourceLocation)
        if let detail {
            #expect(r.text.contains(detail), "\(why): detail \(r.text)", sourceLocation: sourceLocation)
        }
    }

    @Test func refused() async throws {
        let port = RedisServerProcess.freePort()
        try await TestDaemon.with(redisURL: "redis://127.0.0.1:\(port)/0") { d in
            // No detail check: a parallel test may have taken the freed port meanwhile.
            try await expectNotReady(d, "connection refused")
            #expect(try await d.get("/healthz").status == 200)
        }
    }

    @Test func droppedThenBack() async throws {
        let port = RedisServerProcess.freePort()
        var server = try RedisServerProcess.start(listen: .tcp(port: port))
        try await TestDaemon.with(redisURL: server.url) { d in
            #expect(try await eventually(within: 5) { try await d.get("/readyz").status == 200 })
            server.stop()
            try await expectNotReady(d, "Redis gone")
            server = try RedisServerProcess.start(listen: .tcp(port: port))
            #expect(try await eventually(within: 5) { try await d.get("/readyz").status == 200 })
        }
        server.stop()
    }

    @Test func timedOutIs503Not504() async throws {
        let server = try RedisServerProcess.start(listen: .tcp(port: RedisServerProcess.freePort()))
        defer { server.stop() }
        try await TestDaemon.with(redisURL: server.url, redisTimeout: .milliseconds(300)) { d in
            #expect(try await eventually(within: 5) { try await d.get("/readyz").status == 200 })
            let pid = try #require(server.redisPID)
            kill(pid, SIGSTOP)
            defer { kill(pid, SIGCONT) }
            try await expectNotReady(d, "Redis frozen", detail: "did not answer")
            kill(pid, SIGCONT)
            #expect(try await eventually(within: 5) { try await d.get("/readyz").status == 200 })
        }
    }

    @Test func loading() async throws {
        // A dump large enough that loading it, slowed per key, takes seconds.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sessiond-loading-\(UInt32.random(in: 0...UInt32.max))").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let port = RedisServerProcess.freePort()
        let seed = try RedisServerProcess.start(listen: .tcp(port: port), directory: dir)
        let redis = try TestRedis.inspector(port: port)
        try await redis.command(["EVAL", "for i = 1, 3000 do redis.call('SET', 'k' .. i, i) end", "0"])
        try await redis.command(["SAVE"])
        seed.stop()
        let server = try RedisServerProcess.start(
            listen: .tcp(port: port),
            extraArguments: ["--key-load-delay", "1000", "--loading-process-events-interval-bytes", "1024"],
            directory: dir)
        defer { server.stop() }
        try await TestDaemon.with(redisURL: server.url) { d in
            try await expectNotReady(d, "LOADING", detail: "LOADING")
            #expect(try await eventually(within: 30) { try await d.get("/readyz").status == 200 })
        }
    }

    @Test func authenticationRefused() async throws {
        let server = try RedisServerProcess.start(listen: .tcp(port: RedisServerProcess.freePort()),
                                                  extraArguments: ["--requirepass", "right-password"])
        defer { server.stop() }
        try await TestDaemon.with(redisURL: "redis://:wrong-password@127.0.0.1:\(server.port!)/0") { d in
            try await expectNotReady(d, "wrong password", detail: "WRONGPASS")
        }
        try await TestDaemon.with(redisURL: "redis://127.0.0.1:\(server.port!)/0") { d in
            try await expectNotReady(d, "no password", detail: "NOAUTH")
        }
    }

    @Test func demotedPrimary() async throws {
        let primary = try RedisServerProcess.start(listen: .tcp(port: RedisServerProcess.freePort()))
        defer { primary.stop() }
        let other = try RedisServerProcess.start(listen: .tcp(port: RedisServerProcess.freePort()))
        defer { other.stop() }
        let redis = try TestRedis.inspector(port: primary.port!)
        try await TestDaemon.with(redisURL: primary.url) { d in
            #expect(try await eventually(within: 5) { try await d.get("/readyz").status == 200 })
            try await redis.command(["REPLICAOF", "127.0.0.1", String(other.port!)])
            try await expectNotReady(d, "demoted to a replica", detail: "replica")
            try await redis.command(["REPLICAOF", "NO", "ONE"])
            #expect(try await eventually(within: 5) { try await d.get("/readyz").status == 200 })
        }
    }

    /// A least-privilege ACL user may not run ROLE (@admin): PING alone decides then.
    @Test func anACLUserWithoutROLEIsReady() async throws {
        let server = try RedisServerProcess.start(listen: .tcp(port: RedisServerProcess.freePort()))
        defer { server.stop() }
        let redis = try TestRedis.inspector(port: server.port!)
        try await redis.command(["ACL", "SETUSER", "app", "on", ">app-secret", "~*", "+@all", "-role"])
        try await TestDaemon.with(redisURL: "redis://app:app-secret@127.0.0.1:\(server.port!)/0") { d in
            let ready = try await eventually(within: 5) { try await d.get("/readyz").status == 200 }
            #expect(ready)
        }
    }
}
