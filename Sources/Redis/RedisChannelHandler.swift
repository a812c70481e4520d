import Metrics
import NIOCore

/// What one promise waits for: a command's reply, or a transaction's EXEC reply.
enum Outgoing: Sendable {
    case command(RedisCommand)
    case transaction(RedisTransaction)
}

/// Who gets a reply: a promise, or (on the per-read path, where a promise and
/// its callback list are allocations worth saving) a callback run on the loop.
enum ReplyTarget: Sendable {
    case promise(EventLoopPromise<RedisReply>)
    case callback(@Sendable (Result<RedisReply, RedisError>) -> Void)

    func succeed(_ reply: RedisReply) {
        switch self {
        case .promise(let p): p.succeed(reply)
        case .callback(let c): c(.success(reply))
        }
    }

    func fail(_ error: RedisError) {
        switch self {
        case .promise(let p): p.fail(error)
        case .callback(let c): c(.failure(error))
        }
    }
}

/// Writes RESP-encoded commands, decodes replies with hiredis's reader, and
/// matches replies to requests first-in-first-out, so any number of commands
/// can be in flight on one connection (pipelining).
///
/// Commands arrive through `enqueue` (called on the loop by `RedisConnection`,
/// not through the pipeline: no boxing per command) and are encoded into one
/// buffer that is written and flushed once per event-loop tick, so requests
/// from every HTTP connection on the loop share one `write(2)` to Redis.
///
/// Timeouts: replies come back in order, so the oldest request has the earliest
/// deadline. One timer watches it and is only re-armed when it fires; when the
/// oldest deadline has passed, the connection is declared unresponsive: every
/// pending request fails with `.timeout` and the channel is closed (a
/// connection that failed is never reused, as in hiredis).
final class RedisChannelHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private struct Pending {
        let target: ReplyTarget
        let deadline: NIODeadline
        let start: NIODeadline
        /// Replies to drop before the one that completes the promise (a transaction's `+OK`/`+QUEUED`).
        var skip: Int
        /// The first error among the dropped replies: a transaction refused at queue time
        /// (MOVED, READONLY, OOM) ends in a bare EXECABORT, and this says why instead.
        var queuedError: RedisReply?
    }

    private var pending = CircularBuffer<Pending>(initialCapacity: 64)
    private let reader = HiredisReader()
    private var context: ChannelHandlerContext?
    private var failure: RedisError?
    /// Commands encoded since the last flush.
    private var output: ByteBuffer?
    private var timer: Scheduled<Void>?
    private let maxPending: Int
    private let metrics: RedisMetrics?

    init(maxPending: Int = 65_536, metrics: RedisMetrics? = nil) {
        self.maxPending = maxPending
        self.metrics = metrics
    }

    var pendingCount: Int { pending.count }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    /// Queues a command (or transaction); its reply (or failure) completes `promise`. On the loop only.
    /// `asking`: preceded by `ASKING` (a cluster slot being imported here, after an ASK redirect).
    func enqueue(_ outgoing: Outgoing, to target: ReplyTarget, deadline: NIODeadline,
                 asking: Bool = false) {
        guard let context = ready(target) else { return }
        var skip = 0
        if asking {
            write(context) { $0.writeStaticString("*1\r\n$6\r\nASKING\r\n") }
            skip = 1
        }
        switch outgoing {
        case .command(let command):
            write(context) { command.write(into: &$0) }
        case .transaction(let transaction):
            write(context) { $0.writeImmutableBuffer(transaction.encoded) }
            skip += transaction.commandCount - 1
        }
        pending.append(Pending(target: target, deadline: deadline, start: .now(), skip: skip))
        if timer == nil { armTimer(context: context, at: deadline) }
    }

    /// The context, if commands can be queued now; otherwise fails `target`.
    private func ready(_ target: ReplyTarget) -> ChannelHandlerContext? {
        guard let context, failure == nil else {
            target.fail(failure ?? .connectionUnavailable("connection to Redis closed"))
            return nil
        }
        guard pending.count < maxPending else {
            target.fail(RedisError.connectionUnavailable("too many commands waiting for Redis"))
            return nil
        }
        return context
    }

    /// Appends to this tick's output; the first command of a tick schedules the flush.
    private func write(_ context: ChannelHandlerContext, _ body: (inout ByteBuffer) -> Void) {
        if output == nil {
            output = context.channel.allocator.buffer(capacity: 4096)
            let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
            context.eventLoop.execute { loopBound.value.flush() }
        }
        body(&output!)
    }

    private func flush() {
        guard let buffer = output else { return }
        output = nil
        metrics?.pipelineDepth.set(pending.count)
        context?.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        do {
            try reader.feed(buffer)
            let now = NIODeadline.now()
            var demoted = false
            while let reply = try reader.next(discarding: pending.first.map { $0.skip > 0 } ?? false) {
                guard !pending.isEmpty else { throw RedisError.protocolError("reply without a request") }
                if reply.kind(RedisReply.root) == .error, reply.errorMessage?.hasPrefix("READONLY") == true { demoted = true }
                if pending[pending.startIndex].skip > 0 {
                    pending[pending.startIndex].skip -= 1
                    if reply.kind(RedisReply.root) == .error, pending[pending.startIndex].queuedError == nil {
                        pending[pending.startIndex].queuedError = reply
                    }
                    continue
                }
                let head = pending.removeFirst()
                metrics?.commandDuration.recordNanoseconds((now - head.start).nanoseconds)
                if let queued = head.queuedError, reply.kind(RedisReply.root) == .error {
                    head.target.succeed(queued)
                } else {
                    head.target.succeed(reply)
                }
            }
            // The server became a replica (failover): nothing more may be written
            // here; the next connect finds the new primary.
            if demoted { fail(context: context, .connectionUnavailable("Redis is now a read-only replica")) }
        } catch {
            fail(context: context, error as? RedisError ?? .protocolError("\(error)"))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(failure ?? .connectionUnavailable("connection to Redis closed"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        fail(context: context, .connectionUnavailable(TLSFailure.describe(error) ?? "\(error)"))
    }

    private func fail(context: ChannelHandlerContext, _ error: RedisError) {
        failAll(error)
        context.close(promise: nil)
    }

    private func failAll(_ error: RedisError) {
        if failure == nil { failure = error }
        timer?.cancel()
        timer = nil
        output = nil
        while let p = pending.popFirst() { p.target.fail(error) }
        metrics?.pipelineDepth.set(0)
    }

    private func armTimer(context: ChannelHandlerContext, at deadline: NIODeadline) {
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
            self.timer = nil
            self.checkDeadlines(context: context)
        }
    }

    private func checkDeadlines(context: ChannelHandlerContext) {
        guard let head = pending.first else { return }
        if head.deadline <= .now() {
            fail(context: context, .timeout)
        } else {
            armTimer(context: context, at: head.deadline)
        }
    }
}
