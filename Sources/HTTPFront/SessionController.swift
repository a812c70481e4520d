import NIOCore
#if canImport(Glibc)
import Glibc
#endif
import NIOHTTP1
import Sessions

/// The HTTP side of each route: parse and validate (bad input never reaches
/// Redis), call the store, shape the response. Errors are thrown or failed
/// as `SessionError` / `Problem` and mapped to statuses in `Problem.swift`.
struct SessionController: Sendable {
    let store: SessionStore
    let metrics: ServerMetrics
    let allocator = ByteBufferAllocator()

    var configuration: SessionConfiguration { store.configuration }
    var limits: SessionLimits { store.configuration.limits }

    /// Answers through `done`, called once, on any thread. Routes answer with a
    /// future, except the session read (most of the traffic), which calls back
    /// straight from the Redis reply: no promise, no callback list.
    func handle(_ route: Route, _ request: Request, on loop: EventLoop,
                _ done: @escaping @Sendable (consuming Result<Response, Error>) -> Void) {
        do {
            try dispatch(route, request, on: loop, done)?.whenComplete(done)
        } catch {
            done(.failure(error))
        }
    }

    /// Returns the answer's future, or nil when the route calls `done` itself.
    private func dispatch(_ route: Route, _ req: Request, on loop: EventLoop,
                          _ done: @escaping @Sendable (consuming Result<Response, Error>) -> Void) throws -> EventLoopFuture<Response>? {
        switch (route, req.method) {
        case (.healthz, _):
            return loop.makeSucceededFuture(.json(.ok, allocator.buffer(string: "{\"status\":\"ok\"}")))
        case (.readyz, _):
            return store.ready(on: loop)
                .map { .json(.ok, allocator.buffer(string: "{\"status\":\"ok\"}")) }
                .flatMapErrorThrowing { throw Problem(notReady: $0) }
        case (.metrics, _):
            return loop.makeSucceededFuture(.text(.ok, metrics.exposition(), contentType: "text/plain; version=0.0.4; charset=utf-8", allocator: allocator))
        case (.openapi, _):
            return loop.makeSucceededFuture(.text(.ok, OpenAPIDocument.yaml, contentType: "application/yaml", allocator: allocator))

        case (.sessions, .POST):
            let input = try SessionInput.parse(req.body, limits: limits)
            return store.create(input, on: loop).map { s in
                self.metrics.sessionsCreated.increment()
                var r = self.sessionResponse(s, status: .created)
                r.headers.add(name: "Location", value: "/v1/sessions/\(s.id)")
                return r
            }
        case (.sessions, .DELETE):
            guard try req.query("confirm") == "all" else {
                throw Problem.badRequest("deleting every session needs ?confirm=all")
            }
            return store.deleteAll(on: loop).map { n in
                self.metrics.sessionsDeleted.increment(by: Int64(n))
                return self.countResponse("deleted", n)
            }

        case (.session(let rawID), .GET):
            let id = try Self.id(rawID)
            store.read(id, mode: .everything, touch: try touch(req), on: loop) { result in
                done(result.map { s, _ in self.sessionResponse(s, status: .ok) })
            }
            return nil
        case (.session(let rawID), .HEAD):
            let id = try Self.id(rawID)
            return store.read(id, mode: .metadata, touch: try touch(req), on: loop).map { s, _ in
                var r = Response(status: .ok)
                r.etagVersion = s.version
                return r
            }
        case (.session(let rawID), .PUT):
            let id = try Self.id(rawID)
            let input = try SessionInput.parse(req.body, limits: limits)
            let conditions = Preconditions(ifMatch: try Self.tags(req.headers, "If-Match"),
                                           ifNoneMatch: try Self.tags(req.headers, "If-None-Match", weak: true))
            return store.replace(id, input, preconditions: conditions, on: loop).map { s, created in
                if created { self.metrics.sessionsCreated.increment() }
                var r = self.sessionResponse(s, status: created ? .created : .ok)
                if created { r.headers.add(name: "Location", value: "/v1/sessions/\(s.id)") }
                return r
            }
        case (.session(let rawID), .PATCH):
            let id = try Self.id(rawID)
            let input = try PatchInput.parse(req.body, limits: limits)
            return store.write(id, set: input.set, delete: input.delete, ifMatch: try Self.tags(req.headers, "If-Match"),
                               withData: true, on: loop).map { s in
                self.sessionResponse(s, status: .ok)
            }
        case (.session(let rawID), .DELETE):
            let id = try Self.id(rawID)
            return store.delete(id, on: loop).map { deleted in
                if deleted { self.metrics.sessionsDeleted.increment() }
                return .noContent()
            }

        case (.dataKey(let rawID, let rawKey), .GET), (.dataKey(let rawID, let rawKey), .HEAD):
            let id = try Self.id(rawID)
            let key = try Self.name(rawKey, what: "key")
            return store.read(id, mode: .key(key), touch: try touch(req), on: loop).map { s, value in
                var body = self.allocator.buffer(capacity: value?.count ?? 0)
                body.writeBytes(value ?? [])
                return .json(.ok, body, etag: s.version)
            }
        case (.dataKey(let rawID, let rawKey), .PUT):
            let id = try Self.id(rawID)
            let key = try Self.name(rawKey, what: "key")
            let value = try RawValue.parse(req.body, limits: limits)
            return store.write(id, set: [DataEntry(key: key, json: value)], delete: [],
                               ifMatch: try Self.tags(req.headers, "If-Match"), withData: false, on: loop).map { s in
                .noContent(etag: s.version)
            }
        case (.dataKey(let rawID, let rawKey), .DELETE):
            let id = try Self.id(rawID)
            let key = try Self.name(rawKey, what: "key")
            return store.write(id, set: [], delete: [key], ifMatch: try Self.tags(req.headers, "If-Match"),
                               withData: false, on: loop).map { s in
                .noContent(etag: s.version)
            }
        case (.data(let rawID), .DELETE):
            let id = try Self.id(rawID)
            return store.write(id, set: [], delete: [], clear: true, ifMatch: try Self.tags(req.headers, "If-Match"),
                               withData: false, on: loop).map { s in
                .noContent(etag: s.version)
            }

        case (.expiry(let rawID), .GET), (.expiry(let rawID), .HEAD):
            let id = try Self.id(rawID)
            return store.read(id, mode: .metadata, touch: try touch(req), on: loop).map { s, _ in
                self.expiryResponse(s)
            }
        case (.expiry(let rawID), .PUT):
            let id = try Self.id(rawID)
            let input = try ExpiryInput.parse(req.body, limits: limits, nowMilliseconds: Clock.nowMilliseconds())
            return store.setExpiry(id, input, on: loop).map { s in self.expiryResponse(s) }

        case (.cycle(let rawID), .POST):
            let id = try Self.id(rawID)
            return store.cycle(id, on: loop).map { s in
                self.metrics.sessionsCycled.increment()
                var r = self.sessionResponse(s, status: .created)
                r.headers.add(name: "Location", value: "/v1/sessions/\(s.id)")
                return r
            }

        case (.userSessions(let rawUser), .GET), (.userSessions(let rawUser), .HEAD):
            let user = String(decoding: try Self.name(rawUser, what: "user"), as: UTF8.self)
            return store.sessions(ofUser: user, on: loop).map { sessions in
                var body = self.allocator.buffer(capacity: 256 * (sessions.count + 1))
                body.writeStaticString("{\"sessions\":[")
                for (i, s) in sessions.enumerated() {
                    if i > 0 { body.writeStaticString(",") }
                    body.writeSession(s)
                }
                body.writeStaticString("]}")
                return .json(.ok, body)
            }
        case (.userSessions(let rawUser), .DELETE):
            let user = String(decoding: try Self.name(rawUser, what: "user"), as: UTF8.self)
            var except: String? = nil
            if let e = try req.query("except") {
                guard SessionID.isValid(e) else { throw Problem.badRequest("'except' is not a valid session id") }
                except = e
            }
            return store.deleteSessions(ofUser: user, except: except, on: loop).map { n in
                self.metrics.sessionsDeleted.increment(by: Int64(n))
                return self.countResponse("deleted", n)
            }

        default:
            // The router only passes allowed methods; this is unreachable by construction.
            throw Problem(.methodNotAllowed, "method not allowed")
        }
    }

    // MARK: Helpers

    private func sessionResponse(_ s: Session, status: HTTPResponseStatus) -> Response {
        var body = Response.bodyBuffer(allocator, capacity: 320 + s.dataByteCount + (s.device?.count ?? 0))
        body.writeSession(s)
        var response = Response.json(status, body, etag: s.version)
        // §6: the login pushed the user over --max-sessions-per-user.
        if s.evicted > 0 { response.headers.add(name: "Sessions-Evicted", value: String(s.evicted)) }
        return response
    }

    private func expiryResponse(_ s: Session) -> Response {
        var body = Response.bodyBuffer(allocator, capacity: 96)
        body.writeExpiry(s)
        return .json(.ok, body, etag: s.version)
    }

    private func countResponse(_ name: StaticString, _ n: Int) -> Response {
        var body = allocator.buffer(capacity: 32)
        body.writeStaticString("{\"")
        body.writeStaticString(name)
        body.writeStaticString("\":")
        body.writeDecimal(n)
        body.writeStaticString("}")
        return .json(.ok, body)
    }

    /// `?touch=false` skips the refresh; `?touch=true` asks for it even under `--no-touch-on-read`.
    private func touch(_ req: Request) throws(Problem) -> Bool {
        switch try req.query("touch") {
        case nil: return configuration.touchOnRead
        case "false", "0": return false
        case "true", "1": return true
        case let other?: throw Problem.badRequest("touch must be true or false, not '\(other)'")
        }
    }

    static func id(_ raw: Substring) throws(Problem) -> String {
        guard SessionID.isValid(raw.utf8) else {
            throw Problem.badRequest("invalid session id: expected 8 to 128 characters of A-Z, a-z, 0-9, '_' or '-'")
        }
        return String(raw)
    }

    static func name(_ raw: Substring, what: String) throws(Problem) -> [UInt8] {
        guard let bytes = PercentDecoding.decode(raw.utf8) else {
            throw Problem.badRequest("\(what) has a malformed percent-escape")
        }
        if let p = SessionName.problem(bytes, what: what) { throw Problem.badRequest(p) }
        return bytes
    }

    /// Parses `If-Match` / `If-None-Match` (RFC 9110 §13.1): `*`, or a list of entity
    /// tags. Ours are `"<version>"`; a tag of any other text simply never matches.
    /// If-Match compares strongly (weak tags never match); If-None-Match weakly.
    static func tags(_ headers: HTTPHeaders, _ name: String, weak: Bool = false) throws(Problem) -> Preconditions.Tags? {
        let values = headers[name]
        if values.isEmpty { return nil }
        var versions: [Int64] = []
        for value in values {
            var rest = Substring(value)
            while true {
                while let c = rest.first, c == " " || c == "\t" || c == "," { rest = rest.dropFirst() }
                guard !rest.isEmpty else { break }
                if rest.first == "*" { return .any }
                var isWeak = false
                if rest.hasPrefix("W/") {
                    isWeak = true
                    rest = rest.dropFirst(2)
                }
                guard rest.first == "\"", let close = rest.dropFirst().firstIndex(of: "\"") else {
                    throw Problem.badRequest("\(name) must be * or a list of quoted entity tags")
                }
                let opaque = rest[rest.index(after: rest.startIndex)..<close]
                rest = rest[rest.index(after: close)...]
                // Only the canonical spelling is our tag: "02" is not "2".
                if (!isWeak || weak), let v = Int64(opaque), String(v) == opaque { versions.append(v) }
            }
        }
        return .versions(versions)
    }
}

enum Clock {
    static func nowMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}
