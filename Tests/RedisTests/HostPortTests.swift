@testable import Redis
import Testing

@Suite struct HostPortTests {
    @Test func parsesListsOfHostsAndPorts() throws {
        #expect(try HostPort.list("127.0.0.1:26379,redis-b:26380") ==
                [HostPort(host: "127.0.0.1", port: 26379), HostPort(host: "redis-b", port: 26380)])
        #expect(try HostPort.list("[::1]:7000") == [HostPort(host: "::1", port: 7000)])
        #expect(try HostPort.list("[::1]:7000").first?.description == "[::1]:7000")
    }

    @Test func refusesWhatIsNotHostPort() {
        for bad in ["", ",", "host", "host:", ":6379", "host:0", "host:65536", "host:x", "a:1,b"] {
            #expect(throws: (any Error).self, "\(bad)") { try HostPort.list(bad) }
        }
    }

    @Test func sentinelModeIsWhatLogsShow() throws {
        var configuration = try RedisConfiguration(url: "redis://:secret@127.0.0.1/2")
        configuration.sentinel = SentinelConfiguration(sentinels: try HostPort.list("10.0.0.1:26379,10.0.0.2:26379"),
                                                       masterName: "sessions", password: "s3")
        #expect(configuration.redactedDescription == "sentinel://10.0.0.1:26379,10.0.0.2:26379/sessions?db=2")
        #expect(!configuration.redactedDescription.contains("secret"))
    }
}
