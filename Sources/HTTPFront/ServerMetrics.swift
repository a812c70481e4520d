import NIOConcurrencyHelpers
import Prometheus

/// Prometheus metrics of one server. Owned by the server, not global, so
/// several servers (tests) can live in one process.
public final class ServerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let sessionsCreated: Counter
    let sessionsDeleted: Counter
    let sessionsCycled: Counter
    private let byRoute: NIOLockedValueBox<[String: (Counter, DurationHistogram)]>

    static let latencyBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5),
    ]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        sessionsCreated = registry.makeCounter(descriptor: .init(
            metricName: "sessiond_sessions_created", unitName: "total", helpText: "Sessions created (POST, PUT that created)"))
        sessionsDeleted = registry.makeCounter(descriptor: .init(
            metricName: "sessiond_sessions_deleted", unitName: "total", helpText: "Sessions deleted through the API"))
        sessionsCycled = registry.makeCounter(descriptor: .init(
            metricName: "sessiond_sessions_cycled", unitName: "total", helpText: "Session ids cycled"))
        byRoute = NIOLockedValueBox([:])
    }

    /// Counts a finished request and its latency, by route and status.
    func record(route: String, method: String, status: UInt, duration: Duration) {
        let key = "\(route) \(method) \(status)"
        let (counter, histogram) = byRoute.withLockedValue { cache in
            if let pair = cache[key] { return pair }
            let labels = [("route", route), ("method", method), ("status", String(status))]
            let pair = (
                registry.makeCounter(descriptor: .init(metricName: "sessiond_http_requests", unitName: "total",
                                                       helpText: "HTTP requests by route, method and status"), labels: labels),
                registry.makeDurationHistogram(descriptor: .init(metricName: "sessiond_http_request_duration",
                                                                 unitName: "seconds", helpText: "HTTP request latency"),
                                               labels: labels, buckets: Self.latencyBuckets)
            )
            cache[key] = pair
            return pair
        }
        counter.increment()
        histogram.record(duration)
    }

    public func exposition() -> String {
        registry.emitToString()
    }
}
