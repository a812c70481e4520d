import Foundation
import Testing
import TestSupport
@testable import HTTPFront
import Sessions
import Redis

/// The daemon over TLS to Redis: the whole session cycle works, and a TLS
/// failure is a 503 (never a plain-text retry); `sessiond check` names it.
@Suite struct RedisTLSDaemonTests {
    @Test func sessionsOverTLSWithMutualAuthentication() async throws {
        let server = try TestTLS.server(mutual: true)
        defer { server.stop() }
        try await TestDaemon.with(redisURL: "rediss://localhost:\(server.port!)/0",
                                  redisTLS: try TestTLS.trusting(client: "client")) { d in
            #expect(try await d.get("/readyz").status == 200)
            let id = try await d.create(#"{"data": {"a": 1}, "user": "tls-user"}"#)
            #expect(try await d.send("PATCH", "/v1/sessions/\(id)", #"{"set": {"b": 2}}"#).status == 200)
            let r = try await d.get("/v1/sessions/\(id)")
            #expect(r.status == 200)
            #expect((r.json["data"] as? [String: Any])?["b"] as? Int == 2)
            #expect(try await d.get("/v1/users/tls-user/sessions").status == 200)
            #expect(try await d.send("DELETE", "/v1/sessions/\(id)").status == 204)
            #expect(try await d.get("/v1/sessions/\(id)").status == 404)
        }
    }

    @Test func aCertificateThatDoesNotVerifyIs503() async throws {
        let server = try TestTLS.server(presenting: "untrusted")
        defer { server.stop() }
        try await TestDaemon.with(redisURL: "rediss://127.0.0.1:\(server.port!)/0", redisTLS: try TestTLS.trusting()) { d in
            let ready = try await d.get("/readyz")
            #expect(ready.status == 503)
            #expect(ready.header("Retry-After") == "1")
            let created = try await d.send("POST", "/v1/sessions")
            #expect(created.status == 503)
            #expect(try await d.get("/healthz").status == 200)
        }
    }

    /// `sessiond check`, the built binary beside this test bundle, as an operator runs it.
    @Test func checkExitsNonZeroNamingTheProblem() async throws {
        let binary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("sessiond").path
        try #require(FileManager.default.isExecutableFile(atPath: binary), "no sessiond binary at \(binary) (swift build)")
        let good = try TestTLS.server(mutual: true)
        defer { good.stop() }
        let expired = try TestTLS.server(presenting: "expired")
        defer { expired.stop() }
        let plain = try RedisServerProcess.start(listen: .tcp(port: RedisServerProcess.freePort()))
        defer { plain.stop() }
        let ca = TestTLS.file("ca.crt"), cert = TestTLS.file("client.crt"), key = TestTLS.file("client.key")
        let cases: [(args: [String], status: Int32, says: String)] = [
            (["--redis", "rediss://localhost:\(good.port!)/0", "--redis-tls-ca", ca, "--redis-tls-cert", cert, "--redis-tls-key", key],
             0, "answers PING as a primary"),
            (["--redis", "rediss://localhost:\(good.port!)/0", "--redis-tls-ca", ca], 1, "refused our client certificate"),
            (["--redis", "rediss://127.0.0.1:\(good.port!)/0", "--redis-tls-ca", TestTLS.file("other-ca.crt"),
              "--redis-tls-cert", cert, "--redis-tls-key", key], 1, "not signed by a CA in --redis-tls-ca"),
            (["--redis", "rediss://127.0.0.1:\(expired.port!)/0", "--redis-tls-ca", ca], 1, "expired at 2021-01-01"),
            (["--redis", "rediss://127.0.0.1:\(plain.port!)/0", "--redis-tls-ca", ca, "--redis-timeout", "500ms"], 1, "plain-text port?"),
            (["--redis", "redis://127.0.0.1:\(plain.port!)/0", "--redis-tls-ca", ca], 64, "need TLS: a rediss:// URL or --redis-tls"),
            (["--redis", "rediss://127.0.0.1:\(good.port!)/0", "--redis-tls-ca", "/nonexistent.crt"], 64, "no such file"),
        ]
        for c in cases {
            let (status, text) = try spawnAndWait([binary, "check"] + c.args)
            #expect(status == c.status, "check \(c.args): exit \(status)\n\(text)")
            #expect(text.contains(c.says), "check \(c.args) said:\n\(text)")
        }
    }
}
