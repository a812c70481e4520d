/// A decoded Redis reply. Bulk strings stay bytes: session values are stored and
/// returned as raw JSON text, so nothing above this layer re-encodes them.
public enum RESPValue: Sendable, Equatable {
    case status(String)
    case error(String)
    case integer(Int64)
    case bulk([UInt8])
    case null
    case array([RESPValue])

    public var int: Int64? {
        switch self {
        case .integer(let i): return i
        case .bulk(let b): return Self.parseInt(b)
        default: return nil
        }
    }

    public var bytes: [UInt8]? {
        switch self {
        case .bulk(let b): return b
        case .status(let s): return Array(s.utf8)
        default: return nil
        }
    }

    public var string: String? { bytes.map { String(decoding: $0, as: UTF8.self) } }

    public var array: [RESPValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// A decimal integer (what Redis stores for numbers), without a String on the way.
    /// Inlinable: called from other modules on every read, and unspecialised it showed in perf.
    @inlinable public static func parseInt<C: RandomAccessCollection>(_ b: C) -> Int64? where C.Element == UInt8, C.Index == Int {
        guard !b.isEmpty, b.count <= 20 else { return nil }
        var i = b.startIndex
        let negative = b[i] == UInt8(ascii: "-")
        if negative { i += 1 }
        guard i < b.endIndex else { return nil }
        var v: Int64 = 0
        while i < b.endIndex {
            let d = b[i] &- 0x30
            guard d < 10 else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = negative ? m.subtractingReportingOverflow(Int64(d)) : m.addingReportingOverflow(Int64(d))
            guard !o1, !o2 else { return nil }
            v = a
            i += 1
        }
        return v
    }
}
