import Metrics
import NIOConcurrencyHelpers
import Prometheus

/// The metrics of one daemon, through swift-metrics into its own Prometheus
/// registry (not the global one, so several daemons can live in one test process).
/// `factory` also goes to the Redis client, so `/metrics` shows both.
public final class ServerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    public let factory: PrometheusMetricsFactory
    let sessionsCreated: Metrics.Counter
    let sessionsDeleted: Metrics.Counter
    let sessionsCycled: Metrics.Counter
    private let byRoute: NIOLockedValueBox<[RouteKey: (Metrics.Counter, Metrics.Timer)]>

    private struct RouteKey: Hashable {
        let route: String
        let method: String
        let status: UInt
    }

    /// From 50 µs (a pipelined Redis round trip) to 2.5 s (past the default Redis timeout).
    static let latencyBuckets: [Duration] = [
        .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
        .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5),
    ]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = Self.latencyBuckets
        self.factory = factory
        sessionsCreated = Metrics.Counter(label: "sessiond_sessions_created_total", factory: factory)
        sessionsDeleted = Metrics.Counter(label: "sessiond_sessions_deleted_total", factory: factory)
        sessionsCycled = Metrics.Counter(label: "sessiond_sessions_cycled_total", factory: factory)
        byRoute = NIOLockedValueBox([:])
    }

    /// Counts a finished request and its latency, by route template, method and status.
    func record(route: String, method: String, status: UInt, nanoseconds: Int64) {
        let (counter, timer) = instruments(route: route, method: method, status: status)
        counter.increment()
        timer.recordNanoseconds(nanoseconds)
    }

    /// The counter and timer of one route, method and status (connections keep the last pair).
    func instruments(route: String, method: String, status: UInt) -> (Metrics.Counter, Metrics.Timer) {
        let key = RouteKey(route: route, method: method, status: status)
        return byRoute.withLockedValue { cache in
            if let pair = cache[key] { return pair }
            let dims = [("route", route), ("method", method), ("status", String(status))]
            let pair = (Metrics.Counter(label: "sessiond_http_requests_total", dimensions: dims, factory: factory),
                        Metrics.Timer(label: "sessiond_http_request_duration_seconds", dimensions: dims, factory: factory))
            cache[key] = pair
            return pair
        }
    }

    public func exposition() -> String {
        registry.emitToString()
    }
}
