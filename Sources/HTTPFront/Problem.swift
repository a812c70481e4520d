import NIOCore
import NIOHTTP1
import Sessions

/// RFC 9457 problem details, and the one place where errors become statuses.
struct Problem: Error {
    var status: HTTPResponseStatus
    var detail: String
    var headers: HTTPHeaders = HTTPHeaders()

    init(_ status: HTTPResponseStatus, _ detail: String, headers: HTTPHeaders = HTTPHeaders()) {
        self.status = status
        self.detail = detail
        self.headers = headers
    }

    static func badRequest(_ detail: String) -> Problem { Problem(.badRequest, detail) }

    func response(allocator: ByteBufferAllocator) -> Response {
        var body = allocator.buffer(capacity: 128 + detail.utf8.count)
        body.writeStaticString("{\"type\":\"about:blank\",\"title\":")
        body.writeJSONString(status.reasonPhrase)
        body.writeStaticString(",\"status\":")
        body.writeString(String(status.code))
        body.writeStaticString(",\"detail\":")
        body.writeJSONString(detail)
        body.writeStaticString("}")
        var headers = self.headers
        headers.replaceOrAdd(name: "Content-Type", value: "application/problem+json")
        return Response(status: status, headers: headers, body: body)
    }

    /// Every error a route can meet, mapped to its status. Redis never shows
    /// here: the domain has already said what its failure means.
    init(_ error: Error) {
        switch error {
        case let p as Problem:
            self = p
        case let e as SessionError:
            self = Problem(session: e)
        default:
            self = Problem(.internalServerError, "internal error")
        }
    }

    /// 413: the body is larger than `--max-body-bytes` (sent before routing).
    static func tooLarge(limit: Int) -> Problem {
        Problem(.payloadTooLarge, "request body is larger than \(limit) bytes")
    }

    private static var retryAfter: HTTPHeaders { ["Retry-After": "1"] }

    private init(session error: SessionError) {
        switch error {
        case .invalid(let detail): self.init(.badRequest, detail)
        case .sessionNotFound: self.init(.notFound, "session not found")
        case .keyNotFound: self.init(.notFound, "key not found in session")
        case .preconditionFailed: self.init(.preconditionFailed, "precondition failed: the session does not match If-Match / If-None-Match")
        case .timeout:
            self.init(.gatewayTimeout, "Redis did not answer within the timeout", headers: Self.retryAfter)
        case .notReplicated:
            // Not acknowledged: the write may or may not survive a failover, so no 2xx.
            self.init(.serviceUnavailable, "\(error); it may not survive a failover, retry", headers: Self.retryAfter)
        case .unavailable(let reason, _):
            // The cause (addresses, errno) goes to the log, not to clients.
            self.init(.serviceUnavailable, "\(reason); retry later", headers: Self.retryAfter)
        case .outOfMemory:
            // Documented: Redis is full (maxmemory with noeviction); nothing was written.
            self.init(.insufficientStorage, "Redis is out of memory; nothing was written", headers: Self.retryAfter)
        case .storeFailed(let detail):
            self.init(.internalServerError, detail)
        }
    }

    /// `/readyz`'s failure: "not ready" is 503 whatever went wrong, a timeout
    /// included (load balancers, Kubernetes and the contract's clients read
    /// 503 as "send traffic elsewhere"); the detail names the kind of failure.
    init(notReady error: Error) {
        let reason: String
        switch SessionError.from(error) {
        case .timeout: reason = "Redis did not answer PING within the timeout"
        case .unavailable(let r, _): reason = r
        case let other: reason = "\(other)"
        }
        self.init(.serviceUnavailable, "not ready: \(reason)", headers: Self.retryAfter)
    }
}
