import Logging
import NIOCore
import NIOExtras
import NIOHTTP1
import NIOPosix
import Sessions
#if canImport(Glibc)
import Glibc
#endif

/// Where and how the HTTP front listens.
public struct ServerConfiguration: Sendable {
    public enum Listen: Sendable, Equatable, CustomStringConvertible {
        case tcp(host: String, port: Int)
        case unix(path: String)

        /// `127.0.0.1:8080`, `[::1]:8080`, `:8080` or `unix:/path.sock`.
        public init(parsing text: String) throws {
            if text.hasPrefix("unix:") {
                let path = String(text.dropFirst("unix:".count))
                guard !path.isEmpty else { throw ListenError(text: text) }
                self = .unix(path: path)
                return
            }
            guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
                  (0...65535).contains(port) else { throw ListenError(text: text) }
            var host = String(text[..<colon])
            if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            self = .tcp(host: host.isEmpty ? "0.0.0.0" : host, port: port)
        }

        public var description: String {
            switch self {
            case .tcp(let host, let port): return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            case .unix(let path): return "unix:\(path)"
            }
        }

        /// Loopback or a unix socket: reachable only from this machine.
        public var isLocalOnly: Bool {
            switch self {
            case .unix: return true
            case .tcp(let host, _): return host == "localhost" || host == "::1" || host.hasPrefix("127.")
            }
        }
    }

    public struct ListenError: Error, CustomStringConvertible {
        public let text: String
        public var description: String { "cannot parse listen address '\(text)' (expected host:port or unix:/path.sock)" }
    }

    public var listen: Listen
    public var authToken: String?
    /// Idle keep-alive connections are closed after this.
    public var idleTimeout: TimeAmount
    /// A request must arrive whole (headers and body) within this, from its first byte.
    public var requestTimeout: TimeAmount

    public init(listen: Listen = .tcp(host: "127.0.0.1", port: 8080), authToken: String? = nil,
                idleTimeout: TimeAmount = .seconds(60), requestTimeout: TimeAmount = .seconds(30)) {
        self.listen = listen
        self.authToken = authToken
        self.idleTimeout = idleTimeout
        self.requestTimeout = requestTimeout
    }
}

/// The HTTP server. Channel pipeline of each connection:
///
///     socket ⇄ HTTPHandler (HTTPRequestParser, ResponseEncoder) → SessionController → SessionStore → Redis
///
/// The Redis call of a request runs on the event loop of its connection.
public final class SessiondServer: Sendable {
    private let channel: Channel
    private let quiesce: ServerQuiescingHelper
    public let metrics: ServerMetrics

    private init(channel: Channel, quiesce: ServerQuiescingHelper, metrics: ServerMetrics) {
        self.channel = channel
        self.quiesce = quiesce
        self.metrics = metrics
    }

    public var localAddress: SocketAddress? { channel.localAddress }
    public var port: Int? { channel.localAddress?.port }

    public static func start(
        configuration: ServerConfiguration, store: SessionStore, metrics: ServerMetrics = ServerMetrics(),
        group: EventLoopGroup, logger: Logger
    ) async throws -> SessiondServer {
        let app = HTTPApplication(
            controller: SessionController(store: store, metrics: metrics),
            auth: BearerAuth(token: configuration.authToken),
            metrics: metrics,
            maxBodyBytes: store.configuration.limits.maxBodyBytes,
            logger: logger,
            idleTimeout: configuration.idleTimeout,
            requestTimeout: configuration.requestTimeout)
        let quiesce = ServerQuiescingHelper(group: group)
        var isTCP = true
        if case .unix = configuration.listen { isTCP = false }
        let tcp = isTCP
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 1024)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(quiesce.makeServerChannelHandler(channel: channel))
                }
            }
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if tcp {
                        try channel.syncOptions?.setOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
                    }
                    try channel.pipeline.syncOperations.addHandler(HTTPHandler(app: app))
                }
            }
            .childChannelOption(ChannelOptions.maxMessagesPerRead, value: 16)

        let channel: Channel
        switch configuration.listen {
        case .tcp(let host, let port):
            channel = try await bootstrap.bind(host: host, port: port).get()
        case .unix(let path):
            // A stale socket from a previous run would make bind fail.
            var st = stat()
            if lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFSOCK { unlink(path) }
            channel = try await bootstrap.bind(unixDomainSocketPath: path).get()
            // Owner and group only: the app servers' group, not every local user.
            chmod(path, 0o660)
        }
        return SessiondServer(channel: channel, quiesce: quiesce, metrics: metrics)
    }

    /// Graceful stop: no new connections, idle ones closed, in-flight requests
    /// answered (with `Connection: close`), then returns.
    public func shutdown() async {
        let promise = channel.eventLoop.makePromise(of: Void.self)
        quiesce.initiateShutdown(promise: promise)
        try? await promise.futureResult.get()
        // With no open connections the helper is done before the listening socket
        // has finished closing; wait for that too, so nothing runs after the loops stop.
        try? await channel.closeFuture.get()
    }
}
