import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs a program to completion with posix_spawn and waitpid, its stdout and
/// stderr in a temporary file. Not Foundation's `Process`: its `waitUntilExit`
/// can miss a child's exit while other tests start processes concurrently
/// (seen here: every test of the run waited on it), and a missed exit here
/// would hang the whole suite.
public func spawnAndWait(_ arguments: [String]) throws -> (status: Int32, output: String) {
    let outPath = FileManager.default.temporaryDirectory
        .appendingPathComponent("sessiond-spawn-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).out").path
    defer { unlink(outPath) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    defer { for p in argv { free(p) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, arguments[0], &actions, nil, &argv, environ)
    guard rc == 0 else { throw TestFailure("posix_spawn \(arguments[0]): errno \(rc)") }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) == -1 {
        guard errno == EINTR else { throw TestFailure("waitpid \(arguments[0]): errno \(errno)") }
    }
    let output = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
    // WIFEXITED / WEXITSTATUS, which Swift does not import as functions.
    let exited = (status & 0x7f) == 0
    return (exited ? (status >> 8) & 0xff : 128 + (status & 0x7f), output)
}
