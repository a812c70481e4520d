import Foundation
import Testing
@testable import Sessions

@Suite struct JSONScannerTests {
    static let valid = [
        "0", "-0", "1.5e10", "-12.25E-3", "true", "false", "null", "\"\"", "\"a\\u00e9\\n\"",
        "[]", "{}", "[1, [2, {\"a\": null}]]", " {\"k\" : \"v\" , \"n\":[ ]} ",
        "123456789012345678901234567890", "\"\u{1F600}\"", "\"\\ud83d\\ude00\"",
    ]
    static let invalid = [
        "", " ", "01", "1.", ".5", "-", "1e", "+1", "tru", "nul", "[1,]", "{\"a\":1,}", "{a:1}", "'a'",
        "[1 2]", "{\"a\" 1}", "\"unterminated", "\"bad \\x escape\"", "\"\\ud83d alone\"", "\"\\ude00\"",
        "NaN", "Infinity", "[", "]", "{\"a\":1}}", "1 2", "\"tab\there\"",
    ]

    @Test(arguments: valid) func acceptsValidJSON(_ text: String) throws {
        let r = try JSONScanner.validateValue(Array(text.utf8), maxDepth: 64)
        #expect(String(decoding: Array(text.utf8)[r], as: UTF8.self) == text.trimmingCharacters(in: .whitespaces))
    }

    @Test(arguments: invalid) func rejectsInvalidJSON(_ text: String) {
        #expect(throws: JSONScanner.Failure.self) { try JSONScanner.validateValue(Array(text.utf8), maxDepth: 64) }
    }

    @Test func rejectsInvalidUTF8InStrings() {
        for bytes: [UInt8] in [[0x22, 0xC0, 0xAF, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xFF, 0x22], [0x22, 0xE2, 0x82, 0x22]] {
            #expect(throws: JSONScanner.Failure.self) { try JSONScanner.validateValue(bytes, maxDepth: 64) }
        }
    }

    @Test func limitsNestingDepth() throws {
        let ok = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        _ = try JSONScanner.validateValue(Array(ok.utf8), maxDepth: 64)
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(throws: JSONScanner.Failure.self) { try JSONScanner.validateValue(Array(deep.utf8), maxDepth: 64) }
        let deepObject = String(repeating: "{\"a\":", count: 65) + "1" + String(repeating: "}", count: 65)
        #expect(throws: JSONScanner.Failure.self) { try JSONScanner.validateValue(Array(deepObject.utf8), maxDepth: 64) }
    }

    @Test func objectMembersKeepRawValuesAndDecodeKeys() throws {
        let text = #"{"a\u00e9": 1.50, "b":{"x" : [1, 2]}, "big": 18446744073709551616}"#
        let bytes = Array(text.utf8)
        let members = try JSONScanner.members(ofObject: bytes, maxDepth: 64)
        #expect(members.map { String(decoding: $0.key, as: UTF8.self) } == ["aé", "b", "big"])
        #expect(members.map { String(decoding: bytes[$0.value], as: UTF8.self) } == ["1.50", #"{"x" : [1, 2]}"#, "18446744073709551616"])
    }
}

@Suite struct SessionIDTests {
    @Test func generatedIdsAreDjangoShaped() {
        var seen = Set<String>()
        for _ in 0..<2000 {
            let id = SessionID.generate()
            #expect(id.count == 32)
            #expect(id.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) })
            #expect(SessionID.isValid(id))
            seen.insert(id)
        }
        #expect(seen.count == 2000)
    }

    @Test func usesEveryCharacterOfTheAlphabet() {
        var chars = Set<Character>()
        for _ in 0..<200 { chars.formUnion(SessionID.generate()) }
        #expect(chars.count == 36)
    }

    @Test(arguments: ["abcdefgh", "A_b-C_d-1234", String(repeating: "x", count: 128)])
    func acceptsValidIds(_ id: String) { #expect(SessionID.isValid(id)) }

    @Test(arguments: ["", "short", "abc.defgh", "../../etc", "abcdefg%2F", "abcdefgh/", "abc defgh",
                      String(repeating: "x", count: 129), "abcdéfgh"])
    func rejectsInvalidIds(_ id: String) { #expect(!SessionID.isValid(id)) }
}

@Suite struct SessionNameTests {
    @Test func acceptsUTF8Names() {
        #expect(SessionName.problem(Array("cart".utf8), what: "key") == nil)
        #expect(SessionName.problem(Array("日本/ключ with spaces".utf8), what: "key") == nil)
        #expect(SessionName.problem(Array(repeating: 0x61, count: 256), what: "key") == nil)
    }

    @Test func rejectsEmptyLongControlAndInvalid() {
        #expect(SessionName.problem([], what: "key") != nil)
        #expect(SessionName.problem(Array(repeating: 0x61, count: 257), what: "key") != nil)
        #expect(SessionName.problem(Array("a\nb".utf8), what: "key") != nil)
        #expect(SessionName.problem(Array("a\u{7F}b".utf8), what: "key") != nil)
        #expect(SessionName.problem(Array("a\u{85}b".utf8), what: "key") != nil)
        #expect(SessionName.problem([0x61, 0xFF], what: "key") != nil)
    }
}
