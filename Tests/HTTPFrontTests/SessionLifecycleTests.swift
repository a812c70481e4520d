import Foundation
import Testing
import TestSupport
@testable import HTTPFront
import Sessions

/// §3 rows for one session: create, read, head, replace, patch, delete — and
/// what `redis-cli` sees after each (§4).
@Suite struct SessionLifecycleTests {
    @Test func createReturns201WithLocationETagAndTheLayoutOfSection4() async throws {
        try await TestDaemon.with { d in
            let r = try await d.send("POST", "/v1/sessions", #"{"data": {"cart": [1, 2.50, {"x": null}], "n": 12345678901234567890123}, "ttl": 600, "user": "alice"}"#)
            #expect(r.status == 201)
            let id = try #require(r.json["id"] as? String)
            #expect(id.count == 32 && SessionID.isValid(id))
            #expect(r.header("Location") == "/v1/sessions/\(id)")
            #expect(r.header("ETag") == "\"1\"")
            #expect(r.header("Content-Type") == "application/json")
            #expect(r.text.contains(#""data":{"cart":[1, 2.50, {"x": null}],"n":12345678901234567890123}"#) ||
                    r.text.contains(#""data":{"n":12345678901234567890123,"cart":[1, 2.50, {"x": null}]}"#))
            #expect(r.json["ttl"] as? Int == 600)
            #expect((r.json["expires_in"] as? Int).map { (598...600).contains($0) } == true)
            #expect(r.json["user"] as? String == "alice")
            let createdAt = try #require(r.json["created_at"] as? String)
            let expiresAt = try #require(r.json["expires_at"] as? String)
            let created = try #require(Timestamps.parse(createdAt))
            let expires = try #require(Timestamps.parse(expiresAt))
            #expect(abs(expires - created - 600_000) <= 1000)

            let hash = try await TestRedis.command(["HGETALL", d.sessionKey(id)]).hash
            #expect(Set(hash.keys) == ["data:cart", "data:n", "meta:ttl", "meta:created", "meta:user", "meta:version", "meta:seen"])
            #expect(hash["data:cart"] == #"[1, 2.50, {"x": null}]"#)
            #expect(hash["data:n"] == "12345678901234567890123")
            #expect(hash["meta:ttl"] == "600")
            #expect(hash["meta:user"] == "alice")
            #expect(hash["meta:version"] == "1")
            #expect(Int64(hash["meta:created"] ?? "").map { abs($0 - created) < 1000 } == true)
            let ttl = try await TestRedis.command(["TTL", d.sessionKey(id)]).int!
            #expect((598...600).contains(ttl))
            #expect(try await TestRedis.command(["TYPE", d.userKey("alice")]).string == "set")
            #expect(try await TestRedis.command(["SMEMBERS", d.userKey("alice")]).strings == [id])
            // Compare absolute expiry times: two TTL reads a moment apart can differ by a rounding second.
            let sessionExpiry = try await TestRedis.command(["PEXPIRETIME", d.sessionKey(id)]).int!
            #expect(try await TestRedis.command(["PEXPIRETIME", d.userKey("alice")]).int! >= sessionExpiry)
        }
    }

    @Test func createWithoutBodyUsesDefaults() async throws {
        try await TestDaemon.with(sessions: SessionConfiguration(defaultTTL: 1234)) { d in
            let r = try await d.send("POST", "/v1/sessions")
            #expect(r.status == 201)
            #expect(r.json["ttl"] as? Int == 1234)
            #expect(r.json["user"] is NSNull)
            #expect((r.json["data"] as? [String: Any])?.isEmpty == true)
            let id = r.json["id"] as! String
            let hash = try await TestRedis.command(["HGETALL", d.sessionKey(id)]).hash
            #expect(Set(hash.keys) == ["meta:ttl", "meta:created", "meta:version"])
        }
    }

    @Test func defaultTTLIsDjangosTwoWeeks() async throws {
        try await TestDaemon.with { d in
            let r = try await d.send("POST", "/v1/sessions", "{}")
            #expect(r.json["ttl"] as? Int == 1_209_600)
            #expect(try await TestRedis.command(["TTL", d.sessionKey(r.json["id"] as! String)]).int! > 1_209_590)
        }
    }

    @Test func readReturnsTheSessionAnd404WhenAbsent() async throws {
        try await TestDaemon.with { d in
            let id = try await d.create(#"{"data": {"a": "x"}, "user": "u1"}"#)
            let r = try await d.get("/v1/sessions/\(id)")
            #expect(r.status == 200)
            #expect(r.json["id"] as? String == id)
            #expect((r.json["data"] as? [String: Any])?["a"] as? String == "x")
            #expect(r.header("ETag") == "\"1\"")
            let missing = try await d.get("/v1/sessions/doesnotexist123")
            #expect(missing.status == 404)
            #expect(missing.header("Content-Type") == "application/problem+json")
            #expect(missing.json["status"] as? Int == 404)
            #expect(missing.json["title"] as? String == "Not Found")
            #expect((missing.json["detail"] as? String)?.contains("session") == true)
        }
    }

    @Test func headSaysWhetherItExists() async throws {
        try await TestDaemon.with { d in
            let id = try await d.create()
            let r = try await d.send("HEAD", "/v1/sessions/\(id)")
            #expect(r.status == 200)
            #expect(r.header("ETag") == "\"1\"")
            #expect(r.body.isEmpty)
            #expect(try await d.send("HEAD", "/v1/sessions/nosuchsession1").status == 404)
        }
    }

    @Test func putCreatesThenReplaces() async throws {
        try await TestDaemon.with { d in
            let id = "client-chosen-id-1"
            let created = try await d.send("PUT", "/v1/sessions/\(id)", #"{"data": {"a": 1, "b": 2}, "ttl": 300, "user": "carol"}"#)
            #expect(created.status == 201)
            #expect(created.header("Location") == "/v1/sessions/\(id)")
            #expect(created.header("ETag") == "\"1\"")
            let replaced = try await d.send("PUT", "/v1/sessions/\(id)", #"{"data": {"c": 3}}"#)
            #expect(replaced.status == 200)
            #expect(replaced.header("ETag") == "\"2\"")
            #expect(replaced.json["ttl"] as? Int == 300)          // kept when not given
            #expect(replaced.json["user"] as? String == "carol")  // kept when not given
            #expect(replaced.json["created_at"] as? String == created.json["created_at"] as? String)
            let hash = try await TestRedis.command(["HGETALL", d.sessionKey(id)]).hash
            #expect(Set(hash.keys) == ["data:c", "meta:ttl", "meta:created", "meta:user", "meta:version", "meta:seen"])
            #expect(hash["meta:version"] == "2")
        }
    }

    @Test func putMovesTheUserIndexEntry() async throws {
        try await TestDaemon.with { d in
            let id = "moving-user-session"
            _ = try await d.send("PUT", "/v1/sessions/\(id)", #"{"user": "before"}"#)
            #expect(try await TestRedis.command(["SMEMBERS", d.userKey("before")]).strings == [id])
            _ = try await d.send("PUT", "/v1/sessions/\(id)", #"{"user": "after"}"#)
            #expect(try await TestRedis.command(["EXISTS", d.userKey("before")]).int == 0)
            #expect(try await TestRedis.command(["SMEMBERS", d.userKey("after")]).strings == [id])
            let cleared = try await d.send("PUT", "/v1/sessions/\(id)", #"{"user": null}"#)
            #expect(cleared.json["user"] is NSNull)
            #expect(try await TestRedis.command(["EXISTS", d.userKey("after")]).int == 0)
            #expect(try await TestRedis.command(["HEXISTS", d.sessionKey(id), "meta:user"]).int == 0)
        }
    }

    @Test func putPreconditions() async throws {
        try await TestDaemon.with { d in
            let id = "precondition-id-1"
            // If-Match: * never creates: a logged-out session is not brought back by a late request.
            let late = try await d.send("PUT", "/v1/sessions/\(id)", #"{"data": {"a": 1}}"#, headers: [("If-Match", "*")])
            #expect(late.status == 412)
            #expect(late.header("Content-Type") == "application/problem+json")
            #expect(try await TestRedis.command(["EXISTS", d.sessionKey(id)]).int == 0)
            let etagOnMissing = try await d.send("PUT", "/v1/sessions/\(id)", "{}", headers: [("If-Match", "\"1\"")])
            #expect(etagOnMissing.status == 412)
            #expect(try await TestRedis.command(["EXISTS", d.sessionKey(id)]).int == 0)

            #expect(try await d.send("PUT", "/v1/sessions/\(id)", "{}", headers: [("If-None-Match", "*")]).status == 201)
            #expect(try await d.send("PUT", "/v1/sessions/\(id)", #"{"data": {"x": 1}}"#, headers: [("If-None-Match", "*")]).status == 412)
            #expect(try await d.send("PUT", "/v1/sessions/\(id)", #"{"data": {"y": 1}}"#, headers: [("If-Match", "*")]).status == 200)
            // Now at version 2: a stale tag fails, the current one (in a list, weak ignored) passes.
            #expect(try await d.send("PUT", "/v1/sessions/\(id)", #"{"data": {"z": 1}}"#, headers: [("If-Match", "\"1\"")]).status == 412)
            #expect(try await d.send("PUT", "/v1/sessions/\(id)", #"{"data": {"z": 1}}"#, headers: [("If-Match", "W/\"2\"")]).status == 412)
            let ok = try await d.send("PUT", "/v1/sessions/\(id)", #"{"data": {"z": 1}}"#, headers: [("If-Match", "\"7\", \"2\"")])
            #expect(ok.status == 200)
            #expect(ok.header("ETag") == "\"3\"")
            let hash = try await TestRedis.command(["HGETALL", d.sessionKey(id)]).hash
            #expect(hash["data:z"] == "1" && hash["data:y"] == nil && hash["data:x"] == nil)
            #expect(try await d.send("PUT", "/v1/sessions/\(id)", "{}", headers: [("If-Match", "garbage")]).status == 400)
        }
    }

    @Test func patchSetsAndDeletesAtomically() async throws {
        try await TestDaemon.with { d in
            let id = try await d.create(#"{"data": {"keep": 1, "drop": 2}}"#)
            let r = try await d.send("PATCH", "/v1/sessions/\(id)", #"{"set": {"new": {"deep": [true]}, "keep": "changed"}, "delete": ["drop", "never-existed"]}"#)
            #expect(r.status == 200)
            #expect(r.header("ETag") == "\"2\"")
            let data = try #require(r.json["data"] as? [String: Any])
            #expect(Set(data.keys) == ["keep", "new"])
            #expect(data["keep"] as? String == "changed")
            let hash = try await TestRedis.command(["HGETALL", d.sessionKey(id)]).hash
            #expect(hash["data:new"] == #"{"deep": [true]}"#)
            #expect(hash["data:drop"] == nil)
            #expect(try await d.send("PATCH", "/v1/sessions/nosuchsession1", #"{"set": {"a": 1}}"#).status == 404)
            #expect(try await TestRedis.command(["EXISTS", d.sessionKey("nosuchsession1")]).int == 0)
            #expect(try await d.send("PATCH", "/v1/sessions/\(id)", #"{"set": {"a": 1}}"#, headers: [("If-Match", "\"1\"")]).status == 412)
            #expect(try await d.send("PATCH", "/v1/sessions/\(id)", #"{"set": {"a": 1}}"#, headers: [("If-Match", "\"2\"")]).status == 200)
        }
    }

    @Test func deleteFlushesTheSessionAndItsIndexEntry() async throws {
        try await TestDaemon.with { d in
            let id = try await d.create(#"{"user": "dave"}"#)
            let other = try await d.create(#"{"user": "dave"}"#)
            let r = try await d.send("DELETE", "/v1/sessions/\(id)")
            #expect(r.status == 204)
            #expect(r.body.isEmpty)
            #expect(try await TestRedis.command(["EXISTS", d.sessionKey(id)]).int == 0)
            #expect(try await TestRedis.command(["SMEMBERS", d.userKey("dave")]).strings == [other])
            #expect(try await d.get("/v1/sessions/\(id)").status == 404)
            #expect(try await d.send("DELETE", "/v1/sessions/\(id)").status == 204)
            // A late write cannot resurrect it.
            #expect(try await d.send("PUT", "/v1/sessions/\(id)/data/a", "1").status == 404)
            #expect(try await d.send("PATCH", "/v1/sessions/\(id)", #"{"set": {"a": 1}}"#).status == 404)
            #expect(try await d.send("PUT", "/v1/sessions/\(id)", "{}", headers: [("If-Match", "*")]).status == 412)
            #expect(try await TestRedis.command(["EXISTS", d.sessionKey(id)]).int == 0)
        }
    }

    @Test func cycleMovesTheSessionToANewId() async throws {
        try await TestDaemon.with { d in
            let created = try await d.send("POST", "/v1/sessions", #"{"data": {"a": 1}, "ttl": 900, "user": "erin"}"#)
            let old = created.json["id"] as! String
            let r = try await d.send("POST", "/v1/sessions/\(old)/cycle")
            #expect(r.status == 201)
            let new = try #require(r.json["id"] as? String)
            #expect(new != old && new.count == 32)
            #expect(r.header("Location") == "/v1/sessions/\(new)")
            #expect((r.json["data"] as? [String: Any])?["a"] as? Int == 1)
            #expect(r.json["ttl"] as? Int == 900)
            #expect(r.json["user"] as? String == "erin")
            #expect(r.json["created_at"] as? String == created.json["created_at"] as? String)
            #expect(try await d.get("/v1/sessions/\(old)").status == 404)
            #expect(try await TestRedis.command(["EXISTS", d.sessionKey(old)]).int == 0)
            #expect(try await TestRedis.command(["SMEMBERS", d.userKey("erin")]).strings == [new])
            #expect(try await d.send("POST", "/v1/sessions/\(old)/cycle").status == 404)
        }
    }
}
