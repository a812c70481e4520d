import Foundation
import Testing
import TestSupport
@testable import HTTPFront
import Sessions
import Redis

/// §3/§4: `device` (any JSON object of at most 2 KiB, kept as its exact text in
/// `meta:device`) and `last_seen_at` (`meta:seen`: the last write or sliding
/// read of a session with a user or a device), and a user's sessions listed
/// most recently seen first.
@Suite struct DevicesTests {
    static let device = #"{"user_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0", "ip": "203.0.113.7", "n": 1.50}"#

    private func seen(_ d: TestDaemon, _ id: String) async throws -> Int64? {
        try await TestRedis.command(["HGET", d.sessionKey(id), "meta:seen"]).int
    }

    @Test func createKeepsTheDeviceAsSentAndStartsLastSeen() async throws {
        try await TestDaemon.with { d in
            let r = try await d.send("POST", "/v1/sessions", #"{"data": {"a": 1}, "device": \#(Self.device)}"#)
            #expect(r.status == 201)
            let id = try #require(r.json["id"] as? String)
            // The exact JSON text, spacing and 1.50 included, in the response and in Redis.
            #expect(r.text.contains(#""device":\#(Self.device)"#), "\(r.text)")
            #expect(try await TestRedis.command(["HGET", d.sessionKey(id), "meta:device"]).string == Self.device)
            let seen = try #require(try await seen(d, id))
            #expect(r.json["last_seen_at"] as? String == r.json["created_at"] as? String)
            #expect(Timestamps.parse(try #require(r.json["last_seen_at"] as? String)).map { abs($0 - seen) < 1000 } == true)
            let g = try await d.get("/v1/sessions/\(id)")
            #expect(g.text.contains(#""device":\#(Self.device)"#), "\(g.text)")
        }
    }

    @Test func sessionsWithoutUserOrDeviceHaveNoLastSeen() async throws {
        try await TestDaemon.with { d in
            let id = try await d.create(#"{"data": {"a": 1}}"#)
            for _ in 0..<3 {
                let r = try await d.get("/v1/sessions/\(id)")
                #expect(r.text.contains(#""device":null"#) && r.text.contains(#""last_seen_at":null"#), "\(r.text)")
            }
            #expect(try await d.send("PATCH", "/v1/sessions/\(id)", #"{"set": {"b": 2}}"#).status == 200)
            #expect(try await TestRedis.command(["HEXISTS", d.sessionKey(id), "meta:seen"]).int == 0)
            let owned = try await d.send("POST", "/v1/sessions", #"{"user": "dev-user"}"#)
            #expect(owned.json["last_seen_at"] is String, "\(owned.text)")
        }
    }

    @Test func replaceKeepsClearsOrSetsTheDevice() async throws {
        try await TestDaemon.with { d in
            let id = try await d.create(#"{"device": {"ip": "198.51.100.1"}}"#)
            let kept = try await d.send("PUT", "/v1/sessions/\(id)", #"{"data": {"x": 1}}"#)
            #expect(kept.status == 200)
            #expect(kept.text.contains(#""device":{"ip": "198.51.100.1"}"#), "\(kept.text)")
            let changed = try await d.send("PUT", "/v1/sessions/\(id)", #"{"device": {"ip": "198.51.100.2"}}"#)
            #expect(changed.text.contains(#""device":{"ip": "198.51.100.2"}"#), "\(changed.text)")
            let cleared = try await d.send("PUT", "/v1/sessions/\(id)", #"{"device": null}"#)
            #expect(cleared.text.contains(#""device":null"#) && cleared.text.contains(#""last_seen_at":null"#), "\(cleared.text)")
            let hash = try await TestRedis.command(["HGETALL", d.sessionKey(id)]).hash
            #expect(hash["meta:device"] == nil && hash["meta:seen"] == nil, "\(hash)")
            // A replace that creates takes the device too.
            let made = try await d.send("PUT", "/v1/sessions/device-made-by-put-1", #"{"device": {"k": []}}"#)
            #expect(made.status == 201)
            #expect(made.text.contains(#""device":{"k": []}"#), "\(made.text)")
        }
    }

    @Test(arguments: [#"[1, 2]"#, #""phone""#, "42", "true",
                      #"{"ua": ""# + String(repeating: "x", count: 2048) + #""}"#])
    func anythingButAnObjectOfAtMost2KiBIs400AndStoresNothing(device: String) async throws {
        try await TestDaemon.with { d in
            let before = try await d.snapshot()
            let r = try await d.send("POST", "/v1/sessions", #"{"device": \#(device)}"#)
            #expect(r.status == 400, "\(r.text)")
            #expect(r.header("Content-Type") == "application/problem+json")
            #expect(try await d.send("PUT", "/v1/sessions/device-refused-1", #"{"device": \#(device)}"#).status == 400)
            #expect(try await d.snapshot() == before)
        }
    }

    @Test func writesAndSlidingReadsMoveLastSeenAndTouchFalseDoesNot() async throws {
        let config = SessionConfiguration(keyPrefix: TestRedis.uniquePrefix())
        try await TestDaemon.with(sessions: config) { d in
            try await TestDaemon.with(sessions: config) { stranger in
                for body in [#"{"device": {"ip": "192.0.2.1"}}"#, #"{"user": "seen-user"}"#] {
                    let id = try await d.create(body)
                    let key = d.sessionKey(id)
                    // An old last-seen, so any update shows.
                    try await TestRedis.command(["HSET", key, "meta:seen", "1000"])
                    _ = try await d.get("/v1/sessions/\(id)?touch=false")
                    #expect(try await seen(d, id) == 1000, "?touch=false moved last_seen_at (\(body))")
                    for reader in [d, stranger] {
                        try await TestRedis.command(["HSET", key, "meta:seen", "1000"])
                        let r = try await reader.get("/v1/sessions/\(id)")
                        #expect(try await seen(d, id).map { $0 > 1000 } == true, "a sliding read did not move it (\(body))")
                        #expect((r.json["last_seen_at"] as? String).map { !$0.hasPrefix("1970") } == true, "\(r.text)")
                    }
                    for (method, path, payload) in [("PATCH", "", #"{"set": {"b": 2}}"#), ("PUT", "/data/c", "3"),
                                                    ("PUT", "/expiry", #"{"ttl": 500}"#)] {
                        try await TestRedis.command(["HSET", key, "meta:seen", "1000"])
                        #expect(try await d.send(method, "/v1/sessions/\(id)\(path)", payload).status / 100 == 2)
                        #expect(try await seen(d, id).map { $0 > 1000 } == true, "\(method) \(path) did not move it (\(body))")
                    }
                    try await TestRedis.command(["HSET", key, "meta:seen", "1000"])
                    let cycled = try await d.send("POST", "/v1/sessions/\(id)/cycle")
                    let newID = try #require(cycled.json["id"] as? String)
                    #expect(try await seen(d, newID).map { $0 > 1000 } == true, "cycle did not move it (\(body))")
                    #expect((cycled.json["last_seen_at"] as? String).map { !$0.hasPrefix("1970") } == true)
                }
            }
        }
    }

    @Test func aUsersSessionsComeMostRecentlySeenFirst() async throws {
        try await TestDaemon.with { d in
            let user = "order-\(UInt32.random(in: 0...UInt32.max))"
            var ids: [String] = []
            for i in 0..<3 {
                ids.append(try await d.create(#"{"user": "\#(user)", "device": {"n": \#(i)}}"#))
            }
            // Seen long ago, in the order 1, 0, 2 (most recent first).
            for (id, at) in zip(ids, ["2000", "3000", "1000"]) {
                try await TestRedis.command(["HSET", d.sessionKey(id), "meta:seen", at])
            }
            let listed = try await d.get("/v1/users/\(user)/sessions")
            let order = (listed.json["sessions"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
            #expect(order == [ids[1], ids[0], ids[2]], "\(listed.text)")
            #expect((listed.json["sessions"] as? [[String: Any]])?.first?["device"] as? [String: Int] == ["n": 1])
            // A read of the oldest makes it the most recent.
            _ = try await d.get("/v1/sessions/\(ids[2])")
            let again = try await d.get("/v1/users/\(user)/sessions")
            #expect((again.json["sessions"] as? [[String: Any]])?.first?["id"] as? String == ids[2], "\(again.text)")
        }
    }
}
