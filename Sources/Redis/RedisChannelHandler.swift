import Metrics
import NIOCore

/// A command on its way to Redis, with the promise its reply completes.
struct RedisRequest {
    let command: RedisCommand
    let promise: EventLoopPromise<RESPValue>
    let deadline: NIODeadline
}

/// Encodes commands with hiredis, decodes replies with hiredis's reader, and
/// matches replies to requests first-in-first-out, so any number of commands
/// can be in flight on one connection (pipelining).
///
/// Writes are flushed once per event-loop tick, so requests from many HTTP
/// connections on the same loop share one `write(2)` to Redis.
///
/// Timeouts: replies come back in order, so the oldest request has the earliest
/// deadline. One timer watches it; when it passes, the connection is declared
/// unresponsive: every pending request fails with `.timeout` and the channel is
/// closed (a connection that failed is never reused, as in hiredis).
final class RedisChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    private struct Pending {
        let promise: EventLoopPromise<RESPValue>
        let deadline: NIODeadline
    }

    private var pending = CircularBuffer<Pending>(initialCapacity: 64)
    private let reader = HiredisReader()
    private var failure: RedisError?
    private var flushScheduled = false
    private var timer: Scheduled<Void>?
    private var timerDeadline: NIODeadline?
    /// Beyond this many unanswered commands, new ones fail fast instead of piling up.
    private let maxPending: Int
    private let pipelineDepth: Meter?

    init(maxPending: Int = 65_536, pipelineDepth: Meter? = nil) {
        self.maxPending = maxPending
        self.pipelineDepth = pipelineDepth
    }

    var pendingCount: Int { pending.count }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        if let failure {
            request.promise.fail(failure)
            promise?.fail(failure)
            return
        }
        if pending.count >= maxPending {
            request.promise.fail(RedisError.connectionUnavailable("too many commands waiting for Redis"))
            promise?.succeed(())
            return
        }
        var buffer = context.channel.allocator.buffer(capacity: 64 + request.command.storage.count)
        Hiredis.encode(request.command, into: &buffer)
        pending.append(Pending(promise: request.promise, deadline: request.deadline))
        pipelineDepth?.set(pending.count)
        context.write(wrapOutboundOut(buffer), promise: promise)
        armTimer(context: context)
        if !flushScheduled {
            flushScheduled = true
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            context.eventLoop.execute {
                let (handler, context) = loopBound.value
                handler.flushScheduled = false
                context.flush()
            }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        do {
            try reader.feed(buffer)
            while let reply = try reader.next() {
                guard let head = pending.popFirst() else {
                    throw RedisError.protocolError("reply without a request")
                }
                head.promise.succeed(reply)
            }
            pipelineDepth?.set(pending.count)
            if pending.isEmpty { cancelTimer() }
        } catch {
            fail(context: context, error as? RedisError ?? .protocolError("\(error)"))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(failure ?? .connectionUnavailable("connection to Redis closed"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        fail(context: context, .connectionUnavailable("\(error)"))
    }

    private func fail(context: ChannelHandlerContext, _ error: RedisError) {
        failAll(error)
        context.close(promise: nil)
    }

    private func failAll(_ error: RedisError) {
        if failure == nil { failure = error }
        cancelTimer()
        while let p = pending.popFirst() { p.promise.fail(error) }
        pipelineDepth?.set(0)
    }

    private func armTimer(context: ChannelHandlerContext) {
        guard timer == nil, let head = pending.first else { return }
        timerDeadline = head.deadline
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: head.deadline) {
            let (handler, context) = loopBound.value
            handler.timer = nil
            handler.checkDeadlines(context: context)
        }
    }

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
    }

    private func checkDeadlines(context: ChannelHandlerContext) {
        guard let head = pending.first else { return }
        if head.deadline <= .now() {
            fail(context: context, .timeout)
        } else {
            armTimer(context: context)
        }
    }
}
