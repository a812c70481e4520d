/// A Lua script run with EVALSHA; the client falls back to EVAL on NOSCRIPT
/// (a restarted or flushed Redis), which also caches it again.
public struct RedisScript: Sendable {
    public let name: String
    public let source: String
    public let sha1: String
    /// Whether its writes must reach `--min-replicas-ack` replicas before it
    /// succeeds (false for reads, whose only write is a TTL refresh).
    public let durable: Bool

    public init(name: String, source: String, durable: Bool = true) {
        self.name = name
        self.source = source
        self.sha1 = SHA1.hex(Array(source.utf8))
        self.durable = durable
    }
}

/// The arguments of one script call: keys first, then plain arguments.
public struct ScriptCall: Sendable {
    public let script: RedisScript
    private let keyCount: Int
    /// Routes the call in cluster mode (a script's keys must share one slot).
    public let key: String?
    /// Keys, then arguments, already RESP-encoded.
    private var tail: RedisCommand

    public init(_ script: RedisScript, keys: [String]) {
        self.script = script
        self.keyCount = keys.count
        self.key = keys.first
        tail = RedisCommand(capacity: 256)
        for k in keys { tail.append(k) }
    }

    public mutating func append(_ s: String) { tail.append(s) }
    public mutating func append(_ i: Int) { tail.append(i) }
    public mutating func append<C: Collection>(bytes: C) where C.Element == UInt8 { tail.append(bytes: bytes) }

    func command(usingSHA: Bool) -> RedisCommand {
        var cmd = RedisCommand(usingSHA ? "EVALSHA" : "EVAL", capacity: tail.encoded.readableBytes + 80)
        cmd.append(usingSHA ? script.sha1 : script.source)
        cmd.append(keyCount)
        cmd.append(contentsOf: tail)
        return cmd
    }
}

public enum SHA1 {
    public static func hex(_ message: [UInt8]) -> String {
        var h0: UInt32 = 0x67452301, h1: UInt32 = 0xEFCDAB89, h2: UInt32 = 0x98BADCFE
        var h3: UInt32 = 0x10325476, h4: UInt32 = 0xC3D2E1F0
        var m = message
        let bitLength = UInt64(message.count) * 8
        m.append(0x80)
        while m.count % 64 != 56 { m.append(0) }
        for i in (0..<8).reversed() { m.append(UInt8(truncatingIfNeeded: bitLength >> (UInt64(i) * 8))) }
        var w = [UInt32](repeating: 0, count: 80)
        for chunk in stride(from: 0, to: m.count, by: 64) {
            for i in 0..<16 {
                let j = chunk + i * 4
                w[i] = UInt32(m[j]) << 24 | UInt32(m[j + 1]) << 16 | UInt32(m[j + 2]) << 8 | UInt32(m[j + 3])
            }
            for i in 16..<80 {
                let x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]
                w[i] = (x << 1) | (x >> 31)
            }
            var a = h0, b = h1, c = h2, d = h3, e = h4
            for i in 0..<80 {
                let f: UInt32, k: UInt32
                switch i {
                case 0..<20: f = (b & c) | (~b & d); k = 0x5A827999
                case 20..<40: f = b ^ c ^ d; k = 0x6ED9EBA1
                case 40..<60: f = (b & c) | (b & d) | (c & d); k = 0x8F1BBCDC
                default: f = b ^ c ^ d; k = 0xCA62C1D6
                }
                let t = ((a << 5) | (a >> 27)) &+ f &+ e &+ k &+ w[i]
                e = d; d = c; c = (b << 30) | (b >> 2); b = a; a = t
            }
            h0 = h0 &+ a; h1 = h1 &+ b; h2 = h2 &+ c; h3 = h3 &+ d; h4 = h4 &+ e
        }
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for h in [h0, h1, h2, h3, h4] {
            for shift in stride(from: 28, through: 0, by: -4) { out.append(digits[Int((h >> UInt32(shift)) & 0xF)]) }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
