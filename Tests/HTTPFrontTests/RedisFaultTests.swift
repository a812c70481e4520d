import Foundation
import NIOCore
import Testing
import TestSupport
import Redis

/// Redis killed under load: sessiond stays up, says 503 while Redis is gone,
/// serves again soon after it returns, and no acknowledged write is lost.
@Suite struct RedisFaultTests {
    actor Tally {
        var acked: [String] = []
        var statuses: [Int: Int] = [:]
        func record(_ key: String, _ status: Int) {
            statuses[status, default: 0] += 1
            if status == 204 { acked.append(key) }
        }
    }

    @Test func killedRedisLosesNoAcknowledgedWrite() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sessiond-aof-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let port = RedisServerProcess.freePort()
        let durable = ["--appendonly", "yes", "--appendfsync", "always"]
        var redis = try RedisServerProcess.start(listen: .tcp(port: port), extraArguments: durable, directory: dir)
        defer { redis.stop() }
        try await TestDaemon.with(redisURL: "redis://127.0.0.1:\(port)/0", redisTimeout: .milliseconds(500)) { d in
            let id = try await d.create()
            let tally = Tally()
            let stop = Date().addingTimeInterval(30)
            let writer: @Sendable (Int) async -> Void = { w in
                var i = 0
                while Date() < stop, !Task.isCancelled {
                    let key = "w\(w)-\(i)"
                    i += 1
                    let status = (try? await d.send("PUT", "/v1/sessions/\(id)/data/\(key)", "1").status) ?? -1
                    await tally.record(key, status)
                }
            }
            let load = Task {
                await withTaskGroup(of: Void.self) { group in
                    for w in 0..<4 { group.addTask { await writer(w) } }
                }
            }
            // Let writes flow, then kill Redis without warning.
            #expect(try await eventually(within: 10) { await tally.acked.count >= 50 })
            let pid = try #require(redis.redisPID)
            kill(pid, SIGKILL)
            #expect(try await eventually(within: 5) { await tally.statuses[503, default: 0] > 0 })
            let gone = try await d.send("PUT", "/v1/sessions/\(id)/data/probe", "1")
            #expect(gone.status == 503)
            #expect(gone.header("Retry-After") == "1")
            redis.stop()
            redis = try RedisServerProcess.start(listen: .tcp(port: port), extraArguments: durable, directory: dir)
            let back = Date()
            #expect(try await eventually(within: 5) { try await d.get("/v1/sessions/\(id)?touch=false").status == 200 })
            let recovery = Date().timeIntervalSince(back)
            #expect(recovery < 1.0, "took \(recovery) s to serve again after Redis returned")
            let before = await tally.acked.count
            #expect(try await eventually(within: 10) { await tally.acked.count >= before + 50 })
            load.cancel()
            await load.value
            let acked = await tally.acked
            let stored = Set(try await TestRedis.inspector(port: port).hash(d.sessionKey(id)).keys)
            let missing = acked.filter { !stored.contains("data:" + $0) }
            #expect(missing.isEmpty, "\(missing.count) of \(acked.count) acknowledged writes missing after the restart")
            print("redis-kill: \(acked.count) writes acknowledged, \(missing.count) missing after restart; statuses \(await tally.statuses); recovery \(String(format: "%.3f", recovery)) s")
        }
    }
}
