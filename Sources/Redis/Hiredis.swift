import CHiredis
import NIOCore

// The only file that touches hiredis pointers. hiredis parses every reply
// (and is the reference for RedisCommand's encoding); SwiftNIO does the I/O.

enum Hiredis {
    /// hiredis's own encoding of `arguments` (`redisFormatCommandArgv`): the
    /// reference `RedisCommand`'s Swift encoder is tested against.
    static func format(_ arguments: [[UInt8]]) -> [UInt8] {
        var argv = arguments.map { arg -> UnsafeMutablePointer<CChar> in
            let p = UnsafeMutablePointer<CChar>.allocate(capacity: max(arg.count, 1))
            arg.withUnsafeBufferPointer { src in
                if let base = src.baseAddress { UnsafeMutableRawPointer(p).copyMemory(from: base, byteCount: arg.count) }
            }
            return p
        }
        defer { argv.forEach { $0.deallocate() } }
        let lengths = arguments.map(\.count)
        var target: UnsafeMutablePointer<CChar>? = nil
        let n = argv.withUnsafeMutableBufferPointer { argvPtr in
            argvPtr.withMemoryRebound(to: UnsafePointer<CChar>?.self) { constArgv in
                redisFormatCommandArgv(&target, Int32(arguments.count), constArgv.baseAddress, lengths)
            }
        }
        guard n > 0, let target else { return [] }
        defer { redisFreeCommand(target) }
        return Array(UnsafeRawBufferPointer(start: target, count: Int(n)))
    }
}

/// hiredis's RESP parser, with reply-object callbacks that append each element to
/// a flat `RedisReply` instead of allocating hiredis's own reply tree.
final class HiredisReader {
    private let reader: UnsafeMutablePointer<redisReader>
    private let functions: UnsafeMutablePointer<redisReplyObjectFunctions>
    private let builder = ReplyBuilder()

    init() {
        functions = .allocate(capacity: 1)
        functions.initialize(to: redisReplyObjectFunctions(
            createString: { task, str, len in
                ReplyBuilder.with(task) { $0.string(type: task!.pointee.type, UnsafeRawBufferPointer(start: str, count: len)) }
            },
            createArray: { task, count in ReplyBuilder.with(task) { $0.array(count) } },
            createInteger: { task, value in ReplyBuilder.with(task) { $0.integer(Int64(value)) } },
            createNil: { task in ReplyBuilder.with(task) { $0.null() } },
            freeObject: { _ in }))
        guard let r = redisReaderCreateWithFunctions(functions) else { fatalError("redisReaderCreate failed (out of memory)") }
        reader = r
        // Every task hiredis creates copies this pointer; the builder lives as long as the reader.
        reader.pointee.privdata = Unmanaged.passUnretained(builder).toOpaque()
    }

    deinit {
        redisReaderFree(reader)
        functions.deinitialize(count: 1)
        functions.deallocate()
    }

    func feed(_ buffer: ByteBuffer) throws(RedisError) {
        let rc = buffer.withUnsafeReadableBytes { bytes -> Int32 in
            guard let base = bytes.baseAddress, bytes.count > 0 else { return REDIS_OK }
            return redisReaderFeed(reader, base.assumingMemoryBound(to: CChar.self), bytes.count)
        }
        if rc != REDIS_OK { throw RedisError.protocolError(errorString) }
    }

    /// The next complete reply, or nil until more bytes arrive.
    /// `discarding`: the caller will drop it (a transaction's `+OK`/`+QUEUED`), so
    /// only an error is kept; anything else comes back as `RedisReply.discarded`,
    /// without the two allocations a reply costs (four such replies per session read).
    func next(discarding: Bool = false) throws(RedisError) -> RedisReply? {
        builder.discarding = discarding
        var raw: UnsafeMutableRawPointer? = nil
        if redisReaderGetReply(reader, &raw) != REDIS_OK { throw RedisError.protocolError(errorString) }
        guard raw != nil else { return nil }
        return builder.take()
    }

    private var errorString: String {
        withUnsafeBytes(of: reader.pointee.errstr) { raw in
            let bytes = raw.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
    }
}

/// Collects the elements hiredis reports for the reply being parsed.
final class ReplyBuilder {
    private var elements: [RedisReply.Element] = []
    private var bytes: ByteBuffer?
    private var elementsHint = 4
    private var bytesHint = 64
    /// Set by `HiredisReader.next(discarding:)`.
    var discarding = false

    /// What the callbacks return to hiredis: any non-NULL pointer (NULL means out
    /// of memory); hiredis only hands it back to `freeObject`, which ignores it.
    private static var marker: UnsafeMutableRawPointer? { UnsafeMutableRawPointer(bitPattern: 0x1) }

    /// The builder behind a hiredis task, without a retain/release per element:
    /// the reader holds the builder for as long as hiredis can call back.
    static func with(_ task: UnsafePointer<redisReadTask>?,
                     _ body: (ReplyBuilder) -> UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
        Unmanaged<ReplyBuilder>.fromOpaque(task!.pointee.privdata)._withUnsafeGuaranteedRef(body)
    }

    private func append(_ e: RedisReply.Element) -> UnsafeMutableRawPointer? {
        if elements.isEmpty { elements.reserveCapacity(elementsHint) }
        elements.append(e)
        return Self.marker
    }

    func string(type: Int32, _ text: UnsafeRawBufferPointer) -> UnsafeMutableRawPointer? {
        if discarding && type != REDIS_REPLY_ERROR { return Self.marker }
        if bytes == nil { bytes = ByteBufferAllocator().buffer(capacity: max(bytesHint, text.count)) }
        let offset = Int32(truncatingIfNeeded: bytes!.writerIndex)
        bytes!.writeBytes(text)
        let kind: RedisReply.Kind = type == REDIS_REPLY_STATUS ? .status : type == REDIS_REPLY_ERROR ? .error : .bulk
        return append(.init(kind: kind, count: Int32(truncatingIfNeeded: text.count), offset: offset, integer: 0))
    }

    func array(_ count: Int32) -> UnsafeMutableRawPointer? {
        if discarding { return Self.marker }
        return append(.init(kind: .array, count: count, offset: 0, integer: 0))
    }

    func integer(_ value: Int64) -> UnsafeMutableRawPointer? {
        if discarding { return Self.marker }
        return append(.init(kind: .integer, count: 0, offset: 0, integer: value))
    }

    func null() -> UnsafeMutableRawPointer? {
        if discarding { return Self.marker }
        return append(.init(kind: .null, count: 0, offset: 0, integer: 0))
    }

    /// The finished reply. The next one starts empty, sized for the larger of
    /// this one and a slowly shrinking memory of earlier ones: replies alternate
    /// (a transaction's short `+QUEUED`s, then its long EXEC array), and sizing
    /// for the last one alone regrew the EXEC array three times per read.
    func take() -> RedisReply {
        if discarding && elements.isEmpty { return .discarded }
        let reply = RedisReply(elements: elements, bytes: bytes ?? ByteBuffer())
        elementsHint = max(4, elements.count, elementsHint - elementsHint / 8)
        bytesHint = max(64, bytes?.readableBytes ?? 0, bytesHint - bytesHint / 8)
        elements = []
        bytes = nil
        return reply
    }
}
