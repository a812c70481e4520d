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
