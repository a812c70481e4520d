import NIOHTTP1

/// Bearer-token check (`--auth-token-file`).
struct BearerAuth: Sendable {
    let token: [UInt8]

    init?(token: String?) {
        guard let token, !token.isEmpty else { return nil }
        self.token = Array(token.utf8)
    }

    func allows(_ headers: HTTPHeaders) -> Bool {
        guard let value = headers.first(name: "Authorization") else { return false }
        let bytes = Array(value.utf8)
        let scheme = Array("bearer ".utf8)
        guard bytes.count > scheme.count,
              bytes[..<scheme.count].map({ $0 | 0x20 }) == scheme.map({ $0 | 0x20 }) else { return false }
        return Self.constantTimeEqual(Array(bytes[scheme.count...]), token)
    }

    /// Compares every byte whatever the first difference, so timing says nothing about the token.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var diff = UInt8(truncatingIfNeeded: a.count ^ b.count)
        let n = max(a.count, b.count)
        for i in 0..<n {
            let x = i < a.count ? a[i] : 0
            let y = i < b.count ? b[i] : 0
            diff |= x ^ y
        }
        return diff == 0 && a.count == b.count
    }
}
