import Foundation
import Testing
import TestSupport
@testable import HTTPFront
import Sessions
import Redis

/// Reads that take the MULTI path with a remembered ttl (SessionStore.read) must
/// end exactly where the Lua read would, however the session changed behind
/// this process's back.
@Suite struct FastReadTests {
    @Test func aTTLChangedElsewhereIsRepairedOnTheSameRead() async throws {
        try await TestDaemon.with { d in
            let id = try await d.create(#"{"ttl": 1000, "data": {"k": 1}}"#)   // remembers ttl 1000
            let key = d.sessionKey(id)
            // Another writer shortens the idle timeout.
            try await TestRedis.command(["HSET", key, "meta:ttl", "100"])
            try await TestRedis.command(["EXPIRE", key, "100"])
            let r = try await d.get("/v1/sessions/\(id)")
            #expect(r.status == 200)
            #expect(r.json["ttl"] as? Int == 100)
            #expect((r.json["expires_in"] as? Int).map { (99...100).contains($0) } == true)
            let ttl = try await TestRedis.command(["TTL", key]).int!
            #expect((99...100).contains(ttl), "TTL \(ttl) after the repair")
            // The next read knows the new ttl.
            _ = try await d.get("/v1/sessions/\(id)")
            #expect((99...100).contains(try await TestRedis.command(["TTL", key]).int!))
        }
    }

    @Test func aFixedExpirySetElsewhereIsPutBack() async throws {
        try await TestDaemon.with { d in
            let id = try await d.create(#"{"ttl": 1000}"#)
            let key = d.sessionKey(id)
            let nowMS = Int64(Date().timeIntervalSince1970 * 1000)
            let at = nowMS + 300_000
            try await TestRedis.command(["HSET", key, "meta:expires_at", String(at)])
            try await TestRedis.command(["PEXPIREAT", key, String(at)])
            let r = try await d.get("/v1/sessions/\(id)")
            #expect(r.status == 200)
            let pttl = try await TestRedis.command(["PTTL", key]).int!
            #expect(pttl <= 300_000 && pttl > 290_000, "PTTL \(pttl): the fixed expiry was not restored")
            #expect((r.json["expires_in"] as? Int).map { (290...300).contains($0) } == true)
        }
    }

    @Test func aUserSetElsewhereGetsItsIndexExtended() async throws {
        try await TestDaemon.with { d in
            let id = try await d.create(#"{"ttl": 1000}"#)
            let key = d.sessionKey(id)
            try await TestRedis.command(["HSET", key, "meta:user", "hana"])
            try await TestRedis.command(["SADD", d.userKey("hana"), id])
            try await TestRedis.command(["EXPIRE", d.userKey("hana"), "10"])
            let r = try await d.get("/v1/sessions/\(id)")
            #expect(r.json["user"] as? String == "hana")
            // Polled: in cluster mode the index is extended right after the answer, not before it.
            #expect(try await eventually(within: 3) { try await TestRedis.command(["TTL", d.userKey("hana")]).int! > 990 })
        }
    }

    @Test func twoSidecarsOnOneRedisAgree() async throws {
        let config = SessionConfiguration(keyPrefix: TestRedis.uniquePrefix())
        try await TestDaemon.with(sessions: config) { a in
            try await TestDaemon.with(sessions: config) { b in
                let id = try await a.create(#"{"ttl": 1000}"#)
                _ = try await a.get("/v1/sessions/\(id)")
                #expect(try await b.send("PUT", "/v1/sessions/\(id)/expiry", #"{"ttl": 60}"#).status == 200)
                let r = try await a.get("/v1/sessions/\(id)")
                #expect(r.json["ttl"] as? Int == 60)
                #expect((59...60).contains(try await TestRedis.command(["TTL", a.sessionKey(id)]).int!))
                // Deleted by b: a's remembered ttl must not bring it back.
                #expect(try await b.send("DELETE", "/v1/sessions/\(id)").status == 204)
                #expect(try await a.get("/v1/sessions/\(id)").status == 404)
                #expect(try await TestRedis.command(["EXISTS", a.sessionKey(id)]).int == 0)
            }
        }
    }

    @Test func readsWithoutTouchAreExactAndChangeNothing() async throws {
        try await TestDaemon.with { d in
            let id = try await d.create(#"{"ttl": 1000, "data": {"a": [1, 2]}}"#)
            let key = d.sessionKey(id)
            try await TestRedis.command(["EXPIRE", key, "50"])
            let before = try await d.snapshot()
            let r = try await d.get("/v1/sessions/\(id)?touch=false")
            #expect(r.status == 200)
            #expect((r.json["expires_in"] as? Int).map { (49...50).contains($0) } == true)
            #expect((r.json["data"] as? [String: Any])?["a"] as? [Int] == [1, 2])
            #expect(try await d.snapshot() == before)
            #expect(try await d.send("HEAD", "/v1/sessions/\(id)?touch=false").status == 200)
            #expect(try await d.get("/v1/sessions/nosuchsession9?touch=false").status == 404)
        }
    }
}
