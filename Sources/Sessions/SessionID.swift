import Redis

/// Session ids: made by the server like Django's (32 × `[a-z0-9]`, ~165 bits
/// from the system CSPRNG), accepted from clients as `^[A-Za-z0-9_-]{8,128}$`.
public enum SessionID {
    /// A short hash of a (salted) session id for logs: OWASP says log a hash, never the id.
    public static func logTag(_ salted: String) -> String {
        String(SHA1.hex(Array(salted.utf8)).prefix(12))
    }

    private static let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8)

    /// A new id. `SystemRandomNumberGenerator` reads the kernel CSPRNG (getrandom(2) on Linux).
    public static func generate() -> String {
        var rng = SystemRandomNumberGenerator()
        var out = [UInt8]()
        out.reserveCapacity(32)
        while out.count < 32 {
            var word = rng.next() as UInt64
            for _ in 0..<8 where out.count < 32 {
                let byte = UInt8(truncatingIfNeeded: word)
                word >>= 8
                // 252 = 7 × 36: rejecting the rest keeps every character equally likely.
                if byte < 252 { out.append(alphabet[Int(byte) % 36]) }
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether a path segment is an acceptable id; anything else never reaches Redis.
    @inlinable public static func isValid<C: Collection>(_ bytes: C) -> Bool where C.Element == UInt8 {
        // Path ids are Substring.UTF8View: walking its indices cost more than the check.
        if let valid = bytes.withContiguousStorageIfAvailable({ check($0) }) { return valid }
        return check(bytes)
    }

    @inlinable static func check<C: Collection>(_ bytes: C) -> Bool where C.Element == UInt8 {
        guard (8...128).contains(bytes.count) else { return false }
        for c in bytes {
            switch c {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
                continue
            default:
                return false
            }
        }
        return true
    }

    public static func isValid(_ id: String) -> Bool { isValid(id.utf8) }
}

/// Data keys and user names: 1–256 bytes of UTF-8 without control characters.
public enum SessionName {
    public static let maxBytes = 256

    /// Returns why `bytes` is not an acceptable key or user name, or nil when it is.
    public static func problem(_ bytes: [UInt8], what: String) -> String? {
        if bytes.isEmpty { return "\(what) must not be empty" }
        if bytes.count > maxBytes { return "\(what) is longer than \(maxBytes) bytes" }
        guard UTF8Check.isValid(bytes) else { return "\(what) is not valid UTF-8" }
        for scalar in String(decoding: bytes, as: UTF8.self).unicodeScalars {
            let v = scalar.value
            if v < 0x20 || (0x7F...0x9F).contains(v) { return "\(what) contains a control character" }
        }
        return nil
    }
}
