/// One Redis command as its arguments. Arguments are kept in one contiguous
/// buffer so encoding costs one allocation, not one per argument.
public struct RedisCommand: Sendable {
    @usableFromInline var storage: [UInt8]
    @usableFromInline var lengths: [Int]

    public init(_ name: String, capacity: Int = 64) {
        storage = []
        storage.reserveCapacity(capacity)
        lengths = []
        lengths.reserveCapacity(8)
        append(name)
    }

    public init(_ args: [String]) {
        storage = []
        lengths = []
        for a in args { append(a) }
    }

    @inlinable public mutating func append(_ s: String) {
        var s = s
        s.withUTF8 { storage.append(contentsOf: $0) }
        lengths.append(s.utf8.count)
    }

    @inlinable public mutating func append<C: Collection>(bytes: C) where C.Element == UInt8 {
        storage.append(contentsOf: bytes)
        lengths.append(bytes.count)
    }

    @inlinable public mutating func append(_ i: Int) { append(String(i)) }
    @inlinable public mutating func append(_ i: Int64) { append(String(i)) }

    public var argumentCount: Int { lengths.count }

    /// The arguments as strings, for logs and tests.
    public var arguments: [String] {
        var out: [String] = []
        var off = 0
        for l in lengths {
            out.append(String(decoding: storage[off..<off + l], as: UTF8.self))
            off += l
        }
        return out
    }
}
