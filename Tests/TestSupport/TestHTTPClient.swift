import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A response as a test sees it.
public struct TestResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    public var text: String { String(decoding: body, as: UTF8.self) }

    /// The body parsed as JSON (numbers as NSNumber).
    public var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed])) as? [String: Any] ?? [:]
    }
}

/// A deliberately small HTTP/1.1 client on SwiftNIO: one connection per
/// request, so concurrent requests in a test really are concurrent.
public struct TestHTTPClient: Sendable {
    public enum Target: Sendable {
        case tcp(host: String, port: Int)
        case unix(path: String)
    }

    public let target: Target
    public var defaultHeaders: [(String, String)] = []

    public init(target: Target) {
        self.target = target
    }

    public func request(_ method: String, _ path: String, headers: [(String, String)] = [],
                        body: String? = nil) async throws -> TestResponse {
        try await request(method, path, headers: headers, bodyBytes: body.map { Array($0.utf8) })
    }

    public func request(_ method: String, _ path: String, headers: [(String, String)] = [],
                        bodyBytes: [UInt8]?) async throws -> TestResponse {
        let group = MultiThreadedEventLoopGroup.singleton
        let promise = group.any().makePromise(of: TestResponse.self)
        let bootstrap = ClientBootstrap(group: group).channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHTTPClientHandlers()
                try channel.pipeline.syncOperations.addHandler(ResponseCollector(promise: promise))
            }
        }
        let channel: Channel
        switch target {
        case .tcp(let host, let port): channel = try await bootstrap.connect(host: host, port: port).get()
        case .unix(let path): channel = try await bootstrap.connect(unixDomainSocketPath: path).get()
        }
        var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: path)
        head.headers.add(name: "Host", value: "localhost")
        for (k, v) in defaultHeaders + headers { head.headers.add(name: k, value: v) }
        if let bodyBytes {
            head.headers.add(name: "Content-Length", value: String(bodyBytes.count))
        }
        head.headers.add(name: "Connection", value: "close")
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        if let bodyBytes {
            channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: bodyBytes))), promise: nil)
        }
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        let response = try await promise.futureResult.get()
        try? await channel.close()
        return response
    }

    /// Sends raw bytes and returns everything the server sends until it closes
    /// the connection (or `timeout` passes), for protocol-level tests.
    public func raw(_ bytes: [UInt8], timeout: TimeAmount = .seconds(5)) async throws -> [UInt8] {
        let group = MultiThreadedEventLoopGroup.singleton
        let promise = group.any().makePromise(of: [UInt8].self)
        let bootstrap = ClientBootstrap(group: group).channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(RawCollector(promise: promise))
            }
        }
        let channel: Channel
        switch target {
        case .tcp(let host, let port): channel = try await bootstrap.connect(host: host, port: port).get()
        case .unix(let path): channel = try await bootstrap.connect(unixDomainSocketPath: path).get()
        }
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
        let timer = channel.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
        let out = try await promise.futureResult.get()
        timer.cancel()
        return out
    }
}

private final class ResponseCollector: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    let promise: EventLoopPromise<TestResponse>
    var response: TestResponse?

    init(promise: EventLoopPromise<TestResponse>) {
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            response = TestResponse(status: Int(h.status.code), headers: h.headers.map { ($0.name, $0.value) }, body: [])
        case .body(let b):
            response?.body.append(contentsOf: b.readableBytesView)
        case .end:
            if let response { promise.succeed(response) }
            response = nil
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(ChannelError.ioOnClosedChannel)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        promise.fail(error)
        context.close(promise: nil)
    }
}

private final class RawCollector: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let promise: EventLoopPromise<[UInt8]>
    var bytes: [UInt8] = []

    init(promise: EventLoopPromise<[UInt8]>) {
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        bytes.append(contentsOf: unwrapInboundIn(data).readableBytesView)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.succeed(bytes)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
