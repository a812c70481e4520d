import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A private `redis-server` child: the embedded default of the daemon and the
/// Redis of the test suites.
///
/// It runs under a tiny guard (Perl, which Debian always has) holding a pipe
/// from us: when this process exits for any reason (even SIGKILL), the pipe
/// closes and the guard stops Redis, so no redis-server outlives its owner.
private let spawnLock = NSLock()

/// Children of a Swift process inherit its blocked signal mask (SIGTERM, SIGCHLD…),
/// so the guard clears it first; then it runs Redis, waits for EOF on stdin,
/// and stops Redis with SIGTERM (a clean shutdown), waking it first if stopped;
/// last it removes Redis's temporary directory.
private let guardScript = """
use POSIX;
POSIX::sigprocmask(POSIX::SIG_SETMASK(), POSIX::SigSet->new());
my $pid = fork();
die "fork: $!" unless defined $pid;
if ($pid == 0) {
  open(STDIN, "<", "/dev/null"); open(STDOUT, ">", "/dev/null"); open(STDERR, ">", "/dev/null");
  exec { $ARGV[0] } @ARGV or POSIX::_exit(127);
}
my $buf;
while (sysread(STDIN, $buf, 64)) {}
kill "TERM", $pid;
kill "CONT", $pid;
waitpid($pid, 0);
system("rm", "-rf", "--", $ENV{SESSIOND_REDIS_DIR}) if $ENV{SESSIOND_REDIS_DIR};
"""

public final class RedisServerProcess: Sendable {
    public enum Listen: Sendable {
        case tcp(port: Int)
        case unix(path: String)
    }

    public let listen: Listen
    public let directory: String
    private let ownsDirectory: Bool
    private let process: Process
    private let guardPipe: FileHandle

    public var url: String {
        switch listen {
        case .tcp(let port): return "redis://127.0.0.1:\(port)/0"
        case .unix(let path): return "unix://\(path)"
        }
    }

    public var port: Int? {
        if case .tcp(let p) = listen { return p }
        return nil
    }

    public struct StartError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Finds `redis-server` on PATH (and in /usr/sbin, /usr/bin for Debian's package).
    /// `SESSIOND_REDIS_SERVER` (a path or a name on PATH) when set, so the same
    /// tests and the embedded default run on Valkey; else `redis-server`, else `valkey-server`.
    public static func executablePath() -> String? {
        let environment = ProcessInfo.processInfo.environment
        let path = environment["PATH"] ?? ""
        let dirs = path.split(separator: ":").map(String.init) + ["/usr/bin", "/usr/sbin", "/usr/local/bin"]
        let names: [String]
        if let wanted = environment["SESSIOND_REDIS_SERVER"], !wanted.isEmpty {
            if wanted.contains("/") { return FileManager.default.isExecutableFile(atPath: wanted) ? wanted : nil }
            names = [wanted]
        } else {
            names = ["redis-server", "valkey-server"]
        }
        for name in names {
            for dir in dirs {
                let candidate = dir + "/" + name
                if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            }
        }
        return nil
    }

    /// A free TCP port on the loopback interface.
    public static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// Starts redis-server and returns once it accepts connections (polled, with a deadline).
    /// `extraArguments` are passed through (`--appendonly yes`, `--maxmemory 1mb`…).
    /// `directory`: reuse one (to restart a Redis on its AOF); it is then left in place on stop.
    public static func start(
        listen: Listen? = nil, extraArguments: [String] = [], directory existing: String? = nil,
        readyTimeout: TimeInterval = 10
    ) throws -> RedisServerProcess {
        guard let executable = executablePath() else {
            throw StartError(description: "redis-server not found on PATH (Debian: apt-get install -y redis-server)")
        }
        let ownsDirectory = existing == nil
        let directory = existing ?? FileManager.default.temporaryDirectory
            .appendingPathComponent("sessiond-redis-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let listen = listen ?? .unix(path: directory + "/redis.sock")
        var args = ["--daemonize", "no", "--dir", directory, "--save", "", "--appendonly", "no",
                    "--logfile", directory + "/redis.log", "--protected-mode", "yes"]
        switch listen {
        case .tcp(let port):
            args += ["--port", String(port), "--bind", "127.0.0.1"]
        case .unix(let path):
            args += ["--port", "0", "--unixsocket", path, "--unixsocketperm", "700"]
        }
        args += extraArguments
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/perl")
        process.arguments = ["-e", guardScript, executable] + args
        var environment = ProcessInfo.processInfo.environment
        if ownsDirectory { environment["SESSIOND_REDIS_DIR"] = directory }
        process.environment = environment
        // Our end of the pipe is close-on-exec, so no other child (another Redis of a
        // parallel test, say) inherits it and keeps this guard from seeing EOF.
        // The lock keeps two starts from racing between pipe() and fcntl().
        spawnLock.lock()
        defer { spawnLock.unlock() }
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw StartError(description: "pipe failed: errno \(errno)") }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        let readEnd = FileHandle(fileDescriptor: fds[0], closeOnDealloc: true)
        let writeEnd = FileHandle(fileDescriptor: fds[1], closeOnDealloc: true)
        process.standardInput = readEnd
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        try? readEnd.close()
        let server = RedisServerProcess(listen: listen, directory: directory, ownsDirectory: ownsDirectory,
                                        process: process, guardPipe: writeEnd)
        let deadline = Date().addingTimeInterval(readyTimeout)
        while !server.acceptsConnections() {
            if !process.isRunning || Date() > deadline {
                let log = (try? String(contentsOfFile: directory + "/redis.log", encoding: .utf8)) ?? ""
                server.stop()
                throw StartError(description: "redis-server did not start: \(log.suffix(2000))")
            }
            usleep(5_000)
        }
        return server
    }

    private init(listen: Listen, directory: String, ownsDirectory: Bool, process: Process, guardPipe: FileHandle) {
        self.listen = listen
        self.directory = directory
        self.ownsDirectory = ownsDirectory
        self.process = process
        self.guardPipe = guardPipe
    }

    public var pid: Int32 { process.processIdentifier }

    /// The redis-server's own pid (the child of the guard shell), for fault-injection tests.
    public var redisPID: Int32? {
        guard let text = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/task/\(process.processIdentifier)/children", encoding: .utf8)
        else { return nil }
        return text.split(separator: " ").compactMap { Int32($0) }.first
    }

    public var isRunning: Bool { process.isRunning }

    /// Whether redis-server itself (not only its guard) is alive.
    public var isRedisAlive: Bool {
        guard let pid = redisPID else { return false }
        return kill(pid, 0) == 0
    }

    /// Stops Redis and waits for it; safe to call twice.
    public func stop() {
        try? guardPipe.close()
        if process.isRunning { process.waitUntilExit() }
        if ownsDirectory { try? FileManager.default.removeItem(atPath: directory) }
    }

    private func acceptsConnections() -> Bool {
        switch listen {
        case .tcp(let port):
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = UInt16(port).bigEndian
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            return withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            } == 0
        case .unix(let path):
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var addr = sockaddr_un()
            addr.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(path.utf8)
            guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { return false }
            withUnsafeMutableBytes(of: &addr.sun_path) { raw in
                for (i, b) in bytes.enumerated() { raw[i] = b }
            }
            return withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            } == 0
        }
    }
}
