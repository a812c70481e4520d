import NIOCore
import Synchronization

/// Redis's wall clock as seen from here: one `TIME` reply plus the local
/// monotonic clock since it arrived.
///
/// Why: a session read that slides the expiry used to send `TIME` and a
/// relative `PEXPIRE` inside its `MULTI`. Redis spends about 0.5 µs on the
/// queued `TIME` and another 0.5 µs rewriting `PEXPIRE` into `PEXPIREAT` for
/// propagation, about a quarter of the read's Redis CPU (BENCHMARKS.md). With
/// this estimate the read sends `PEXPIREAT … GT` itself and no `TIME`.
///
/// Safety: the monotonic clock does not jump when the local wall clock is
/// set, and an estimate older than `maxAge` is not used (the caller falls back
/// to `TIME` plus relative `PEXPIRE`, whose reply refreshes it). Callers pair it
/// with `GT`, so an estimate that is off can delay a slide but never shorten an
/// expiry or delete a key. Like Redis's own replication of absolute expiries,
/// it assumes the nodes of one deployment agree on the time.
public final class RedisClock: Sendable {
    /// How long one sample is trusted.
    public static let maxAge = TimeAmount.seconds(1)

    /// Redis's clock minus the monotonic clock, in microseconds.
    private let offset = Atomic<Int64>(0)
    /// When that offset was measured (monotonic nanoseconds); 0 = never.
    private let sampledAt = Atomic<Int64>(0)

    public init() {}

    /// Redis's time in unix milliseconds at monotonic instant `now`, or nil
    /// when there is no fresh sample.
    public func milliseconds(at now: NIODeadline) -> Int64? {
        let sampled = sampledAt.load(ordering: .acquiring)
        let nanos = Int64(now.uptimeNanoseconds)
        guard sampled != 0, nanos - sampled < Self.maxAge.nanoseconds else { return nil }
        return (nanos / 1000 + offset.load(ordering: .relaxed)) / 1000
    }

    /// Records a `TIME` reply (`seconds`, `microseconds`) for a command sent at
    /// `sent` and answered at `received`: Redis read its clock somewhere in
    /// between, so the midpoint is off by at most half the round trip.
    public func record(seconds: Int64, microseconds: Int64, sent: NIODeadline, received: NIODeadline) {
        let mid = (Int64(sent.uptimeNanoseconds) + Int64(received.uptimeNanoseconds)) / 2
        offset.store(seconds * 1_000_000 + microseconds - mid / 1000, ordering: .relaxed)
        sampledAt.store(max(mid, 1), ordering: .releasing)
    }
}
