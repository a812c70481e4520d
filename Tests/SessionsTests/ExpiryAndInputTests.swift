import Testing
@testable import Sessions

@Suite struct TimestampTests {
    @Test func formatsUTC() {
        #expect(Timestamps.format(unixMilliseconds: 0) == "1970-01-01T00:00:00Z")
        #expect(Timestamps.format(unixMilliseconds: 1_764_974_839_999) == "2025-12-05T22:47:19Z")
        #expect(Timestamps.format(unixMilliseconds: 951_782_400_000) == "2000-02-29T00:00:00Z")
        #expect(Timestamps.format(unixMilliseconds: 4_102_444_800_000) == "2100-01-01T00:00:00Z")
    }

    @Test func parsesRFC3339() {
        #expect(Timestamps.parse("2025-12-05T22:47:19Z") == 1_764_974_839_000)
        #expect(Timestamps.parse("2025-12-05T22:47:19.25Z") == 1_764_974_839_250)
        #expect(Timestamps.parse("2025-12-06T00:47:19+02:00") == 1_764_974_839_000)
        #expect(Timestamps.parse("2025-12-05T17:47:19-05:00") == 1_764_974_839_000)
        #expect(Timestamps.parse("2024-02-29T00:00:00Z") != nil)
        // More than millisecond precision is accepted and truncated (this once crashed the parser).
        #expect(Timestamps.parse("2025-12-05T22:47:19.123456789Z") == 1_764_974_839_123)
        #expect(Timestamps.parse("2025-12-05T22:47:19.1Z") == 1_764_974_839_100)
    }

    @Test(arguments: ["", "2025-12-05", "2025-12-05T22:47:19", "2025-02-30T00:00:00Z", "2023-02-29T00:00:00Z",
                      "2025-13-01T00:00:00Z", "2025-12-05T24:00:00Z", "2025-12-05T22:47:19+2:00", "tomorrow",
                      "2025-12-05T22:47:19Zjunk"])
    func rejectsMalformed(_ text: String) { #expect(Timestamps.parse(text) == nil) }

    @Test func roundTrips() {
        for ms in stride(from: Int64(0), to: 5_000_000_000_000, by: 97_654_321_000) {
            #expect(Timestamps.parse(Timestamps.format(unixMilliseconds: ms)) == ms)
        }
    }

    @Test func secondsRoundLikeRedisTTL() {
        #expect(Timestamps.seconds(fromMilliseconds: 1_209_599_700) == 1_209_600)
        #expect(Timestamps.seconds(fromMilliseconds: 1_400) == 1)
        #expect(Timestamps.seconds(fromMilliseconds: -5) == 0)
    }
}

@Suite struct InputTests {
    let limits = SessionLimits()

    func parse(_ s: String) throws -> SessionInput { try SessionInput.parse(Array(s.utf8), limits: limits) }

    @Test func emptyBodyMeansDefaults() throws {
        #expect(try parse("") == SessionInput())
        #expect(try parse(" \n") == SessionInput())
        #expect(try parse("{}") == SessionInput())
    }

    @Test func readsDataTtlAndUser() throws {
        let input = try parse(#"{"data": {"a": 1, "b": "x", "a": [true]}, "ttl": 60, "user": "alice"}"#)
        #expect(input.data == [DataEntry(key: Array("a".utf8), json: Array("[true]".utf8)),
                               DataEntry(key: Array("b".utf8), json: Array("\"x\"".utf8))])
        #expect(input.ttl == .value(60))
        #expect(input.user == .value("alice"))
        #expect(try parse(#"{"ttl": null, "user": null}"#) == SessionInput(ttl: .null, user: .null))
    }

    @Test(arguments: [
        #"{"tll": 5}"#, #"{"ttl": 0}"#, #"{"ttl": 31536001}"#, #"{"ttl": 1.5}"#, #"{"ttl": "60"}"#, #"{"ttl": 1e400}"#, #"{"ttl": -1}"#,
        #"{"user": ""}"#, #"{"user": 5}"#, #"{"user": "a\u0000b"}"#, #"{"data": []}"#, #"{"data": {"": 1}}"#,
        #"[]"#, #"{"data": {"a": }}"#, #"{"data": {"a\nb": 1}}"#,
    ])
    func rejects(_ body: String) {
        #expect(throws: SessionError.self) { try parse(body) }
    }

    @Test func limitsKeysPerSession() throws {
        var small = limits
        small.maxKeys = 2
        #expect(throws: SessionError.self) {
            try SessionInput.parse(Array(#"{"data": {"a": 1, "b": 2, "c": 3}}"#.utf8), limits: small)
        }
        _ = try SessionInput.parse(Array(#"{"data": {"a": 1, "b": 2}}"#.utf8), limits: small)
    }

    @Test func patchInput() throws {
        let p = try PatchInput.parse(Array(#"{"set": {"a": 1}, "delete": ["b", "b"]}"#.utf8), limits: limits)
        #expect(p.set == [DataEntry(key: Array("a".utf8), json: Array("1".utf8))])
        #expect(p.delete == [Array("b".utf8)])
        #expect(throws: SessionError.self) { try PatchInput.parse(Array(#"{"set": {"a": 1}, "delete": ["a"]}"#.utf8), limits: limits) }
        #expect(throws: SessionError.self) { try PatchInput.parse(Array(#"{"delete": "a"}"#.utf8), limits: limits) }
        #expect(throws: SessionError.self) { try PatchInput.parse(Array(#"{"remove": ["a"]}"#.utf8), limits: limits) }
    }

    @Test func expiryInput() throws {
        let now: Int64 = 1_764_974_839_000
        func parse(_ s: String) throws -> ExpiryInput { try ExpiryInput.parse(Array(s.utf8), limits: limits, nowMilliseconds: now) }
        #expect(try parse(#"{"ttl": 30}"#) == .ttl(30))
        #expect(try parse(#"{"ttl": null}"#) == .defaultTTL)
        #expect(try parse(#"{"expires_at": "2025-12-05T23:47:19Z"}"#) == .at(now + 3_600_000))
        for bad in [#"{}"#, #"{"ttl": 1, "expires_at": "2025-12-05T23:47:19Z"}"#, #"{"expires_at": "2020-01-01T00:00:00Z"}"#,
                    #"{"expires_at": "soon"}"#, #"{"expires_at": 5}"#, #"{"ttl": 0}"#, #"{"expires_at": "2040-01-01T00:00:00Z"}"#] {
            #expect(throws: SessionError.self) { try parse(bad) }
        }
    }

    @Test func rawValuesAreKeptByteForByte() throws {
        #expect(try RawValue.parse(Array(" [1, 2.50] ".utf8), limits: limits) == Array("[1, 2.50]".utf8))
        #expect(throws: SessionError.self) { try RawValue.parse(Array("".utf8), limits: limits) }
        #expect(throws: SessionError.self) { try RawValue.parse(Array("{".utf8), limits: limits) }
    }

    @Test func globEscapesThePrefix() {
        #expect(SessionStore.globEscape("app[1]*?:") == "app\\[1\\]\\*\\?:")
    }
}
