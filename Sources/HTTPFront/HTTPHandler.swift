import Logging
import Metrics
import NIOCore
import NIOHTTP1
import Sessions
import Synchronization

/// Everything a connection needs to answer requests; shared by all connections.
struct HTTPApplication: Sendable {
    let controller: SessionController
    let auth: BearerAuth?
    let metrics: ServerMetrics
    let maxBodyBytes: Int
    let logger: Logger
    /// Idle keep-alive connections are closed after this.
    let idleTimeout: TimeAmount
    /// A request must arrive whole within this from its first byte (slowloris).
    let requestTimeout: TimeAmount
}

/// One HTTP/1.1 connection, the only handler on its channel: parses requests
/// from raw bytes (`HTTPRequestParser`), answers them one at a time in order
/// (pipelined requests wait in the input buffer), and writes each answer as one
/// buffer. Collapsing NIO's decoder, encoder, pipelining, error, idle and
/// deadline handlers into this one removed most of the per-request CPU.
///
/// Timers: one per connection, armed for the earliest of the idle timeout and
/// the current request's deadline, and only re-armed when it fires, so a
/// request that arrives in one read costs no timer work.
final class HTTPHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let app: HTTPApplication
    private var parser = HTTPRequestParser()
    /// Bytes received and not yet parsed (pipelined requests wait here).
    private var input = ByteBuffer()
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?
    /// A request is with the controller; parsing waits for its answer.
    private var inFlight = false
    /// Guards against re-entering `process` when an answer is ready at once.
    private var processing = false
    /// The answer to a bad request went out: ignore input until the peer leaves.
    private var lingering = false
    /// The server is shutting down: close after the current answer.
    private var quiescing = false
    /// A `read` held back while pipelined input piles up.
    private var heldRead = false
    /// When the first byte of the request being received arrived.
    private var requestStart: NIODeadline?
    private var lastActivity = NIODeadline.now()
    private var timer: Scheduled<Void>?
    private var timerDeadline = NIODeadline.distantFuture
    /// The metrics of this connection's last answer: a keep-alive client mostly repeats itself.
    private var lastInstruments: (route: String, method: HTTPMethod, status: UInt, counter: Metrics.Counter, timer: Metrics.Timer)?

    init(app: HTTPApplication) {
        self.app = app
    }

    // MARK: - Input

    func channelActive(context: ChannelHandlerContext) {
        lastActivity = .now()
        armTimer(context: context, at: lastActivity + app.idleTimeout)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !lingering else { return }
        var chunk = unwrapInboundIn(data)
        if input.readableBytes == 0 {
            input = chunk
        } else {
            input.writeBuffer(&chunk)
        }
        lastActivity = .now()
        process(context: context)
    }

    /// Pipelined input beyond one largest request waits in the kernel, not here.
    func read(context: ChannelHandlerContext) {
        if inFlight && input.readableBytes > app.maxBodyBytes + parser.maxHeadBytes {
            heldRead = true
        } else {
            context.read()
        }
    }

    /// Parses and dispatches requests until one is in flight or the input runs out.
    private func process(context: ChannelHandlerContext) {
        guard !processing else { return }
        processing = true
        defer { processing = false }
        while !inFlight && !lingering {
            let event: HTTPRequestParser.Event?
            do {
                event = try parser.next(&input)
            } catch {
                return reject(context: context, status: error.status, detail: error.detail)
            }
            guard let event else { break }
            switch event {
            case .head(let h):
                head = h
                body = nil
                if let length = h.headers.first(name: "Content-Length").flatMap(Int.init), length > app.maxBodyBytes {
                    return rejectTooLarge(context: context)
                }
                if h.headers.first(name: "Expect")?.lowercased() == "100-continue" {
                    // curl and libcurl-based clients wait a second for this before sending larger bodies.
                    context.writeAndFlush(wrapOutboundOut(ByteBuffer(staticString: "HTTP/1.1 100 Continue\r\n\r\n")),
                                          promise: nil)
                }
            case .body(var chunk):
                if body == nil {
                    body = chunk
                } else {
                    body!.writeBuffer(&chunk)
                }
                if body!.readableBytes > app.maxBodyBytes { return rejectTooLarge(context: context) }
            case .end:
                let h = head!
                head = nil
                let bytes = body.map { Array($0.readableBytesView) } ?? []
                body = nil
                requestStart = nil
                inFlight = true
                dispatch(context: context, Request(head: h, body: bytes))
            }
        }
        if !inFlight && !lingering {
            if parser.isBetweenRequests && input.readableBytes == 0 {
                requestStart = nil
            } else if requestStart == nil {
                // Part of a request is here and the rest is not: its deadline starts now.
                let start = NIODeadline.now()
                requestStart = start
                armTimer(context: context, at: start + app.requestTimeout)
            }
        }
        if heldRead && input.readableBytes <= app.maxBodyBytes + parser.maxHeadBytes {
            heldRead = false
            context.read()
        }
    }

    // MARK: - Errors before routing

    private func rejectTooLarge(context: ChannelHandlerContext) {
        let problem = Problem.tooLarge(limit: app.maxBodyBytes)
        reject(context: context, status: problem.status, detail: problem.detail)
    }

    /// Answers a request that cannot be read (or is too large to read) and stops
    /// reading: only the output side closes at once, and input is discarded until
    /// the client closes or the request deadline passes, so a client still
    /// sending its body gets the answer instead of a connection reset.
    private func reject(context: ChannelHandlerContext, status: HTTPResponseStatus, detail: String) {
        let version = head?.version ?? .http1_1
        let method = head?.method.rawValue ?? "unknown"
        lingering = true
        body = nil
        input = ByteBuffer()
        let response = Problem(status, detail).response(allocator: context.channel.allocator)
        let requestID = head.map { RequestID.from($0.headers) } ?? RequestID.generate()
        head = nil
        let out = ResponseEncoder.encode(response, version: version, isHEAD: false, keepAlive: false, requestID: requestID,
                                         allocator: context.channel.allocator)
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(out)).whenComplete { _ in
            loopBound.value.close(mode: .output).whenFailure { _ in loopBound.value.close(promise: nil) }
        }
        armTimer(context: context, at: .now() + app.requestTimeout)
        app.metrics.record(route: "unmatched", method: method, status: status.code, nanoseconds: 0)
    }

    // MARK: - Routing

    private func dispatch(context: ChannelHandlerContext, _ request: Request) {
        let start = NIODeadline.now()
        let requestID = RequestID.from(request.headers)
        let route = Route.match(request.segments)
        if let auth = app.auth, !(route?.isProbe ?? false), !auth.allows(request.headers) {
            var p = Problem(.unauthorized, "missing or wrong bearer token")
            p.headers.add(name: "WWW-Authenticate", value: "Bearer")
            return respond(context: context, p.response(allocator: context.channel.allocator), to: request.head,
                           route: route?.name ?? "unmatched", requestID: requestID, start: start)
        }
        guard let route else {
            return respond(context: context, Problem(.notFound, "no such route: \(request.method) \(request.head.uri.prefix(200))")
                .response(allocator: context.channel.allocator), to: request.head, route: "unmatched",
                requestID: requestID, start: start)
        }
        guard route.allowed.contains(request.method) else {
            var p = Problem(.methodNotAllowed, "\(request.method) is not allowed on \(route.name)")
            p.headers.add(name: "Allow", value: route.allowed.map(\.rawValue).joined(separator: ", "))
            return respond(context: context, p.response(allocator: context.channel.allocator), to: request.head,
                           route: route.name, requestID: requestID, start: start)
        }
        let loop = context.eventLoop
        let bound = NIOLoopBound((self, context), eventLoop: loop)
        app.controller.handle(route, request, on: loop) { result in
            // Redis answers on this loop; hop only if something answered elsewhere.
            if loop.inEventLoop {
                bound.value.0.answer(context: bound.value.1, result, to: request.head, route: route,
                                     requestID: requestID, start: start)
            } else {
                loop.execute {
                    bound.value.0.answer(context: bound.value.1, result, to: request.head, route: route,
                                         requestID: requestID, start: start)
                }
            }
        }
    }

    private func answer(context: ChannelHandlerContext, _ result: consuming Result<Response, Error>,
                        to head: HTTPRequestHead, route: Route, requestID: RequestID, start: NIODeadline) {
        let response: Response
        switch consume result {
        case .success(let r):
            response = r
        case .failure(let error):
            let problem = Problem(error)
            if problem.status.code >= 500 {
                var logger = app.logger
                logger[metadataKey: "request_id"] = .string(requestID.description)
                if let id = route.sessionID { logger[metadataKey: "session"] = .string(SessionTag.of(id)) }
                logger.warning("request failed", metadata: [
                    "route": "\(route.name)", "method": "\(head.method.rawValue)",
                    "status": "\(problem.status.code)", "error": "\(error)",
                ])
            }
            response = problem.response(allocator: context.channel.allocator)
        }
        respond(context: context, response, to: head, route: route.name, requestID: requestID, start: start)
    }

    // MARK: - Output

    /// `response` is consumed so that its body buffer reaches the encoder with no
    /// other owner (see `ResponseEncoder`).
    private func respond(context: ChannelHandlerContext, _ response: consuming Response, to request: HTTPRequestHead,
                         route: String, requestID: RequestID, start: NIODeadline) {
        // We never upgrade (h2c, websocket) or tunnel: answer such requests and close,
        // as a client that asked may already be speaking another protocol.
        let keepAlive = request.isKeepAlive && !quiescing && request.method != .CONNECT
            && !request.headers.contains(name: "Upgrade")
        let status = response.status.code
        let out = ResponseEncoder.encode(response, version: request.version, isHEAD: request.method == .HEAD,
                                         keepAlive: keepAlive, requestID: requestID, allocator: context.channel.allocator)
        inFlight = false
        let now = NIODeadline.now()
        lastActivity = now
        if keepAlive {
            context.writeAndFlush(wrapOutboundOut(out), promise: nil)
        } else {
            lingering = true
            input = ByteBuffer()
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.writeAndFlush(wrapOutboundOut(out)).whenComplete { _ in loopBound.value.close(promise: nil) }
        }
        let nanoseconds = (now - start).nanoseconds
        if let last = lastInstruments, last.status == status, last.method == request.method, last.route == route {
            last.counter.increment()
            last.timer.recordNanoseconds(nanoseconds)
        } else {
            let (counter, timer) = app.metrics.instruments(route: route, method: request.method.rawValue, status: status)
            counter.increment()
            timer.recordNanoseconds(nanoseconds)
            lastInstruments = (route, request.method, status, counter, timer)
        }
        if app.logger.logLevel <= .debug {
            // Route templates only: raw session ids and tokens never reach the log.
            app.logger.debug("request", metadata: [
                "request_id": "\(requestID)", "route": "\(route)", "method": "\(request.method.rawValue)",
                "status": "\(status)", "duration_us": "\(nanoseconds / 1000)",
            ])
        }
        if keepAlive { process(context: context) }
    }

    // MARK: - Timers and shutdown

    /// Makes sure a check runs no later than `deadline`.
    private func armTimer(context: ChannelHandlerContext, at deadline: NIODeadline) {
        if timer != nil && timerDeadline <= deadline { return }
        timer?.cancel()
        timerDeadline = deadline
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
            self.timer = nil
            self.timerDeadline = .distantFuture
            self.checkTimeouts(context: context)
        }
    }

    private func checkTimeouts(context: ChannelHandlerContext) {
        let due: NIODeadline
        if inFlight {
            // The Redis timeout answers it; look again later.
            due = .now() + app.idleTimeout
        } else if let start = requestStart {
            due = start + app.requestTimeout
        } else if lingering {
            due = lastActivity + app.requestTimeout
        } else {
            due = lastActivity + app.idleTimeout
        }
        if due <= .now() {
            context.close(promise: nil)
        } else {
            armTimer(context: context, at: due)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            quiescing = true
            if !inFlight && parser.isBetweenRequests && input.readableBytes == 0 { context.close(promise: nil) }
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

/// Serialises a response: status line, headers and body in one buffer, one write.
///
/// The head is written on the stack first; when the body buffer was made with
/// room in front (`Response.bodyBuffer`, as session answers are), the head goes
/// there and the body is never copied: a second buffer and a copy of every
/// session's JSON showed up in perf.
enum ResponseEncoder {
    static func encode(_ response: consuming Response, version: HTTPVersion, isHEAD: Bool, keepAlive: Bool,
                       requestID: RequestID, allocator: ByteBufferAllocator) -> ByteBuffer {
        var body = response.body
        response.body = nil   // `body` is now the buffer's only owner: writing in front of it copies nothing
        let bodyBytes = body?.readableBytes ?? 0
        var bound = 256 + response.status.reasonPhrase.utf8.count + requestID.byteCount
        for (name, value) in response.headers { bound += name.utf8.count + value.utf8.count + 4 }
        return withUnsafeTemporaryAllocation(byteCount: bound, alignment: 1) { scratch in
            var head = HeadWriter(scratch)
            head.put(version.minor == 0 ? "HTTP/1.0 " : "HTTP/1.1 ")
            head.put(decimal: Int(response.status.code))
            head.put(" ")
            head.put(response.status.reasonPhrase)
            head.put("\r\n")
            if response.isJSON { head.put("Content-Type: application/json\r\n") }
            if let version = response.etagVersion {
                head.put("ETag: \"")
                if version < 0 { head.put("-") }
                head.put(decimal: Int(clamping: version.magnitude))
                head.put("\"\r\n")
            }
            for (name, value) in response.headers {
                head.put(name)
                head.put(": ")
                head.put(value)
                head.put("\r\n")
            }
            head.put("X-Request-ID: ")
            requestID.write(into: &head)
            if response.status != .noContent {
                head.put("\r\nContent-Length: ")
                head.put(decimal: bodyBytes)
            }
            if !keepAlive {
                head.put("\r\nConnection: close")
            } else if version.minor == 0 {
                head.put("\r\nConnection: keep-alive")
            }
            head.put("\r\n\r\n")
            let written = UnsafeRawBufferPointer(rebasing: scratch[..<head.count])
            if !isHEAD, var b = body, b.readerIndex >= head.count {
                body = nil
                b.moveReaderIndex(to: b.readerIndex - head.count)
                b.setBytes(written, at: b.readerIndex)
                return b
            }
            var out = allocator.buffer(capacity: head.count + (isHEAD ? 0 : bodyBytes))
            out.writeBytes(written)
            if !isHEAD, var b = body { out.writeBuffer(&b) }
            return out
        }
    }
}

/// Appends bytes to a region sized in advance (`ResponseEncoder` bounds it).
struct HeadWriter {
    private let region: UnsafeMutableRawBufferPointer
    private(set) var count = 0

    init(_ region: UnsafeMutableRawBufferPointer) { self.region = region }

    mutating func put(_ s: StaticString) {
        put(UnsafeRawBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    mutating func put(_ s: String) {
        var s = s
        s.withUTF8 { put(UnsafeRawBufferPointer($0)) }
    }

    mutating func put(_ bytes: UnsafeRawBufferPointer) {
        precondition(count + bytes.count <= region.count, "response head larger than its bound")
        region.baseAddress!.advanced(by: count).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        count += bytes.count
    }

    mutating func put(decimal value: Int) {
        var digits = 1
        var v = value
        while v >= 10 { v /= 10; digits += 1 }
        precondition(value >= 0 && count + digits <= region.count, "response head larger than its bound")
        var rest = value
        for i in stride(from: count + digits - 1, through: count, by: -1) {
            region[i] = UInt8(truncatingIfNeeded: rest % 10) + 0x30
            rest /= 10
        }
        count += digits
    }
}

extension ByteBuffer {
    /// A non-negative integer in decimal, without going through String.
    /// One capacity check and direct stores: per-digit `writeInteger` calls showed up in perf.
    mutating func writeDecimal(_ value: Int) {
        precondition(value >= 0)
        var digits = 1
        var v = value
        while v >= 10 { v /= 10; digits += 1 }
        writeWithUnsafeMutableBytes(minimumWritableBytes: digits) { out in
            var rest = value
            for i in stride(from: digits - 1, through: 0, by: -1) {
                out[i] = UInt8(truncatingIfNeeded: rest % 10) + 0x30
                rest /= 10
            }
            return digits
        }
    }
}

/// `X-Request-ID`: the caller's, when it is a sane token, else a fresh one.
/// A fresh one stays a number until something prints it: most are only
/// written into their response, as 16 hex digits, never built as a String.
struct RequestID: CustomStringConvertible, Sendable {
    private let given: String?
    private let generated: UInt64

    static func from(_ headers: HTTPHeaders) -> RequestID {
        if let given = headers.first(name: "X-Request-ID"), (1...128).contains(given.utf8.count),
           given.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) {
            return RequestID(given: given, generated: 0)
        }
        return generate()
    }

    private static let seed = UInt64.random(in: 0...UInt64.max)
    private static let counter = Atomic<UInt64>(0)

    /// Unique within the process and unguessable across runs, without a getrandom
    /// call per request: SplitMix64 over a random seed plus a counter.
    static func generate() -> RequestID {
        var z = seed &+ counter.add(1, ordering: .relaxed).newValue &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return RequestID(given: nil, generated: z)
    }

    var byteCount: Int { given?.utf8.count ?? 16 }

    func write(into head: inout HeadWriter) {
        if let given { return head.put(given) }
        withUnsafeTemporaryAllocation(byteCount: 16, alignment: 1) { hex in
            writeHex(into: hex)
            head.put(UnsafeRawBufferPointer(hex))
        }
    }

    private func writeHex(into out: UnsafeMutableRawBufferPointer) {
        for i in 0..<16 {
            let nibble = UInt8(truncatingIfNeeded: generated >> (60 - 4 * UInt64(i))) & 0xF
            out[i] = nibble < 10 ? 0x30 + nibble : 0x57 + nibble
        }
    }

    var description: String {
        if let given { return given }
        return String(unsafeUninitializedCapacity: 16) { out in
            writeHex(into: UnsafeMutableRawBufferPointer(out))
            return 16
        }
    }
}

/// A salted hash of a session id for logs (OWASP: log a hash, never the id).
/// The salt is random per process, so tags correlate lines of one run only.
enum SessionTag {
    private static let salt = (0..<16).map { _ in String(UInt8.random(in: 0...255), radix: 16) }.joined()

    static func of(_ id: Substring) -> String {
        SessionID.logTag(salt + id)
    }
}
