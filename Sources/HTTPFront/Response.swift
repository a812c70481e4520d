import NIOCore
import NIOHTTP1

/// What a route answers. Bodies are built straight into a ByteBuffer.
/// The two headers of nearly every answer, `Content-Type: application/json`
/// and the session's `ETag`, are fields the encoder writes directly: building
/// them as `HTTPHeaders` (an array, and a String per tag) showed up in perf.
struct Response {
    var status: HTTPResponseStatus
    var headers: HTTPHeaders
    var body: ByteBuffer?
    var isJSON = false
    /// The session version the `ETag` carries (`"<version>"`).
    var etagVersion: Int64?

    init(status: HTTPResponseStatus, headers: HTTPHeaders = HTTPHeaders(), body: ByteBuffer? = nil) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// Room left in front of a body made by `bodyBuffer`, for the head (see `ResponseEncoder`).
    static let headroom = 320

    /// A buffer to write a body into, with `headroom` bytes in front of it.
    static func bodyBuffer(_ allocator: ByteBufferAllocator, capacity: Int) -> ByteBuffer {
        var b = allocator.buffer(capacity: headroom + capacity)
        b.moveWriterIndex(to: headroom)
        b.moveReaderIndex(to: headroom)
        return b
    }

    static func json(_ status: HTTPResponseStatus, _ body: ByteBuffer, etag: Int64? = nil) -> Response {
        var r = Response(status: status, body: body)
        r.isJSON = true
        r.etagVersion = etag
        return r
    }

    static func noContent(etag: Int64? = nil) -> Response {
        var r = Response(status: .noContent)
        r.etagVersion = etag
        return r
    }

    static func text(_ status: HTTPResponseStatus, _ text: String, contentType: String, allocator: ByteBufferAllocator) -> Response {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        return Response(status: status, headers: headers, body: allocator.buffer(string: text))
    }
}
