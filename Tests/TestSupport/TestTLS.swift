import Foundation
import Redis

/// Certificates made by tests/tls/make-certs.sh (openssl), once per test process,
/// and TLS-only redis-servers that present them.
public enum TestTLS {
    /// The directory with ca.crt, server.*, client.*, wrongname.*, expired.*, untrusted.*.
    public static let directory: String = {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("sessiond-certs-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let result: (status: Int32, output: String)
        do {
            result = try spawnAndWait(["/bin/bash", root + "/tests/tls/make-certs.sh", dir])
        } catch {
            fatalError("cannot run tests/tls/make-certs.sh: \(error)")
        }
        guard result.status == 0 else { fatalError("tests/tls/make-certs.sh failed (\(result.status)): \(result.output)") }
        // Runs at exit, when `directory` is long initialised.
        atexit { try? FileManager.default.removeItem(atPath: TestTLS.directory) }
        return dir
    }()

    public static func file(_ name: String) -> String { directory + "/" + name }

    /// A redis-server that speaks only TLS on a free loopback port, presenting
    /// `certificate` (a name from make-certs.sh); `mutual`: it demands a client
    /// certificate signed by the test CA.
    public static func server(presenting certificate: String = "server", mutual: Bool = false,
                              extraArguments: [String] = []) throws -> RedisServerProcess {
        let port = RedisServerProcess.freePort()
        return try RedisServerProcess.start(listen: .tcp(port: port), extraArguments: [
            "--port", "0", "--tls-port", String(port),
            "--tls-cert-file", file("\(certificate).crt"), "--tls-key-file", file("\(certificate).key"),
            "--tls-ca-cert-file", file("ca.crt"), "--tls-auth-clients", mutual ? "yes" : "no",
        ] + extraArguments)
    }

    /// TLS trusting the test CA, with the client certificate when asked.
    public static func trusting(_ ca: String = "ca", client: String? = nil) throws -> RedisTLS {
        try RedisTLS(caFile: file("\(ca).crt"), certificateFile: client.map { file("\($0).crt") },
                     keyFile: client.map { file("\($0).key") })
    }
}
