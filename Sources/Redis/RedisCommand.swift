import NIOCore

/// A Redis command, kept RESP-encoded as it is built: each argument is written
/// once as a bulk string (`$len\r\n…\r\n`) into one buffer, so sending it is a
/// header plus one copy. Encoding in Swift rather than with hiredis's
/// `redisFormatCommandArgv` saved an argv array, a malloc and a `sprintf` per
/// argument on every request (perf showed `vfprintf` among the top symbols);
/// hiredis still parses every reply, and `HiredisTests` checks these bytes
/// against `redisFormatCommandArgv`'s.
public struct RedisCommand: Sendable {
    @usableFromInline var encoded: ByteBuffer
    public private(set) var argumentCount = 0

    public init(_ name: String, capacity: Int = 64) {
        self.init(capacity: capacity)
        append(name)
    }

    /// `AUTH [username] password`, or nil without a password (a server without auth).
    static func auth(username: String?, password: String?) -> RedisCommand? {
        guard let password else { return nil }
        var command = RedisCommand("AUTH")
        if let username { command.append(username) }
        command.append(password)
        return command
    }

    public init(_ args: [String]) {
        self.init(capacity: args.reduce(0) { $0 + $1.utf8.count + 16 })
        for a in args { append(a) }
    }

    /// No arguments yet; room for about `capacity` encoded bytes.
    public init(capacity: Int) {
        encoded = ByteBufferAllocator().buffer(capacity: capacity)
    }

    public mutating func append(_ s: String) {
        encoded.writeRESPBulk(s)
        argumentCount += 1
    }

    public mutating func append<C: Collection>(bytes: C) where C.Element == UInt8 {
        encoded.writeInteger(UInt8(ascii: "$"))
        encoded.writeRESPDecimal(bytes.count)
        encoded.writeStaticString("\r\n")
        encoded.writeBytes(bytes)
        encoded.writeStaticString("\r\n")
        argumentCount += 1
    }

    public mutating func append(_ i: Int) { append(String(i)) }
    public mutating func append(_ i: Int64) { append(String(i)) }

    /// Appends every argument of `other`, in order.
    mutating func append(contentsOf other: RedisCommand) {
        var args = other.encoded
        encoded.writeBuffer(&args)
        argumentCount += other.argumentCount
    }

    /// The whole command as RESP (`*N\r\n` then the arguments).
    func write(into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "*"))
        buffer.writeRESPDecimal(argumentCount)
        buffer.writeStaticString("\r\n")
        buffer.writeImmutableBuffer(encoded)
    }

    /// The arguments as text (tests and diagnostics).
    public var arguments: [String] {
        var rest = encoded
        var out: [String] = []
        while rest.readInteger(as: UInt8.self) == UInt8(ascii: "$"),
              let header = rest.readString(length: rest.readableBytesView.firstIndex(of: 0x0D)! - rest.readerIndex),
              let length = Int(header) {
            rest.moveReaderIndex(forwardBy: 2)
            out.append(rest.readString(length: length)!)
            rest.moveReaderIndex(forwardBy: 2)
        }
        return out
    }
}

extension ByteBuffer {
    /// `s` as a RESP bulk string.
    mutating func writeRESPBulk(_ s: String) {
        writeInteger(UInt8(ascii: "$"))
        writeRESPDecimal(s.utf8.count)
        writeStaticString("\r\n")
        writeString(s)
        writeStaticString("\r\n")
    }

    /// A non-negative length in decimal.
    @usableFromInline mutating func writeRESPDecimal(_ value: Int) {
        var divisor = 1
        while divisor <= value / 10 { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            writeInteger(UInt8(truncatingIfNeeded: rest / divisor) + 0x30)
            rest %= divisor
            divisor /= 10
        }
    }
}

/// Several commands sent back to back whose caller wants only the last reply:
/// `MULTI … EXEC`, where the replies before EXEC are `+OK` / `+QUEUED` (and
/// any error there makes EXEC fail too, so nothing is lost by skipping them).
public struct RedisTransaction: Sendable {
    var encoded: ByteBuffer
    public private(set) var commandCount = 0
    /// The first key, which routes the transaction in cluster mode (all its keys share a slot).
    public private(set) var key: String?

    public init(capacity: Int = 256) {
        encoded = ByteBufferAllocator().buffer(capacity: capacity)
        encoded.writeStaticString("*1\r\n$5\r\nMULTI\r\n")
        commandCount = 1
    }

    // Commands written straight into the transaction, without a RedisCommand each
    // (the session read's transaction is built on every page view).

    public mutating func append(_ name: StaticString) {
        header(1, name)
    }

    public mutating func append(_ name: StaticString, _ key: String) {
        header(2, name)
        keyed(key)
    }

    public mutating func append(_ name: StaticString, _ key: String, _ value: Int) {
        header(3, name)
        keyed(key)
        bulk(decimal: value)
    }

    /// `name key value option`, as in `PEXPIREAT key ms GT`.
    public mutating func append(_ name: StaticString, _ key: String, _ value: Int, _ option: StaticString) {
        header(4, name)
        keyed(key)
        bulk(decimal: value)
        encoded.writeInteger(UInt8(ascii: "$"))
        encoded.writeRESPDecimal(option.utf8CodeUnitCount)
        encoded.writeStaticString("\r\n")
        encoded.writeStaticString(option)
        encoded.writeStaticString("\r\n")
    }

    public mutating func append(_ name: StaticString, _ key: String, _ fields: [String]) {
        header(2 + fields.count, name)
        keyed(key)
        for f in fields { bulk(f) }
    }

    private mutating func header(_ arguments: Int, _ name: StaticString) {
        encoded.writeInteger(UInt8(ascii: "*"))
        encoded.writeRESPDecimal(arguments)
        encoded.writeStaticString("\r\n$")
        encoded.writeRESPDecimal(name.utf8CodeUnitCount)
        encoded.writeStaticString("\r\n")
        encoded.writeStaticString(name)
        encoded.writeStaticString("\r\n")
        commandCount += 1
    }

    private mutating func bulk(_ s: String) {
        encoded.writeRESPBulk(s)
    }

    /// An integer as a bulk string, without making a String of it.
    private mutating func bulk(decimal value: Int) {
        let magnitude = value.magnitude
        var digits = 1
        var v = magnitude
        while v >= 10 { v /= 10; digits += 1 }
        let length = digits + (value < 0 ? 1 : 0)
        encoded.writeInteger(UInt8(ascii: "$"))
        encoded.writeRESPDecimal(length)
        encoded.writeStaticString("\r\n")
        encoded.writeWithUnsafeMutableBytes(minimumWritableBytes: length + 2) { out in
            if value < 0 { out[0] = UInt8(ascii: "-") }
            var rest = magnitude
            for i in stride(from: length - 1, through: length - digits, by: -1) {
                out[i] = UInt8(truncatingIfNeeded: rest % 10) + 0x30
                rest /= 10
            }
            out[length] = UInt8(ascii: "\r")
            out[length + 1] = UInt8(ascii: "\n")
            return length + 2
        }
    }

    private mutating func keyed(_ k: String) {
        if key == nil { key = k }
        encoded.writeRESPBulk(k)
    }

    /// Closes the transaction with EXEC (`RedisClient.exec` does).
    mutating func finish() {
        encoded.writeStaticString("*1\r\n$4\r\nEXEC\r\n")
        commandCount += 1
    }
}
