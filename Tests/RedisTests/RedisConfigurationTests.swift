import NIOCore
import Testing
@testable import Redis

@Suite struct RedisConfigurationTests {
    @Test func parsesTCPURLs() throws {
        let c = try RedisConfiguration(url: "redis://alice:s%40cret@example.org:6380/3")
        #expect(c.address == .tcp(host: "example.org", port: 6380))
        #expect(c.username == "alice")
        #expect(c.password == "s@cret")
        #expect(c.database == 3)
        #expect(!c.redactedDescription.contains("s@cret"))
        #expect(c.redactedDescription == "redis://alice:***@example.org:6380/3")
    }

    @Test func defaultsAndPasswordOnly() throws {
        let c = try RedisConfiguration(url: "redis://:pw@127.0.0.1")
        #expect(c.address == .tcp(host: "127.0.0.1", port: 6379))
        #expect(c.username == nil)
        #expect(c.password == "pw")
        #expect(c.database == 0)
        let v6 = try RedisConfiguration(url: "redis://[::1]:7000/1")
        #expect(v6.address == .tcp(host: "::1", port: 7000))
    }

    @Test func parsesUnixURLs() throws {
        let c = try RedisConfiguration(url: "unix:///run/redis/redis.sock?db=2&password=x")
        #expect(c.address == .unix(path: "/run/redis/redis.sock"))
        #expect(c.database == 2)
        #expect(c.password == "x")
    }

    @Test(arguments: ["http://x", "redis://host:notaport", "redis://host:6379/-1", "unix://relative", "redis://h:70000"])
    func rejectsBadURLs(_ url: String) {
        #expect(throws: RedisConfiguration.InvalidURL.self) { try RedisConfiguration(url: url) }
    }
}
