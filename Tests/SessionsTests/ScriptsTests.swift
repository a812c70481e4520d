import Redis
import Testing
import TestSupport
@testable import Sessions

@Suite struct ScriptsTests {
    /// Every script compiles in the real Redis and its SHA matches what EVALSHA will ask for.
    @Test(arguments: Scripts.all.map(\.name)) func loadsInRedis(_ name: String) async throws {
        let script = try #require(Scripts.all.first { $0.name == name })
        let sha = try await TestRedis.command(["SCRIPT", "LOAD", script.source])
        #expect(sha.string == script.sha1)
    }
}
