import Foundation
import NIOCore
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
            #expect((r.json["expires_in"] as? Int).map { (40...50).contains($0) } == true)
            #expect((r.json["data"] as? [String: Any])?["a"] as? [Int] == [1, 2])
            #expect(try await d.snapshot() == before)
            #expect(try await d.send("HEAD", "/v1/sessions/\(id)?touch=false").status == 200)
            #expect(try await d.get("/v1/sessions/nosuchsession9?touch=false").status == 404)
        }
    }

    // MARK: The Redis clock estimate (RedisClock): PEXPIREAT … GT instead of TIME + PEXPIRE

    /// Pins the daemon's estimate of Redis's clock to the real time plus
    /// `offset` seconds, valid for the next hour (a sample "taken" an hour from
    /// now), so the read below takes the PEXPIREAT path however slow the machine.
    private func pin(_ clock: RedisClock, offset: Int64) {
        let later = NIODeadline.now() + .hours(1)
        let micros = Int64(Date().timeIntervalSince1970 * 1_000_000) + 3_600_000_000 + offset * 1_000_000
        clock.record(seconds: micros / 1_000_000, microseconds: micros % 1_000_000, sent: later, received: later)
    }

    /// A session with ttl 1000 whose key expires in `seconds`, to be read next
    /// with the clock estimate pinned to the real time.
    private func session(expiringIn seconds: Int, _ d: TestDaemon) async throws -> (id: String, key: String) {
        let id = try await d.create(#"{"ttl": 1000}"#)
        try await TestRedis.command(["EXPIRE", d.sessionKey(id), String(seconds)])
        pin(d.redis.clock, offset: 0)
        return (id, d.sessionKey(id))
    }

    @Test func aTouchWithTheClockEstimateSlidesTheExpiry() async throws {
        try await TestDaemon.with { d in
            let (id, key) = try await session(expiringIn: 50, d)
            let r = try await d.get("/v1/sessions/\(id)")
            #expect(r.status == 200)
            #expect(r.json["expires_in"] as? Int == 1000)
            let pttl = try await TestRedis.command(["PTTL", key]).int!
            // Redis and the test share a clock: the estimate is off by the sample's error only.
            #expect(pttl > 990_000 && pttl <= 1_000_050, "PTTL \(pttl) after a touch")
            let expiresAt = try #require(r.json["expires_at"] as? String)
            let expected = Date().addingTimeInterval(1000)
            #expect(abs(try #require(ISO8601DateFormatter().date(from: expiresAt)).timeIntervalSince(expected)) < 3)
            // HEAD and the expiry route take the same path.
            try await TestRedis.command(["EXPIRE", key, "50"])
            #expect(try await d.send("HEAD", "/v1/sessions/\(id)").status == 200)
            #expect(try await TestRedis.command(["TTL", key]).int! > 990)
            try await TestRedis.command(["EXPIRE", key, "50"])
            let e = try await d.get("/v1/sessions/\(id)/expiry")
            #expect(e.json["expires_in"] as? Int == 1000)
            #expect(try await TestRedis.command(["TTL", key]).int! > 990)
        }
    }

    /// An estimate that is far behind (a bad sample, a clock step on the Redis
    /// host) would make PEXPIREAT cut the session short or, in the past, delete
    /// it; GT makes such a touch a no-op instead.
    @Test func aClockEstimateFarBehindNeverShortensOrDeletes() async throws {
        try await TestDaemon.with { d in
            let id = try await d.create(#"{"ttl": 1000}"#)
            let key = d.sessionKey(id)
            pin(d.redis.clock, offset: -900)   // now + ttl lands 100 s from now, before the expiry
            let r = try await d.get("/v1/sessions/\(id)")
            #expect(r.status == 200)
            #expect(try await TestRedis.command(["TTL", key]).int! > 990, "the expiry was cut short")
            pin(d.redis.clock, offset: -1_000_000)   // now + ttl is in the past
            #expect(try await d.get("/v1/sessions/\(id)").status == 200)
            #expect(try await d.send("HEAD", "/v1/sessions/\(id)").status == 200)
            #expect(try await TestRedis.command(["EXISTS", key]).int == 1, "the touch deleted the session")
            #expect(try await TestRedis.command(["TTL", key]).int! > 990)
        }
    }

    /// The README's documented consequence of GT: a longer TTL set by hand is not
    /// cut back by reads, and the next write resets it to the session's ttl.
    @Test func aTTLLengthenedByHandOutlastsReadsUntilTheNextWrite() async throws {
        try await TestDaemon.with { d in
            let (id, key) = try await session(expiringIn: 5000, d)
            #expect(try await d.get("/v1/sessions/\(id)").status == 200)
            #expect(try await TestRedis.command(["TTL", key]).int! > 4990)
            #expect(try await d.send("PUT", "/v1/sessions/\(id)/data/k", "1").status == 204)
            #expect((990...1000).contains(try await TestRedis.command(["TTL", key]).int!))
        }
    }

    /// A session this process never saw is read with the default ttl as its
    /// guess: right for most sessions, repaired in the same request otherwise.
    @Test(arguments: [false, true]) func aSidecarThatNeverSawASessionReadsItRight(pinned: Bool) async throws {
        let config = SessionConfiguration(keyPrefix: TestRedis.uniquePrefix(), defaultTTL: 2000)
        try await TestDaemon.with(sessions: config) { maker in
            let plain = try await maker.create(#"{"data": {"a": 1}}"#)
            let short = try await maker.create(#"{"ttl": 100}"#)
            let owned = try await maker.create(#"{"user": "ines"}"#)
            for id in [plain, short, owned] { try await TestRedis.command(["EXPIRE", maker.sessionKey(id), "50"]) }
            try await TestDaemon.with(sessions: config) { reader in
                if pinned { pin(reader.redis.clock, offset: 0) }
                let p = try await reader.get("/v1/sessions/\(plain)")
                #expect(p.status == 200 && p.json["ttl"] as? Int == 2000)
                #expect((1990...2000).contains(try await TestRedis.command(["TTL", reader.sessionKey(plain)]).int!))
                let s = try await reader.get("/v1/sessions/\(short)")
                #expect(s.status == 200 && s.json["ttl"] as? Int == 100)
                #expect((s.json["expires_in"] as? Int).map { (99...100).contains($0) } == true)
                #expect((99...100).contains(try await TestRedis.command(["TTL", reader.sessionKey(short)]).int!))
                let o = try await reader.get("/v1/sessions/\(owned)")
                #expect(o.status == 200 && o.json["user"] as? String == "ines")
                #expect((1990...2000).contains(try await TestRedis.command(["TTL", reader.sessionKey(owned)]).int!))
                #expect(try await eventually(within: 3) {
                    try await TestRedis.command(["TTL", reader.userKey("ines")]).int! > 1990
                })
                #expect(try await reader.get("/v1/sessions/nosuchsession42").status == 404)
                #expect(try await TestRedis.command(["EXISTS", reader.sessionKey("nosuchsession42")]).int == 0)
            }
        }
    }

    /// Keys under the session prefix that are not sessions (no TTL: a session
    /// always has one) keep no expiry after reads of their ids.
    @Test(arguments: [false, true]) func readsLeaveKeysThatAreNotSessionsAlone(pinned: Bool) async throws {
        try await TestDaemon.with { d in
            if pinned { pin(d.redis.clock, offset: 0) }
            let string = d.sessionKey("notasession01"), hash = d.sessionKey("notasession02")
            try await TestRedis.command(["SET", string, "x"])
            try await TestRedis.command(["HSET", hash, "data:a", "1"])
            for id in ["notasession01", "notasession02"] {
                _ = try await d.get("/v1/sessions/\(id)")
                _ = try await d.send("HEAD", "/v1/sessions/\(id)")
            }
            #expect(try await d.get("/v1/sessions/notasession02").status == 404)
            #expect(try await TestRedis.command(["TTL", string]).int == -1)
            #expect(try await TestRedis.command(["TTL", hash]).int == -1)
        }
    }

    @Test func aStaleEstimateFallsBackToRedisTime() async throws {
        let clock = RedisClock()
        let now = NIODeadline.now()
        #expect(clock.milliseconds(at: now) == nil)
        clock.record(seconds: 1_000, microseconds: 500_000, sent: now, received: now + .milliseconds(2))
        #expect(clock.milliseconds(at: now + .milliseconds(1)) == 1_000_500)
        #expect(clock.milliseconds(at: now + .milliseconds(501)) == 1_001_000)
        #expect(clock.milliseconds(at: now + .milliseconds(1) + RedisClock.maxAge) == nil)
    }
}
