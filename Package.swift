// swift-tools-version:6.0
import PackageDescription

// One job per target, each importing only the one below it:
// CHiredis (C) → Redis (client on SwiftNIO) → Sessions (domain) → HTTPFront → sessiond.
// The executable is the one exception: it builds the Redis client from the flags and
// hands it to the store. HTTPFront never sees a Redis type (errors arrive as SessionError).

// Release builds skip Swift's run-time exclusivity checks: perf put them (swift_beginAccess,
// AccessSet::insert, the TLS lookups behind them) at about 10% of the CPU of a session read,
// mostly inside ByteBuffer writes inlined into our code. Debug builds, and so every test
// run and scripts/sanitize, keep them, which is where an overlapping access would show up.
let releaseSettings: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "sessiond",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "sessiond", targets: ["sessiond"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.81.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.24.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.29.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
    ],
    targets: [
        // hiredis from Debian's libhiredis-dev: its RESP encoder and reader, no sockets.
        // No pkgConfig: hiredis.pc adds -D_FILE_OFFSET_BITS=64, which SwiftPM drops with a
        // warning on every build; the header lives at <hiredis/hiredis.h> on every distribution.
        .systemLibrary(
            name: "CHiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        // The only code that touches hiredis pointers.
        .target(
            name: "Redis",
            dependencies: [
                "CHiredis",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                // TLS to Redis runs in the channel (BoringSSL); hiredis only ever sees plain RESP.
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: releaseSettings
        ),
        // Sessions: ids, validation, JSON, expiry rules, key layout, Lua scripts. No HTTP.
        // One Lua file per operation (Lua/*.lua), compiled into the binary.
        .target(
            name: "Sessions",
            dependencies: [
                "Redis",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            resources: [
                .embedInCode("Lua/create.lua"),
                .embedInCode("Lua/cycle.lua"),
                .embedInCode("Lua/cycle_export.lua"),
                .embedInCode("Lua/cycle_import.lua"),
                .embedInCode("Lua/cycle_retire.lua"),
                .embedInCode("Lua/delete.lua"),
                .embedInCode("Lua/delete_if_user.lua"),
                .embedInCode("Lua/delete_user.lua"),
                .embedInCode("Lua/index_add.lua"),
                .embedInCode("Lua/list_user.lua"),
                .embedInCode("Lua/peek_user.lua"),
                .embedInCode("Lua/prelude.lua"),
                .embedInCode("Lua/read.lua"),
                .embedInCode("Lua/replace.lua"),
                .embedInCode("Lua/set_expiry.lua"),
                .embedInCode("Lua/write.lua"),
            ],
            swiftSettings: releaseSettings
        ),
        // HTTP/1.1 on SwiftNIO: routing, auth, problem+json, metrics, OpenAPI.
        .target(
            name: "HTTPFront",
            dependencies: [
                "Sessions",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            resources: [.embedInCode("openapi.yaml")],
            swiftSettings: releaseSettings
        ),
        .executableTarget(
            name: "sessiond",
            dependencies: [
                "HTTPFront",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: releaseSettings,
            // jemalloc (what Redis itself links) instead of glibc malloc for the whole process:
            // glibc's free lists and consolidation were ~6 % of a session read's CPU in perf,
            // and read c=50 ran 5–10 % faster with it (BENCHMARKS.md). Only the daemon links it.
            linkerSettings: [.linkedLibrary("jemalloc")]
        ),
        // Test helpers: a private redis-server per test process and a tiny HTTP client.
        .target(
            name: "TestSupport",
            dependencies: [
                "Redis",
                "Sessions",
                "HTTPFront",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/TestSupport"
        ),
        .testTarget(name: "RedisTests", dependencies: ["Redis", "TestSupport"]),
        .testTarget(name: "SessionsTests", dependencies: ["Sessions", "TestSupport"]),
        .testTarget(name: "HTTPFrontTests", dependencies: ["HTTPFront", "Sessions", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
