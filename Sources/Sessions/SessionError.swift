import Redis

/// Everything that can go wrong with a session operation. The HTTP front maps
/// these to status codes in one place (`ErrorMapping.swift`).
public enum SessionError: Error, Sendable, Equatable {
    /// 400: the request breaks the contract (bad id, bad JSON, a limit other than size).
    case invalid(String)
    /// 413: the body is larger than `--max-body-bytes`.
    case tooLarge(limit: Int)
    /// 404: no such session.
    case sessionNotFound
    /// 404: the session exists, the key does not.
    case keyNotFound
    /// 412: `If-Match` / `If-None-Match` did not hold.
    case preconditionFailed
    /// 503/504/507/500: Redis trouble.
    case redis(RedisError)
}
