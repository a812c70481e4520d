import Logging
import NIOCore
import Redis
import NIOHTTP1
import Sessions

/// Everything a connection needs to answer requests; shared by all connections.
struct HTTPApplication: Sendable {
    let controller: SessionController
    let auth: BearerAuth?
    let metrics: ServerMetrics
    let maxBodyBytes: Int
    let logger: Logger
}

/// One HTTP/1.1 connection: collects a request (head + bounded body), checks
/// auth, route and method, hands it to the controller and writes the answer.
/// `HTTPServerPipelineHandler` in front of it serialises pipelined requests,
/// so this handler sees one request at a time.
final class HTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let app: HTTPApplication
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?
    /// Set once a 413 went out early: the rest of that request is ignored and the connection closes.
    private var rejected = false

    init(app: HTTPApplication) {
        self.app = app
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body = nil
            rejected = false
            if let length = h.headers.first(name: "Content-Length").flatMap(Int.init), length > app.maxBodyBytes {
                rejectTooLarge(context: context, h)
            } else if h.headers.first(name: "Expect")?.lowercased() == "100-continue" {
                // curl and libcurl-based clients wait a second for this before sending larger bodies.
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: h.version, status: .continue))), promise: nil)
            }
        case .body(var chunk):
            guard !rejected, let h = head else { return }
            if body == nil {
                body = chunk
            } else {
                body!.writeBuffer(&chunk)
            }
            if body!.readableBytes > app.maxBodyBytes { rejectTooLarge(context: context, h) }
        case .end:
            guard !rejected, let h = head else { return }
            head = nil
            let bytes = body.map { Array($0.readableBytesView) } ?? []
            body = nil
            dispatch(context: context, Request(head: h, body: bytes))
        }
    }

    private func rejectTooLarge(context: ChannelHandlerContext, _ h: HTTPRequestHead) {
        rejected = true
        body = nil
        let problem = Problem(SessionError.tooLarge(limit: app.maxBodyBytes))
        write(context: context, problem.response(allocator: context.channel.allocator), for: h,
              route: "unmatched", requestID: RequestID.from(h.headers), start: .now(), forceClose: true)
    }

    private func dispatch(context: ChannelHandlerContext, _ request: Request) {
        let start = NIODeadline.now()
        let requestID = RequestID.from(request.headers)
        let route = Route.match(request.segments)
        if let auth = app.auth, !(route?.isProbe ?? false), !auth.allows(request.headers) {
            var p = Problem(.unauthorized, "missing or wrong bearer token")
            p.headers.add(name: "WWW-Authenticate", value: "Bearer")
            return write(context: context, p.response(allocator: context.channel.allocator), for: request.head,
                         route: route?.name ?? "unmatched", requestID: requestID, start: start)
        }
        guard let route else {
            return write(context: context, Problem(.notFound, "no such route: \(request.method) \(request.head.uri.prefix(200))")
                .response(allocator: context.channel.allocator), for: request.head, route: "unmatched",
                requestID: requestID, start: start)
        }
        guard route.allowed.contains(request.method) else {
            var p = Problem(.methodNotAllowed, "\(request.method) is not allowed on \(route.name)")
            p.headers.add(name: "Allow", value: route.allowed.map(\.rawValue).joined(separator: ", "))
            return write(context: context, p.response(allocator: context.channel.allocator), for: request.head,
                         route: route.name, requestID: requestID, start: start)
        }
        let head = request.head
        let allocator = context.channel.allocator
        var logger = app.logger
        logger[metadataKey: "request_id"] = .string(requestID)
        if let id = route.sessionID { logger[metadataKey: "session"] = .string(SessionTag.of(id)) }
        app.controller.handle(route, request, on: context.eventLoop)
            .hop(to: context.eventLoop)
            .assumeIsolated()
            .whenComplete { result in
                let response: Response
                switch result {
                case .success(let r):
                    response = r
                case .failure(let error):
                    let problem = Problem(error)
                    if problem.status.code >= 500 {
                        logger.warning("request failed", metadata: [
                            "route": "\(route.name)", "method": "\(head.method.rawValue)",
                            "status": "\(problem.status.code)", "error": "\(error)",
                        ])
                    }
                    response = problem.response(allocator: allocator)
                }
                self.write(context: context, response, for: head, route: route.name, requestID: requestID, start: start)
            }
    }

    private func write(context: ChannelHandlerContext, _ response: Response, for request: HTTPRequestHead,
                       route: String, requestID: String, start: NIODeadline, forceClose: Bool = false) {
        // After CONNECT or a request asking to upgrade (h2c, websocket) NIO's decoder stops
        // parsing the connection; we never upgrade, so answer and close instead of hanging.
        let keepAlive = request.isKeepAlive && !forceClose && request.method != .CONNECT
            && !request.headers.contains(name: "Upgrade")
        var headers = response.headers
        headers.add(name: "X-Request-ID", value: requestID)
        let length = response.body?.readableBytes ?? 0
        if response.status != .noContent {
            headers.add(name: "Content-Length", value: String(length))
        }
        if !keepAlive {
            headers.add(name: "Connection", value: "close")
        } else if request.version.minor == 0 {
            headers.add(name: "Connection", value: "keep-alive")
        }
        let version = HTTPVersion(major: 1, minor: request.version.minor == 0 ? 0 : 1)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: response.status, headers: headers))),
                      promise: nil)
        if request.method != .HEAD, let body = response.body, body.readableBytes > 0 {
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            if forceClose {
                // Rejected before its body was read: stop writing but keep reading (and
                // discarding) until the client is done, so closing with unread input does
                // not reset the connection and lose the answer. The request deadline bounds it.
                done.whenComplete { _ in loopBound.value.close(mode: .output, promise: nil) }
            } else {
                done.whenComplete { _ in loopBound.value.close(promise: nil) }
            }
        }
        let nanoseconds = (NIODeadline.now() - start).nanoseconds
        app.metrics.record(route: route, method: request.method.rawValue, status: response.status.code,
                           nanoseconds: nanoseconds)
        if app.logger.logLevel <= .debug {
            // Route templates only: raw session ids and tokens never reach the log.
            app.logger.debug("request", metadata: [
                "request_id": "\(requestID)", "route": "\(route)", "method": "\(request.method.rawValue)",
                "status": "\(response.status.code)", "duration_us": "\(nanoseconds / 1000)",
            ])
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            // An idle keep-alive connection, or a client trickling a request: let it go.
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

/// `X-Request-ID`: the caller's, when it is a sane token, else a fresh one.
enum RequestID {
    static func from(_ headers: HTTPHeaders) -> String {
        if let given = headers.first(name: "X-Request-ID"), (1...128).contains(given.utf8.count),
           given.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) {
            return given
        }
        return generate()
    }

    static func generate() -> String {
        let v = UInt64.random(in: 0...UInt64.max)
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}

/// A salted hash of a session id for logs (OWASP: log a hash, never the id).
/// The salt is random per process, so tags correlate lines of one run only.
enum SessionTag {
    private static let salt = (0..<16).map { _ in String(UInt8.random(in: 0...255), radix: 16) }.joined()

    static func of(_ id: Substring) -> String {
        String(SHA1.hex(Array((salt + id).utf8)).prefix(12))
    }
}
