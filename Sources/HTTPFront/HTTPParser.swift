import NIOCore
import NIOHTTP1

/// Why bytes could not be read as a request. The connection answers with a
/// problem+json (status below) and closes: after a framing error nothing that
/// follows on the connection can be trusted.
enum HTTPParseError: Error, Equatable {
    case malformed(String)
    case headersTooLarge
    case unsupportedVersion

    var status: HTTPResponseStatus {
        switch self {
        case .malformed: return .badRequest
        case .headersTooLarge: return .requestHeaderFieldsTooLarge
        // Not 505: bad input is a 4xx here (an HTTP/2 preface is the usual sender).
        case .unsupportedVersion: return .badRequest
        }
    }

    var detail: String {
        switch self {
        case .malformed(let why): return "malformed HTTP request: \(why)"
        case .headersTooLarge: return "request headers are too large"
        case .unsupportedVersion: return "only HTTP/1.0 and HTTP/1.1 are served"
        }
    }
}

/// An incremental HTTP/1.1 request parser (RFC 9112) over a connection's input.
///
/// Why not NIO's `HTTPRequestDecoder`: it (with the pipelining and encoder
/// handlers around it) cost more CPU per request than all of webdis (see
/// BENCHMARKS.md). This parser is strict where RFC 9112 says to reject (bare
/// LF, obs-fold, whitespace before a colon, conflicting Content-Length,
/// Transfer-Encoding with Content-Length, unknown transfer codings) so request
/// smuggling has nothing to work with, and it never scans a byte twice except
/// the line it stopped in.
struct HTTPRequestParser {
    enum Event {
        case head(HTTPRequestHead)
        case body(ByteBuffer)
        case end
    }

    private enum State {
        /// `lineStart`: offset (from the reader index) of the first line not yet checked.
        case head(lineStart: Int)
        case fixedBody(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers(lineStart: Int, total: Int)
    }

    /// Largest request line plus headers (NIO's default is 80 KiB too).
    let maxHeadBytes: Int
    private var state = State.head(lineStart: 0)

    init(maxHeadBytes: Int = 80 * 1024) {
        self.maxHeadBytes = maxHeadBytes
    }

    /// Between requests: no byte of the next one has been consumed.
    var isBetweenRequests: Bool {
        if case .head(0) = state { return true }
        return false
    }

    /// The next event, consuming the bytes it used from `buffer`; nil when it needs more.
    mutating func next(_ buffer: inout ByteBuffer) throws(HTTPParseError) -> Event? {
        switch state {
        case .head(let lineStart):
            return try nextHead(&buffer, lineStart: lineStart)
        case .fixedBody(let remaining):
            if remaining == 0 {
                state = .head(lineStart: 0)
                return .end
            }
            guard buffer.readableBytes > 0 else { return nil }
            let n = min(remaining, buffer.readableBytes)
            state = .fixedBody(remaining: remaining - n)
            return .body(buffer.readSlice(length: n)!)
        case .chunkSize:
            guard let line = try Self.line(in: buffer, from: 0, limit: 4096, tooLong: .malformed("chunk size line too long")) else {
                return nil
            }
            let size = try Self.chunkSize(buffer, length: line)
            buffer.moveReaderIndex(forwardBy: line + 2)
            state = size == 0 ? .trailers(lineStart: 0, total: 0) : .chunkData(remaining: size)
            return try next(&buffer)
        case .chunkData(let remaining):
            guard buffer.readableBytes > 0 else { return nil }
            let n = min(remaining, buffer.readableBytes)
            state = n == remaining ? .chunkDataEnd : .chunkData(remaining: remaining - n)
            return .body(buffer.readSlice(length: n)!)
        case .chunkDataEnd:
            guard buffer.readableBytes >= 2 else { return nil }
            guard buffer.readInteger(as: UInt16.self) == 0x0D0A else { throw .malformed("chunk data not followed by CRLF") }
            state = .chunkSize
            return try next(&buffer)
        case .trailers(var lineStart, var total):
            // Trailer fields are read and dropped: nothing in this API uses them.
            while let line = try Self.line(in: buffer, from: lineStart, limit: maxHeadBytes, tooLong: .headersTooLarge) {
                if line == lineStart {
                    buffer.moveReaderIndex(forwardBy: line + 2)
                    state = .head(lineStart: 0)
                    return .end
                }
                total += line + 2 - lineStart
                guard total <= maxHeadBytes else { throw .headersTooLarge }
                lineStart = line + 2
            }
            state = .trailers(lineStart: lineStart, total: total)
            return nil
        }
    }

    // MARK: - Head

    private mutating func nextHead(_ buffer: inout ByteBuffer, lineStart: Int) throws(HTTPParseError) -> Event? {
        // RFC 9112 §2.2: ignore empty lines before a request line.
        var lineStart = lineStart
        if lineStart == 0 {
            while buffer.readableBytes >= 2, buffer.getInteger(at: buffer.readerIndex, as: UInt16.self) == 0x0D0A {
                buffer.moveReaderIndex(forwardBy: 2)
            }
        }
        while let cr = try Self.line(in: buffer, from: lineStart, limit: maxHeadBytes, tooLong: .headersTooLarge) {
            guard cr <= maxHeadBytes else { throw .headersTooLarge }
            if cr == lineStart && lineStart > 0 {
                let headLength = cr + 2
                let head = try buffer.withUnsafeReadableBytes { bytes throws(HTTPParseError) in
                    try Self.parseHead(UnsafeRawBufferPointer(rebasing: bytes[..<headLength]))
                }
                buffer.moveReaderIndex(forwardBy: headLength)
                state = try Self.framing(head)
                return .head(head)
            }
            lineStart = cr + 2
        }
        guard buffer.readableBytes <= maxHeadBytes else { throw .headersTooLarge }
        state = .head(lineStart: lineStart)
        return nil
    }

    /// Offset of the CR of the first CRLF at or after `from`; nil if none yet.
    /// A bare LF is an error (RFC 9112 §2.2 allows rejecting it, and lenient
    /// line endings are a classic smuggling vector).
    private static func line(in buffer: ByteBuffer, from: Int, limit: Int,
                             tooLong: HTTPParseError) throws(HTTPParseError) -> Int? {
        let found: Int? = buffer.withUnsafeReadableBytes { bytes in
            guard from < bytes.count else { return nil }
            var i = from
            while i < bytes.count {
                if bytes[i] == 0x0A { return i }
                i += 1
            }
            return nil
        }
        guard let lf = found else {
            if buffer.readableBytes - from > limit { throw tooLong }
            return nil
        }
        guard lf > 0, buffer.getInteger(at: buffer.readerIndex + lf - 1, as: UInt8.self) == 0x0D else {
            throw .malformed("line ends with a bare LF")
        }
        return lf - 1
    }

    /// Request line and fields; `bytes` ends with the empty line's CRLF.
    private static func parseHead(_ bytes: UnsafeRawBufferPointer) throws(HTTPParseError) -> HTTPRequestHead {
        var i = 0
        // request-line = method SP request-target SP HTTP-version CRLF
        let methodStart = i
        while i < bytes.count, isTokenChar(bytes[i]) { i += 1 }
        guard i > methodStart, i < bytes.count, bytes[i] == 0x20 else { throw .malformed("bad method") }
        let method = string(bytes, methodStart, i)
        i += 1
        let targetStart = i
        while i < bytes.count, bytes[i] > 0x20, bytes[i] < 0x7F { i += 1 }
        guard i > targetStart, i < bytes.count, bytes[i] == 0x20 else { throw .malformed("bad request target") }
        let uri = string(bytes, targetStart, i)
        i += 1
        guard i + 10 <= bytes.count, bytes[i + 8] == 0x0D, bytes[i + 9] == 0x0A,
              bytes[i] == 0x48, bytes[i + 1] == 0x54, bytes[i + 2] == 0x54, bytes[i + 3] == 0x50, bytes[i + 4] == 0x2F,
              isDigit(bytes[i + 5]), bytes[i + 6] == 0x2E, isDigit(bytes[i + 7]) else {
            throw .malformed("bad HTTP version")
        }
        guard bytes[i + 5] == 0x31, bytes[i + 7] <= 0x31 else { throw .unsupportedVersion }
        let version = HTTPVersion(major: 1, minor: Int(bytes[i + 7] - 0x30))
        i += 10

        var headers = HTTPHeaders()
        // field-line = field-name ":" OWS field-value OWS CRLF
        while bytes[i] != 0x0D {
            let nameStart = i
            while isTokenChar(bytes[i]) { i += 1 }
            guard i > nameStart, bytes[i] == 0x3A else {
                throw .malformed(nameStart == i && (bytes[i] == 0x20 || bytes[i] == 0x09)
                                 ? "obsolete line folding" : "bad header field name")
            }
            let nameEnd = i
            i += 1
            while bytes[i] == 0x20 || bytes[i] == 0x09 { i += 1 }
            let valueStart = i
            var valueEnd = i
            while bytes[i] != 0x0D {
                let b = bytes[i]
                guard b >= 0x20 || b == 0x09, b != 0x7F else { throw .malformed("control character in a header value") }
                if b != 0x20 && b != 0x09 { valueEnd = i + 1 }
                i += 1
            }
            guard bytes[i + 1] == 0x0A else { throw .malformed("bare CR in a header") }
            i += 2
            headers.add(name: string(bytes, nameStart, nameEnd), value: string(bytes, valueStart, valueEnd))
        }
        guard i == bytes.count - 2 else { throw .malformed("bare CR in a header") }
        return HTTPRequestHead(version: version, method: HTTPMethod(rawValue: method), uri: uri, headers: headers)
    }

    /// How the body is delimited (RFC 9112 §6.3).
    private static func framing(_ head: HTTPRequestHead) throws(HTTPParseError) -> State {
        let codings = head.headers[canonicalForm: "Transfer-Encoding"]
        let lengths = head.headers["Content-Length"]
        if !codings.isEmpty {
            guard lengths.isEmpty else { throw .malformed("both Transfer-Encoding and Content-Length") }
            guard head.version.minor == 1 else { throw .malformed("Transfer-Encoding in an HTTP/1.0 request") }
            guard codings.count == 1, codings[0].lowercased() == "chunked" else {
                throw .malformed("only the chunked transfer coding is accepted")
            }
            return .chunkSize
        }
        guard let first = lengths.first else { return .fixedBody(remaining: 0) }
        guard lengths.allSatisfy({ $0 == first }), (1...18).contains(first.utf8.count),
              first.utf8.allSatisfy(isDigit), let length = Int(first) else {
            throw .malformed("bad Content-Length")
        }
        return .fixedBody(remaining: length)
    }

    private static func chunkSize(_ buffer: ByteBuffer, length: Int) throws(HTTPParseError) -> Int {
        try buffer.withUnsafeReadableBytes { bytes throws(HTTPParseError) in
            var size = 0
            var i = 0
            while i < length, let digit = PercentDecoding.hexValue(bytes[i]) {
                guard i < 15 else { throw .malformed("chunk size too large") }
                size = size << 4 | Int(digit)
                i += 1
            }
            // Chunk extensions (`;name=value`) are allowed and ignored.
            guard i > 0, i == length || bytes[i] == 0x3B || bytes[i] == 0x20 || bytes[i] == 0x09 else {
                throw .malformed("bad chunk size")
            }
            return size
        }
    }

    private static func string(_ bytes: UnsafeRawBufferPointer, _ from: Int, _ to: Int) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: bytes[from..<to]), as: UTF8.self)
    }

    private static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }


    /// RFC 9110 §5.6.2 tchar.
    private static let tokenTable: [Bool] = (0..<256).map { b in
        switch UInt8(b) {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(UInt8(b))
        }
    }

    private static func isTokenChar(_ b: UInt8) -> Bool { tokenTable[Int(b)] }
}
