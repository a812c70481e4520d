import Foundation
import Testing
import TestSupport
@testable import HTTPFront
import Sessions
import Redis

/// `--touch-interval` (§2): a read slides the TTL only when that moves the
/// expiry later by more than the interval, so `TTL` reads between
/// `ttl - interval` and `ttl`; writes always slide; `?touch=false` never does.
/// An elapsed interval is simulated by cutting the key's TTL by hand.
@Suite struct TouchIntervalTests {
    static let ttl = 1000
    static let interval = 60

    enum Path: String, CaseIterable {
        case fast = "MULTI (ttl remembered)"
        case unseen = "MULTI (a sidecar that never saw it)"
        case script = "Lua (a session with a user)"
    }

    private func withSession(_ path: Path, _ body: (TestDaemon, String, String) async throws -> Void) async throws {
        let config = SessionConfiguration(keyPrefix: TestRedis.uniquePrefix(), touchInterval: Self.interval)
        try await TestDaemon.with(sessions: config) { writer in
            try await TestDaemon.with(sessions: config) { stranger in
                let user = path == .script ? #", "user": "ti-user""# : ""
                let id = try await writer.create(#"{"ttl": \#(Self.ttl), "data": {"k": 1}\#(user)}"#)
                try await body(path == .unseen ? stranger : writer, id, writer.sessionKey(id))
            }
        }
    }

    private func ttl(_ key: String) async throws -> Int {
        try #require(try await TestRedis.command(["TTL", key]).int.map(Int.init))
    }

    @Test(arguments: Path.allCases)
    func readsWithinTheIntervalWriteNothingAndReadsAfterItSlide(path: Path) async throws {
        try await withSession(path) { d, id, key in
            for route in ["", "/expiry", "/data/k"] {
                // Slid 40 s ago (< interval): the read leaves the TTL alone, and reports it.
                try await TestRedis.command(["EXPIRE", key, String(Self.ttl - 40)])
                let r = try await d.get("/v1/sessions/\(id)\(route)")
                #expect(r.status == 200)
                let left = try await ttl(key)
                #expect(left <= Self.ttl - 40, "\(path.rawValue) GET \(route) slid within the interval: TTL \(left)")
                if route != "/data/k" {
                    #expect((r.json["expires_in"] as? Int).map { $0 <= Self.ttl - 40 } == true, "\(r.text)")
                }
                // Slid 61 s ago (> interval): this read slides it.
                try await TestRedis.command(["EXPIRE", key, String(Self.ttl - Self.interval - 1)])
                #expect(try await d.get("/v1/sessions/\(id)\(route)").status == 200)
                let slid = try await ttl(key)
                #expect(slid >= Self.ttl - 2, "\(path.rawValue) GET \(route) did not slide after the interval: TTL \(slid)")
            }
            #expect(try await d.send("HEAD", "/v1/sessions/\(id)").status == 200)
        }
    }

    @Test(arguments: Path.allCases)
    func repeatedReadsKeepTheTTLWithinTheInterval(path: Path) async throws {
        try await withSession(path) { d, id, key in
            for i in 0..<30 {
                // A clock that runs 5 s per read: the TTL must never fall below ttl - interval.
                let now = try await ttl(key)
                try await TestRedis.command(["EXPIRE", key, String(max(now - 5, 1))])
                #expect(try await d.get("/v1/sessions/\(id)").status == 200)
                let left = try await ttl(key)
                #expect((Self.ttl - Self.interval - 1...Self.ttl).contains(left), "read \(i) on \(path.rawValue): TTL \(left)")
            }
        }
    }

    @Test(arguments: Path.allCases)
    func writesAlwaysSlideAndTouchFalseNeverDoes(path: Path) async throws {
        try await withSession(path) { d, id, key in
            try await TestRedis.command(["EXPIRE", key, String(Self.ttl - 10)])
            #expect(try await d.send("PATCH", "/v1/sessions/\(id)", #"{"set": {"b": 2}}"#).status == 200)
            #expect(try await ttl(key) >= Self.ttl - 1, "a write within the interval did not slide")
            try await TestRedis.command(["EXPIRE", key, String(Self.ttl - Self.interval - 100)])
            #expect(try await d.get("/v1/sessions/\(id)?touch=false").status == 200)
            #expect(try await ttl(key) <= Self.ttl - Self.interval - 100, "?touch=false slid")
        }
    }

    @Test func readsWithinTheIntervalSendNoExpiryCommandToRedis() async throws {
        let server = try RedisServerProcess.start(listen: .tcp(port: RedisServerProcess.freePort()))
        defer { server.stop() }
        let redis = try TestRedis.inspector(port: server.port!)
        let config = SessionConfiguration(keyPrefix: TestRedis.uniquePrefix(), touchInterval: Self.interval)
        try await TestDaemon.with(sessions: config, redisURL: server.url) { d in
            let plain = try await d.create(#"{"ttl": 1000}"#)
            let owned = try await d.create(#"{"ttl": 1000, "user": "u"}"#)
            try await redis.command(["CONFIG", "RESETSTAT"])
            for _ in 0..<50 {
                #expect(try await d.get("/v1/sessions/\(plain)").status == 200)
                #expect(try await d.get("/v1/sessions/\(owned)").status == 200)
            }
            let stats = try await redis.command(["INFO", "commandstats"]).string ?? ""
            #expect(!stats.contains("cmdstat_pexpire"), "reads within the interval wrote expiries:\n\(stats)")
            #expect(!stats.contains("cmdstat_expire"), "\(stats)")
        }
    }

    @Test(arguments: Path.allCases)
    func aSessionWhoseTTLIsAtMostTheIntervalStillSlides(path: Path) async throws {
        let config = SessionConfiguration(keyPrefix: TestRedis.uniquePrefix(), touchInterval: Self.interval)
        try await TestDaemon.with(sessions: config) { writer in
            try await TestDaemon.with(sessions: config) { stranger in
                let user = path == .script ? #", "user": "short-ttl""# : ""
                let id = try await writer.create(#"{"ttl": 30\#(user)}"#)
                let key = writer.sessionKey(id)
                // 20 s behind a full slide: more than half the ttl, so due despite the 60 s interval.
                try await TestRedis.command(["EXPIRE", key, "10"])
                #expect(try await (path == .unseen ? stranger : writer).get("/v1/sessions/\(id)").status == 200)
                let left = try await ttl(key)
                #expect(left >= 28, "\(path.rawValue): a 30 s session under a 60 s interval did not slide (TTL \(left))")
            }
        }
    }

    @Test func aFullRedisStillSlidesUnderTheInterval() async throws {
        let server = try RedisServerProcess.start(listen: .tcp(port: RedisServerProcess.freePort()))
        defer { server.stop() }
        let redis = try TestRedis.inspector(port: server.port!)
        let config = SessionConfiguration(keyPrefix: TestRedis.uniquePrefix(), touchInterval: Self.interval)
        try await TestDaemon.with(sessions: config, redisURL: server.url) { d in
            let id = try await d.create(#"{"ttl": 1000}"#)
            try await redis.command(["CONFIG", "SET", "maxmemory-policy", "noeviction"])
            try await redis.command(["CONFIG", "SET", "maxmemory", "1"])
            try await redis.command(["EXPIRE", d.sessionKey(id), "500"])
            #expect(try await d.get("/v1/sessions/\(id)").status == 200)
            let left = try #require(try await redis.command(["TTL", d.sessionKey(id)]).int)
            #expect(left > 990, "a full Redis stopped the slide: TTL \(left)")
        }
    }
}
