import NIOCore
import NIOHTTP1

/// Answers requests that are not valid HTTP with a problem+json 400 (431 for
/// oversized headers) before the connection is closed, like NIO's
/// `HTTPServerProtocolErrorHandler` but in the API's error format.
final class ProtocolErrorHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private var hasUnterminatedResponse = false

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard let parserError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        // The decoder closes the channel right after this returns: write now or never.
        if !hasUnterminatedResponse {
            let problem: Problem
            switch parserError {
            case .headerOverflow:
                problem = Problem(.requestHeaderFieldsTooLarge, "request headers are too large")
            default:
                problem = Problem(.badRequest, "malformed HTTP request")
            }
            let response = problem.response(allocator: context.channel.allocator)
            var headers = response.headers
            headers.add(name: "Content-Length", value: String(response.body?.readableBytes ?? 0))
            headers.add(name: "Connection", value: "close")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: problem.status, headers: headers))), promise: nil)
            if let body = response.body { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
        context.fireErrorCaught(error)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head) where head.status.code < 200:
            break
        case .head:
            hasUnterminatedResponse = true
        case .body:
            break
        case .end:
            hasUnterminatedResponse = false
        }
        context.write(data, promise: promise)
    }
}
