import Foundation
import Testing
import TestSupport

@Suite struct UserIndexTests {
    @Test func listsLiveSessionsAndPrunesStaleIds() async throws {
        try await TestDaemon.with { d in
            let a = try await d.create(#"{"user": "ivy", "data": {"n": 1}}"#)
            let b = try await d.create(#"{"user": "ivy", "data": {"n": 2}}"#)
            let c = try await d.create(#"{"user": "ivy"}"#)
            _ = try await d.create(#"{"user": "someone-else"}"#)
            // c expires behind sessiond's back; a stray id lands in the set.
            try await TestRedis.command(["DEL", d.sessionKey(c)])
            try await TestRedis.command(["SADD", d.userKey("ivy"), "strayid123"])
            let r = try await d.get("/v1/users/ivy/sessions")
            #expect(r.status == 200)
            let sessions = try #require(r.json["sessions"] as? [[String: Any]])
            #expect(Set(sessions.compactMap { $0["id"] as? String }) == [a, b])
            #expect(sessions.allSatisfy { $0["user"] as? String == "ivy" && $0["data"] is [String: Any] })
            #expect(Set(try await TestRedis.command(["SMEMBERS", d.userKey("ivy")]).strings) == [a, b])
            let none = try await d.get("/v1/users/nobody/sessions")
            #expect(none.status == 200)
            #expect((none.json["sessions"] as? [Any])?.isEmpty == true)
        }
    }

    @Test func logOutEverywhereExceptOne() async throws {
        try await TestDaemon.with { d in
            let keep = try await d.create(#"{"user": "jack"}"#)
            let x = try await d.create(#"{"user": "jack"}"#)
            let y = try await d.create(#"{"user": "jack"}"#)
            let other = try await d.create(#"{"user": "kate"}"#)
            let r = try await d.send("DELETE", "/v1/users/jack/sessions?except=\(keep)")
            #expect(r.status == 200)
            #expect(r.json["deleted"] as? Int == 2)
            // One key per command: the suite also runs against a cluster (scripts/test-cluster).
            #expect(try await TestRedis.command(["EXISTS", d.sessionKey(x)]).int == 0)
            #expect(try await TestRedis.command(["EXISTS", d.sessionKey(y)]).int == 0)
            #expect(try await TestRedis.command(["SMEMBERS", d.userKey("jack")]).strings == [keep])
            #expect(try await d.get("/v1/sessions/\(other)").status == 200)
            let all = try await d.send("DELETE", "/v1/users/jack/sessions")
            #expect(all.json["deleted"] as? Int == 1)
            #expect(try await TestRedis.command(["EXISTS", d.userKey("jack")]).int == 0)
            #expect(try await d.send("DELETE", "/v1/users/jack/sessions").json["deleted"] as? Int == 0)
            #expect(try await d.send("DELETE", "/v1/users/jack/sessions?except=../x").status == 400)
        }
    }

    @Test func userNamesArePercentDecodedAndValidated() async throws {
        try await TestDaemon.with { d in
            let id = try await d.create(#"{"user": "a b/c@é"}"#)
            let r = try await d.get("/v1/users/a%20b%2Fc%40%C3%A9/sessions")
            #expect((r.json["sessions"] as? [[String: Any]])?.first?["id"] as? String == id)
            #expect(try await d.get("/v1/users/a%0Ab/sessions").status == 400)
            #expect(try await d.get("/v1/users/\(String(repeating: "u", count: 257))/sessions").status == 400)
            #expect(try await d.get("/v1/users/%ZZ/sessions").status == 400)
        }
    }
}

@Suite struct FlushAllTests {
    @Test func needsConfirmAndDropsOnlyThePrefix() async throws {
        try await TestDaemon.with { d in
            _ = try await d.create(#"{"user": "lee"}"#)
            _ = try await d.create()
            let outsider = d.prefix.dropLast() + "-other:keep"
            try await TestRedis.command(["SET", String(outsider), "1"])
            try await TestRedis.command(["SET", d.prefix + "unrelated", "1"])
            #expect(try await d.send("DELETE", "/v1/sessions").status == 400)
            #expect(try await d.send("DELETE", "/v1/sessions?confirm=yes").status == 400)
            #expect(try await d.keys().count == 4)
            let r = try await d.send("DELETE", "/v1/sessions?confirm=all")
            #expect(r.status == 200)
            #expect(r.json["deleted"] as? Int == 2)
            #expect(try await d.keys() == [d.prefix + "unrelated"])
            #expect(try await TestRedis.command(["GET", String(outsider)]).string == "1")
            try await TestRedis.command(["DEL", String(outsider)])
            try await TestRedis.command(["DEL", d.prefix + "unrelated"])
        }
    }

    @Test func scansPastOneBatch() async throws {
        try await TestDaemon.with { d in
            for i in 0..<2500 {
                try await TestRedis.command(["HSET", d.sessionKey("bulk-session-\(i)"), "meta:ttl", "60"])
            }
            let r = try await d.send("DELETE", "/v1/sessions?confirm=all")
            #expect(r.json["deleted"] as? Int == 2500)
            #expect(try await d.keys().isEmpty)
        }
    }
}

@Suite struct ConcurrencyTests {
    @Test func twentyConcurrentWritersToOneSessionLoseNothing() async throws {
        try await TestDaemon.with { d in
            let id = try await d.create()
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for i in 0..<20 {
                    group.addTask { try await d.send("PUT", "/v1/sessions/\(id)/data/k\(i)", String(i)).status }
                }
                for i in 0..<20 {
                    group.addTask { try await d.send("PATCH", "/v1/sessions/\(id)", #"{"set": {"p\#(i)": \#(i)}}"#).status }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.allSatisfy { $0 == 204 || $0 == 200 })
            let data = try #require(try await d.get("/v1/sessions/\(id)").json["data"] as? [String: Any])
            #expect(data.count == 40)
            for i in 0..<20 {
                #expect(data["k\(i)"] as? Int == i)
                #expect(data["p\(i)"] as? Int == i)
            }
            #expect(try await TestRedis.command(["HGET", d.sessionKey(id), "meta:version"]).string == "41")
        }
    }

    @Test func concurrentCreateOnlyGivesExactlyOneCreated() async throws {
        try await TestDaemon.with { d in
            let id = "race-for-this-id"
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for i in 0..<20 {
                    group.addTask {
                        try await d.send("PUT", "/v1/sessions/\(id)", #"{"data": {"writer": \#(i)}}"#, headers: [("If-None-Match", "*")]).status
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 201 }.count == 1)
            #expect(statuses.filter { $0 == 412 }.count == 19)
            #expect(try await TestRedis.command(["HGET", d.sessionKey(id), "meta:version"]).string == "1")
        }
    }

    @Test func deleteRacingLateWritesNeverResurrects() async throws {
        try await TestDaemon.with { d in
            for _ in 0..<5 {
                let id = try await d.create()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { _ = try await d.send("DELETE", "/v1/sessions/\(id)") }
                    for i in 0..<10 {
                        group.addTask { _ = try await d.send("PUT", "/v1/sessions/\(id)/data/k\(i)", "1") }
                        group.addTask { _ = try await d.send("PUT", "/v1/sessions/\(id)", "{}", headers: [("If-Match", "*")]) }
                    }
                    try await group.waitForAll()
                }
                #expect(try await TestRedis.command(["EXISTS", d.sessionKey(id)]).int == 0)
            }
        }
    }
}
