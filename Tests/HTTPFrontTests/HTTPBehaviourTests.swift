import Foundation
import Testing
import TestSupport
@testable import HTTPFront
import Sessions
import Redis

@Suite struct HTTPBehaviourTests {
    @Test func probesMetricsAndOpenAPI() async throws {
        try await TestDaemon.with { d in
            #expect(try await d.get("/healthz").status == 200)
            #expect(try await d.get("/readyz").status == 200)
            _ = try await d.create()
            let m = try await d.get("/metrics")
            #expect(m.status == 200)
            #expect(m.header("Content-Type")?.hasPrefix("text/plain") == true)
            for name in ["sessiond_http_requests_total{", "sessiond_http_request_duration_seconds_bucket{",
                         "sessiond_sessions_created_total 1", "sessiond_redis_command_duration_seconds_bucket{",
                         "sessiond_redis_connects_total", "sessiond_redis_connected{", "sessiond_redis_pipeline_depth{"] {
                #expect(m.text.contains(name), "\(name) missing from /metrics")
            }
            #expect(m.text.contains(#"route="/v1/sessions",status="201""#) || m.text.contains(#"status="201""#))
            let o = try await d.get("/openapi.yaml")
            #expect(o.status == 200)
            #expect(o.text.hasPrefix("openapi: 3.1"))
        }
    }

    @Test func wrongMethodIs405WithAllow() async throws {
        try await TestDaemon.with { d in
            let r = try await d.send("POST", "/v1/sessions/some-session-id")
            #expect(r.status == 405)
            #expect(r.header("Allow") == "GET, HEAD, PUT, PATCH, DELETE")
            #expect(r.header("Content-Type") == "application/problem+json")
            #expect(try await d.send("PUT", "/v1/sessions").header("Allow") == "POST, DELETE")
            #expect(try await d.send("GET", "/v1/sessions/some-session-id/cycle").header("Allow") == "POST")
            #expect(try await d.send("DELETE", "/healthz").status == 405)
            #expect(try await d.get("/v2/nothing").status == 404)
            #expect(try await d.get("/v1/sessions/abcdefgh/unknown").status == 404)
        }
    }

    @Test func bearerTokenGuardsEverythingButProbes() async throws {
        try await TestDaemon.with(authToken: "s3cret-token") { d in
            #expect(try await d.get("/healthz").status == 200)
            #expect(try await d.get("/readyz").status == 200)
            let denied = try await d.send("POST", "/v1/sessions")
            #expect(denied.status == 401)
            #expect(denied.header("WWW-Authenticate") == "Bearer")
            #expect(denied.header("Content-Type") == "application/problem+json")
            #expect(try await d.send("POST", "/v1/sessions", headers: [("Authorization", "Bearer wrong")]).status == 401)
            #expect(try await d.send("POST", "/v1/sessions", headers: [("Authorization", "Bearer s3cret-tokenX")]).status == 401)
            #expect(try await d.send("POST", "/v1/sessions", headers: [("Authorization", "Basic s3cret-token")]).status == 401)
            #expect(try await d.get("/metrics").status == 401)
            #expect(try await d.get("/openapi.yaml").status == 401)
            #expect(try await d.get("/nope").status == 401)
            #expect(try await d.keys().isEmpty)
            #expect(try await d.send("POST", "/v1/sessions", headers: [("Authorization", "Bearer s3cret-token")]).status == 201)
            #expect(try await d.get("/metrics", headers: [("Authorization", "bearer s3cret-token")]).status == 200)
        }
    }

    @Test func constantTimeComparison() {
        #expect(BearerAuth.constantTimeEqual(Array("abc".utf8), Array("abc".utf8)))
        #expect(!BearerAuth.constantTimeEqual(Array("abc".utf8), Array("abd".utf8)))
        #expect(!BearerAuth.constantTimeEqual(Array("abc".utf8), Array("abcd".utf8)))
        #expect(!BearerAuth.constantTimeEqual([], Array("a".utf8)))
    }

    @Test func pipelinedRequestsAndHTTP10() async throws {
        try await TestDaemon.with { d in
            let id = try await d.create(#"{"data": {"a": 1}}"#)
            let pipelined = "GET /v1/sessions/\(id)/data/a HTTP/1.1\r\nHost: x\r\n\r\n" +
                "PUT /v1/sessions/\(id)/data/a HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n2" +
                "GET /v1/sessions/\(id)/data/a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            let out = String(decoding: try await d.client.raw(Array(pipelined.utf8)), as: UTF8.self)
            let statuses = out.components(separatedBy: "HTTP/1.1 ").dropFirst().map { $0.components(separatedBy: "\r\n")[0] }
            #expect(statuses == ["200 OK", "204 No Content", "200 OK"])
            #expect(out.contains("\r\n\r\n1HTTP/1.1 204"))
            #expect(out.hasSuffix("\r\n\r\n2"))
            let old = String(decoding: try await d.client.raw(Array("GET /healthz HTTP/1.0\r\n\r\n".utf8)), as: UTF8.self)
            #expect(old.hasPrefix("HTTP/1.0 200 OK"))
            #expect(old.contains("{\"status\":\"ok\"}"))
        }
    }

    @Test func listensOnAUnixSocketWithMode0660() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sessiond-test-\(UInt32.random(in: 0...UInt32.max)).sock").path
        try await TestDaemon.with(listen: .unix(path: path)) { d in
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            #expect((attributes[.posixPermissions] as? Int) == 0o660)
            #expect(try await d.send("POST", "/v1/sessions").status == 201)
        }
        try? FileManager.default.removeItem(atPath: path)
    }

    @Test func openAPIDocumentsExactlyTheRoutesTheRouterKnows() {
        var documented: [String: Set<String>] = [:]
        var current: String?
        for line in OpenAPIDocument.yaml.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("  /"), line.hasSuffix(":") {
                current = String(line.dropFirst(2).dropLast())
                documented[current!] = []
            } else if line.hasPrefix("  "), !line.hasPrefix("   "), !line.hasPrefix("  /") {
                current = nil
            } else if let c = current, line.hasPrefix("    "), !line.hasPrefix("     "), line.hasSuffix(":") {
                let word = line.trimmingCharacters(in: .whitespaces).dropLast()
                if ["get", "head", "put", "post", "patch", "delete", "options"].contains(word) {
                    documented[c]!.insert(word.uppercased())
                }
            }
            if !line.hasPrefix(" ") && !line.isEmpty && line != "paths:" { current = nil }
        }
        let routed = Dictionary(uniqueKeysWithValues: Route.table.map { ($0.path, Set($0.methods.map(\.rawValue))) })
        #expect(documented == routed)
    }
}

/// Redis trouble: 503 with Retry-After while Redis is gone, 504 when it does
/// not answer in time, and recovery without a restart.
@Suite struct RedisTroubleTests {
    @Test func unreachableRedisIs503WithRetryAfterAndReadyzFails() async throws {
        let port = RedisServerProcess.freePort()
        try await TestDaemon.with(redisURL: "redis://127.0.0.1:\(port)/0") { d in
            let r = try await d.send("POST", "/v1/sessions")
            #expect(r.status == 503)
            #expect(r.header("Retry-After") == "1")
            #expect(r.header("Content-Type") == "application/problem+json")
            #expect(try await d.get("/readyz").status == 503)
            #expect(try await d.get("/healthz").status == 200)
            let server = try RedisServerProcess.start(listen: .tcp(port: port))
            defer { server.stop() }
            let recovered = try await eventually(within: 3) { try await d.send("POST", "/v1/sessions").status == 201 }
            #expect(recovered)
            #expect(try await d.get("/readyz").status == 200)
        }
    }

    @Test func frozenRedisIs504AfterTheTimeoutAndRecovers() async throws {
        let server = try RedisServerProcess.start(listen: .tcp(port: RedisServerProcess.freePort()))
        defer { server.stop() }
        try await TestDaemon.with(redisURL: server.url, redisTimeout: .milliseconds(300)) { d in
            let id = try await d.createWhenReady()
            let pid = try #require(server.redisPID)
            kill(pid, SIGSTOP)
            let start = Date()
            let r = try await d.get("/v1/sessions/\(id)")
            let waited = Date().timeIntervalSince(start)
            kill(pid, SIGCONT)
            #expect(r.status == 504)
            #expect(r.header("Retry-After") == "1")
            #expect(waited >= 0.25 && waited < 5)
            let back = try await eventually(within: 3) { try await d.get("/v1/sessions/\(id)").status == 200 }
            #expect(back)
        }
    }
}

@Suite struct HTTPProtocolTests {
    @Test func malformedHTTPGetsAProblemAndTheConnectionCloses() async throws {
        try await TestDaemon.with { d in
            let out = String(decoding: try await d.client.raw(Array("NOT HTTP AT ALL\r\n\r\n".utf8)), as: UTF8.self)
            #expect(out.hasPrefix("HTTP/1.1 400 Bad Request"))
            #expect(out.contains("application/problem+json"))
            #expect(out.contains("\"status\":400"))
        }
    }

    @Test func oversizedHeadersAre431() async throws {
        try await TestDaemon.with { d in
            let huge = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "a", count: 200_000) + "\r\n\r\n"
            let out = String(decoding: try await d.client.raw(Array(huge.utf8)), as: UTF8.self)
            #expect(out.hasPrefix("HTTP/1.1 431"))
        }
    }

    @Test func expectContinueIsAnswered() async throws {
        try await TestDaemon.with { d in
            let request = "POST /v1/sessions HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
            let out = String(decoding: try await d.client.raw(Array(request.utf8)), as: UTF8.self)
            #expect(out.hasPrefix("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created"))
        }
    }
}

@Suite struct RequestIDTests {
    @Test func echoesTheCallersRequestIDOrMakesOne() async throws {
        try await TestDaemon.with { d in
            let given = try await d.get("/healthz", headers: [("X-Request-ID", "abc-123")])
            #expect(given.header("X-Request-ID") == "abc-123")
            let made = try await d.send("POST", "/v1/sessions")
            let id = try #require(made.header("X-Request-ID"))
            #expect(id.count == 16)
            let other = try await d.send("POST", "/v1/sessions")
            #expect(other.header("X-Request-ID") != id)
            let errors = try await d.get("/v1/sessions/nosuchsession1", headers: [("X-Request-ID", "bad id with spaces")])
            #expect(errors.status == 404)
            #expect(errors.header("X-Request-ID")?.contains(" ") == false)
        }
    }
}

@Suite struct SlowClientTests {
    @Test func aRequestTrickledInIsCutOffAtTheDeadline() async throws {
        try await TestDaemon.with(requestTimeout: .milliseconds(500)) { d in
            let start = Date()
            // Headers that never finish: the server must close the connection, not wait forever.
            let out = try await d.client.raw(Array("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ".utf8), timeout: .seconds(15))
            let waited = Date().timeIntervalSince(start)
            #expect(out.isEmpty)
            // The server closed it, well before the client's own 15 s (loose: CI machines stall).
            #expect(waited >= 0.4 && waited < 10)
            // Normal requests on fresh connections still work.
            #expect(try await d.get("/healthz").status == 200)
        }
    }
}

@Suite struct ConditionalHeaderTests {
    @Test func entityTagsAreComparedAsRFC9110Says() async throws {
        try await TestDaemon.with { d in
            let id = "etag-rules-01"
            let r1 = try await d.send("PUT", "/v1/sessions/\(id)", "{}")          // "1"
            #expect(r1.status == 201)
            let r2 = try await d.send("PUT", "/v1/sessions/\(id)", "{}")          // "2"
            #expect(r2.status == 200)
            // Strong comparison: same text only ("02" is not "2"); weak tags never match If-Match.
            let r3 = try await d.send("PATCH", "/v1/sessions/\(id)", "{}", headers: [("If-Match", "\"02\"")])
            #expect(r3.status == 412)
            let r4 = try await d.send("PATCH", "/v1/sessions/\(id)", "{}", headers: [("If-Match", "W/\"2\"")])
            #expect(r4.status == 412)
            // A comma inside a tag is part of the tag, not a separator.
            let r5 = try await d.send("PATCH", "/v1/sessions/\(id)", "{}", headers: [("If-Match", "\"a,b\", \"2\"")])
            #expect(r5.status == 200)
            // If-None-Match compares weakly: W/"3" matches the current "3".
            let r6 = try await d.send("PUT", "/v1/sessions/\(id)", "{}", headers: [("If-None-Match", "W/\"3\"")])
            #expect(r6.status == 412)
            let r7 = try await d.send("PUT", "/v1/sessions/\(id)", "{}", headers: [("If-None-Match", "\"9\"")])
            #expect(r7.status == 200)
        }
    }

    @Test func wholeNumberTTLsInAnySpelling() async throws {
        try await TestDaemon.with { d in
            #expect(try await d.send("POST", "/v1/sessions", #"{"ttl": 3600.0}"#).json["ttl"] as? Int == 3600)
            #expect(try await d.send("POST", "/v1/sessions", #"{"ttl": 3.6e3}"#).json["ttl"] as? Int == 3600)
            let r8 = try await d.send("POST", "/v1/sessions", #"{"ttl": 3600.5}"#)
            #expect(r8.status == 400)
        }
    }

    @Test func absoluteFormRequestTargets() async throws {
        try await TestDaemon.with { d in
            let out = String(decoding: try await d.client.raw(Array("GET http://localhost/healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".utf8)), as: UTF8.self)
            #expect(out.hasPrefix("HTTP/1.1 200 OK"))
        }
    }
}

@Suite struct UpgradeRequestTests {
    @Test func upgradeRequestsAreAnsweredAndTheConnectionClosed() async throws {
        try await TestDaemon.with { d in
            let request = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n"
                + "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
            let start = Date()
            let out = String(decoding: try await d.client.raw(Array(request.utf8), timeout: .seconds(5)), as: UTF8.self)
            #expect(out.hasPrefix("HTTP/1.1 200 OK"))
            #expect(out.contains("Connection: close"))
            #expect(Date().timeIntervalSince(start) < 2, "the connection hung after an Upgrade request")
            let connect = "CONNECT localhost:80 HTTP/1.1\r\nHost: localhost:80\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
            let again = Date()
            let out2 = String(decoding: try await d.client.raw(Array(connect.utf8), timeout: .seconds(5)), as: UTF8.self)
            #expect(out2.contains("Connection: close"))
            #expect(Date().timeIntervalSince(again) < 2, "the connection hung after CONNECT")
        }
    }
}
