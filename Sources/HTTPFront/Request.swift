import NIOCore
import NIOHTTP1

/// A whole HTTP request, body collected (bounded by `--max-body-bytes`).
struct Request {
    var head: HTTPRequestHead
    var body: [UInt8]

    var method: HTTPMethod { head.method }
    var headers: HTTPHeaders { head.headers }

    /// Path segments, still percent-encoded (split first, decode after, so `%2F` stays inside a segment).
    /// Scans UTF-8 bytes: '/' and '?' are ASCII, so every cut is a valid String index.
    var segments: [Substring] {
        let uri = head.uri
        let bytes = uri.utf8
        var start = bytes.startIndex
        let end = bytes.firstIndex(of: UInt8(ascii: "?")) ?? bytes.endIndex
        // Absolute form (`GET http://host/path`, RFC 9112 §3.2.2): only the path routes.
        if bytes.first != UInt8(ascii: "/") {
            let path = uri[start..<end]
            if path.hasPrefix("http://") || path.hasPrefix("https://") {
                let afterScheme = bytes.index(bytes.firstIndex(of: UInt8(ascii: ":"))!, offsetBy: 3)
                start = bytes[afterScheme..<end].firstIndex(of: UInt8(ascii: "/")) ?? end
                if start == end { return [""] }
            }
        }
        var parts: [Substring] = []
        parts.reserveCapacity(6)
        if start < end && bytes[start] == UInt8(ascii: "/") { start = bytes.index(after: start) }
        var i = start
        while i < end {
            if bytes[i] == UInt8(ascii: "/") {
                parts.append(uri[start..<i])
                start = bytes.index(after: i)
            }
            i = bytes.index(after: i)
        }
        parts.append(uri[start..<end])
        return parts
    }

    /// The first value of query parameter `name`, percent-decoded.
    func query(_ name: String) throws(Problem) -> String? {
        guard let q = head.uri.utf8.firstIndex(of: UInt8(ascii: "?")) else { return nil }
        for pair in head.uri[head.uri.utf8.index(after: q)...].split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let key = PercentDecoding.decode(kv[0].utf8, plusIsSpace: true),
                  key.elementsEqual(name.utf8) else { continue }
            let raw = kv.count > 1 ? kv[1] : ""
            guard let bytes = PercentDecoding.decode(raw.utf8, plusIsSpace: true),
                  let s = String(validating: bytes, as: UTF8.self) else {
                throw Problem.badRequest("query parameter '\(name)' is not valid percent-encoded UTF-8")
            }
            return s
        }
        return nil
    }
}

enum PercentDecoding {
    /// Decodes `%XX` escapes; nil when an escape is malformed.
    static func decode<C: Collection>(_ raw: C, plusIsSpace: Bool = false) -> [UInt8]? where C.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var it = raw.makeIterator()
        while let b = it.next() {
            if b == UInt8(ascii: "%") {
                guard let h = it.next(), let l = it.next(), let hv = hexValue(h), let lv = hexValue(l) else { return nil }
                out.append(hv << 4 | lv)
            } else if plusIsSpace && b == UInt8(ascii: "+") {
                out.append(0x20)
            } else {
                out.append(b)
            }
        }
        return out
    }

    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x41 + 10
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }
}
