/// Client faults and server replies kept apart, as RediStack does: the HTTP
/// front maps each to a status (503, 504, 507, 500) in one place.
public enum RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Redis answered with an error reply (`-ERR …`, `-OOM …`, `-NOSCRIPT …`).
    case server(String)
    /// No connection could be made, or it dropped before the reply arrived.
    case connectionUnavailable(String)
    /// No reply within `--redis-timeout`.
    case timeout
    /// The bytes from Redis were not RESP.
    case protocolError(String)
    /// A reply of an unexpected shape.
    case unexpectedReply(String)
    /// The client is shutting down.
    case shutdown
    /// `--min-replicas-ack`: the write is on the primary but fewer replicas than
    /// asked confirmed it in time, so it could be lost in a failover.
    case notReplicated(acknowledged: Int, wanted: Int)
    /// The server answers but is not a primary (`ROLE`), so it would refuse writes.
    case notPrimary(role: String)

    public var description: String {
        switch self {
        case .server(let m): return "Redis replied with an error: \(m)"
        case .connectionUnavailable(let m): return "Redis is unreachable: \(m)"
        case .timeout: return "Redis did not answer in time"
        case .protocolError(let m): return "Redis protocol error: \(m)"
        case .unexpectedReply(let m): return "unexpected reply from Redis: \(m)"
        case .shutdown: return "the Redis client is shutting down"
        case .notReplicated(let got, let wanted):
            return "the write reached \(got) of the \(wanted) replica(s) asked for in time"
        case .notPrimary(let role): return "Redis is not a primary (ROLE: \(role))"
        }
    }

    /// Throws `.notReplicated` unless WAIT's reply counts at least `wanted` replicas.
    static func checkReplicated(_ acks: RedisReply, wanted: Int) throws(RedisError) {
        let got = acks.int(RedisReply.root) ?? 0
        if got < Int64(wanted) { throw .notReplicated(acknowledged: Int(got), wanted: wanted) }
    }

    /// The error code word of a server error (`OOM`, `NOSCRIPT`, `READONLY`…).
    public var serverCode: Substring? {
        guard case .server(let m) = self else { return nil }
        return m.split(separator: " ", maxSplits: 1).first
    }
}
