import NIOCore
import NIOHTTP1

/// A whole HTTP request, body collected (bounded by `--max-body-bytes`).
struct Request {
    var head: HTTPRequestHead
    var body: [UInt8]

    var method: HTTPMethod { head.method }
    var headers: HTTPHeaders { head.headers }

    /// Path segments, still percent-encoded (split first, decode after, so `%2F` stays inside a segment).
    var segments: [Substring] {
        var path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        // Absolute form (`GET http://host/path`, RFC 9112 §3.2.2): only the path routes.
        if path.hasPrefix("http://") || path.hasPrefix("https://") {
            let afterScheme = path[path.index(path.firstIndex(of: ":")!, offsetBy: 3)...]
            path = afterScheme.firstIndex(of: "/").map { afterScheme[$0...] } ?? "/"
        }
        var parts = path.split(separator: "/", omittingEmptySubsequences: false)
        if parts.first == "" { parts.removeFirst() }
        return parts
    }

    /// The first value of query parameter `name`, percent-decoded.
    func query(_ name: String) throws(Problem) -> String? {
        guard let q = head.uri.firstIndex(of: "?") else { return nil }
        for pair in head.uri[head.uri.index(after: q)...].split(separator: "&") {
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

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x41 + 10
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }
}
