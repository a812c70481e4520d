import Logging
import NIOCore
import NIOPosix
import NIOConcurrencyHelpers

/// `host:port`, as sentinels and cluster nodes are given on the command line.
public struct HostPort: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// `host:port` or `[v6]:port`.
    public init(parsing text: Substring) throws {
        let t = text.trimmingPrefix(" ")
        guard let colon = t.lastIndex(of: ":"), let port = Int(t[t.index(after: colon)...]), (1...65535).contains(port) else {
            throw RedisConfiguration.InvalidURL(description: "expected host:port, got '\(text)'")
        }
        var host = t[..<colon]
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        guard !host.isEmpty else { throw RedisConfiguration.InvalidURL(description: "expected host:port, got '\(text)'") }
        self.init(host: String(host), port: port)
    }

    /// A comma-separated list, as `--redis-sentinel` and `--redis-cluster` take it.
    public static func list(_ text: String) throws -> [HostPort] {
        let items = try text.split(separator: ",").map { try HostPort(parsing: $0) }
        guard !items.isEmpty else { throw RedisConfiguration.InvalidURL(description: "expected host:port[,host:port…]") }
        return items
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    public var address: RedisConfiguration.Address { .tcp(host: host, port: port) }
}

/// Where the sentinels are and which master they watch (`--redis-sentinel`, `--sentinel-master`).
public struct SentinelConfiguration: Sendable, Equatable {
    public var sentinels: [HostPort]
    public var masterName: String
    /// Sentinel's own auth (`requirepass` in sentinel.conf), distinct from the data nodes'.
    public var username: String?
    public var password: String?

    public init(sentinels: [HostPort], masterName: String, username: String? = nil, password: String? = nil) {
        self.sentinels = sentinels
        self.masterName = masterName
        self.username = username
        self.password = password
    }
}

/// Finds the primary through Redis Sentinel and follows failovers, the way
/// Redis's sentinel-client guidelines describe: ask the sentinels in turn for
/// the master's address (the one that answered is asked first next time),
/// check with `ROLE` on connecting that it really is a primary (in
/// `RedisConnection`), forget the address after any connection loss so the
/// next connect asks again, and listen on one sentinel for `+switch-master`
/// so every connection moves as soon as a failover is decided.
final class SentinelMonitor: Sendable {
    let configuration: SentinelConfiguration
    private let timeout: TimeAmount
    /// The sentinels speak TLS whenever the data nodes do (one `--redis-tls` for all).
    private let tls: RedisTLS?
    private let logger: Logger
    private let state = NIOLockedValueBox(State())

    private struct State {
        var primary: RedisConfiguration.Address?
        /// The sentinel that answered last.
        var preferred = 0
        var listeners: [@Sendable (RedisConfiguration.Address) -> Void] = []
        var subscriber: Channel?
        var stopped = false
    }

    init(configuration: SentinelConfiguration, timeout: TimeAmount, tls: RedisTLS? = nil, logger: Logger) {
        self.configuration = configuration
        self.timeout = timeout
        self.tls = tls
        self.logger = logger
    }

    /// Called (on any thread) with the new primary after a `+switch-master`.
    func onSwitch(_ listener: @escaping @Sendable (RedisConfiguration.Address) -> Void) {
        state.withLockedValue { $0.listeners.append(listener) }
    }

    /// The primary's address: the last one known, or what the sentinels say now.
    func primary(on loop: EventLoop) -> EventLoopFuture<RedisConfiguration.Address> {
        if let known = state.withLockedValue({ $0.primary }) { return loop.makeSucceededFuture(known) }
        return ask(on: loop).map { address in
            self.state.withLockedValue { $0.primary = address }
            return address
        }
    }

    /// After a failed connect or a lost connection: the next connect asks the sentinels again.
    func forget(_ address: RedisConfiguration.Address) {
        state.withLockedValue { if $0.primary == address { $0.primary = nil } }
    }

    /// Asks each sentinel in turn, starting with the last one that answered.
    private func ask(on loop: EventLoop) -> EventLoopFuture<RedisConfiguration.Address> {
        let start = state.withLockedValue { $0.preferred }
        let count = configuration.sentinels.count
        @Sendable func attempt(_ n: Int, _ errors: [String]) -> EventLoopFuture<RedisConfiguration.Address> {
            guard n < count else {
                return loop.makeFailedFuture(RedisError.connectionUnavailable(
                    "no sentinel gave the primary of '\(configuration.masterName)': \(errors.joined(separator: "; "))"))
            }
            let index = (start + n) % count
            let sentinel = configuration.sentinels[index]
            return askOne(sentinel, on: loop).map { address in
                self.state.withLockedValue { $0.preferred = index }
                return address
            }.flatMapError { error in
                attempt(n + 1, errors + ["\(sentinel): \(error)"])
            }
        }
        return attempt(0, [])
    }

    private func askOne(_ sentinel: HostPort, on loop: EventLoop) -> EventLoopFuture<RedisConfiguration.Address> {
        let config = sentinelConnection(sentinel)
        let deadline = NIODeadline.now() + timeout
        return RedisConnection.connect(to: config, on: loop, deadline: deadline).flatMap { connection in
            let command = RedisCommand(["SENTINEL", "get-master-addr-by-name", self.configuration.masterName])
            return connection.send(command, deadline: deadline).flatMapThrowing { reply -> RedisConfiguration.Address in
                if let message = reply.errorMessage { throw RedisError.server(message) }
                let fields = reply.value.array ?? []
                guard fields.count == 2, let host = fields[0].string, let port = fields[1].int else {
                    throw RedisError.unexpectedReply("sentinel does not know master '\(self.configuration.masterName)'")
                }
                return .tcp(host: host, port: Int(port))
            }.always { _ in _ = connection.close() }
        }
    }

    private func sentinelConnection(_ sentinel: HostPort) -> RedisConfiguration {
        var config = RedisConfiguration(address: sentinel.address, username: configuration.username,
                                        password: configuration.password, database: 0, timeout: timeout)
        config.tls = tls
        return config
    }

    // MARK: +switch-master

    /// Subscribes to `+switch-master` on one sentinel, moving to the next one
    /// whenever that connection drops, until `shutdown`.
    func start(on loop: EventLoop) {
        subscribe(on: loop, index: state.withLockedValue { $0.preferred })
    }

    private func subscribe(on loop: EventLoop, index: Int) {
        guard !state.withLockedValue({ $0.stopped }) else { return }
        let sentinel = configuration.sentinels[index % configuration.sentinels.count]
        let auth = RedisCommand.auth(username: configuration.username, password: configuration.password)
        let hello = (auth.map { [$0] } ?? []) + [RedisCommand(["SUBSCRIBE", "+switch-master"])]
        let name = configuration.masterName
        let onMessage: @Sendable (RESPValue) -> Void = { [weak self] message in
            self?.received(message, from: sentinel, on: loop)
        }
        let tls = self.tls
        let deadline = NIODeadline.now() + timeout
        let connected = ClientBootstrap(group: loop)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls { try channel.pipeline.syncOperations.addHandlers(tls.handlers(host: sentinel.host, deadline: deadline)) }
                    try channel.pipeline.syncOperations.addHandler(SubscriptionHandler(hello: hello, onMessage: onMessage))
                }
            }
            .connect(host: sentinel.host, port: sentinel.port)
            .flatMap { channel in
                guard let tls else { return loop.makeSucceededFuture(channel) }
                return tls.handshake(of: channel, host: sentinel.host, port: sentinel.port).map { channel }
            }
        connected.whenComplete { result in
            switch result {
            case .success(let channel):
                let keep = self.state.withLockedValue { state -> Bool in
                    guard !state.stopped else { return false }
                    state.subscriber = channel
                    return true
                }
                guard keep else { channel.close(promise: nil); return }
                channel.closeFuture.whenComplete { _ in
                    self.logger.warning("lost the sentinel subscription; moving to the next sentinel",
                                        metadata: ["sentinel": "\(sentinel)", "master": "\(name)"])
                    self.resubscribe(on: loop, after: index)
                }
            case .failure(let error):
                self.logger.warning("cannot subscribe to sentinel", metadata: ["sentinel": "\(sentinel)", "error": "\(error)"])
                self.resubscribe(on: loop, after: index)
            }
        }
    }

    private func resubscribe(on loop: EventLoop, after index: Int) {
        loop.scheduleTask(in: .milliseconds(250)) { self.subscribe(on: loop, index: index + 1) }
    }

    private func received(_ message: RESPValue, from sentinel: HostPort, on loop: EventLoop) {
        let parts = message.array ?? []
        if case .error(let text) = message {
            logger.warning("sentinel refused the subscription", metadata: ["sentinel": "\(sentinel)", "error": "\(text)"])
            return
        }
        guard parts.count == 3, let kind = parts[0].string else { return }
        switch kind {
        case "subscribe":
            // A switch may have happened while no subscription was open: ask again.
            ask(on: loop).whenSuccess { address in self.switchTo(address, announced: false) }
        case "message":
            // "<name> <old-ip> <old-port> <new-ip> <new-port>"
            let words = (parts[2].string ?? "").split(separator: " ")
            guard words.count == 5, words[0] == configuration.masterName, let port = Int(words[4]) else { return }
            switchTo(.tcp(host: String(words[3]), port: port), announced: true)
        default:
            return
        }
    }

    private func switchTo(_ address: RedisConfiguration.Address, announced: Bool) {
        let (changed, listeners) = state.withLockedValue { state in
            let changed = state.primary != address
            state.primary = address
            return (changed, state.listeners)
        }
        guard changed || announced else { return }
        logger.notice("sentinel: primary of '\(configuration.masterName)' is now \(address)")
        for listener in listeners { listener(address) }
    }

    func shutdown() {
        let channel = state.withLockedValue { state -> Channel? in
            state.stopped = true
            return state.subscriber
        }
        channel?.close(promise: nil)
    }
}

/// A subscriber connection: sends its hello commands when active, then hands
/// every reply (confirmations and published messages) to `onMessage`.
private final class SubscriptionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let hello: [RedisCommand]
    private let onMessage: @Sendable (RESPValue) -> Void
    private let reader = HiredisReader()

    init(hello: [RedisCommand], onMessage: @escaping @Sendable (RESPValue) -> Void) {
        self.hello = hello
        self.onMessage = onMessage
    }

    func channelActive(context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: 128)
        for command in hello { command.write(into: &buffer) }
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        do {
            try reader.feed(unwrapInboundIn(data))
            while let reply = try reader.next() { onMessage(reply.value) }
        } catch {
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
