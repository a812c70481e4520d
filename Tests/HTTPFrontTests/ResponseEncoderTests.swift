import NIOCore
import NIOHTTP1
import Testing
@testable import HTTPFront

/// The encoder writes the head in front of a body made with headroom, or into a
/// new buffer otherwise: both must give the same bytes.
@Suite struct ResponseEncoderTests {
    let allocator = ByteBufferAllocator()

    private func response(headroom: Bool, headers: HTTPHeaders = [:]) -> Response {
        var body = headroom ? Response.bodyBuffer(allocator, capacity: 16) : allocator.buffer(capacity: 16)
        body.writeString(#"{"a":1}"#)
        var r = Response.json(.ok, body, etag: 42)
        r.headers = headers
        return r
    }

    private func encode(_ r: Response, isHEAD: Bool = false, keepAlive: Bool = true,
                        version: HTTPVersion = .http1_1, requestID: RequestID) -> String {
        String(buffer: ResponseEncoder.encode(r, version: version, isHEAD: isHEAD, keepAlive: keepAlive,
                                              requestID: requestID, allocator: allocator))
    }

    @Test func headroomAndPlainBodiesEncodeTheSame() {
        let id = RequestID.generate()
        let expected = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nETag: \"42\"\r\nX-Request-ID: \(id)"
            + "\r\nContent-Length: 7\r\n\r\n{\"a\":1}"
        #expect(encode(response(headroom: true), requestID: id) == expected)
        #expect(encode(response(headroom: false), requestID: id) == expected)
    }

    @Test func headHTTP10CloseAndExtraHeaders() {
        let given = RequestID.from(["X-Request-ID": "abc-123"])
        let headers: HTTPHeaders = ["Location": "/v1/sessions/" + String(repeating: "x", count: 128)]
        for headroom in [true, false] {
            let r = response(headroom: headroom, headers: headers)
            #expect(encode(r, isHEAD: true, keepAlive: false, version: .http1_0, requestID: given)
                == "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nETag: \"42\"\r\nLocation: /v1/sessions/"
                + String(repeating: "x", count: 128) + "\r\nX-Request-ID: abc-123\r\nContent-Length: 7"
                + "\r\nConnection: close\r\n\r\n")
            #expect(encode(r, version: .http1_0, requestID: given).hasSuffix("Connection: keep-alive\r\n\r\n{\"a\":1}"))
        }
    }

    @Test func aHeadLargerThanTheHeadroomStillFits() {
        let long: HTTPHeaders = ["X-Long": String(repeating: "v", count: 1000)]
        let out = encode(response(headroom: true, headers: long), requestID: RequestID.generate())
        #expect(out.contains("X-Long: " + String(repeating: "v", count: 1000) + "\r\n"))
        #expect(out.hasSuffix("\r\n\r\n{\"a\":1}"))
    }
}
