import Foundation
import Testing
@testable import Sessions

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
