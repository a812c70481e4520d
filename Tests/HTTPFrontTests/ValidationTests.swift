import Foundation
import Testing
import TestSupport
import Sessions

/// Bad input gets a clear 4xx problem+json, and nothing in Redis changes.
@Suite struct ValidationTests {
    static let badRequests: [(String, String, String?)] = [
        ("POST", "/v1/sessions", "{"),
        ("POST", "/v1/sessions", "[]"),
        ("POST", "/v1/sessions", #"{"data": {"a": 1}, "extra": 1}"#),
        ("POST", "/v1/sessions", #"{"ttl": 0}"#),
        ("POST", "/v1/sessions", #"{"ttl": 31536001}"#),
        ("POST", "/v1/sessions", #"{"ttl": 1.5}"#),
        ("POST", "/v1/sessions", #"{"user": ""}"#),
        ("POST", "/v1/sessions", #"{"user": "a\u0001b"}"#),
        ("POST", "/v1/sessions", #"{"data": {"": 1}}"#),
        ("POST", "/v1/sessions", #"{"data": {"\#(String(repeating: "k", count: 257))": 1}}"#),
        ("POST", "/v1/sessions", #"{"data": {"a": \#(String(repeating: "[", count: 70))\#(String(repeating: "]", count: 70))}}"#),
        ("POST", "/v1/sessions", #"{"data": {"a": NaN}}"#),
        ("PUT", "/v1/sessions/valid-id-001", #"{"data": 5}"#),
        ("PUT", "/v1/sessions/short", "{}"),
        ("PUT", "/v1/sessions/has.dot.in.it", "{}"),
        ("PUT", "/v1/sessions/percent%2Fslash", "{}"),
        ("PUT", "/v1/sessions/\(String(repeating: "x", count: 129))", "{}"),
        ("GET", "/v1/sessions/..", nil),
        ("GET", "/v1/sessions/%2e%2e%2fetc%2fpasswd", nil),
        ("PATCH", "/v1/sessions/valid-id-001", #"{"set": {"a": 1}, "delete": ["a"]}"#),
        ("PATCH", "/v1/sessions/valid-id-001", ""),
        ("PUT", "/v1/sessions/valid-id-001/data/k", ""),
        ("PUT", "/v1/sessions/valid-id-001/data/k", "{bad json}"),
        ("PUT", "/v1/sessions/valid-id-001/data/k%00x", "1"),
        ("PUT", "/v1/sessions/valid-id-001/data/%FF", "1"),
        ("PUT", "/v1/sessions/valid-id-001/expiry", #"{"ttl": -5}"#),
        ("DELETE", "/v1/sessions", nil),
    ]

    @Test func badInputIs400ProblemJSONAndChangesNothing() async throws {
        try await TestDaemon.with { d in
            let existing = "valid-id-001"
            _ = try await d.send("PUT", "/v1/sessions/\(existing)", #"{"data": {"a": 1}, "user": "mona"}"#)
            let before = try await d.snapshot()
            for (method, path, body) in Self.badRequests {
                let r = try await d.send(method, path, body)
                #expect(r.status == 400, "\(method) \(path) \(body ?? "") → \(r.status) \(r.text)")
                #expect(r.header("Content-Type") == "application/problem+json")
                #expect(r.json["status"] as? Int == 400)
                #expect(r.json["title"] as? String == "Bad Request")
                #expect((r.json["detail"] as? String)?.isEmpty == false)
            }
            #expect(try await d.snapshot() == before)
        }
    }

    @Test func oversizedBodiesAre413() async throws {
        var config = SessionConfiguration()
        config.limits.maxBodyBytes = 1024
        try await TestDaemon.with(sessions: config) { d in
            let big = #"{"data": {"a": ""# + String(repeating: "x", count: 2000) + #""}}"#
            let r = try await d.send("POST", "/v1/sessions", big)
            #expect(r.status == 413)
            #expect(r.header("Content-Type") == "application/problem+json")
            #expect(try await d.keys().isEmpty)
            #expect(try await d.send("POST", "/v1/sessions", #"{"data": {"a": 1}}"#).status == 201)
        }
    }

    @Test func aClientThatSendsTheWholeOversizedBodyStillGetsThe413() async throws {
        var config = SessionConfiguration()
        config.limits.maxBodyBytes = 1024
        try await TestDaemon.with(sessions: config) { d in
            // Written whole before reading, as Python's http.client does: closing on it with
            // unread input would reset the connection under the client's feet.
            let body = String(repeating: "x", count: 8_000_000)
            let request = Array(("POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body).utf8)
            guard case .tcp(_, let port) = d.client.target else { return }
            let result = await Task.detached { BlockingSocket.exchange(port: port, request) }.value
            #expect(result.sendError == nil, "the server reset the connection while the client was sending (errno \(result.sendError ?? 0))")
            #expect(String(decoding: result.response, as: UTF8.self).hasPrefix("HTTP/1.1 413"))
        }
    }

    @Test func defaultBodyLimitIsOneMebibyte() async throws {
        try await TestDaemon.with { d in
            let id = try await d.create()
            let justUnder = "\"" + String(repeating: "x", count: 1_048_576 - 2) + "\""
            #expect(try await d.send("PUT", "/v1/sessions/\(id)/data/big", justUnder).status == 204)
            let over = "\"" + String(repeating: "x", count: 1_048_576) + "\""
            #expect(try await d.send("PUT", "/v1/sessions/\(id)/data/big2", over).status == 413)
        }
    }
}
