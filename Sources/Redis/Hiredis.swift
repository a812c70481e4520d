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

final class HiredisReader {
    private let reader: UnsafeMutablePointer<redisReader>

    init() {
        guard let r = redisReaderCreate() else { fatalError("redisReaderCreate failed (out of memory)") }
        reader = r
    }

    deinit { redisReaderFree(reader) }

    func feed(_ buffer: ByteBuffer) throws(RedisError) {
        let rc = buffer.withUnsafeReadableBytes { bytes -> Int32 in
            guard let base = bytes.baseAddress, bytes.count > 0 else { return REDIS_OK }
            return redisReaderFeed(reader, base.assumingMemoryBound(to: CChar.self), bytes.count)
        }
        if rc != REDIS_OK { throw RedisError.protocolError(errorString) }
    }

    /// The next complete reply, or nil when more bytes are needed.
    func next() throws(RedisError) -> RESPValue? {
        var raw: UnsafeMutableRawPointer? = nil
        if redisReaderGetReply(reader, &raw) != REDIS_OK { throw RedisError.protocolError(errorString) }
        guard let raw else { return nil }
        let reply = raw.assumingMemoryBound(to: redisReply.self)
        defer { freeReplyObject(raw) }
        return Self.convert(reply)
    }

    private var errorString: String {
        withUnsafeBytes(of: reader.pointee.errstr) { raw in
            let bytes = raw.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    private static func convert(_ r: UnsafeMutablePointer<redisReply>) -> RESPValue {
        let reply = r.pointee
        switch reply.type {
        case REDIS_REPLY_STRING:
            return .bulk(Array(UnsafeRawBufferPointer(start: reply.str, count: reply.len)))
        case REDIS_REPLY_STATUS:
            return .status(String(decoding: UnsafeRawBufferPointer(start: reply.str, count: reply.len), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            return .error(String(decoding: UnsafeRawBufferPointer(start: reply.str, count: reply.len), as: UTF8.self))
        case REDIS_REPLY_INTEGER:
            return .integer(Int64(reply.integer))
        case REDIS_REPLY_ARRAY:
            var out: [RESPValue] = []
            out.reserveCapacity(reply.elements)
            for i in 0..<reply.elements {
                if let child = reply.element[i] { out.append(convert(child)) } else { out.append(.null) }
            }
            return .array(out)
        default:
            return .null
        }
    }
}
