import NIOCore

/// One reply as hiredis parsed it, kept flat: its elements in pre-order (an
/// array is followed by its elements) and every string's bytes in one buffer.
///
/// Why not a tree: hiredis's default reply objects and a `RESPValue` tree cost
/// two allocations per element; a session read's reply has about twenty. This
/// costs three per reply, and hot paths read it in place (`SessionStore`);
/// `value` builds the tree for everything else.
public struct RedisReply: Sendable {
    public enum Kind: UInt8, Sendable {
        case status, error, integer, bulk, null, array
    }

    struct Element: Sendable {
        var kind: Kind
        /// Array: element count. Strings: byte length.
        var count: Int32
        /// Strings: offset into `bytes`.
        var offset: Int32
        var integer: Int64
    }

    var elements: [Element]
    var bytes: ByteBuffer

    /// Index of the root element.
    public static let root = 0

    /// What `HiredisReader.next(discarding: true)` returns for a reply nobody reads
    /// (an empty status): one shared value, nothing allocated per reply.
    static let discarded = RedisReply(elements: [Element(kind: .status, count: 0, offset: 0, integer: 0)],
                                      bytes: ByteBuffer())

    public func kind(_ i: Int) -> Kind { elements[i].kind }
    public func count(_ i: Int) -> Int { Int(elements[i].count) }

    /// The bytes of a string element.
    public func view(_ i: Int) -> ByteBufferView {
        let e = elements[i]
        return bytes.viewBytes(at: bytes.readerIndex + Int(e.offset), length: Int(e.count))!
    }

    /// Offsets of a string element's bytes in `withBytes`'s buffer.
    public func range(_ i: Int) -> Range<Int> {
        let e = elements[i]
        return Int(e.offset)..<Int(e.offset) + Int(e.count)
    }

    /// All string bytes of the reply, addressed with `range`: hot paths read
    /// elements in place without a ByteBufferView (and its retain) per element.
    public func withBytes<T>(_ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        try bytes.withUnsafeReadableBytes(body)
    }

    /// An integer element, or a string holding a decimal integer (as Redis stores numbers).
    public func int(_ i: Int) -> Int64? {
        switch elements[i].kind {
        case .integer: return elements[i].integer
        case .bulk, .status: return RESPValue.parseInt(view(i))
        default: return nil
        }
    }

    /// Index of the first element of the array at `i`.
    public func firstChild(_ i: Int) -> Int { i + 1 }

    /// Index just past the element at `i` and everything inside it.
    public func next(_ i: Int) -> Int {
        var end = i + 1
        var open = elements[i].kind == .array ? Int(elements[i].count) : 0
        while open > 0 {
            if elements[end].kind == .array { open += Int(elements[end].count) }
            open -= 1
            end += 1
        }
        return end
    }

    /// Bytes of all its strings together.
    public var byteCount: Int { bytes.readableBytes }

    public var errorMessage: String? {
        elements[0].kind == .error ? String(decoding: view(0), as: UTF8.self) : nil
    }

    /// The reply as a tree.
    public var value: RESPValue {
        var i = 0
        return tree(&i)
    }

    private func tree(_ i: inout Int) -> RESPValue {
        let e = elements[i]
        i += 1
        switch e.kind {
        case .status: return .status(String(decoding: view(i - 1), as: UTF8.self))
        case .error: return .error(String(decoding: view(i - 1), as: UTF8.self))
        case .integer: return .integer(e.integer)
        case .bulk: return .bulk(Array(view(i - 1)))
        case .null: return .null
        case .array:
            var out: [RESPValue] = []
            out.reserveCapacity(Int(e.count))
            for _ in 0..<e.count { out.append(tree(&i)) }
            return .array(out)
        }
    }
}
