import CHiredis
import NIOCore

// The only file that touches hiredis pointers. hiredis does the protocol
// (encoding and parsing RESP); SwiftNIO does the I/O.

enum Hiredis {
    /// Appends `command` in RESP form to `buffer` using `redisFormatCommandArgv`.
    static func encode(_ command: RedisCommand, into buffer: inout ByteBuffer) {
        let argc = command.lengths.count
        let encoded: Int = command.storage.withUnsafeBufferPointer { storage -> Int in
            // An empty storage has no base address; any valid pointer does for zero-length args.
            var dummy: CChar = 0
            return withUnsafeMutablePointer(to: &dummy) { dummyPtr -> Int in
                let base = storage.baseAddress.map { UnsafeRawPointer($0) } ?? UnsafeRawPointer(dummyPtr)
                var argv = [UnsafePointer<CChar>?](repeating: nil, count: argc)
                var offset = 0
                for i in 0..<argc {
                    argv[i] = (base + offset).assumingMemoryBound(to: CChar.self)
                    offset += command.lengths[i]
                }
                var target: UnsafeMutablePointer<CChar>? = nil
                let n = command.lengths.withUnsafeBufferPointer { lens in
                    argv.withUnsafeMutableBufferPointer { argvPtr in
                        redisFormatCommandArgv(&target, Int32(argc), argvPtr.baseAddress, lens.baseAddress)
                    }
                }
                guard n > 0, let target else { return 0 }
                buffer.writeBytes(UnsafeRawBufferPointer(start: target, count: Int(n)))
                redisFreeCommand(target)
                return Int(n)
            }
        }
        precondition(encoded > 0, "redisFormatCommandArgv failed (out of memory)")
    }
}

/// hiredis's incremental RESP reader. Not thread-safe: owned by one channel handler.
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
