import NIOCore
import Redis

/// Everything that can go wrong with a session operation, in the domain's own
/// terms: nothing above this target sees a Redis type. The HTTP front maps
/// these to statuses in one place (`Problem.swift`).
public enum SessionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 400: the request breaks the contract (bad id, bad JSON, a limit other than size).
    case invalid(String)
    /// 404: no such session.
    case sessionNotFound
    /// 404: the session exists, the key does not.
    case keyNotFound
    /// 412: `If-Match` / `If-None-Match` did not hold.
    case preconditionFailed
    /// The store cannot serve now and a retry may work: Redis unreachable, dropped,
    /// LOADING, BUSY, a replica, authentication or TLS refused, a cluster resharding.
    /// `reason` is safe to show clients; `cause` (addresses, errno) is for the log.
    case unavailable(reason: String, cause: String)
    /// No reply within `--redis-timeout`.
    case timeout
    /// Redis is full (maxmemory with noeviction): nothing was written.
    case outOfMemory
    /// `--min-replicas-ack`: the write is on the primary, but fewer replicas than asked
    /// confirmed it in time, so a failover could lose it.
    case notReplicated(acknowledged: Int, wanted: Int)
    /// Redis refused a command for a reason a retry will not fix (a bug, an ACL, a reply
    /// of the wrong shape).
    case storeFailed(String)

    public var description: String {
        switch self {
        case .invalid(let m): return "invalid: \(m)"
        case .sessionNotFound: return "session not found"
        case .keyNotFound: return "key not found"
        case .preconditionFailed: return "precondition failed"
        case .unavailable(let reason, let cause): return "\(reason) (\(cause))"
        case .timeout: return "Redis did not answer within the timeout"
        case .outOfMemory: return "Redis is out of memory"
        case .notReplicated(let got, let wanted):
            return "the write reached \(got) of the \(wanted) replica(s) asked for in time"
        case .storeFailed(let m): return "Redis failed: \(m)"
        }
    }
}

extension SessionError {
    /// The one place where Redis's errors become the domain's.
    init(_ error: RedisError) {
        switch error {
        case .timeout:
            self = .timeout
        case .notReplicated(let got, let wanted):
            self = .notReplicated(acknowledged: got, wanted: wanted)
        case .connectionUnavailable, .protocolError:
            self = .unavailable(reason: "Redis is unreachable", cause: "\(error)")
        case .shutdown:
            self = .unavailable(reason: "sessiond is shutting down", cause: "\(error)")
        case .notPrimary(let role):
            self = .unavailable(reason: "Redis is \(role == "slave" ? "a replica" : "'\(role)'"), not a primary: it would refuse writes",
                                cause: "\(error)")
        case .server:
            switch error.serverCode {
            case "OOM":
                self = .outOfMemory
            case let code? where Self.retryable.contains(code):
                self = .unavailable(reason: "Redis answered \(code)", cause: "\(error)")
            default:
                self = .storeFailed("\(error)")
            }
        case .unexpectedReply:
            self = .storeFailed("\(error)")
        }
    }

    /// Error replies that mean "not now" rather than "never".
    private static let retryable: Set<Substring> = [
        "LOADING", "BUSY", "MASTERDOWN", "READONLY", "TRYAGAIN", "CLUSTERDOWN", "NOAUTH", "NOPERM", "WRONGPASS",
    ]

    /// Any error of a store future, in the domain's terms.
    public static func from(_ error: Error) -> SessionError {
        switch error {
        case let e as SessionError: return e
        case let e as RedisError: return SessionError(e)
        default: return .storeFailed("\(error)")
        }
    }
}

extension EventLoopFuture where Value: Sendable {
    /// Redis's errors turned into the domain's, for futures straight from the client.
    func domainErrors() -> EventLoopFuture<Value> {
        flatMapErrorThrowing { throw SessionError.from($0) }
    }
}
