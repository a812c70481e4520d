import Foundation
import Logging
import NIOCore
import NIOPosix
import Redis
import Testing
import TestSupport

/// TLS to real TLS-only redis-servers, with certificates made by openssl for the
/// test: verification always on, failures named, never a fall-back to plain text.
@Suite struct RedisTLSTests {
    let group = MultiThreadedEventLoopGroup.singleton

    func client(host: String = "127.0.0.1", port: Int, tls: RedisTLS?, timeout: TimeAmount = .seconds(2)) -> RedisClient {
        var configuration = RedisConfiguration(address: .tcp(host: host, port: port), timeout: timeout)
        configuration.tls = tls
        return RedisClient(configuration: configuration, eventLoopGroup: group, logger: Logger(label: "tls-test"))
    }

    /// The error `ready` fails with, as text.
    func failure(_ c: RedisClient) async -> String? {
        do {
            try await c.ready(on: group.any()).get()
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test(arguments: ["127.0.0.1", "localhost"])
    func commandsRunOverTLSByAddressAndByName(host: String) async throws {
        let server = try TestTLS.server()
        defer { server.stop() }
        let c = client(host: host, port: server.port!, tls: try TestTLS.trusting())
        defer { Task { await c.shutdown() } }
        let loop = group.any()
        try await c.ready(on: loop).get()
        let futures = (0..<200).map { _ in c.send(RedisCommand(["INCR", "tls-counter"]), on: loop) }
        let replies = try await EventLoopFuture.whenAllSucceed(futures, on: loop).get()
        #expect(replies.map(\.int) == (1...200).map { Int64($0) })
    }

    @Test func mutualTLS() async throws {
        let server = try TestTLS.server(mutual: true)
        defer { server.stop() }
        let good = client(port: server.port!, tls: try TestTLS.trusting(client: "client"))
        defer { Task { await good.shutdown() } }
        #expect(await failure(good) == nil)
        for client in [client(port: server.port!, tls: try TestTLS.trusting()),
                       client(port: server.port!, tls: try TestTLS.trusting(client: "untrusted"))] {
            let message = await failure(client)
            #expect(message?.contains("refused our client certificate") == true, "\(message ?? "connected")")
            await client.shutdown()
        }
    }

    struct Failure: Sendable, CustomStringConvertible {
        let description: String
        let presenting: String
        let host: String
        let trusting: String
        let expected: String
    }

    static let failures: [Failure] = [
        Failure(description: "wrong CA", presenting: "untrusted", host: "127.0.0.1", trusting: "ca",
                expected: "the server's certificate is not signed by a CA in --redis-tls-ca"),
        Failure(description: "our CA, theirs another", presenting: "server", host: "127.0.0.1", trusting: "other-ca",
                expected: "the server's certificate is not signed by a CA in --redis-tls-ca"),
        Failure(description: "expired", presenting: "expired", host: "127.0.0.1", trusting: "ca",
                expected: "the server's certificate expired at 2021-01-01T00:00:00Z"),
        Failure(description: "hostname mismatch", presenting: "wrongname", host: "localhost", trusting: "ca",
                expected: "the server's certificate does not name 'localhost'"),
        Failure(description: "IP address mismatch", presenting: "wrongname", host: "127.0.0.1", trusting: "ca",
                expected: "the server's certificate does not name '127.0.0.1'"),
    ]

    @Test(arguments: failures)
    func verificationFailuresAreNamedAndNothingIsSent(_ f: Failure) async throws {
        let server = try TestTLS.server(presenting: f.presenting)
        defer { server.stop() }
        let c = client(host: f.host, port: server.port!, tls: try TestTLS.trusting(f.trusting))
        defer { Task { await c.shutdown() } }
        let message = await failure(c)
        #expect(message?.contains(f.expected) == true, "\(f): \(message ?? "connected")")
    }

    @Test func aPlainTextServerIsNeverSpokenToInPlainText() async throws {
        let server = try RedisServerProcess.start(listen: .tcp(port: RedisServerProcess.freePort()))
        defer { server.stop() }
        let c = client(port: server.port!, tls: try TestTLS.trusting(), timeout: .milliseconds(500))
        defer { Task { await c.shutdown() } }
        let message = await failure(c)
        #expect(message?.contains("no TLS handshake within --redis-timeout (a plain-text port?") == true,
                "\(message ?? "connected")")
        // Not one command reached it: no PING, no AUTH, and the only CLIENT SETNAME is
        // the inspector's own (its handshake names it too).
        let inspector = try TestRedis.inspector(port: server.port!)
        let stats = try await inspector.command(["INFO", "commandstats"]).string ?? ""
        #expect(!stats.contains("cmdstat_ping"), "PING ran on the plain-text server:\n\(stats)")
        #expect(!stats.contains("cmdstat_auth"), "AUTH ran on the plain-text server:\n\(stats)")
        #expect(stats.contains("cmdstat_client|setname:calls=1,"), "CLIENT SETNAME ran twice:\n\(stats)")
    }

    @Test func configurationMistakesAreNamed() throws {
        func message(_ make: () throws -> RedisTLS) -> String {
            do { _ = try make(); return "accepted" } catch { return "\(error)" }
        }
        #expect(message { try RedisTLS(caFile: "/nonexistent/ca.crt") }.contains("--redis-tls-ca /nonexistent/ca.crt: no such file"))
        #expect(message { try RedisTLS(caFile: TestTLS.file("ca.key")) }.contains("not a PEM certificate"))
        #expect(message { try RedisTLS(certificateFile: TestTLS.file("client.crt")) }.contains("go together"))
        #expect(message { try RedisTLS(certificateFile: TestTLS.file("client.crt"), keyFile: TestTLS.file("server.key")) }
            .contains("does --redis-tls-key match --redis-tls-cert?"))
        // rediss:// turns TLS on (the system's trust store until --redis-tls-ca says otherwise).
        let c = try RedisConfiguration(url: "rediss://:secret@127.0.0.1:6380/2")
        #expect(c.tls != nil)
        #expect(c.redactedDescription == "rediss://:***@127.0.0.1:6380/2")
        #expect(try RedisConfiguration(url: "redis://127.0.0.1:6380/2").tls == nil)
    }
}
