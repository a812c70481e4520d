import Metrics

/// What the client reports through swift-metrics: command latency, connection
/// state and churn, and how many commands are waiting on each connection.
struct RedisMetrics: Sendable {
    let commandDuration: Metrics.Timer
    let connects: Counter
    let connectFailures: Counter
    let connected: Meter
    let pipelineDepth: Meter

    init(factory: MetricsFactory, loop: Int) {
        let dims = [("loop", String(loop))]
        commandDuration = Metrics.Timer(label: "sessiond_redis_command_duration_seconds", factory: factory)
        connects = Counter(label: "sessiond_redis_connects_total", factory: factory)
        connectFailures = Counter(label: "sessiond_redis_connect_failures_total", factory: factory)
        connected = Meter(label: "sessiond_redis_connected", dimensions: dims, factory: factory)
        pipelineDepth = Meter(label: "sessiond_redis_pipeline_depth", dimensions: dims, factory: factory)
        connected.set(0)
        pipelineDepth.set(0)
    }
}
