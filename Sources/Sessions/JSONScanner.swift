/// A strict RFC 8259 scanner that validates JSON without building values.
///
/// Session values are stored and served as the exact JSON text received, so
/// the scanner only checks the text (grammar, UTF-8, nesting depth) and hands
/// back byte ranges; only object keys are decoded. Numbers of any size are
/// kept exactly as written.
struct JSONScanner {
    struct Failure: Error, Equatable {
        let message: String
    }

    let bytes: [UInt8]
    let maxDepth: Int
    private(set) var index = 0

    init(_ bytes: [UInt8], maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    // MARK: Entry points

    /// Validates that the whole input is one JSON value; returns its range (without surrounding whitespace).
    static func validateValue(_ bytes: [UInt8], maxDepth: Int) throws(Failure) -> Range<Int> {
        var s = JSONScanner(bytes, maxDepth: maxDepth)
        s.skipWhitespace()
        let r = try s.scanValue(depth: 1)
        try s.expectEnd()
        return r
    }

    /// Scans the input as one object and returns its members: decoded key, raw value range.
    static func members(ofObject bytes: [UInt8], maxDepth: Int) throws(Failure) -> [(key: [UInt8], value: Range<Int>)] {
        var s = JSONScanner(bytes, maxDepth: maxDepth)
        s.skipWhitespace()
        let m = try s.scanObjectMembers(depth: 1)
        try s.expectEnd()
        return m
    }

    /// At an object (after whitespace): its members, leaving the scanner after the closing brace.
    mutating func scanObjectMembers(depth: Int) throws(Failure) -> [(key: [UInt8], value: Range<Int>)] {
        guard peek == UInt8(ascii: "{") else { throw fail("expected a JSON object") }
        guard depth <= maxDepth else { throw Failure(message: "JSON nested deeper than \(maxDepth) levels") }
        index += 1
        var members: [(key: [UInt8], value: Range<Int>)] = []
        skipWhitespace()
        if peek == UInt8(ascii: "}") { index += 1; return members }
        while true {
            skipWhitespace()
            guard peek == UInt8(ascii: "\"") else { throw fail("expected a string key") }
            let key = try scanString()
            skipWhitespace()
            guard peek == UInt8(ascii: ":") else { throw fail("expected ':'") }
            index += 1
            skipWhitespace()
            let value = try scanValue(depth: depth + 1)
            members.append((key, value))
            skipWhitespace()
            switch peek {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"): index += 1; return members
            default: throw fail("expected ',' or '}'")
            }
        }
    }

    /// Scans an array of strings (for PATCH `delete`), decoded.
    static func strings(inArray bytes: ArraySlice<UInt8>, maxDepth: Int) throws(Failure) -> [[UInt8]] {
        var s = JSONScanner(Array(bytes), maxDepth: maxDepth)
        s.skipWhitespace()
        guard s.peek == UInt8(ascii: "[") else { throw s.fail("expected an array of strings") }
        s.index += 1
        var out: [[UInt8]] = []
        s.skipWhitespace()
        if s.peek == UInt8(ascii: "]") { s.index += 1; try s.expectEnd(); return out }
        while true {
            s.skipWhitespace()
            guard s.peek == UInt8(ascii: "\"") else { throw s.fail("expected a string") }
            out.append(try s.scanString())
            s.skipWhitespace()
            switch s.peek {
            case UInt8(ascii: ","): s.index += 1
            case UInt8(ascii: "]"): s.index += 1; try s.expectEnd(); return out
            default: throw s.fail("expected ',' or ']'")
            }
        }
    }

    /// Decodes a JSON string value that spans exactly `bytes`.
    static func decodeString(_ bytes: ArraySlice<UInt8>) throws(Failure) -> [UInt8] {
        var s = JSONScanner(Array(bytes), maxDepth: 1)
        guard s.peek == UInt8(ascii: "\"") else { throw s.fail("expected a string") }
        let r = try s.scanString()
        try s.expectEnd()
        return r
    }

    mutating func seek(_ i: Int) { index = i }

    // MARK: Grammar

    var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

    func fail(_ what: String) -> Failure {
        if index >= bytes.count { return Failure(message: "invalid JSON: \(what), found end of input") }
        return Failure(message: "invalid JSON at byte \(index): \(what)")
    }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    mutating func expectEnd() throws(Failure) {
        skipWhitespace()
        if index != bytes.count { throw fail("unexpected data after the JSON value") }
    }

    mutating func scanValue(depth: Int) throws(Failure) -> Range<Int> {
        let start = index
        guard let c = peek else { throw fail("expected a value") }
        switch c {
        case UInt8(ascii: "{"):
            _ = try scanObjectMembers(depth: depth)
        case UInt8(ascii: "["):
            guard depth <= maxDepth else { throw Failure(message: "JSON nested deeper than \(maxDepth) levels") }
            index += 1
            skipWhitespace()
            if peek == UInt8(ascii: "]") { index += 1; break }
            loop: while true {
                skipWhitespace()
                _ = try scanValue(depth: depth + 1)
                skipWhitespace()
                switch peek {
                case UInt8(ascii: ","): index += 1
                case UInt8(ascii: "]"): index += 1; break loop
                default: throw fail("expected ',' or ']'")
                }
            }
        case UInt8(ascii: "\""):
            try skipString()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            try scanNumber()
        default:
            throw fail("unexpected character")
        }
        return start..<index
    }

    private mutating func literal(_ word: StaticString) throws(Failure) {
        let n = word.utf8CodeUnitCount
        guard index + n <= bytes.count else { throw fail("invalid literal") }
        let p = word.utf8Start
        for i in 0..<n where bytes[index + i] != p[i] { throw fail("invalid literal") }
        index += n
    }

    private mutating func scanNumber() throws(Failure) {
        if peek == UInt8(ascii: "-") { index += 1 }
        guard let first = peek, isDigit(first) else { throw fail("invalid number") }
        if first == UInt8(ascii: "0") {
            index += 1
        } else {
            while let d = peek, isDigit(d) { index += 1 }
        }
        if peek == UInt8(ascii: ".") {
            index += 1
            guard let d = peek, isDigit(d) else { throw fail("invalid number") }
            while let d = peek, isDigit(d) { index += 1 }
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            index += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { index += 1 }
            guard let d = peek, isDigit(d) else { throw fail("invalid number") }
            while let d = peek, isDigit(d) { index += 1 }
        }
    }

    private func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

    /// Validates a string without decoding it.
    private mutating func skipString() throws(Failure) {
        index += 1
        while true {
            guard let c = peek else { throw fail("unterminated string") }
            switch c {
            case UInt8(ascii: "\""):
                index += 1
                return
            case UInt8(ascii: "\\"):
                _ = try scanEscape()
            case 0..<0x20:
                throw fail("control character in string")
            case 0x80...:
                _ = try scanUTF8Sequence()
            default:
                index += 1
            }
        }
    }

    /// Decodes a string (the scanner is at its opening quote) to UTF-8 bytes.
    mutating func scanString() throws(Failure) -> [UInt8] {
        index += 1
        var out: [UInt8] = []
        while true {
            guard let c = peek else { throw fail("unterminated string") }
            switch c {
            case UInt8(ascii: "\""):
                index += 1
                return out
            case UInt8(ascii: "\\"):
                appendScalar(try scanEscape(), to: &out)
            case 0..<0x20:
                throw fail("control character in string")
            case 0x80...:
                let start = index
                try scanUTF8Sequence()
                out.append(contentsOf: bytes[start..<index])
            default:
                out.append(c)
                index += 1
            }
        }
    }

    /// At a backslash: consumes the escape and returns the scalar it denotes.
    private mutating func scanEscape() throws(Failure) -> UInt32 {
        index += 1
        guard let e = peek else { throw fail("unterminated escape") }
        index += 1
        switch e {
        case UInt8(ascii: "\""): return 0x22
        case UInt8(ascii: "\\"): return 0x5C
        case UInt8(ascii: "/"): return 0x2F
        case UInt8(ascii: "b"): return 0x08
        case UInt8(ascii: "f"): return 0x0C
        case UInt8(ascii: "n"): return 0x0A
        case UInt8(ascii: "r"): return 0x0D
        case UInt8(ascii: "t"): return 0x09
        case UInt8(ascii: "u"):
            let high = try hex4()
            if (0xD800...0xDBFF).contains(high) {
                guard peek == UInt8(ascii: "\\"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u") else {
                    throw fail("unpaired surrogate in \\u escape")
                }
                index += 2
                let low = try hex4()
                guard (0xDC00...0xDFFF).contains(low) else { throw fail("unpaired surrogate in \\u escape") }
                return 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
            }
            if (0xDC00...0xDFFF).contains(high) { throw fail("unpaired surrogate in \\u escape") }
            return high
        default:
            throw fail("invalid escape")
        }
    }

    private mutating func hex4() throws(Failure) -> UInt32 {
        guard index + 4 <= bytes.count else { throw fail("short \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[index]
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            default: throw fail("bad hex digit in \\u escape")
            }
            v = v << 4 | d
            index += 1
        }
        return v
    }

    /// Validates one multi-byte UTF-8 sequence (no overlongs, no surrogates, ≤ U+10FFFF).
    private mutating func scanUTF8Sequence() throws(Failure) {
        guard let n = UTF8Check.sequenceLength(bytes, at: index) else { throw fail("invalid UTF-8") }
        index += n
    }

    private func appendScalar(_ v: UInt32, to out: inout [UInt8]) {
        switch v {
        case 0..<0x80:
            out.append(UInt8(v))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | (v >> 6)))
            out.append(UInt8(0x80 | (v & 0x3F)))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | (v >> 12)))
            out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (v & 0x3F)))
        default:
            out.append(UInt8(0xF0 | (v >> 18)))
            out.append(UInt8(0x80 | ((v >> 12) & 0x3F)))
            out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (v & 0x3F)))
        }
    }
}

/// UTF-8 validation without allocating a String.
enum UTF8Check {
    /// The length of the valid sequence starting at `i` (a lead byte ≥ 0x80), or nil.
    static func sequenceLength<C: RandomAccessCollection>(_ b: C, at i: C.Index) -> Int? where C.Element == UInt8, C.Index == Int {
        let c0 = b[i]
        func cont(_ k: Int) -> UInt8? {
            let j = i + k
            guard j < b.endIndex else { return nil }
            let c = b[j]
            return (c & 0xC0) == 0x80 ? c : nil
        }
        switch c0 {
        case 0xC2...0xDF:
            return cont(1) != nil ? 2 : nil
        case 0xE0...0xEF:
            guard let c1 = cont(1), cont(2) != nil else { return nil }
            if c0 == 0xE0 && c1 < 0xA0 { return nil }       // overlong
            if c0 == 0xED && c1 >= 0xA0 { return nil }      // surrogates
            return 3
        case 0xF0...0xF4:
            guard let c1 = cont(1), cont(2) != nil, cont(3) != nil else { return nil }
            if c0 == 0xF0 && c1 < 0x90 { return nil }       // overlong
            if c0 == 0xF4 && c1 >= 0x90 { return nil }      // > U+10FFFF
            return 4
        default:
            return nil
        }
    }

    /// Whether `bytes` is valid UTF-8.
    static func isValid(_ bytes: [UInt8]) -> Bool {
        var i = 0
        while i < bytes.count {
            if bytes[i] < 0x80 { i += 1; continue }
            guard let n = sequenceLength(bytes, at: i) else { return false }
            i += n
        }
        return true
    }
}
