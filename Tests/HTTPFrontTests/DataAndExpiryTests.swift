import Foundation
import Testing
import TestSupport
import Sessions

@Suite struct DataKeyTests {
    @Test func getReturnsTheRawJSONValue() async throws {
        try await TestDaemon.with { d in
            let id = try await d.create(#"{"data": {"v": {"b" : 1.50, "big": 123456789012345678901234567890}}}"#)
            let r = try await d.get("/v1/sessions/\(id)/data/v")
            #expect(r.status == 200)
            #expect(r.text == #"{"b" : 1.50, "big": 123456789012345678901234567890}"#)
            #expect(r.header("Content-Type") == "application/json")
        }
    }

    @Test func missingKeyAndMissingSessionAreBoth404ButSayWhich() async throws {
        try await TestDaemon.with { d in
            let id = try await d.create()
            let key = try await d.get("/v1/sessions/\(id)/data/nope")
            #expect(key.status == 404)
            #expect((key.json["detail"] as? String)?.contains("key") == true)
            let session = try await d.get("/v1/sessions/nosuchsession1/data/nope")
            #expect(session.status == 404)
            #expect((session.json["detail"] as? String) == "session not found")
        }
    }

    @Test func putSetsOneValueAndBumpsTheVersion() async throws {
        try await TestDaemon.with { d in
            let id = try await d.create(#"{"data": {"other": true}}"#)
            let r = try await d.send("PUT", "/v1/sessions/\(id)/data/count", " 42 ")
            #expect(r.status == 204)
            #expect(r.header("ETag") == "\"2\"")
            #expect(try await TestRedis.command(["HGET", d.sessionKey(id), "data:count"]).string == "42")
            #expect(try await TestRedis.command(["HGET", d.sessionKey(id), "data:other"]).string == "true")
            #expect(try await d.send("PUT", "/v1/sessions/nosuchsession1/data/count", "1").status == 404)
            #expect(try await TestRedis.command(["EXISTS", d.sessionKey("nosuchsession1")]).int == 0)
        }
    }

    @Test func percentEncodedKeysKeepTheirSlashesAndUnicode() async throws {
        try await TestDaemon.with { d in
            let id = try await d.create()
            #expect(try await d.send("PUT", "/v1/sessions/\(id)/data/a%2Fb%20%C3%A9", #""v""#).status == 204)
            #expect(try await TestRedis.command(["HGET", d.sessionKey(id), "data:a/b é"]).string == #""v""#)
            #expect(try await d.get("/v1/sessions/\(id)/data/a%2Fb%20%C3%A9").text == #""v""#)
            let session = try await d.get("/v1/sessions/\(id)")
            #expect((session.json["data"] as? [String: Any])?["a/b é"] as? String == "v")
        }
    }

    @Test func deleteRemovesOneKeyAndClearEmptiesTheData() async throws {
        try await TestDaemon.with { d in
            let id = try await d.create(#"{"data": {"a": 1, "b": 2, "c": 3}, "user": "frank"}"#)
            #expect(try await d.send("DELETE", "/v1/sessions/\(id)/data/a").status == 204)
            #expect(try await d.send("DELETE", "/v1/sessions/\(id)/data/a").status == 204)
            #expect(try await TestRedis.command(["HEXISTS", d.sessionKey(id), "data:a"]).int == 0)
            #expect(try await d.send("DELETE", "/v1/sessions/nosuchsession1/data/a").status == 404)
            let cleared = try await d.send("DELETE", "/v1/sessions/\(id)/data")
            #expect(cleared.status == 204)
            let hash = try await TestRedis.command(["HGETALL", d.sessionKey(id)]).hash
            #expect(Set(hash.keys) == ["meta:ttl", "meta:created", "meta:user", "meta:version", "meta:seen"])
            #expect(try await d.get("/v1/sessions/\(id)").status == 200)
            #expect(try await d.send("DELETE", "/v1/sessions/nosuchsession1/data").status == 404)
        }
    }

    @Test func keyLimitIsEnforcedWithoutChangingAnything() async throws {
        var config = SessionConfiguration()
        config.limits.maxKeys = 3
        try await TestDaemon.with(sessions: config) { d in
            let id = try await d.create(#"{"data": {"a": 1, "b": 2, "c": 3}}"#)
            let before = try await d.snapshot()
            #expect(try await d.send("PUT", "/v1/sessions/\(id)/data/d", "4").status == 400)
            #expect(try await d.send("PATCH", "/v1/sessions/\(id)", #"{"set": {"d": 4, "e": 5}, "delete": ["a"]}"#).status == 400)
            #expect(try await d.snapshot() == before)
            // Replacing an existing key, or swapping one for another, stays within the limit.
            #expect(try await d.send("PUT", "/v1/sessions/\(id)/data/a", "10").status == 204)
            #expect(try await d.send("PATCH", "/v1/sessions/\(id)", #"{"set": {"d": 4}, "delete": ["a"]}"#).status == 200)
            #expect(try await d.send("POST", "/v1/sessions", #"{"data": {"a": 1, "b": 2, "c": 3, "d": 4}}"#).status == 400)
        }
    }
}

@Suite struct ExpiryTests {
    @Test func everyWriteResetsTheTTL() async throws {
        try await TestDaemon.with { d in
            let id = try await d.create(#"{"ttl": 1000}"#)
            let key = d.sessionKey(id)
            let writes: [(String, String, String?)] = [
                ("PUT", "/v1/sessions/\(id)", #"{"data": {"a": 1}}"#),
                ("PATCH", "/v1/sessions/\(id)", #"{"set": {"b": 2}}"#),
                ("PUT", "/v1/sessions/\(id)/data/c", "3"),
                ("DELETE", "/v1/sessions/\(id)/data/c", nil),
                ("DELETE", "/v1/sessions/\(id)/data", nil),
                ("PUT", "/v1/sessions/\(id)/expiry", #"{"ttl": 1000}"#),
            ]
            for (method, path, body) in writes {
                try await TestRedis.command(["EXPIRE", key, "50"])
                let r = try await d.send(method, path, body)
                #expect(r.status < 300, "\(method) \(path) → \(r.status)")
                let ttl = try await TestRedis.command(["TTL", key]).int!
                #expect(ttl > 990, "\(method) \(path) left TTL \(ttl)")
            }
        }
    }

    @Test func readsSlideTheTTLUnlessAskedNotTo() async throws {
        try await TestDaemon.with { d in
            let id = try await d.create(#"{"ttl": 1000, "data": {"k": 1}}"#)
            let key = d.sessionKey(id)
            for path in ["/v1/sessions/\(id)", "/v1/sessions/\(id)/data/k", "/v1/sessions/\(id)/expiry"] {
                try await TestRedis.command(["EXPIRE", key, "50"])
                _ = try await d.get(path + "?touch=false")
                #expect(try await TestRedis.command(["TTL", key]).int! <= 50)
                _ = try await d.get(path)
                #expect(try await TestRedis.command(["TTL", key]).int! > 990)
            }
            try await TestRedis.command(["EXPIRE", key, "50"])
            _ = try await d.send("HEAD", "/v1/sessions/\(id)")
            #expect(try await TestRedis.command(["TTL", key]).int! > 990)
            #expect(try await d.get("/v1/sessions/\(id)?touch=maybe").status == 400)
        }
    }

    @Test func noTouchOnReadKeepsTheTTL() async throws {
        try await TestDaemon.with(sessions: SessionConfiguration(touchOnRead: false)) { d in
            let id = try await d.create(#"{"ttl": 1000}"#)
            let key = d.sessionKey(id)
            try await TestRedis.command(["EXPIRE", key, "50"])
            let r = try await d.get("/v1/sessions/\(id)")
            #expect(r.status == 200)
            #expect((r.json["expires_in"] as? Int).map { $0 <= 50 } == true)
            #expect(try await TestRedis.command(["TTL", key]).int! <= 50)
            _ = try await d.get("/v1/sessions/\(id)?touch=true")
            #expect(try await TestRedis.command(["TTL", key]).int! > 990)
        }
    }

    @Test func readsExtendTheUserIndexWithTheSession() async throws {
        try await TestDaemon.with { d in
            let id = try await d.create(#"{"ttl": 1000, "user": "gina"}"#)
            try await TestRedis.command(["EXPIRE", d.userKey("gina"), "10"])
            _ = try await d.get("/v1/sessions/\(id)")
            // Polled: in cluster mode the index is extended right after the answer, not before it.
            #expect(try await eventually(within: 3) { try await TestRedis.command(["TTL", d.userKey("gina")]).int! > 990 })
        }
    }

    @Test func expiryRoutes() async throws {
        try await TestDaemon.with(sessions: SessionConfiguration(defaultTTL: 5000)) { d in
            let id = try await d.create(#"{"ttl": 1000}"#)
            let get = try await d.get("/v1/sessions/\(id)/expiry")
            #expect(get.status == 200)
            #expect(Set(get.json.keys) == ["ttl", "expires_in", "expires_at"])
            #expect(get.json["ttl"] as? Int == 1000)

            let set = try await d.send("PUT", "/v1/sessions/\(id)/expiry", #"{"ttl": 60}"#)
            #expect(set.status == 200)
            #expect(set.json["ttl"] as? Int == 60)
            #expect(set.json["expires_in"] as? Int == 60)
            #expect((59...60).contains(try await TestRedis.command(["TTL", d.sessionKey(id)]).int!))
            #expect(try await TestRedis.command(["HGET", d.sessionKey(id), "meta:ttl"]).string == "60")

            let reset = try await d.send("PUT", "/v1/sessions/\(id)/expiry", #"{"ttl": null}"#)
            #expect(reset.json["ttl"] as? Int == 5000)
            #expect(try await TestRedis.command(["TTL", d.sessionKey(id)]).int! > 4990)

            #expect(try await d.send("PUT", "/v1/sessions/\(id)/expiry", #"{"ttl": 0}"#).status == 400)
            #expect(try await d.send("PUT", "/v1/sessions/\(id)/expiry", #"{"ttl": 31536001}"#).status == 400)
            #expect(try await d.send("PUT", "/v1/sessions/\(id)/expiry", #"{"when": 5}"#).status == 400)
            #expect(try await d.send("PUT", "/v1/sessions/nosuchsession1/expiry", #"{"ttl": 60}"#).status == 404)
            #expect(try await d.get("/v1/sessions/nosuchsession1/expiry").status == 404)
        }
    }

    @Test func expiresAtFixesTheExpiryAndStopsSliding() async throws {
        try await TestDaemon.with { d in
            let id = try await d.create(#"{"ttl": 1000}"#)
            let at = Int64(Date().timeIntervalSince1970 + 300) * 1000
            let text = Timestamps.format(unixMilliseconds: at)
            let r = try await d.send("PUT", "/v1/sessions/\(id)/expiry", #"{"expires_at": "\#(text)"}"#)
            #expect(r.status == 200)
            #expect(r.json["expires_at"] as? String == text)
            #expect(try await TestRedis.command(["PEXPIRETIME", d.sessionKey(id)]).int == at)
            #expect(try await TestRedis.command(["HGET", d.sessionKey(id), "meta:expires_at"]).string == String(at))
            // Neither reads nor writes slide it now.
            _ = try await d.get("/v1/sessions/\(id)")
            _ = try await d.send("PUT", "/v1/sessions/\(id)/data/a", "1")
            #expect(try await TestRedis.command(["PEXPIRETIME", d.sessionKey(id)]).int == at)
            // Setting a ttl again resumes sliding.
            _ = try await d.send("PUT", "/v1/sessions/\(id)/expiry", #"{"ttl": 1000}"#)
            #expect(try await TestRedis.command(["HEXISTS", d.sessionKey(id), "meta:expires_at"]).int == 0)
            #expect(try await TestRedis.command(["TTL", d.sessionKey(id)]).int! > 990)
            #expect(try await d.send("PUT", "/v1/sessions/\(id)/expiry", #"{"expires_at": "2001-01-01T00:00:00Z"}"#).status == 400)
            #expect(try await d.send("PUT", "/v1/sessions/\(id)/expiry", #"{"expires_at": "not a time"}"#).status == 400)
        }
    }

    @Test func maxLifetimeCapsEveryRefresh() async throws {
        try await TestDaemon.with(sessions: SessionConfiguration(maxLifetime: 100)) { d in
            let r = try await d.send("POST", "/v1/sessions", #"{"ttl": 5000}"#)
            let id = r.json["id"] as! String
            #expect((r.json["expires_in"] as? Int).map { $0 <= 100 } == true)
            let created = try await TestRedis.command(["HGET", d.sessionKey(id), "meta:created"]).int!
            let cap = created + 100_000
            _ = try await d.get("/v1/sessions/\(id)")
            _ = try await d.send("PUT", "/v1/sessions/\(id)/data/a", "1")
            _ = try await d.send("PUT", "/v1/sessions/\(id)/expiry", #"{"ttl": 5000}"#)
            #expect(try await TestRedis.command(["PEXPIRETIME", d.sessionKey(id)]).int! <= cap)
            let cycled = try await d.send("POST", "/v1/sessions/\(id)/cycle")
            let newID = cycled.json["id"] as! String
            #expect(try await TestRedis.command(["PEXPIRETIME", d.sessionKey(newID)]).int! <= cap)
        }
    }

    @Test func sessionsPastTheirLifetimeAreGone() async throws {
        try await TestDaemon.with(sessions: SessionConfiguration(maxLifetime: 100)) { d in
            let id = try await d.create(#"{"user": "hank"}"#)
            // As if it had been created long ago (e.g. before --max-lifetime was lowered).
            try await TestRedis.command(["HSET", d.sessionKey(id), "meta:created", "1000"])
            #expect(try await d.get("/v1/sessions/\(id)").status == 404)
            #expect(try await TestRedis.command(["EXISTS", d.sessionKey(id)]).int == 0)
        }
    }

    @Test func expiredSessionsAreGoneForReal() async throws {
        try await TestDaemon.with { d in
            let id = try await d.create(#"{"ttl": 1}"#)
            let gone = try await eventually(within: 5) { try await d.get("/v1/sessions/\(id)?touch=false").status == 404 }
            #expect(gone)
            #expect(try await d.send("PUT", "/v1/sessions/\(id)", "{}", headers: [("If-Match", "*")]).status == 412)
        }
    }
}
