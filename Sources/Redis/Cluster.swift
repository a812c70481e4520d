import Logging
import Metrics
import NIOCore
import NIOConcurrencyHelpers

/// Redis Cluster's key → slot function: CRC16 (XMODEM) of the key, or of its
/// hash tag (the part between the first `{` and the next `}`, when not empty), mod 16384.
public enum ClusterSlot {
    public static let count = 16384

    public static func of(_ key: String) -> Int {
        var key = key
        return key.withUTF8 { bytes in
            var start = 0, end = bytes.count
            if let open = bytes.firstIndex(of: UInt8(ascii: "{")),
               let close = bytes[(open + 1)...].firstIndex(of: UInt8(ascii: "}")), close > open + 1 {
                start = open + 1
                end = close
            }
            var crc: UInt16 = 0
            for i in start..<end {
                crc = (crc << 8) ^ table[Int((crc >> 8) ^ UInt16(bytes[i]))]
            }
            return Int(crc) & (count - 1)
        }
    }

    private static let table: [UInt16] = (0..<256).map { byte in
        var crc = UInt16(byte) << 8
        for _ in 0..<8 { crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1 }
        return crc
    }
}

/// A node commands can be sent to directly (`RedisClient.primaries`): a cluster
/// master, or the one server otherwise.
public struct RedisNode: Sendable, CustomStringConvertible {
    let address: HostPort?
    public var description: String { address?.description ?? "redis" }
}

/// Cluster mode: the slot map and one pipelined connection per node and event loop.
///
/// Each command goes to the master that owns its key's slot. `MOVED` updates
/// that slot at once, re-sends the command there (it was not executed) and
/// reloads the whole map (`CLUSTER SLOTS`) in the background; `ASK` (a slot
/// being migrated) re-sends it once to the named node behind `ASKING`. Errors
/// of the connection itself also reload the map, since the node may be gone.
final class ClusterRouter: Sendable {
    private let configuration: RedisConfiguration
    private let seeds: [HostPort]
    private let logger: Logger
    private let loops: [LoopNodes]
    /// NIOLockedValueBox (pthread), which ThreadSanitizer sees through; Synchronization.Mutex it does not.
    private let map = NIOLockedValueBox(SlotMap())

    /// Redirects followed for one command before giving up (a map in flux).
    static let maximumRedirects = 5

    private struct SlotMap {
        /// Index into `nodes` per slot, -1 when unknown.
        var owner = [Int16](repeating: -1, count: ClusterSlot.count)
        var nodes: [HostPort] = []
        var loaded = false
        var refreshing: EventLoopFuture<Void>?
        var lastRefresh: NIODeadline = .distantPast
        /// Which known node a reload asks first; it moves on every reload, so one node
        /// with an outdated view (a master just restarted from its old config) cannot
        /// keep handing out its map.
        var nextSource = 0

        mutating func index(of node: HostPort) -> Int16 {
            if let i = nodes.firstIndex(of: node) { return Int16(i) }
            nodes.append(node)
            return Int16(nodes.count - 1)
        }
    }

    /// The connections of one event loop, so a request's commands stay on its loop.
    private final class LoopNodes: Sendable {
        let loop: EventLoop
        let index: Int
        let managers = NIOLockedValueBox<[HostPort: ConnectionManager]>([:])

        init(loop: EventLoop, index: Int) {
            self.loop = loop
            self.index = index
        }
    }

    private let metricsFactory: MetricsFactory
    /// How often the map was out of date (operators see resharding happen here).
    private let movedCount: Counter
    private let askCount: Counter

    init(configuration: RedisConfiguration, seeds: [HostPort], eventLoopGroup: EventLoopGroup, logger: Logger,
         metricsFactory: MetricsFactory) {
        self.configuration = configuration
        self.seeds = seeds
        self.logger = logger
        self.metricsFactory = metricsFactory
        movedCount = Counter(label: "sessiond_redis_cluster_redirects_total", dimensions: [("kind", "moved")], factory: metricsFactory)
        askCount = Counter(label: "sessiond_redis_cluster_redirects_total", dimensions: [("kind", "ask")], factory: metricsFactory)
        loops = eventLoopGroup.makeIterator().enumerated().map { LoopNodes(loop: $1, index: $0) }
    }

    private func manager(_ node: HostPort, on loop: EventLoop) -> ConnectionManager {
        let nodes = loops.first { $0.loop === loop } ?? loops[0]
        return nodes.managers.withLockedValue { managers in
            if let m = managers[node] { return m }
            var configuration = self.configuration
            configuration.address = node.address
            let m = ConnectionManager(eventLoop: nodes.loop, configuration: configuration, logger: logger,
                                      metrics: RedisMetrics(factory: metricsFactory, loop: nodes.index))
            managers[node] = m
            return m
        }
    }

    /// Sends to the owner of `slot` (any node when nil), following redirects;
    /// with `wait` > 0, a successful reply is only returned once `WAIT wait` confirms it.
    /// One promise per command, completed from callbacks (this is every request's path).
    func send(_ outgoing: Outgoing, slot: Int?, on loop: EventLoop, deadline: NIODeadline,
              wait: Int = 0) -> EventLoopFuture<RedisReply> {
        let promise = loop.makePromise(of: RedisReply.self)
        dispatch(outgoing, slot: slot, on: loop, deadline: deadline, wait: wait, redirects: 0, asking: nil, promise)
        return promise.futureResult
    }

    private func dispatch(_ outgoing: Outgoing, slot: Int?, on loop: EventLoop, deadline: NIODeadline, wait: Int,
                          redirects: Int, asking: HostPort?, _ promise: EventLoopPromise<RedisReply>) {
        let node: HostPort
        if let asking {
            node = asking
        } else {
            switch known(slot) {
            case .node(let n):
                node = n
            case .unserved:
                return promise.fail(RedisError.server("CLUSTERDOWN no node serves slot \(slot ?? -1)"))
            case .notLoaded:
                refresh(on: loop).whenComplete { result in
                    switch result {
                    case .success:
                        if case .notLoaded = self.known(slot) {
                            return promise.fail(RedisError.connectionUnavailable("no cluster slot map"))
                        }
                        self.dispatch(outgoing, slot: slot, on: loop, deadline: deadline, wait: wait,
                                      redirects: redirects, asking: nil, promise)
                    case .failure(let error):
                        promise.fail(error)
                    }
                }
                return
            }
        }
        let manager = self.manager(node, on: loop)
        manager.send(outgoing, deadline: deadline, asking: asking != nil).whenComplete { result in
            let reply: RedisReply
            switch result {
            case .failure(let error):
                // The node may be gone (failover, removed): look at the map again.
                if error as? RedisError != .timeout { self.refreshSoon(on: loop) }
                return promise.fail(error)
            case .success(let r):
                reply = r
            }
            if reply.kind(RedisReply.root) == .error, redirects < Self.maximumRedirects, let message = reply.errorMessage {
                if let (movedSlot, to) = Self.redirect(message, "MOVED ") {
                    self.movedCount.increment()
                    self.moved(movedSlot, to: to, on: loop)
                    // The slot from the reply: a command sent without a key (to any node) lands right too.
                    return self.dispatch(outgoing, slot: movedSlot, on: loop, deadline: deadline, wait: wait,
                                         redirects: redirects + 1, asking: nil, promise)
                }
                if let (_, to) = Self.redirect(message, "ASK ") {
                    self.askCount.increment()
                    return self.dispatch(outgoing, slot: slot, on: loop, deadline: deadline, wait: wait,
                                         redirects: redirects + 1, asking: to, promise)
                }
            }
            // A node that says the cluster is down, or is no longer a master, may be one
            // our map should not point at any more: look again (the request gets its 503).
            if reply.kind(RedisReply.root) == .error, let message = reply.errorMessage,
               message.hasPrefix("CLUSTERDOWN") || message.hasPrefix("READONLY") || message.hasPrefix("TRYAGAIN") {
                self.refreshSoon(on: loop)
            }
            guard wait > 0, reply.kind(RedisReply.root) != .error else { return promise.succeed(reply) }
            // Sent once the write is confirmed (it may have been redirected): WAIT counts
            // what this connection wrote so far, so following it still covers the write.
            manager.send(.command(self.configuration.waitCommand),
                         deadline: deadline + self.configuration.replicaAckTimeout).whenComplete { acks in
                promise.completeWith(Result {
                    try RedisError.checkReplicated(acks.get(), wanted: wait)
                    return reply
                })
            }
        }
    }

    /// `MOVED 3999 127.0.0.1:6381` → (3999, 127.0.0.1:6381).
    static func redirect(_ message: String, _ prefix: String) -> (Int, HostPort)? {
        guard message.hasPrefix(prefix) else { return nil }
        let words = message.dropFirst(prefix.count).split(separator: " ")
        guard words.count == 2, let slot = Int(words[0]), let node = try? HostPort(parsing: words[1]) else { return nil }
        return (slot, node)
    }

    private enum Known {
        case node(HostPort)
        case unserved
        case notLoaded
    }

    private func known(_ slot: Int?) -> Known {
        map.withLockedValue { map in
            guard map.loaded else { return .notLoaded }
            // Keyless commands (PING for /readyz, CONFIG GET) go to a node that serves
            // slots now: `nodes` also remembers masters that died or were removed.
            guard let slot else {
                guard let i = map.owner.first(where: { $0 >= 0 }) else { return .unserved }
                return .node(map.nodes[Int(i)])
            }
            let i = map.owner[slot]
            return i >= 0 ? .node(map.nodes[Int(i)]) : .unserved
        }
    }

    private func moved(_ slot: Int, to node: HostPort, on loop: EventLoop) {
        map.withLockedValue { map in
            guard slot >= 0, slot < ClusterSlot.count else { return }
            map.owner[slot] = map.index(of: node)
        }
        refreshSoon(on: loop)
    }

    /// A background reload, at most one in flight and ten a second.
    private func refreshSoon(on loop: EventLoop) {
        let due = map.withLockedValue { $0.refreshing == nil && NIODeadline.now() - $0.lastRefresh > .milliseconds(100) }
        if due { _ = refresh(on: loop) }
    }

    /// Loads the slot map from the first node that answers `CLUSTER SLOTS`
    /// (known masters first, then the seeds).
    func refresh(on loop: EventLoop) -> EventLoopFuture<Void> {
        let (existing, promise, candidates): (EventLoopFuture<Void>?, EventLoopPromise<Void>?, [HostPort]) = map.withLockedValue { map in
            if let running = map.refreshing { return (running, nil, []) }
            let promise = loop.makePromise(of: Void.self)
            map.refreshing = promise.futureResult
            var candidates = map.nodes
            if !candidates.isEmpty {
                let first = map.nextSource % candidates.count
                candidates = Array(candidates[first...] + candidates[..<first])
                map.nextSource += 1
            }
            for seed in seeds where !candidates.contains(seed) { candidates.append(seed) }
            return (nil, promise, candidates)
        }
        if let existing { return existing }
        let deadline = NIODeadline.now() + configuration.timeout
        @Sendable func attempt(_ i: Int, _ errors: [String]) -> EventLoopFuture<[(ClosedRange<Int>, HostPort)]> {
            guard i < candidates.count else {
                return loop.makeFailedFuture(RedisError.connectionUnavailable(
                    "no cluster node gave the slot map: \(errors.joined(separator: "; "))"))
            }
            let node = candidates[i]
            return slots(from: node, on: loop, deadline: deadline).flatMapError { error in
                attempt(i + 1, errors + ["\(node): \(error)"])
            }
        }
        attempt(0, []).whenComplete { result in
            self.map.withLockedValue { map in
                map.refreshing = nil
                map.lastRefresh = .now()
                if case .success(let ranges) = result {
                    var owner = [Int16](repeating: -1, count: ClusterSlot.count)
                    for (range, node) in ranges {
                        let i = map.index(of: node)
                        for s in range where s < ClusterSlot.count { owner[s] = i }
                    }
                    map.owner = owner
                    map.loaded = true
                }
            }
            switch result {
            case .success: promise!.succeed(())
            case .failure(let error):
                self.logger.warning("cannot load the cluster slot map", metadata: ["error": "\(error)"])
                promise!.fail(error)
            }
        }
        return promise!.futureResult
    }

    private func slots(from node: HostPort, on loop: EventLoop,
                       deadline: NIODeadline) -> EventLoopFuture<[(ClosedRange<Int>, HostPort)]> {
        var configuration = self.configuration
        configuration.address = node.address
        return RedisConnection.connect(to: configuration, on: loop, deadline: deadline).flatMap { connection in
            connection.send(RedisCommand(["CLUSTER", "SLOTS"]), deadline: deadline).flatMapThrowing { reply in
                if let message = reply.errorMessage { throw RedisError.server(message) }
                return try Self.parseSlots(reply.value, queried: node)
            }.always { _ in _ = connection.close() }
        }
    }

    /// CLUSTER SLOTS: `[[start, end, [host, port, id, …], replicas…], …]`; an empty
    /// host means "the address you reached me on".
    static func parseSlots(_ value: RESPValue, queried: HostPort) throws -> [(ClosedRange<Int>, HostPort)] {
        guard let entries = value.array else { throw RedisError.unexpectedReply("CLUSTER SLOTS: \(value)") }
        var out: [(ClosedRange<Int>, HostPort)] = []
        for entry in entries {
            guard let e = entry.array, e.count >= 3, let start = e[0].int, let end = e[1].int, start <= end,
                  let master = e[2].array, master.count >= 2, let port = master[1].int else {
                throw RedisError.unexpectedReply("CLUSTER SLOTS entry: \(entry)")
            }
            let host = master[0].string.flatMap { $0.isEmpty || $0 == "?" ? nil : $0 } ?? queried.host
            out.append((Int(start)...Int(end), HostPort(host: host, port: Int(port))))
        }
        return out
    }

    /// Every master that owns slots (for SCAN), after a fresh look at the map.
    func primaries(on loop: EventLoop) -> EventLoopFuture<[HostPort]> {
        refresh(on: loop).map {
            self.map.withLockedValue { map in
                Set(map.owner.filter { $0 >= 0 }).sorted().map { map.nodes[Int($0)] }
            }
        }
    }

    func send(_ command: RedisCommand, to node: HostPort, on loop: EventLoop, deadline: NIODeadline) -> EventLoopFuture<RedisReply> {
        manager(node, on: loop).send(.command(command), deadline: deadline)
    }

    func shutdown() async {
        for nodes in loops {
            for m in nodes.managers.withLockedValue({ Array($0.values) }) {
                try? await m.shutdown().get()
            }
        }
    }
}
