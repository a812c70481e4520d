import NIOCore
import Redis
import NIOConcurrencyHelpers

/// Conditions of a PUT: `If-Match` and `If-None-Match`, reduced to versions.
public struct Preconditions: Sendable, Equatable {
    public enum Tags: Sendable, Equatable {
        case any
        case versions([Int64])
    }

    public var ifMatch: Tags?
    public var ifNoneMatch: Tags?

    public init(ifMatch: Tags? = nil, ifNoneMatch: Tags? = nil) {
        self.ifMatch = ifMatch
        self.ifNoneMatch = ifNoneMatch
    }

    static func argument(_ tags: Tags?) -> String {
        switch tags {
        case nil: return ""
        case .any: return "*"
        // A tag list that cannot match anything still has to be non-empty: ',-,'.
        case .versions(let v): return "," + (v.isEmpty ? "-" : v.map(String.init).joined(separator: ",")) + ","
        }
    }
}

/// What a read returns besides the metadata.
public enum ReadMode: Sendable, Equatable {
    case everything
    case metadata
    case key([UInt8])
}

/// The session operations of the contract, each one Redis round trip.
/// Futures complete on the event loop they were started on (the HTTP channel's).
public final class SessionStore: Sendable {
    public let configuration: SessionConfiguration
    private let redis: RedisClient
    public let layout: KeyLayout
    private let hints = TTLHints()

    public init(configuration: SessionConfiguration, redis: RedisClient) {
        self.configuration = configuration
        self.redis = redis
        self.layout = KeyLayout(prefix: configuration.keyPrefix)
    }

    private var maxlife: Int { configuration.maxLifetimeMilliseconds }

    /// In a cluster the user index is in another slot than the session: the
    /// scripts get no user prefix and leave it alone, and the `index…` methods
    /// below keep it from its own slot (Scripts.swift, "Cluster mode").
    private var cluster: Bool { redis.isCluster }
    private var userPrefixArgument: String { redis.isCluster ? "" : layout.userPrefix }

    /// Cluster mode: the session `id` (expiring at `at`) is in `user`'s index.
    /// `/readyz`: whether Redis can serve sessions now (`RedisClient.ready`).
    public func ready(on loop: EventLoop) -> EventLoopFuture<Void> {
        redis.ready(on: loop).domainErrors()
    }

    private func indexAdd(_ user: String, _ id: String, at: Int64, on loop: EventLoop) -> EventLoopFuture<Void> {
        var call = ScriptCall(Scripts.indexAdd, keys: [layout.user(user)])
        call.append(id)
        call.append(Int(at))
        return run(call, on: loop).map { _ in }
    }

    /// Cluster mode: `id` leaves `user`'s index.
    private func indexRemove(_ user: String, _ id: String, on loop: EventLoop) -> EventLoopFuture<Void> {
        var command = RedisCommand("SREM")
        command.append(layout.user(user))
        command.append(id)
        return redis.send(command, key: layout.user(user), on: loop, durable: true).map { _ in }.domainErrors()
    }

    /// Cluster mode: after a session changed, its index entries follow (new user in, old user out).
    private func reindex(_ s: Session, previousUser: String?, on loop: EventLoop) -> EventLoopFuture<Void> {
        guard cluster else { return loop.makeSucceededVoidFuture() }
        var steps: [EventLoopFuture<Void>] = []
        if let user = s.user { steps.append(indexAdd(user, s.id, at: s.expiresAtMilliseconds, on: loop)) }
        if let previousUser, previousUser != s.user { steps.append(indexRemove(previousUser, s.id, on: loop)) }
        return EventLoopFuture.andAllSucceed(steps, on: loop)
    }

    private func run(_ call: ScriptCall, on loop: EventLoop) -> EventLoopFuture<[RESPValue]> {
        run(call, on: loop) { $0 }
    }

    /// Runs a script and hands its reply, as an array, to `body` within the same future.
    private func run<T: Sendable>(_ call: ScriptCall, on loop: EventLoop,
                                  _ body: @escaping @Sendable ([RESPValue]) throws -> T) -> EventLoopFuture<T> {
        redis.run(call, on: loop) { result in
            switch result {
            case .failure(let error):
                throw SessionError(error)
            case .success(.array(let a)) where !a.isEmpty:
                return try body(a)
            case .success(let reply):
                if case .integer = reply { return try body([reply]) }
                throw SessionError.storeFailed("\(reply)")
            }
        }
    }

    /// Maps the common result codes of the scripts to errors.
    private static func check(_ code: Int64?) throws(SessionError) {
        switch code {
        case 0: throw .sessionNotFound
        case -1: throw .preconditionFailed
        case -3: throw .invalid("the session would have more keys than the limit allows")
        case 1, 2: return
        default: throw .storeFailed("result code \(String(describing: code))")
        }
    }

    private static func session(id: String, _ r: [RESPValue], dataAt: Int?) throws(SessionError) -> Session {
        guard r.count >= 4, let now = r[1].int, let pttl = r[2].int else {
            throw .storeFailed("session reply")
        }
        // The hot read path sends the whole hash instead of a separate metadata array.
        let meta: Meta.Values
        if r[3].isNull, r.count > 4, let values = Meta.parse(hash: r[4]) {
            meta = values
        } else {
            meta = try Meta.parse(r[3])
        }
        let data = dataAt.flatMap { $0 < r.count ? Meta.data(fromHash: r[$0]) : nil } ?? []
        return Session(id: id, data: data, ttl: meta.ttl, expiresInMilliseconds: max(pttl, 0), nowMilliseconds: now,
                       createdMilliseconds: meta.created, user: meta.user, version: meta.version,
                       fixedExpiry: meta.expiresAt, device: meta.device, seenMilliseconds: meta.seen)
    }

    private static func append(_ data: [DataEntry], to call: inout ScriptCall) {
        for entry in data {
            call.append(bytes: KeyLayout.dataField(entry.key))
            call.append(bytes: entry.json)
        }
    }

    // MARK: Create

    /// POST: a new session under a fresh server-made id (retried on the
    /// astronomically unlikely collision: a create never overwrites).
    public func create(_ input: SessionInput, on loop: EventLoop) -> EventLoopFuture<Session> {
        let ttl: Int
        if case .value(let t) = input.ttl { ttl = t } else { ttl = configuration.defaultTTL }
        let user: String?
        if case .value(let u) = input.user { user = u } else { user = nil }
        let data = input.data ?? []
        let device: [UInt8]?
        if case .value(let d) = input.device { device = d } else { device = nil }
        @Sendable func attempt(_ left: Int) -> EventLoopFuture<Session> {
            let id = SessionID.generate()
            var call = ScriptCall(Scripts.create, keys: [layout.session(id)])
            call.append(ttl)
            call.append(user ?? "")
            call.append(maxlife)
            call.append(userPrefixArgument)
            call.append(id)
            call.append(bytes: device ?? [])
            call.append(configuration.maxSessionsPerUser)
            Self.append(data, to: &call)
            return run(call, on: loop).flatMap { r in
                if r.first?.int == -2 && left > 0 { return attempt(left - 1) }
                guard r.first?.int == 2, r.count >= 3, let now = r[1].int, let pttl = r[2].int else {
                    return loop.makeFailedFuture(SessionError.storeFailed("create: \(r)"))
                }
                var s = Session(id: id, data: data, ttl: ttl, expiresInMilliseconds: pttl, nowMilliseconds: now,
                                createdMilliseconds: now, user: user, version: 1, fixedExpiry: nil, device: device,
                                seenMilliseconds: user != nil || device != nil ? now : nil)
                s.evicted = r.count > 3 ? Int(r[3].int ?? 0) : 0
                let made = s
                self.hints.remember(made)
                return self.reindex(made, previousUser: nil, on: loop).flatMap { self.capped(made, on: loop) }
            }
        }
        return attempt(3)
    }

    // MARK: Read

    /// GET / HEAD / GET expiry / GET data key. `touch` slides the idle timeout.
    ///
    /// Whole-session and metadata reads (every page view) skip Lua when they can:
    /// a Lua call costs Redis about 10 µs of CPU, a MULTI of HGETALL and
    /// PEXPIREAT about 3 (BENCHMARKS.md). Without a touch the MULTI is exact. With
    /// one, PEXPIREAT needs the session's ttl before reading it, so it uses the ttl
    /// this process last saw for the session (`TTLHints`), or `--default-ttl` for
    /// one it has not seen; the same MULTI returns the stored metadata, and if the
    /// ttl was wrong (another sidecar changed it, fixed an expiry or set a user)
    /// the Lua read runs at once and puts the right expiry back. Sessions known
    /// to have a user or a fixed expiry, and all sessions under --max-lifetime,
    /// take the Lua read directly.
    public func read(_ id: String, mode: ReadMode, touch: Bool, on loop: EventLoop) -> EventLoopFuture<(Session, value: [UInt8]?)> {
        let promise = loop.makePromise(of: (Session, value: [UInt8]?).self)
        read(id, mode: mode, touch: touch, on: loop) { promise.completeWith($0) }
        return promise.futureResult
    }

    public typealias ReadResult = Result<(Session, value: [UInt8]?), Error>

    /// `read`, calling back instead of returning a future: the HTTP front builds
    /// its response there, so a page view makes one promise (the front's), and
    /// nothing generic runs on the way (an unspecialised generic costs a
    /// metadata lookup per call: ~4 % of a read in perf).
    public func read(_ id: String, mode: ReadMode, touch: Bool, on loop: EventLoop,
                     _ completion: @escaping @Sendable (ReadResult) -> Void) {
        if maxlife == 0 && (mode == .everything || mode == .metadata) {
            if !touch { return fastRead(id, mode: mode, touchTTL: nil, on: loop, completion) }
            if configuration.touchInterval > 0, hints.hint(of: id) != .script {
                // Read and PTTL; slide (atomically, in Lua) only when the interval is up.
                return fastRead(id, mode: mode, touchTTL: nil, slideAfterInterval: true, on: loop, completion)
            }
            switch hints.hint(of: id) {
            case .ttl(let ttl):
                return fastRead(id, mode: mode, touchTTL: ttl, on: loop, completion)
            case .unknown:
                // Never seen here (another sidecar made it, a restart, a large working
                // set): most sessions keep the default ttl, so guess it; a wrong guess
                // is repaired by the Lua read in the same request, as a stale hint is.
                return fastRead(id, mode: mode, touchTTL: configuration.defaultTTL, on: loop, completion)
            case .script:
                break
            }
        }
        scriptRead(id, mode: mode, touch: touch, repair: false, on: loop).whenComplete(completion)
    }

    private func scriptRead(_ id: String, mode: ReadMode, touch: Bool, repair: Bool,
                            on loop: EventLoop) -> EventLoopFuture<(Session, value: [UInt8]?)> {
        var call = ScriptCall(Scripts.read, keys: [layout.session(id)])
        call.append(touch ? "1" : "0")
        call.append(maxlife)
        call.append(userPrefixArgument)
        call.append(id)
        switch mode {
        case .everything: call.append("all"); call.append("")
        case .metadata: call.append("meta"); call.append("")
        case .key(let k):
            call.append("field")
            call.append(bytes: KeyLayout.dataField(k))
        }
        call.append(repair ? "1" : "0")
        call.append(Int(configuration.touchIntervalMilliseconds))
        return run(call, on: loop) { r in
            if r.first?.int == 0 { self.hints.forget(id) }
            try Self.check(r.first?.int)
            let s: Session
            var value: [UInt8]? = nil
            switch mode {
            case .everything:
                s = try Self.session(id: id, r, dataAt: 4)
            case .metadata:
                s = try Self.session(id: id, r, dataAt: nil)
            case .key:
                s = try Self.session(id: id, r, dataAt: nil)
                guard r.count >= 5, case .bulk(let v) = r[4] else { throw SessionError.keyNotFound }
                value = v
            }
            self.hints.remember(s)
            // Cluster mode: the touch moved the expiry, so the index must live as long.
            // Not waited for: a read never fails on its index (stale ids are pruned).
            // With --touch-interval, only after a read that slid (its TTL is back at full).
            if self.cluster, touch, s.user != nil, s.fixedExpiry == nil,
               self.configuration.touchInterval == 0 || s.expiresInMilliseconds > Int64(s.ttl) * 1000 - 2000 {
                _ = self.reindex(s, previousUser: nil, on: loop)
            }
            return (s, value)
        }
    }

    /// What one MULTI read found.
    private enum FastRead {
        case found(Session)
        case missing
        /// The ttl hint was out of date: the touch used the wrong ttl.
        case stale
    }

    /// `slideAfterInterval` (`--touch-interval`): no touch in the MULTI; a session
    /// whose expiry is more than the interval behind a full slide goes on to the Lua
    /// read, which slides it atomically. Most reads of a busy session stop at PTTL.
    private func fastRead(_ id: String, mode: ReadMode, touchTTL: Int?, slideAfterInterval: Bool = false,
                          on loop: EventLoop, _ completion: @escaping @Sendable (ReadResult) -> Void) {
        let key = layout.session(id)
        let sent = NIODeadline.now()
        // Redis's time from the clock estimate when there is a fresh one; else
        // TIME in this transaction (and a relative PEXPIRE), which refreshes it.
        // GT either way: the touch only ever extends, so a key under the prefix
        // that is not a session (no TTL) is left alone, and a bad estimate or a
        // wrong ttl guess never cuts a session short before the repair.
        let now = redis.clock.milliseconds(at: sent)
        var t = RedisTransaction(capacity: 160 + 2 * key.utf8.count)
        if now == nil { t.append("TIME") }
        if mode == .everything {
            t.append("HGETALL", key)
        } else {
            t.append("HMGET", key, Meta.fields)
        }
        switch (touchTTL, now) {
        case (let ttl?, let now?):
            t.append("PEXPIREAT", key, Int(now) + ttl * 1000, "GT")
        case (let ttl?, nil):
            t.append("PEXPIRE", key, ttl * 1000, "GT")
        case (nil, _):
            t.append("PTTL", key)
        }

        let clock = redis.clock
        redis.exec(t, on: loop) { result in
            let outcome: FastRead
            do {
                outcome = try Self.fastReadOutcome(id: id, mode: mode, touchTTL: touchTTL, now: now, result) { s, us in
                    clock.record(seconds: s, microseconds: us, sent: sent, received: .now())
                }
            } catch SessionError.outOfMemory {
                // A full Redis refuses every command queued in a MULTI, even HGETALL;
                // the Lua read (allow-oom) still reads and slides, so a full Redis
                // refuses writes but never logs anyone out.
                return self.scriptRead(id, mode: mode, touch: touchTTL != nil || slideAfterInterval, repair: false, on: loop)
                    .whenComplete(completion)
            } catch {
                return completion(.failure(error))
            }
            switch outcome {
            case .found(let s) where slideAfterInterval && Self.slideIsDue(s, interval: self.configuration.touchIntervalMilliseconds):
                self.scriptRead(id, mode: mode, touch: true, repair: false, on: loop).whenComplete(completion)
            case .found(let s):
                // A touch that used the hint just confirmed it; only a read without one teaches anything.
                if touchTTL == nil { self.hints.remember(s) }
                completion(.success((s, nil)))
            case .missing:
                self.hints.forget(id)
                completion(.failure(SessionError.sessionNotFound))
            case .stale:
                self.scriptRead(id, mode: mode, touch: true, repair: true, on: loop).whenComplete(completion)
            }
        }
    }

    /// Whether a read should slide `s` under `--touch-interval`: a full slide would move
    /// its expiry later by more than the interval. A fixed expiry never slides; a
    /// session with a user slides in Lua, which also extends its index.
    static func slideIsDue(_ s: Session, interval: Int64) -> Bool {
        guard s.fixedExpiry == nil else { return false }
        if s.tracksSeen { return true }
        return Int64(s.ttl) * 1000 - s.expiresInMilliseconds > effectiveInterval(interval, ttl: s.ttl)
    }

    /// `--touch-interval`, but never more than half the session's ttl: a session whose
    /// ttl is at most the interval would otherwise never slide and expire while in use
    /// (read.lua does the same).
    static func effectiveInterval(_ interval: Int64, ttl: Int) -> Int64 { min(interval, Int64(ttl) * 500) }

    /// Reads EXEC's reply `[TIME?, HGETALL | HMGET, PEXPIREAT | PEXPIRE | PTTL]` in
    /// place; TIME is there when `now` is nil, and goes to `sampled`.
    private static func fastReadOutcome(id: String, mode: ReadMode, touchTTL: Int?, now estimated: Int64?,
                                        _ result: Result<RedisReply, RedisError>,
                                        sampled: (Int64, Int64) -> Void) throws(SessionError) -> FastRead {
        let r: RedisReply
        switch result {
        case .success(let reply): r = reply
        case .failure(let e): throw SessionError(e)
        }
        let now: Int64
        let fetched: Int
        if let estimated {
            guard r.kind(RedisReply.root) == .array, r.count(RedisReply.root) == 2 else {
                throw .storeFailed("read transaction: \(r.value)")
            }
            now = estimated
            fetched = r.firstChild(RedisReply.root)
        } else {
            let time = r.firstChild(RedisReply.root)
            guard r.kind(RedisReply.root) == .array, r.count(RedisReply.root) == 3, r.kind(time) == .array,
                  r.count(time) == 2, let seconds = r.int(time + 1), let micros = r.int(time + 2) else {
                throw .storeFailed("read transaction: \(r.value)")
            }
            sampled(seconds, micros)
            now = seconds * 1000 + micros / 1000
            fetched = r.next(time)
        }
        guard r.kind(fetched) == .array, let third = r.int(r.next(fetched)) else {
            throw .storeFailed("read transaction: \(r.value)")
        }
        let meta: Meta.Values
        var hash: HashData? = nil
        if mode == .everything {
            // No hash, or one without metadata (not ours): no session, as in the Lua read.
            guard let values = Meta.parse(hashIn: r, at: fetched) else { return .missing }
            meta = values
            hash = HashData(reply: r, at: fetched)
        } else {
            if r.kind(fetched + 1) == .null { return .missing }
            meta = try Meta.parse(r.value.array![estimated == nil ? 1 : 0])
        }
        let pttl: Int64
        if let ttl = touchTTL {
            guard meta.ttl == ttl, meta.expiresAt == nil, meta.user == nil, meta.device == nil else { return .stale }
            pttl = Int64(ttl) * 1000
        } else {
            // -1 only if someone PERSISTed the key; report no time left rather than a negative one.
            pttl = max(third, 0)
        }
        var s = Session(id: id, data: [], ttl: meta.ttl, expiresInMilliseconds: pttl, nowMilliseconds: now,
                        createdMilliseconds: meta.created, user: meta.user, version: meta.version,
                        fixedExpiry: meta.expiresAt, device: meta.device, seenMilliseconds: meta.seen)
        s.hash = hash
        return .found(s)
    }

    // MARK: Replace

    /// PUT: replace data (and ttl/user when given); creates when absent unless a precondition forbids it.
    public func replace(_ id: String, _ input: SessionInput, preconditions: Preconditions,
                        on loop: EventLoop) -> EventLoopFuture<(Session, created: Bool)> {
        var call = ScriptCall(Scripts.replace, keys: [layout.session(id)])
        call.append(Preconditions.argument(preconditions.ifMatch))
        call.append(Preconditions.argument(preconditions.ifNoneMatch))
        switch input.ttl {
        case .value(let t): call.append(t)
        case .null: call.append(configuration.defaultTTL)
        case .absent: call.append("")
        }
        switch input.user {
        case .absent: call.append("keep"); call.append("")
        case .null: call.append("clear"); call.append("")
        case .value(let u): call.append("set"); call.append(u)
        }
        call.append(configuration.defaultTTL)
        call.append(maxlife)
        call.append(userPrefixArgument)
        call.append(id)
        switch input.device {
        case .absent: call.append("keep"); call.append("")
        case .null: call.append("clear"); call.append("")
        case .value(let d): call.append("set"); call.append(bytes: d)
        }
        call.append(configuration.maxSessionsPerUser)
        let data = input.data ?? []
        Self.append(data, to: &call)
        let replaced = run(call, on: loop) { r in
            try Self.check(r.first?.int)
            var s = try Self.session(id: id, r, dataAt: nil)
            s.data = data
            s.evicted = r.count > 5 ? Int(r[5].int ?? 0) : 0
            self.hints.remember(s)
            return (s, r.first?.int == 2, r.count > 4 ? r[4].string : nil)
        }
        guard cluster else { return replaced.map { ($0.0, $0.1) } }
        let login: Bool
        if case .value = input.user { login = true } else { login = false }
        return replaced.flatMap { s, created, previousUser in
            self.reindex(s, previousUser: previousUser, on: loop)
                .flatMap { login ? self.capped(s, on: loop) : loop.makeSucceededFuture(s) }
                .map { ($0, created) }
        }
    }

    // MARK: Write (patch, one key, clear)

    /// Applies `set` and `delete` (and `clear` first) atomically. Returns the session
    /// with its data when `withData` (PATCH), else only metadata.
    public func write(_ id: String, set: [DataEntry], delete: [[UInt8]], clear: Bool = false,
                      ifMatch: Preconditions.Tags? = nil, withData: Bool,
                      on loop: EventLoop) -> EventLoopFuture<Session> {
        var call = ScriptCall(Scripts.write, keys: [layout.session(id)])
        call.append(Preconditions.argument(ifMatch))
        call.append(maxlife)
        call.append(userPrefixArgument)
        call.append(id)
        call.append(clear ? "1" : "0")
        call.append(configuration.limits.maxKeys)
        call.append(withData ? "all" : "none")
        call.append(set.count)
        Self.append(set, to: &call)
        for k in delete { call.append(bytes: KeyLayout.dataField(k)) }
        let written = run(call, on: loop) { r in
            try Self.check(r.first?.int)
            let s = try Self.session(id: id, r, dataAt: withData ? 4 : nil)
            self.hints.remember(s)
            return s
        }
        guard cluster else { return written }
        return written.flatMap { s in self.reindex(s, previousUser: nil, on: loop).map { s } }
    }

    // MARK: Delete

    /// DELETE: the session and its index entry. Succeeds when absent too.
    public func delete(_ id: String, on loop: EventLoop) -> EventLoopFuture<Bool> {
        var call = ScriptCall(Scripts.delete, keys: [layout.session(id)])
        call.append(userPrefixArgument)
        call.append(id)
        hints.forget(id)
        let deleted = run(call, on: loop)
        guard cluster else { return deleted.map { r in (r.first?.int ?? 0) > 0 } }
        return deleted.flatMap { r in
            let gone = (r.first?.int ?? 0) > 0
            guard r.count > 1, let user = r[1].string else { return loop.makeSucceededFuture(gone) }
            return self.indexRemove(user, id, on: loop).map { gone }
        }
    }

    // MARK: Expiry

    public func setExpiry(_ id: String, _ input: ExpiryInput, on loop: EventLoop) -> EventLoopFuture<Session> {
        var call = ScriptCall(Scripts.setExpiry, keys: [layout.session(id)])
        switch input {
        case .ttl(let t): call.append("ttl"); call.append(t)
        case .defaultTTL: call.append("ttl"); call.append(configuration.defaultTTL)
        case .at(let ms): call.append("at"); call.append(Int(ms))
        }
        call.append(maxlife)
        call.append(userPrefixArgument)
        call.append(id)
        let changed = run(call, on: loop) { r in
            try Self.check(r.first?.int)
            let s = try Self.session(id: id, r, dataAt: nil)
            self.hints.remember(s)
            return s
        }
        guard cluster else { return changed }
        return changed.flatMap { s in self.reindex(s, previousUser: nil, on: loop).map { s } }
    }

    // MARK: Cycle

    /// POST cycle: same data, ttl, user and creation time under a new id; the old id is gone.
    public func cycle(_ id: String, on loop: EventLoop) -> EventLoopFuture<Session> {
        if cluster { return clusterCycle(id, on: loop) }
        @Sendable func attempt(_ left: Int) -> EventLoopFuture<Session> {
            let newID = SessionID.generate()
            var call = ScriptCall(Scripts.cycle, keys: [layout.session(id), layout.session(newID)])
            call.append(maxlife)
            call.append(userPrefixArgument)
            call.append(id)
            call.append(newID)
            call.append(configuration.maxSessionsPerUser)
            return run(call, on: loop).flatMap { r in
                if r.first?.int == -2 && left > 0 { return attempt(left - 1) }
                return loop.makeCompletedFuture {
                    try Self.check(r.first?.int)
                    var s = try Self.session(id: newID, r, dataAt: 4)
                    s.evicted = r.count > 5 ? Int(r[5].int ?? 0) : 0
                    self.hints.forget(id)
                    self.hints.remember(s)
                    return s
                }
            }
        }
        return attempt(3)
    }

    /// Cycle in a cluster, where the two ids are in different slots: copy the
    /// session to the new id (never over an existing one), then delete the old
    /// id only if nobody wrote to it meanwhile (else drop the copy and start
    /// over), then move the index entry. A crash between the copy and the
    /// delete leaves both ids valid until the copy expires: the client got no
    /// answer and still holds the old id (README, "Redis Cluster").
    private func clusterCycle(_ id: String, on loop: EventLoop) -> EventLoopFuture<Session> {
        @Sendable func attempt(_ left: Int) -> EventLoopFuture<Session> {
            var export = ScriptCall(Scripts.cycleExport, keys: [layout.session(id)])
            export.append(maxlife)
            return run(export, on: loop).flatMap { r -> EventLoopFuture<Session> in
                guard r.first?.int == 1 else {
                    self.hints.forget(id)
                    return loop.makeFailedFuture(SessionError.sessionNotFound)
                }
                guard r.count == 4, let now = r[1].int, case .array(var meta) = r[2], meta.count == Meta.fields.count,
                      let version = meta[4].int, let ttl = meta[0].int, let created = meta[1].int,
                      case .array(let hash) = r[3] else {
                    return loop.makeFailedFuture(SessionError.storeFailed("cycle export: \(r)"))
                }
                var at = meta[2].int ?? now + ttl * 1000
                if self.maxlife > 0 && created + Int64(self.maxlife) < at { at = created + Int64(self.maxlife) }
                if at <= now { at = now + 1 }
                let newID = SessionID.generate()
                var copy = ScriptCall(Scripts.cycleImport, keys: [self.layout.session(newID)])
                copy.append(Int(at))
                // A cycle is a write: a session with a user or a device is seen now.
                let tracksSeen = !meta[3].isNull || !meta[5].isNull
                let seenNow = Array(String(now).utf8)
                var i = 0
                while i + 1 < hash.count {
                    guard let field = hash[i].bytes, let value = hash[i + 1].bytes else { break }
                    if field != Array("meta:seen".utf8) {
                        copy.append(bytes: field)
                        copy.append(bytes: field == Array("meta:version".utf8) ? Array(String(version + 1).utf8) : value)
                    }
                    i += 2
                }
                if tracksSeen {
                    copy.append("meta:seen")
                    copy.append(bytes: seenNow)
                    meta[6] = .bulk(seenNow)
                }
                meta[4] = .bulk(Array(String(version + 1).utf8))
                let (expiry, newMeta) = (at, meta)
                return self.run(copy, on: loop).flatMap { c -> EventLoopFuture<Session> in
                    if c.first?.int == -2 { return left > 0 ? attempt(left - 1) : loop.makeFailedFuture(SessionError.unavailable(reason: "the new id was taken, retry", cause: "cycle: new id taken")) }
                    var retire = ScriptCall(Scripts.cycleRetire, keys: [self.layout.session(id)])
                    retire.append(Int(version))
                    return self.run(retire, on: loop).flatMap { d -> EventLoopFuture<Session> in
                        guard d.first?.int == 1 else {
                            // Written (or deleted) since the export: the copy is stale.
                            var drop = RedisCommand("DEL")
                            drop.append(self.layout.session(newID))
                            return self.redis.send(drop, key: self.layout.session(newID), on: loop, durable: true)
                                .domainErrors()
                                .flatMap { _ in
                                    left > 0 ? attempt(left - 1)
                                        : loop.makeFailedFuture(SessionError.unavailable(reason: "the session kept changing during cycle, retry", cause: "cycle: concurrent writes"))
                                }
                        }
                        let s: Session
                        do {
                            s = try Self.session(id: newID, [.integer(1), .integer(now), .integer(expiry - now), .array(newMeta), .array(hash)],
                                                 dataAt: 4)
                        } catch {
                            return loop.makeFailedFuture(error)
                        }
                        self.hints.forget(id)
                        self.hints.remember(s)
                        return self.reindex(s, previousUser: nil, on: loop)
                            .flatMap { s.user.map { self.indexRemove($0, id, on: loop) } ?? loop.makeSucceededVoidFuture() }
                            .flatMap { self.capped(s, on: loop) }
                    }
                }
            }
        }
        return attempt(3)
    }

    // MARK: Session cap

    /// `--max-sessions-per-user` in Cluster mode, after `s` was written and indexed
    /// (single-node mode does this inside the write's own script). The sessions
    /// live in other slots than their index, so this reads the index, then each
    /// session, and deletes the least recently seen beyond the cap one by one
    /// (`delete_if_user`, then SREM). Not atomic, so it only ever evicts sessions
    /// seen before `s`: two racing logins never evict each other, the user's most
    /// recent sessions always survive, and racing logins can leave the user above
    /// the cap until the next login (README, "Devices and session caps").
    func capped(_ s: Session, on loop: EventLoop) -> EventLoopFuture<Session> {
        let cap = configuration.maxSessionsPerUser
        guard cluster, cap > 0, let user = s.user else { return loop.makeSucceededFuture(s) }
        let mine = Self.recency(s)
        return clusterSessions(ofUser: user, on: loop).flatMap { sessions in
            let others = sessions.filter { $0.id != s.id }
            let excess = others.count + 1 - cap
            guard excess > 0 else { return loop.makeSucceededFuture(s) }
            let older = Self.mostRecentlySeenFirst(others).filter { Self.recency($0) < mine }
            let victims = older.suffix(excess)
            let deletions = victims.map { victim -> EventLoopFuture<Int> in
                var call = ScriptCall(Scripts.deleteIfUser, keys: [self.layout.session(victim.id)])
                call.append(user)
                self.hints.forget(victim.id)
                return self.run(call, on: loop).flatMap { r in
                    self.indexRemove(user, victim.id, on: loop).map { Int(r.first?.int ?? 0) }
                }
            }
            return EventLoopFuture.whenAllSucceed(deletions, on: loop).map { counts in
                var out = s
                out.evicted += counts.reduce(0, +)
                return out
            }
        }
    }

    // MARK: Users

    /// The user's live sessions, most recently seen first; stale index entries are pruned on the way.
    public func sessions(ofUser user: String, on loop: EventLoop) -> EventLoopFuture<[Session]> {
        if cluster { return clusterSessions(ofUser: user, on: loop) }
        var call = ScriptCall(Scripts.listUser, keys: [layout.user(user)])
        call.append(layout.sessionPrefix)
        call.append(user)
        return run(call, on: loop) { r in
            guard let now = r.first?.int else { throw SessionError.storeFailed("list") }
            var out: [Session] = []
            for entry in r.dropFirst() {
                guard let e = entry.array, e.count == 4, let id = e[0].string, let pttl = e[1].int else { continue }
                let meta = try Meta.parse(e[2])
                out.append(Session(id: id, data: Meta.data(fromHash: e[3]), ttl: meta.ttl,
                                   expiresInMilliseconds: max(pttl, 0), nowMilliseconds: now,
                                   createdMilliseconds: meta.created, user: meta.user, version: meta.version,
                                   fixedExpiry: meta.expiresAt, device: meta.device, seenMilliseconds: meta.seen))
            }
            return Self.mostRecentlySeenFirst(out)
        }
    }

    /// §3: a user's sessions, most recently seen first (a session without `meta:seen`,
    /// written before sessiond kept it, counts as seen when it was created). Ties
    /// go by id, larger first: one total order, (seen, id), for listing and for the
    /// cap here and in Lua, so no two evictions ever disagree on which is older.
    static func mostRecentlySeenFirst(_ sessions: [Session]) -> [Session] {
        sessions.sorted { recency($0) > recency($1) }
    }

    static func recency(_ s: Session) -> (Int64, String) { (s.seenMilliseconds ?? s.createdMilliseconds, s.id) }

    /// The ids in a user's index (cluster mode reads them, then each session in its own slot).
    private func indexMembers(_ user: String, on loop: EventLoop) -> EventLoopFuture<[String]> {
        var command = RedisCommand("SMEMBERS")
        command.append(layout.user(user))
        return redis.send(command, key: layout.user(user), on: loop).map { $0.array?.compactMap(\.string) ?? [] }.domainErrors()
    }

    private func clusterSessions(ofUser user: String, on loop: EventLoop) -> EventLoopFuture<[Session]> {
        indexMembers(user, on: loop).flatMap { ids in
            let reads = ids.map { id -> EventLoopFuture<Session?> in
                var call = ScriptCall(Scripts.peekUser, keys: [self.layout.session(id)])
                call.append(user)
                return self.run(call, on: loop).flatMap { r in
                    guard r.first?.int == 1 else {
                        // Gone or someone else's: prune the stale entry.
                        return self.indexRemove(user, id, on: loop).map { nil }
                    }
                    return loop.makeCompletedFuture { try Self.session(id: id, r, dataAt: 4) }
                }
            }
            return EventLoopFuture.whenAllSucceed(reads, on: loop).map { found in
                Self.mostRecentlySeenFirst(found.compactMap { $0 })
            }
        }
    }

    /// Log out everywhere (but `except`). Returns how many sessions were deleted.
    public func deleteSessions(ofUser user: String, except: String?, on loop: EventLoop) -> EventLoopFuture<Int> {
        if cluster {
            return indexMembers(user, on: loop).flatMap { ids in
                let deletions = ids.filter { $0 != except }.map { id -> EventLoopFuture<Int> in
                    var call = ScriptCall(Scripts.deleteIfUser, keys: [self.layout.session(id)])
                    call.append(user)
                    self.hints.forget(id)
                    return self.run(call, on: loop).flatMap { r in
                        self.indexRemove(user, id, on: loop).map { Int(r.first?.int ?? 0) }
                    }
                }
                return EventLoopFuture.whenAllSucceed(deletions, on: loop).map { $0.reduce(0, +) }
            }
        }
        var call = ScriptCall(Scripts.deleteUser, keys: [layout.user(user)])
        call.append(layout.sessionPrefix)
        call.append(user)
        call.append(except ?? "")
        return run(call, on: loop).map { r in Int(r.first?.int ?? 0) }
    }

    // MARK: Flush

    /// Drops every session (and user index) under the prefix with SCAN + UNLINK:
    /// never FLUSHDB or KEYS, so other data in the database and Redis's latency are safe.
    public func deleteAll(on loop: EventLoop) -> EventLoopFuture<Int> {
        let patterns = [Self.globEscape(layout.sessionPrefix) + "*", Self.globEscape(layout.userPrefix) + "*"]
        let redis = self.redis
        // Every master of a cluster holds some of the keys: SCAN each one.
        return redis.primaries(on: loop).flatMap { nodes in
            let counts = nodes.map { node in
                Self.deleteAll(matching: patterns, on: node, redis: redis, loop: loop)
            }
            return EventLoopFuture.whenAllSucceed(counts, on: loop).map { $0.reduce(0, +) }
        }.domainErrors()
    }

    private static func deleteAll(matching patterns: [String], on node: RedisNode, redis: RedisClient,
                                  loop: EventLoop) -> EventLoopFuture<Int> {
        @Sendable func scan(_ patternIndex: Int, cursor: String, deleted: Int) -> EventLoopFuture<Int> {
            var cmd = RedisCommand("SCAN")
            cmd.append(cursor)
            cmd.append("MATCH")
            cmd.append(patterns[patternIndex])
            cmd.append("COUNT")
            cmd.append("1000")
            return redis.send(cmd, to: node, on: loop).flatMap { reply -> EventLoopFuture<Int> in
                guard let parts = reply.array, parts.count == 2, let next = parts[0].string, let keys = parts[1].array else {
                    return loop.makeFailedFuture(SessionError.storeFailed("SCAN: \(reply)"))
                }
                let unlinked: EventLoopFuture<Int>
                if keys.isEmpty {
                    unlinked = loop.makeSucceededFuture(0)
                } else if redis.isCluster {
                    // One UNLINK per key: a command's keys must share a slot.
                    let each = keys.compactMap(\.string).map { key in
                        var unlink = RedisCommand("UNLINK")
                        unlink.append(key)
                        return redis.send(unlink, key: key, on: loop, durable: true).map { Int($0.int ?? 0) }
                    }
                    unlinked = EventLoopFuture.whenAllSucceed(each, on: loop).map { $0.reduce(0, +) }
                } else {
                    var unlink = RedisCommand("UNLINK")
                    for k in keys { if let b = k.bytes { unlink.append(bytes: b) } }
                    unlinked = redis.send(unlink, on: loop, durable: true).map { Int($0.int ?? 0) }
                }
                return unlinked.flatMap { n in
                    // Only session keys count; user indexes go with them.
                    let total = deleted + (patternIndex == 0 ? n : 0)
                    if next != "0" { return scan(patternIndex, cursor: next, deleted: total) }
                    if patternIndex + 1 < patterns.count { return scan(patternIndex + 1, cursor: "0", deleted: total) }
                    return loop.makeSucceededFuture(total)
                }
            }
        }
        return scan(0, cursor: "0", deleted: 0)
    }

    static func globEscape(_ s: String) -> String {
        var out = ""
        for c in s {
            if "*?[]\\".contains(c) { out.append("\\") }
            out.append(c)
        }
        return out
    }
}

/// What this process last saw of each session it served, for the MULTI read
/// (`SessionStore.read`): the idle timeout of a sliding session without a user,
/// or that the session needs the Lua read (a user, a fixed expiry), so a
/// logged-in session does not pay a MULTI it would fail first. A wrong hint
/// costs one extra round trip, never a wrong answer; the map is bounded and
/// simply starts over when full.
final class TTLHints: Sendable {
    static let capacity = 100_000
    /// Stored as the ttl, or 0 for "take the Lua read" (a ttl is at least 1).
    private static let script = 0

    enum Hint: Equatable {
        case ttl(Int)
        case script
        case unknown
    }

    /// A pthread lock (NIOLockedValueBox), not Synchronization.Mutex: ThreadSanitizer
    /// sees through it, and scripts/sanitize is how concurrency here is checked.
    private let map = NIOLockedValueBox<[String: Int]>([:])

    func hint(of id: String) -> Hint {
        switch map.withLockedValue({ $0[id] }) {
        case nil: return .unknown
        case Self.script?: return .script
        case let ttl?: return .ttl(ttl)
        }
    }

    func remember(_ s: Session) {
        let value = !s.tracksSeen && s.fixedExpiry == nil ? s.ttl : Self.script
        map.withLockedValue { map in
            if map[s.id] == value { return }
            if map.count >= Self.capacity { map.removeAll(keepingCapacity: true) }
            map[s.id] = value
        }
    }

    func forget(_ id: String) {
        map.withLockedValue { _ = $0.removeValue(forKey: id) }
    }
}
