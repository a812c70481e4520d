import NIOCore
import NIOHTTP1

/// A whole HTTP request, body collected (bounded by `--max-body-bytes`).
struct Request {
    var head: HTTPRequestHead
    var body: [UInt8]

    var method: HTTPMethod { head.method }
    var headers: HTTPHeaders { head.headers }

    /// Path segments, still percent-encoded (split first, decode after, so `%2F` stays inside a segment).
    /// Scans the URI's contiguous UTF-8 bytes (walking String.UTF8View indices cost ~2 % of a
    /// read in perf); '/' and '?' are ASCII, so every cut is a valid String index.
    var segments: [Substring] {
        var uri = head.uri
        uri.makeContiguousUTF8()
        return uri.utf8.withContiguousStorageIfAvailable { bytes in Self.split(uri, bytes) } ?? [""]
    }

    private static func split(_ uri: String, _ bytes: UnsafeBufferPointer<UInt8>) -> [Substring] {
        let base = uri.utf8.startIndex
        func slice(_ from: Int, _ to: Int) -> Substring {
            uri[uri.utf8.index(base, offsetBy: from)..<uri.utf8.index(base, offsetBy: to)]
        }
        var end = bytes.count
        var start = 0
        for i in 0..<bytes.count where bytes[i] == UInt8(ascii: "?") {
            end = i
            break
        }
        // Absolute form (`GET http://host/path`, RFC 9112 §3.2.2): only the path routes.
        if end > 0 && bytes[0] != UInt8(ascii: "/") {
            let path = UnsafeBufferPointer(rebasing: bytes[0..<end])
            if path.starts(with: "http://".utf8) || path.starts(with: "https://".utf8) {
                let afterScheme = (path.firstIndex(of: UInt8(ascii: ":")) ?? 0) + 3
                start = path[afterScheme...].firstIndex(of: UInt8(ascii: "/")) ?? end
                if start == end { return [""] }
            }
        }
        var parts: [Substring] = []
        parts.reserveCapacity(6)
        if start < end && bytes[start] == UInt8(ascii: "/") { start += 1 }
        var i = start
        while i < end {
            if bytes[i] == UInt8(ascii: "/") {
                parts.append(slice(start, i))
                start = i + 1
            }
            i += 1
        }
        parts.append(slice(start, end))
        return parts
    }

    /// The first value of query parameter `name`, percent-decoded.
    func query(_ name: String) throws(Problem) -> String? {
        // Most requests have no query: find '?' in the contiguous bytes, not by walking indices.
        let uri = head.uri
        guard let offset = uri.utf8.withContiguousStorageIfAvailable({ $0.firstIndex(of: UInt8(ascii: "?")) })
                ?? uri.utf8.firstIndex(of: UInt8(ascii: "?")).map({ uri.utf8.distance(from: uri.utf8.startIndex, to: $0) })
        else { return nil }
        let q = uri.utf8.index(uri.utf8.startIndex, offsetBy: offset)
        for pair in uri[uri.utf8.index(after: q)...].split(separator: "&") {
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
