import Foundation
import Testing
import TestSupport
@testable import HTTPFront
import Sessions
import Redis
import NIOConcurrencyHelpers

/// §6 `--max-sessions-per-user`: a create, a replace that sets the user and a
/// cycle evict the user's least recently seen sessions beyond N (with their
/// index entries) and answer `Sessions-Evicted`. On one Redis it is the same
/// script as the write, so N holds under any number of racing logins; in a
/// Cluster (run by scripts/test with_cluster) the weaker, documented guarantee
/// is tested instead.
@Suite struct SessionCapTests {
    private var clustered: Bool { TestRedis.clusterNodes != nil }

    private func login(_ d: TestDaemon, _ user: String) async throws -> TestResponse {
        try await d.send("POST", "/v1/sessions", #"{"user": "\#(user)", "device": {"ua": "test"}}"#)
    }

    private func liveIDs(_ d: TestDaemon, _ user: String) async throws -> [String] {
        let r = try await d.get("/v1/users/\(user)/sessions")
        return (r.json["sessions"] as? [[String: Any]])?.compactMap { $0["id"] as? String } ?? []
    }

    @Test func aLoginBeyondTheCapEvictsTheLeastRecentlySeen() async throws {
        let config = SessionConfiguration(keyPrefix: TestRedis.uniquePrefix(), maxSessionsPerUser: 2)
        try await TestDaemon.with(sessions: config) { d in
            let user = "cap-\(UInt32.random(in: 0...UInt32.max))"
            let first = try #require(try await login(d, user).json["id"] as? String)
            let second = try #require(try await login(d, user).json["id"] as? String)
            // The first was seen since (a page view); the second was not.
            try await TestRedis.command(["HSET", d.sessionKey(second), "meta:seen", "1000"])
            let third = try await login(d, user)
            #expect(third.status == 201)
            #expect(third.header("Sessions-Evicted") == "1")
            #expect(try await TestRedis.command(["EXISTS", d.sessionKey(second)]).int == 0)
            #expect(try await TestRedis.command(["SISMEMBER", d.userKey(user), second]).int == 0)
            #expect(Set(try await liveIDs(d, user)) == [first, try #require(third.json["id"] as? String)])
            // Under the cap: no header.
            let other = try await login(d, "other-\(user)")
            #expect(other.header("Sessions-Evicted") == nil)
        }
    }

    @Test func replaceThatSetsTheUserAndCycleAreLoginsToo() async throws {
        let prefix = TestRedis.uniquePrefix()
        let user = "cap-\(UInt32.random(in: 0...UInt32.max))"
        var ids: [String] = []
        // Three sessions made before the cap existed.
        try await TestDaemon.with(sessions: SessionConfiguration(keyPrefix: prefix)) { d in
            for _ in 0..<3 { ids.append(try #require(try await login(d, user).json["id"] as? String)) }
            for (i, id) in ids.enumerated() { try await TestRedis.command(["HSET", d.sessionKey(id), "meta:seen", String(1000 + i)]) }
        }
        try await TestDaemon.with(sessions: SessionConfiguration(keyPrefix: prefix, maxSessionsPerUser: 2)) { d in
            // A replace that keeps the user is not a login.
            let kept = try await d.send("PUT", "/v1/sessions/\(ids[2])", #"{"data": {"x": 1}}"#)
            #expect(kept.status == 200 && kept.header("Sessions-Evicted") == nil)
            #expect(try await liveIDs(d, user).count == 3)
            // A cycle is: the least recently seen (ids[0]) goes.
            let cycled = try await d.send("POST", "/v1/sessions/\(ids[1])/cycle")
            #expect(cycled.status == 201)
            #expect(cycled.header("Sessions-Evicted") == "1", "\(cycled.headers)")
            #expect(try await TestRedis.command(["EXISTS", d.sessionKey(ids[0])]).int == 0)
            // A replace that sets the user (here, creating a session for it) is too.
            try await TestRedis.command(["HSET", d.sessionKey(ids[2]), "meta:seen", "1"])
            let put = try await d.send("PUT", "/v1/sessions/cap-put-\(user)", #"{"user": "\#(user)"}"#)
            #expect(put.status == 201)
            #expect(put.header("Sessions-Evicted") == "1", "\(put.headers)")
            #expect(try await TestRedis.command(["EXISTS", d.sessionKey(ids[2])]).int == 0)
            #expect(try await liveIDs(d, user).count == 2)
        }
    }

    /// 50 logins of one user at once, against a real Redis.
    @Test func fiftyConcurrentLogins() async throws {
        let cap = 3
        let config = SessionConfiguration(keyPrefix: TestRedis.uniquePrefix(), maxSessionsPerUser: cap)
        try await TestDaemon.with(sessions: config) { d in
            let user = "rush-\(UInt32.random(in: 0...UInt32.max))"
            let count = """
            local n = 0
            for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
              if redis.call('HGET', ARGV[1] .. id, 'meta:user') == ARGV[2] then n = n + 1 end
            end
            return n
            """
            let done = ManagedFlag()
            // One Redis: count the user's live sessions atomically while the logins run.
            let watcher = Task { () -> Int in
                var most = 0
                guard !clustered else { return 0 }
                while !done.value {
                    let n = try await TestRedis.command(["EVAL", count, "1", d.userKey(user), d.prefix + "session:", user]).int ?? 0
                    most = max(most, Int(n))
                }
                return most
            }
            let responses = try await withThrowingTaskGroup(of: TestResponse.self) { group in
                for _ in 0..<50 { group.addTask { try await login(d, user) } }
                var out: [TestResponse] = []
                for try await r in group { out.append(r) }
                return out
            }
            done.set()
            let most = try await watcher.value
            #expect(responses.allSatisfy { $0.status == 201 }, "\(responses.map(\.status))")
            let evicted = responses.compactMap { $0.header("Sessions-Evicted").flatMap(Int.init) }.reduce(0, +)
            let live = try await liveIDs(d, user)
            if !clustered {
                #expect(most <= cap, "the user held \(most) sessions at once")
                #expect(live.count == cap)
                #expect(evicted == 50 - cap)
                // Their index names only live sessions.
                #expect(try await TestRedis.command(["SCARD", d.userKey(user)]).int == Int64(cap))
            } else {
                // Cluster: racing logins never evict one another's newer sessions, so the most
                // recent logins all survive; the next login brings the user back to the cap.
                #expect(live.count >= cap)
                #expect(evicted == 50 - live.count)
                let next = try await login(d, user)
                #expect(next.status == 201)
                #expect(try await liveIDs(d, user).count == cap)
            }
            print("fiftyConcurrentLogins (\(clustered ? "cluster" : "one Redis")): 50 × 201, \(evicted) evicted, "
                + "\(live.count) live after, at most \(most) at once")
        }
    }
}

/// A flag one task sets and another polls.
final class ManagedFlag: Sendable {
    private let box = NIOLockedValueBox(false)
    var value: Bool { box.withLockedValue { $0 } }
    func set() { box.withLockedValue { $0 = true } }
}
