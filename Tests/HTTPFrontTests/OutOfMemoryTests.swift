import Foundation
import Testing
import TestSupport
@testable import HTTPFront
import Sessions
import Redis

/// A full Redis (maxmemory reached, noeviction) refuses writes, never reads:
/// every read route answers 200 and still slides the TTL, on the MULTI path
/// (sessions with a remembered or guessed ttl) and on the Lua path (a user),
/// and for sessions this process has never seen.
@Suite(.serialized) struct OutOfMemoryTests {
    /// The three ways a read is served (`SessionStore.read`).
    enum Path: String, CaseIterable {
        case fastSeen = "MULTI, ttl remembered"
        case fastUnseen = "MULTI, ttl guessed (a sidecar that never saw it)"
        case script = "Lua (a session with a user)"
    }

    struct Route: Sendable {
        let method: String
        /// After `/v1/sessions/{id}`.
        let tail: String
        let slides: Bool
        func path(_ id: String) -> String { "/v1/sessions/\(id)\(tail)" }
    }

    static let routes: [Route] = [
        Route(method: "GET", tail: "", slides: true),
        Route(method: "HEAD", tail: "", slides: true),
        Route(method: "GET", tail: "/expiry", slides: true),
        Route(method: "GET", tail: "/data/k", slides: true),
        Route(method: "GET", tail: "?touch=false", slides: false),
        Route(method: "HEAD", tail: "?touch=false", slides: false),
        Route(method: "GET", tail: "/expiry?touch=false", slides: false),
        Route(method: "GET", tail: "/data/k?touch=false", slides: false),
    ]

    @Test(arguments: Path.allCases)
    func everyReadRouteAnswersAndSlidesWhileRedisIsFull(path: Path) async throws {
        let server = try RedisServerProcess.start(listen: .tcp(port: RedisServerProcess.freePort()))
        defer { server.stop() }
        let redis = try TestRedis.inspector(port: server.port!)
        let config = SessionConfiguration(keyPrefix: TestRedis.uniquePrefix())
        try await TestDaemon.with(sessions: config, redisURL: server.url) { writer in
            try await TestDaemon.with(sessions: config, redisURL: server.url) { stranger in
                let body = path == .script ? #"{"ttl": 1000, "data": {"k": "v"}, "user": "u"}"#
                                           : #"{"ttl": 1209600, "data": {"k": "v"}}"#
                let ttl = path == .script ? 1000 : 1_209_600
                let id = try await writer.create(body)
                let key = writer.sessionKey(id)
                let reader = path == .fastUnseen ? stranger : writer

                try await redis.command(["CONFIG", "SET", "maxmemory-policy", "noeviction"])
                try await redis.command(["CONFIG", "SET", "maxmemory", "1"])
                // Redis is really full: a write is refused, and changes nothing.
                let before = try await writer.snapshot(port: server.port!)
                #expect(try await reader.send("PATCH", "/v1/sessions/\(id)", #"{"set": {"b": 2}}"#).status == 507)
                #expect(try await writer.snapshot(port: server.port!) == before)

                for route in Self.routes {
                    // Cut the TTL by hand (PEXPIRE allocates nothing, so a full Redis takes it).
                    try await redis.command(["EXPIRE", key, "500"])
                    let r = try await reader.send(route.method, route.path(id))
                    #expect(r.status == 200, "\(route.method) \(route.path(id)) on \(path.rawValue): \(r.status) \(r.text)")
                    let left = try #require(try await redis.command(["TTL", key]).int)
                    if route.slides {
                        #expect(left > ttl - 5, "\(route.method) \(route.path(id)) on \(path.rawValue) did not slide: TTL \(left)")
                    } else {
                        #expect(left <= 500, "\(route.method) \(route.path(id)) on \(path.rawValue) slid: TTL \(left)")
                    }
                }
                let data = try await reader.get("/v1/sessions/\(id)/data/k")
                #expect(data.text == #""v""#)
                // Deletes free memory, so they work too.
                #expect(try await reader.send("DELETE", "/v1/sessions/\(id)").status == 204)
                #expect(try await redis.command(["EXISTS", key]).int == 0)
            }
        }
    }

    @Test func writesAre507AndWriteNothing() async throws {
        let server = try RedisServerProcess.start(listen: .tcp(port: RedisServerProcess.freePort()))
        defer { server.stop() }
        let redis = try TestRedis.inspector(port: server.port!)
        try await TestDaemon.with(redisURL: server.url) { d in
            let id = try await d.create(#"{"data": {"a": 1}, "user": "u"}"#)
            let plain = try await d.create(#"{"data": {"a": 1}}"#)
            try await redis.command(["CONFIG", "SET", "maxmemory-policy", "noeviction"])
            try await redis.command(["CONFIG", "SET", "maxmemory", "1"])
            let before = try await d.snapshot(port: server.port!)
            let r = try await d.send("POST", "/v1/sessions", #"{"data": {"a": 1}}"#)
            #expect(r.status == 507)
            #expect(r.header("Content-Type") == "application/problem+json")
            #expect(r.header("Retry-After") == "1")
            for s in [id, plain] {
                #expect(try await d.send("PUT", "/v1/sessions/\(s)", #"{"data": {"b": 2}}"#).status == 507)
                #expect(try await d.send("PATCH", "/v1/sessions/\(s)", #"{"set": {"b": 2}}"#).status == 507)
                #expect(try await d.send("PUT", "/v1/sessions/\(s)/data/b", "2").status == 507)
                #expect(try await d.send("PUT", "/v1/sessions/\(s)/expiry", #"{"ttl": 60}"#).status == 507)
                #expect(try await d.send("POST", "/v1/sessions/\(s)/cycle").status == 507)
            }
            #expect(try await d.send("PUT", "/v1/sessions/oom-session-1", #"{"data": {"a": 1}, "user": "u"}"#).status == 507)
            // Nothing half-written.
            #expect(try await d.snapshot(port: server.port!) == before)
        }
    }
}
