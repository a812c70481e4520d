import Foundation
import Testing
@testable import Sessions

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
