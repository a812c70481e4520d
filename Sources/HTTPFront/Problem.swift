import NIOCore
import NIOHTTP1
import Redis
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

    /// Every error a route can meet, mapped to its status.
    init(_ error: Error) {
        switch error {
        case let p as Problem:
            self = p
        case let e as SessionError:
            self = Problem(session: e)
        case let e as RedisError:
            self = Problem(redis: e)
        default:
            self = Problem(.internalServerError, "internal error")
        }
    }

    private init(session error: SessionError) {
        switch error {
        case .invalid(let detail): self.init(.badRequest, detail)
        case .tooLarge(let limit): self.init(.payloadTooLarge, "request body is larger than \(limit) bytes")
        case .sessionNotFound: self.init(.notFound, "session not found")
        case .keyNotFound: self.init(.notFound, "key not found in session")
        case .preconditionFailed: self.init(.preconditionFailed, "precondition failed: the session does not match If-Match / If-None-Match")
        case .redis(let e): self.init(redis: e)
        }
    }

    private static var retryAfter: HTTPHeaders { ["Retry-After": "1"] }

    /// `/readyz`'s failure: "not ready" is 503 whatever went wrong, a timeout
    /// included (load balancers, Kubernetes and the contract's clients read
    /// 503 as "send traffic elsewhere"); the detail names the kind of failure.
    init(notReady error: Error) {
        let reason: String
        switch error {
        case SessionError.redis(.timeout): reason = "Redis did not answer PING within the timeout"
        case SessionError.redis(.notPrimary(let role)):
            reason = "Redis is \(role == "slave" ? "a replica" : "'\(role)'"), not a primary: it would refuse writes"
        case SessionError.redis(let e) where e.serverCode != nil: reason = "Redis answered \(e.serverCode!)"
        default: reason = "Redis is unreachable"
        }
        self.init(.serviceUnavailable, "not ready: \(reason)", headers: Self.retryAfter)
    }

    private init(redis error: RedisError) {
        switch error {
        case .timeout:
            self.init(.gatewayTimeout, "Redis did not answer within the timeout", headers: Self.retryAfter)
        case .notReplicated:
            // Not acknowledged: the write may or may not survive a failover, so no 2xx.
            self.init(.serviceUnavailable, "\(error); it may not survive a failover, retry", headers: Self.retryAfter)
        case .connectionUnavailable, .shutdown, .protocolError, .notPrimary:
            // The cause (addresses, errno) goes to the log, not to clients.
            self.init(.serviceUnavailable, "Redis is unavailable; retry later", headers: Self.retryAfter)
        case .server:
            switch error.serverCode {
            case "OOM":
                // Documented: Redis is full (maxmemory with noeviction); nothing was written.
                self.init(.insufficientStorage, "Redis is out of memory; nothing was written", headers: Self.retryAfter)
            case "LOADING", "BUSY", "MASTERDOWN", "READONLY", "TRYAGAIN", "CLUSTERDOWN", "NOAUTH", "NOPERM", "WRONGPASS":
                self.init(.serviceUnavailable, "\(error)", headers: Self.retryAfter)
            default:
                self.init(.internalServerError, "\(error)")
            }
        case .unexpectedReply:
            self.init(.internalServerError, "\(error)")
        }
    }
}
