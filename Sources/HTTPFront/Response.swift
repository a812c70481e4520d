import NIOCore
import NIOHTTP1

/// What a route answers. Bodies are built straight into a ByteBuffer.
struct Response {
    var status: HTTPResponseStatus
    var headers: HTTPHeaders
    var body: ByteBuffer?

    init(status: HTTPResponseStatus, headers: HTTPHeaders = HTTPHeaders(), body: ByteBuffer? = nil) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    static func json(_ status: HTTPResponseStatus, _ body: ByteBuffer, etag: String? = nil) -> Response {
        var headers = HTTPHeaders()
        headers.reserveCapacity(4)
        headers.add(name: "Content-Type", value: "application/json")
        if let etag { headers.add(name: "ETag", value: etag) }
        return Response(status: status, headers: headers, body: body)
    }

    static func noContent(etag: String? = nil) -> Response {
        var headers = HTTPHeaders()
        if let etag { headers.add(name: "ETag", value: etag) }
        return Response(status: .noContent, headers: headers)
    }

    static func text(_ status: HTTPResponseStatus, _ text: String, contentType: String, allocator: ByteBufferAllocator) -> Response {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        return Response(status: status, headers: headers, body: allocator.buffer(string: text))
    }
}
