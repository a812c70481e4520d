import Metrics
import NIOCore
import NIOPosix

/// One pipelined connection to Redis, bound to one event loop.
final class RedisConnection: Sendable {
    let channel: Channel
    let address: RedisConfiguration.Address
    private let handler: NIOLoopBound<RedisChannelHandler>

    private init(channel: Channel, address: RedisConfiguration.Address, handler: RedisChannelHandler) {
        self.channel = channel
        self.address = address
        self.handler = NIOLoopBound(handler, eventLoop: channel.eventLoop)
    }

    var isActive: Bool { channel.isActive }
    var closeFuture: EventLoopFuture<Void> { channel.closeFuture }

    /// Connects, then authenticates, selects the database and names the client
    /// (so operators see `sessiond` in `CLIENT LIST`), all in one round trip.
    /// `requirePrimary` (sentinel mode) adds `ROLE` and refuses anything but a
    /// primary: a sentinel's answer can be stale, and writes must never reach a replica.
    static func connect(
        to config: RedisConfiguration, on eventLoop: EventLoop, deadline: NIODeadline, metrics: RedisMetrics? = nil,
        requirePrimary: Bool = false
    ) -> EventLoopFuture<RedisConnection> {
        let timeout = max(deadline - .now(), .milliseconds(1))
        let tls = config.tls
        let tlsHost: String?
        if case .tcp(let host, _) = config.address, tls != nil { tlsHost = host } else { tlsHost = nil }
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls, let tlsHost {
                        try channel.pipeline.syncOperations.addHandlers(tls.handlers(host: tlsHost, deadline: deadline))
                    }
                    try channel.pipeline.syncOperations.addHandler(RedisChannelHandler(metrics: metrics))
                }
            }
        let connected: EventLoopFuture<Channel>
        switch config.address {
        case .tcp(let host, let port):
            connected = bootstrap
                .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
                .connect(host: host, port: port)
                .flatMapErrorThrowing { error in
                    throw RedisError.connectionUnavailable("\(config.redactedDescription): \(error)")
                }
                .flatMap { channel in
                    // Nothing is sent until the server's certificate has verified.
                    guard let tls else { return eventLoop.makeSucceededFuture(channel) }
                    return tls.handshake(of: channel, host: host, port: port).map { channel }
                }
        case .unix(let path):
            guard tls == nil else {
                return eventLoop.makeFailedFuture(RedisError.connectionUnavailable("TLS needs a TCP address, not unix:\(path)"))
            }
            connected = bootstrap.connect(unixDomainSocketPath: path)
                .flatMapErrorThrowing { error in
                    throw RedisError.connectionUnavailable("\(config.redactedDescription): \(error)")
                }
        }
        return connected
            .flatMapThrowing { channel in
                RedisConnection(channel: channel, address: config.address,
                                handler: try channel.pipeline.syncOperations.handler(type: RedisChannelHandler.self))
            }
            .flatMap { connection in
                let channel = connection.channel
                var handshake: [RedisCommand] = []
                if let auth = RedisCommand.auth(username: config.username, password: config.password) {
                    handshake.append(auth)
                }
                if config.database != 0 {
                    var select = RedisCommand("SELECT")
                    select.append(config.database)
                    handshake.append(select)
                }
                handshake.append(RedisCommand(["CLIENT", "SETNAME", "sessiond"]))
                if requirePrimary { handshake.append(RedisCommand("ROLE")) }
                let replies = handshake.map { connection.send($0, deadline: deadline) }
                return EventLoopFuture.whenAllComplete(replies, on: eventLoop).flatMapThrowing { results in
                    for result in results {
                        switch result {
                        case .success(let reply) where reply.errorMessage != nil:
                            throw RedisError.server(reply.errorMessage!)
                        case .failure(let error):
                            throw error
                        default:
                            continue
                        }
                    }
                    if requirePrimary, case .success(let role) = results.last,
                       role.value.array?.first?.string != "master" {
                        throw RedisError.connectionUnavailable(
                            "\(config.redactedDescription) is not a primary (ROLE: \(role.value.array?.first?.string ?? "?"))")
                    }
                    return connection
                }.flatMapError { error in
                    channel.close(promise: nil)
                    return eventLoop.makeFailedFuture(error)
                }
            }
    }

    /// Sends one command; the reply may be an error reply (`.error`), which callers decide about.
    func send(_ command: RedisCommand, deadline: NIODeadline) -> EventLoopFuture<RedisReply> {
        send(.command(command), deadline: deadline)
    }

    func send(_ outgoing: Outgoing, deadline: NIODeadline, asking: Bool = false) -> EventLoopFuture<RedisReply> {
        let promise = channel.eventLoop.makePromise(of: RedisReply.self)
        send(outgoing, to: .promise(promise), deadline: deadline, asking: asking)
        return promise.futureResult
    }

    /// Queues `outgoing`; its reply or failure goes to `target`, on this connection's loop.
    func send(_ outgoing: Outgoing, to target: ReplyTarget, deadline: NIODeadline, asking: Bool = false) {
        if channel.eventLoop.inEventLoop {
            handler.value.enqueue(outgoing, to: target, deadline: deadline, asking: asking)
        } else {
            let handler = self.handler
            channel.eventLoop.execute { handler.value.enqueue(outgoing, to: target, deadline: deadline, asking: asking) }
        }
    }

    func close() -> EventLoopFuture<Void> {
        channel.close().recover { _ in }
    }
}
