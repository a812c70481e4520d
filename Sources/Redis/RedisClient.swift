import Logging
import Metrics
import NIOCore
import NIOPosix

/// The Redis client the rest of sessiond uses: one pipelined connection per
/// event loop, so a request's Redis call runs on the loop that serves its HTTP
/// connection (no thread hop, no lock). Connections are made lazily, remade
/// after failures with exponential backoff, and every command has a deadline
/// of `configuration.timeout`.
///
/// In sentinel mode (`configuration.sentinel`) the address comes from a
/// `SentinelMonitor`, and every connection moves when it announces a failover.
public final class RedisClient: Sendable {
    public let configuration: RedisConfiguration
    /// Redis's time, for commands that send absolute expiries.
    public let clock = RedisClock()
    private let managers: [ConnectionManager]
    private let monitor: SentinelMonitor?
    private let cluster: ClusterRouter?
    private let logger: Logger

    public init(configuration: RedisConfiguration, eventLoopGroup: EventLoopGroup, logger: Logger,
                metricsFactory: MetricsFactory = MetricsSystem.factory) {
        self.configuration = configuration
        self.logger = logger
        let monitor = configuration.sentinel.map {
            SentinelMonitor(configuration: $0, timeout: configuration.timeout, tls: configuration.tls, logger: logger)
        }
        cluster = configuration.cluster.map {
            ClusterRouter(configuration: configuration, seeds: $0, eventLoopGroup: eventLoopGroup, logger: logger,
                          metricsFactory: metricsFactory)
        }
        var managers: [ConnectionManager] = []
        for (i, loop) in eventLoopGroup.makeIterator().enumerated() where configuration.cluster == nil {
            managers.append(ConnectionManager(eventLoop: loop, configuration: configuration, logger: logger,
                                              metrics: RedisMetrics(factory: metricsFactory, loop: i), monitor: monitor))
        }
        self.managers = managers
        self.monitor = monitor
        if let monitor {
            monitor.onSwitch { [managers] primary in
                for m in managers { m.drop(unlessAt: primary) }
            }
            monitor.start(on: eventLoopGroup.next())
        }
    }

    private func manager(for eventLoop: EventLoop) -> ConnectionManager {
        for m in managers where m.eventLoop === eventLoop { return m }
        return managers[0]
    }

    /// Sends a command on `eventLoop`'s connection. Error replies fail the future with `.server`.
    /// `durable`: a write that must reach `--min-replicas-ack` replicas (see `replicated`).
    /// `key`: the key the command works on, which picks the node in cluster mode.
    public func send(_ command: RedisCommand, key: String? = nil, on eventLoop: EventLoop,
                     durable: Bool = false) -> EventLoopFuture<RESPValue> {
        let deadline = NIODeadline.now() + configuration.timeout
        let acked: EventLoopFuture<RedisReply>
        if let cluster {
            acked = cluster.send(.command(command), slot: key.map(ClusterSlot.of), on: eventLoop, deadline: deadline,
                                 wait: durable ? configuration.minReplicasAck : 0)
        } else {
            let manager = manager(for: eventLoop)
            let sent = manager.send(command, deadline: deadline)
            acked = durable ? replicated(sent, manager, deadline) : sent
        }
        return acked.flatMapThrowing { reply in
            if let message = reply.errorMessage { throw RedisError.server(message) }
            return reply.value
        }
    }

    /// With `--min-replicas-ack n`: `WAIT n timeout` pipelined right behind the
    /// write on the same connection (WAIT counts the replicas that have every
    /// write this connection made so far), and the write only succeeds when
    /// at least n have it. An error reply needs no waiting: nothing was written.
    private func replicated(_ write: EventLoopFuture<RedisReply>, _ manager: ConnectionManager,
                            _ deadline: NIODeadline) -> EventLoopFuture<RedisReply> {
        let wanted = configuration.minReplicasAck
        guard wanted > 0 else { return write }
        let acks = manager.send(configuration.waitCommand, deadline: deadline + configuration.replicaAckTimeout)
        return write.and(acks).flatMapThrowing { reply, acks in
            if reply.errorMessage != nil { return reply }
            try RedisError.checkReplicated(acks, wanted: wanted)
            return reply
        }
    }

    /// Runs `transaction` (MULTI, its commands, EXEC) as one pipelined write and
    /// hands EXEC's reply (the array of the commands' replies) to `completion` on
    /// `eventLoop`'s connection loop; the caller owns the only promise on the way.
    public func exec(_ transaction: consuming RedisTransaction, on eventLoop: EventLoop,
                     _ completion: @escaping @Sendable (Result<RedisReply, RedisError>) -> Void) {
        let deadline = NIODeadline.now() + configuration.timeout
        transaction.finish()
        let deliver: @Sendable (Result<RedisReply, RedisError>) -> Void = { result in
            switch result {
            case .success(let reply) where reply.errorMessage != nil: completion(.failure(.server(reply.errorMessage!)))
            case .success(let reply): completion(.success(reply))
            case .failure(let error): completion(.failure(error))
            }
        }
        let sent: EventLoopFuture<RedisReply>
        if let cluster {
            sent = cluster.send(.transaction(transaction), slot: transaction.key.map(ClusterSlot.of), on: eventLoop,
                                deadline: deadline)
        } else {
            // The hot path (every session read): straight to the connection, no promise.
            let manager = manager(for: eventLoop)
            if manager.sendIfConnected(.transaction(transaction), deadline: deadline, deliver) { return }
            sent = manager.send(.transaction(transaction), deadline: deadline)
        }
        sent.whenComplete { result in
            deliver(result.mapError { $0 as? RedisError ?? .connectionUnavailable("\($0)") })
        }
    }

    /// Runs a script with EVALSHA, falling back to EVAL once when Redis does not know it.
    public func run(_ call: ScriptCall, on eventLoop: EventLoop) -> EventLoopFuture<RESPValue> {
        run(call, on: eventLoop) { try $0.get() }
    }

    /// `run`, with the caller's handling of the reply (or error) folded into the
    /// same future: one promise from Redis to the caller's value, which matters
    /// on a path taken by every request.
    public func run<T: Sendable>(_ call: ScriptCall, on eventLoop: EventLoop,
                                 _ transform: @escaping @Sendable (Result<RESPValue, RedisError>) throws -> T) -> EventLoopFuture<T> {
        let deadline = NIODeadline.now() + configuration.timeout
        let durable = call.script.durable && configuration.minReplicasAck > 0
        let promise: EventLoopPromise<T>
        let send: @Sendable (Bool) -> EventLoopFuture<RedisReply>
        if let cluster {
            promise = eventLoop.makePromise(of: T.self)
            let slot = call.key.map(ClusterSlot.of)
            let wait = durable ? configuration.minReplicasAck : 0
            send = { usingSHA in
                cluster.send(.command(call.command(usingSHA: usingSHA)), slot: slot, on: eventLoop, deadline: deadline, wait: wait)
            }
        } else {
            let manager = self.manager(for: eventLoop)
            promise = manager.eventLoop.makePromise(of: T.self)
            send = { usingSHA in
                let sent = manager.send(call.command(usingSHA: usingSHA), deadline: deadline)
                return durable ? self.replicated(sent, manager, deadline) : sent
            }
        }
        send(true).whenComplete { result in
            if case .success(let reply) = result, reply.errorMessage?.hasPrefix("NOSCRIPT") == true {
                send(false).whenComplete { result in
                    Self.settle(promise, result, transform)
                }
            } else {
                Self.settle(promise, result, transform)
            }
        }
        return promise.futureResult
    }

    private static func settle<T: Sendable>(_ promise: EventLoopPromise<T>, _ result: Result<RedisReply, Error>,
                                  _ transform: (Result<RESPValue, RedisError>) throws -> T) {
        let reply: Result<RESPValue, RedisError>
        switch result {
        case .success(let r) where r.errorMessage != nil: reply = .failure(.server(r.errorMessage!))
        case .success(let r): reply = .success(r.value)
        case .failure(let error): reply = .failure(error as? RedisError ?? .connectionUnavailable("\(error)"))
        }
        do {
            promise.succeed(try transform(reply))
        } catch {
            promise.fail(error)
        }
    }

    public func ping(on eventLoop: EventLoop) -> EventLoopFuture<Void> {
        send(RedisCommand("PING"), on: eventLoop).map { _ in }
    }

    /// Readiness (`/readyz`): PING answers (so Redis is reachable, authenticated,
    /// not LOADING, not frozen) and, outside a cluster, `ROLE` says primary: a
    /// demoted primary answers PING but refuses every write. Both in one round trip.
    /// (A cluster routes by slot to the nodes that serve them, so PING is enough there.)
    public func ready(on eventLoop: EventLoop) -> EventLoopFuture<Void> {
        let ping = send(RedisCommand("PING"), on: eventLoop)
        guard cluster == nil else { return ping.map { _ in } }
        // A user whose ACL forbids ROLE (it is @admin) is judged by PING alone.
        let role = send(RedisCommand("ROLE"), on: eventLoop).map(Optional.some).recover { _ in nil }
        return ping.and(role).flatMapThrowing { _, role in
            guard let name = role?.array?.first?.string else { return }
            guard name == "master" else { throw RedisError.notPrimary(role: name) }
        }
    }

    /// The nodes that hold data: every master of a cluster, else the one server.
    /// For commands that must run everywhere (SCAN).
    public func primaries(on eventLoop: EventLoop) -> EventLoopFuture<[RedisNode]> {
        guard let cluster else { return eventLoop.makeSucceededFuture([RedisNode(address: nil)]) }
        return cluster.primaries(on: eventLoop).map { $0.map { RedisNode(address: $0) } }
    }

    /// Sends a command to one node from `primaries` (no redirects: SCAN is per node).
    public func send(_ command: RedisCommand, to node: RedisNode, on eventLoop: EventLoop) -> EventLoopFuture<RESPValue> {
        guard let cluster, let address = node.address else { return send(command, on: eventLoop) }
        return cluster.send(command, to: address, on: eventLoop, deadline: .now() + configuration.timeout)
            .flatMapThrowing { reply in
                if let message = reply.errorMessage { throw RedisError.server(message) }
                return reply.value
            }
    }

    /// Whether keys of different slots may meet in one command or script (not in a cluster).
    public var isCluster: Bool { cluster != nil }

    /// Closes every connection; later commands fail with `.shutdown`.
    public func shutdown() async {
        monitor?.shutdown()
        await cluster?.shutdown()
        for m in managers {
            try? await m.shutdown().get()
        }
    }
}

/// Owns the connection of one event loop. All state lives in a loop-bound box,
/// so it is only ever touched on that loop.
final class ConnectionManager: Sendable {
    let eventLoop: EventLoop
    private let configuration: RedisConfiguration
    private let logger: Logger
    private let metrics: RedisMetrics
    private let monitor: SentinelMonitor?
    private let state: NIOLoopBoundBox<State>

    static let initialBackoff: TimeAmount = .milliseconds(25)
    /// Capped low so service resumes well within a second of Redis coming back.
    static let maximumBackoff: TimeAmount = .milliseconds(400)

    struct State {
        enum Phase {
            case idle
            case connecting(EventLoopFuture<RedisConnection>)
            case connected(RedisConnection)
            case backingOff(until: NIODeadline, error: RedisError)
            case shutdown
        }
        var phase: Phase = .idle
        var backoff: TimeAmount = ConnectionManager.initialBackoff
        var everConnected = false
    }

    init(eventLoop: EventLoop, configuration: RedisConfiguration, logger: Logger, metrics: RedisMetrics,
         monitor: SentinelMonitor? = nil) {
        self.eventLoop = eventLoop
        self.configuration = configuration
        self.logger = logger
        self.metrics = metrics
        self.monitor = monitor
        self.state = NIOLoopBoundBox.makeBoxSendingValue(State(), eventLoop: eventLoop)
    }

    func send(_ command: RedisCommand, deadline: NIODeadline) -> EventLoopFuture<RedisReply> {
        send(.command(command), deadline: deadline)
    }

    /// When called on the loop with a live connection: queues `outgoing` with
    /// `callback` and returns true. Otherwise does nothing and returns false.
    func sendIfConnected(_ outgoing: Outgoing, deadline: NIODeadline,
                         _ callback: @escaping @Sendable (Result<RedisReply, RedisError>) -> Void) -> Bool {
        guard eventLoop.inEventLoop, case .connected(let connection) = state.value.phase, connection.isActive else {
            return false
        }
        connection.send(outgoing, to: .callback(callback), deadline: deadline)
        return true
    }

    func send(_ outgoing: Outgoing, deadline: NIODeadline, asking: Bool = false) -> EventLoopFuture<RedisReply> {
        guard eventLoop.inEventLoop else {
            return eventLoop.flatSubmit { self.send(outgoing, deadline: deadline, asking: asking) }
        }
        if case .connected(let connection) = state.value.phase, connection.isActive {
            return connection.send(outgoing, deadline: deadline, asking: asking)
        }
        return connection(deadline: deadline).flatMap { $0.send(outgoing, deadline: deadline, asking: asking) }
    }

    private func connection(deadline: NIODeadline) -> EventLoopFuture<RedisConnection> {
        switch state.value.phase {
        case .connected(let connection) where connection.isActive:
            return eventLoop.makeSucceededFuture(connection)
        case .connecting(let future):
            return future
        case .backingOff(let until, let error) where NIODeadline.now() < until:
            return eventLoop.makeFailedFuture(error)
        case .shutdown:
            return eventLoop.makeFailedFuture(RedisError.shutdown)
        case .connected, .backingOff, .idle:
            return connect(deadline: deadline)
        }
    }

    private func connect(deadline: NIODeadline) -> EventLoopFuture<RedisConnection> {
        let future: EventLoopFuture<RedisConnection>
        if let monitor {
            future = monitor.primary(on: eventLoop).flatMap { address in
                var configuration = self.configuration
                configuration.address = address
                return RedisConnection.connect(to: configuration, on: self.eventLoop, deadline: deadline,
                                               metrics: self.metrics, requirePrimary: true)
                    .flatMapErrorThrowing { error in
                        monitor.forget(address)
                        throw error
                    }
            }
        } else {
            future = RedisConnection.connect(to: configuration, on: eventLoop, deadline: deadline, metrics: metrics)
        }
        state.value.phase = .connecting(future)
        future.whenComplete { result in
            guard case .connecting = self.state.value.phase else {
                if case .success(let connection) = result { _ = connection.close() }
                return
            }
            switch result {
            case .success(let connection):
                if self.state.value.everConnected || self.state.value.backoff != Self.initialBackoff {
                    self.logger.info("connected to Redis", metadata: ["redis": "\(connection.address)"])
                }
                self.state.value.phase = .connected(connection)
                self.state.value.backoff = Self.initialBackoff
                self.state.value.everConnected = true
                self.metrics.connects.increment()
                self.metrics.connected.set(1)
                connection.closeFuture.whenComplete { _ in
                    self.monitor?.forget(connection.address)
                    if case .connected(let current) = self.state.value.phase, current === connection {
                        self.metrics.connected.set(0)
                        self.state.value.phase = .idle
                        self.logger.warning("connection to Redis lost; will reconnect on the next request")
                    }
                }
            case .failure(let error):
                let redisError = error as? RedisError ?? .connectionUnavailable("\(error)")
                self.metrics.connectFailures.increment()
                let delay = self.state.value.backoff
                self.state.value.phase = .backingOff(until: .now() + delay, error: redisError)
                self.state.value.backoff = min(delay * 2, Self.maximumBackoff)
                self.logger.warning("cannot connect to Redis", metadata: [
                    "error": "\(redisError)", "retry_in_ms": "\(delay.nanoseconds / 1_000_000)",
                ])
            }
        }
        return future
    }

    /// After a failover: close a connection to anything but the new primary
    /// (its in-flight commands fail with 503); the next request reconnects.
    func drop(unlessAt primary: RedisConfiguration.Address) {
        eventLoop.execute {
            guard case .connected(let connection) = self.state.value.phase, connection.address != primary else { return }
            self.logger.notice("leaving the old primary", metadata: ["redis": "\(connection.address)"])
            self.state.value.phase = .idle
            self.metrics.connected.set(0)
            _ = connection.close()
        }
    }

    func shutdown() -> EventLoopFuture<Void> {
        eventLoop.flatSubmit {
            let phase = self.state.value.phase
            self.state.value.phase = .shutdown
            switch phase {
            case .connected(let connection):
                return connection.close()
            case .connecting(let future):
                return future.flatMap { $0.close() }.recover { _ in }
            default:
                return self.eventLoop.makeSucceededVoidFuture()
            }
        }
    }
}
