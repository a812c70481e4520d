import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

/// TLS to Redis (`rediss://`, `--redis-tls`, `--redis-tls-ca|cert|key`).
///
/// The server's certificate is always verified against the CA file (or the
/// system's trust store), hostname or IP address included; there is no switch
/// to turn that off, and a failed handshake never falls back to plain text.
/// One context per process: parsing certificates per connection would cost
/// milliseconds on every reconnect.
public final class RedisTLS: Sendable, Equatable, CustomStringConvertible {
    public let caFile: String?
    public let certificateFile: String?
    public let keyFile: String?
    let context: NIOSSLContext

    /// A configuration mistake, named by the flag it came from.
    public struct ConfigurationError: Error, CustomStringConvertible {
        public let description: String
    }

    public init(caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil) throws(ConfigurationError) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        guard (certificateFile == nil) == (keyFile == nil) else {
            throw ConfigurationError(description: "--redis-tls-cert and --redis-tls-key go together (a client certificate and its key)")
        }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .fullVerification
        tls.minimumTLSVersion = .tlsv12
        if let caFile {
            tls.trustRoots = .certificates(try Self.certificates(caFile, flag: "--redis-tls-ca"))
        }
        if let certificateFile, let keyFile {
            tls.certificateChain = try Self.certificates(certificateFile, flag: "--redis-tls-cert").map { .certificate($0) }
            try Self.readable(keyFile, flag: "--redis-tls-key")
            do {
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: keyFile, format: .pem))
            } catch {
                throw ConfigurationError(description: "--redis-tls-key \(keyFile): not a PEM private key (\(error))")
            }
        }
        do {
            context = try NIOSSLContext(configuration: tls)
        } catch {
            throw ConfigurationError(description: "TLS to Redis: \(error) (does --redis-tls-key match --redis-tls-cert?)")
        }
    }

    private static func readable(_ path: String, flag: String) throws(ConfigurationError) {
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw ConfigurationError(description: "\(flag) \(path): no such file, or not readable")
        }
    }

    private static func certificates(_ path: String, flag: String) throws(ConfigurationError) -> [NIOSSLCertificate] {
        try readable(path, flag: flag)
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMFile(path)
        } catch {
            throw ConfigurationError(description: "\(flag) \(path): not a PEM certificate (\(error))")
        }
        guard !certificates.isEmpty else { throw ConfigurationError(description: "\(flag) \(path): holds no PEM certificate") }
        return certificates
    }

    public static func == (a: RedisTLS, b: RedisTLS) -> Bool {
        a.caFile == b.caFile && a.certificateFile == b.certificateFile && a.keyFile == b.keyFile
    }

    public var description: String {
        "TLS (trusting \(caFile ?? "the system's CAs")\(certificateFile.map { ", client certificate \($0)" } ?? ""))"
    }

    /// The TLS handler for a connection to `host`, and the watcher that reports its handshake.
    /// An IP address is not a valid SNI name: NIOSSL then checks the certificate's IP
    /// addresses against the peer's, as it checks DNS names against a hostname.
    func handlers(host: String, deadline: NIODeadline) throws -> [ChannelHandler] {
        let isAddress = (try? SocketAddress(ipAddress: host, port: 0)) != nil
        return [try NIOSSLClientHandler(context: context, serverHostname: isAddress ? nil : host),
                TLSHandshakeWatcher(deadline: deadline)]
    }

    /// Waits for the handshake that `handlers` started; a failure comes back as a
    /// `RedisError` that names the problem (expired, untrusted, wrong name, not TLS…).
    func handshake(of channel: Channel, host: String, port: Int) -> EventLoopFuture<Void> {
        let loop = channel.eventLoop
        let watcher: TLSHandshakeWatcher
        do {
            watcher = try channel.pipeline.syncOperations.handler(type: TLSHandshakeWatcher.self)
        } catch {
            return loop.makeFailedFuture(RedisError.connectionUnavailable("TLS handler missing: \(error)"))
        }
        return watcher.completed.flatMapError { error in
            channel.close(promise: nil)
            let failure = TLSFailure(error, host: host, trusting: self.caFile)
            guard failure.needsCertificate else {
                return loop.makeFailedFuture(RedisError.connectionUnavailable("TLS to \(host):\(port): \(failure.message)"))
            }
            return self.peerCertificate(host: host, port: port, on: loop).flatMapThrowing { certificate in
                throw RedisError.connectionUnavailable("TLS to \(host):\(port): \(failure.message(given: certificate))")
            }
        }
    }

    /// After a verification failure only: the server's certificate, fetched over a
    /// second handshake that verifies nothing and sends nothing, so the message can
    /// say whether it expired or came from another CA. Nothing else ever uses it.
    private func peerCertificate(host: String, port: Int, on loop: EventLoop) -> EventLoopFuture<NIOSSLCertificate?> {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        tls.trustRoots = .certificates([])  // verifies nothing: no need to load the system's CA bundle
        let deadline = NIODeadline.now() + .seconds(2)
        let context: NIOSSLContext
        do { context = try NIOSSLContext(configuration: tls) } catch { return loop.makeSucceededFuture(nil) }
        return ClientBootstrap(group: loop)
            .connectTimeout(.seconds(2))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        try NIOSSLClientHandler(context: context, serverHostname: nil), TLSHandshakeWatcher(deadline: deadline),
                    ])
                }
            }
            .connect(host: host, port: port)
            .flatMap { channel in
                guard let watcher = try? channel.pipeline.syncOperations.handler(type: TLSHandshakeWatcher.self),
                      let handler = try? channel.pipeline.syncOperations.handler(type: NIOSSLClientHandler.self) else {
                    channel.close(promise: nil)
                    return loop.makeSucceededFuture(nil)
                }
                let tls = NIOLoopBound(handler, eventLoop: loop)
                return watcher.completed
                    .map { tls.value.peerCertificate }
                    .always { _ in channel.close(promise: nil) }
            }
            .recover { _ in nil }
    }
}

/// Why a TLS connection failed, in words an operator can act on.
struct TLSFailure {
    let message: String
    /// A chain that did not verify: `message(given:)` can tell an expired
    /// certificate from an untrusted one.
    let needsCertificate: Bool
    private let trusting: String

    init(_ error: Error, host: String, trusting caFile: String?) {
        trusting = caFile.map { "--redis-tls-ca \($0)" } ?? "the system's trust store (give --redis-tls-ca)"
        let text = Self.text(of: error)
        needsCertificate = text.contains("CERTIFICATE_VERIFY_FAILED")
        message = Self.describe(error, host: host) ?? "TLS failed: \(text)"
    }

    func message(given certificate: NIOSSLCertificate?) -> String {
        let now = time(nil)
        if let certificate, certificate.notValidAfter < now {
            return "the server's certificate expired at \(Self.date(certificate.notValidAfter))"
        }
        if let certificate, certificate.notValidBefore > now {
            return "the server's certificate is not valid before \(Self.date(certificate.notValidBefore))"
        }
        return "the server's certificate is not signed by a CA in \(trusting)"
    }

    private static func date(_ t: time_t) -> String {
        let formatter = ISO8601DateFormatter()
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(t)))
    }

    private static func text(of error: Error) -> String {
        switch error {
        case NIOSSLError.handshakeFailed(let e): return "\(e)"
        default: return "\(error)"
        }
    }

    /// A readable reason for a TLS error, or nil when `error` is not about TLS.
    /// Also used for errors after the handshake (a client certificate refused
    /// under TLS 1.3 only shows when the first reply is read).
    static func describe(_ error: Error, host: String? = nil) -> String? {
        if let e = error as? NIOSSLExtraError, e == .failedToValidateHostname {
            return "the server's certificate does not name \(host.map { "'\($0)'" } ?? "this host")"
        }
        let text: String
        switch error {
        case NIOSSLError.handshakeFailed(let e): text = "\(e)"
        case let e as BoringSSLError: text = "\(e)"
        case NIOSSLError.uncleanShutdown, TLSHandshakeWatcher.Closed.closed:
            return "the server closed the connection during the TLS handshake (a plain-text port, or a client certificate it refused?)"
        case let e as NIOSSLError: return "TLS failed: \(e)"
        case RedisError.timeout:
            // A plain-text Redis reads a ClientHello as the start of a command and waits for the rest.
            return "no TLS handshake within --redis-timeout (a plain-text port? Redis serves TLS on its tls-port)"
        default: return nil
        }
        if text.contains("CERTIFICATE_VERIFY_FAILED") { return "the server's certificate did not verify" }
        if text.contains("WRONG_VERSION_NUMBER") || text.contains("PACKET_LENGTH_TOO_LONG") || text.contains("HTTP_REQUEST")
            || text.contains("RECORD_LENGTH_MISMATCH") || text.contains("DECODE_ERROR") {
            return "the server does not speak TLS (a plain-text port? Redis serves TLS on its tls-port)"
        }
        if text.contains("CERTIFICATE_REQUIRED") || text.contains("BAD_CERTIFICATE") || text.contains("UNKNOWN_CA")
            || text.contains("CERTIFICATE_UNKNOWN") || text.contains("HANDSHAKE_FAILURE_ON_CLIENT_HELLO") {
            return "the server refused our client certificate (mutual TLS: give --redis-tls-cert and --redis-tls-key, signed by a CA the server trusts)"
        }
        return "TLS failed: \(text)"
    }
}

/// Reports the end of the TLS handshake (success, error, close or deadline) as a
/// future, then leaves the pipeline; it never touches the data.
final class TLSHandshakeWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    enum Closed: Error { case closed }

    private let deadline: NIODeadline
    private var promise: EventLoopPromise<Void>?
    private var timer: Scheduled<Void>?
    private var future: EventLoopFuture<Void>?

    init(deadline: NIODeadline) {
        self.deadline = deadline
    }

    /// Valid once the handler is in a pipeline.
    var completed: EventLoopFuture<Void> { future! }

    func handlerAdded(context: ChannelHandlerContext) {
        let promise = context.eventLoop.makePromise(of: Void.self)
        self.promise = promise
        future = promise.futureResult
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: deadline) {
            loopBound.value.finish(.failure(RedisError.timeout))
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        finish(.failure(Closed.closed))
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event {
            finish(.success(()))
            context.fireUserInboundEventTriggered(event)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        finish(.failure(error))
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(.failure(Closed.closed))
        context.fireChannelInactive()
    }

    private func finish(_ result: Result<Void, Error>) {
        timer?.cancel()
        timer = nil
        guard let promise else { return }
        self.promise = nil
        promise.completeWith(result)
    }
}
