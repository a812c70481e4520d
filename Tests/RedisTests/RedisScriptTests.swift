import Testing
@testable import Redis

/// Scripts are named by their SHA1, as Redis names them, and called keys first.
@Suite struct RedisScriptTests {
    @Test func sha1NamesScriptsLikeRedis() {
        #expect(SHA1.hex([]) == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(SHA1.hex(Array("abc".utf8)) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(SHA1.hex(Array(String(repeating: "a", count: 1000).utf8)) == "291e9a6c66994949b57ba5e650361e98fc36b1ba")
    }

    @Test func scriptCallsPutKeysBeforeArguments() {
        var call = ScriptCall(RedisScript(name: "t", source: "return 1"), keys: ["k1", "k2"])
        call.append("a")
        call.append(7)
        #expect(call.command(usingSHA: true).arguments == ["EVALSHA", SHA1.hex(Array("return 1".utf8)), "2", "k1", "k2", "a", "7"])
        #expect(call.command(usingSHA: false).arguments == ["EVAL", "return 1", "2", "k1", "k2", "a", "7"])
    }
}
