@testable import Redis
import Testing

@Suite struct ClusterRoutingTests {
    @Test func slotsAreCRC16OfTheKeyOrItsHashTag() {
        // Values from the Redis Cluster specification and `CLUSTER KEYSLOT`.
        #expect(ClusterSlot.of("123456789") == 0x31C3 % 16384)
        #expect(ClusterSlot.of("foo") == 12182)
        #expect(ClusterSlot.of("{user1000}.following") == ClusterSlot.of("{user1000}.followers"))
        #expect(ClusterSlot.of("{user1000}.following") == ClusterSlot.of("user1000"))
        // An empty tag, or no closing brace, means the whole key.
        #expect(ClusterSlot.of("foo{}{bar}") != ClusterSlot.of("bar"))
        #expect(ClusterSlot.of("foo{{bar}}zap") == ClusterSlot.of("{bar"))
        #expect(ClusterSlot.of("foo{bar") != ClusterSlot.of("bar"))
    }
}

extension ClusterRoutingTests {
    @Test func redirectsNameTheSlotAndTheNode() {
        #expect(ClusterRouter.redirect("MOVED 3999 127.0.0.1:6381", "MOVED ")! == (3999, HostPort(host: "127.0.0.1", port: 6381)))
        #expect(ClusterRouter.redirect("ASK 12 [::1]:7002", "ASK ")! == (12, HostPort(host: "::1", port: 7002)))
        #expect(ClusterRouter.redirect("MOVED 3999 127.0.0.1:6381", "ASK ") == nil)
        #expect(ClusterRouter.redirect("ERR MOVED", "MOVED ") == nil)
    }

    @Test func slotMapsComeFromClusterSlots() throws {
        let reply = RESPValue.array([
            .array([.integer(0), .integer(5460), .array([.bulk(Array("10.0.0.1".utf8)), .integer(7000), .bulk(Array("id1".utf8))]),
                    .array([.bulk(Array("10.0.0.4".utf8)), .integer(7003)])]),
            .array([.integer(5461), .integer(16383), .array([.bulk([]), .integer(7001)])]),
        ])
        let map = try ClusterRouter.parseSlots(reply, queried: HostPort(host: "10.0.0.9", port: 7001))
        #expect(map.count == 2)
        #expect(map[0].0 == 0...5460 && map[0].1 == HostPort(host: "10.0.0.1", port: 7000))
        // An empty host is the address the map was asked from.
        #expect(map[1].0 == 5461...16383 && map[1].1 == HostPort(host: "10.0.0.9", port: 7001))
        #expect(throws: RedisError.self) { try ClusterRouter.parseSlots(.array([.integer(1)]), queried: map[0].1) }
    }
}
