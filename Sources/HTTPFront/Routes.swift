import NIOHTTP1

/// The routing table of the contract (§3): path shape → route, and which
/// methods each route allows (for `405` with `Allow`).
enum Route: Equatable {
    case healthz
    case readyz
    case metrics
    case openapi
    /// `/v1/sessions`
    case sessions
    /// `/v1/sessions/{id}`
    case session(id: Substring)
    /// `/v1/sessions/{id}/data`
    case data(id: Substring)
    /// `/v1/sessions/{id}/data/{key}`
    case dataKey(id: Substring, key: Substring)
    /// `/v1/sessions/{id}/expiry`
    case expiry(id: Substring)
    /// `/v1/sessions/{id}/cycle`
    case cycle(id: Substring)
    /// `/v1/users/{user}/sessions`
    case userSessions(user: Substring)

    static func match(_ s: [Substring]) -> Route? {
        switch s.count {
        case 1:
            switch s[0] {
            case "healthz": return .healthz
            case "readyz": return .readyz
            case "metrics": return .metrics
            case "openapi.yaml": return .openapi
            default: return nil
            }
        case 2 where s[0] == "v1" && s[1] == "sessions":
            return .sessions
        case 3 where s[0] == "v1" && s[1] == "sessions":
            return .session(id: s[2])
        case 4 where s[0] == "v1" && s[1] == "sessions":
            switch s[3] {
            case "data": return .data(id: s[2])
            case "expiry": return .expiry(id: s[2])
            case "cycle": return .cycle(id: s[2])
            default: return nil
            }
        case 4 where s[0] == "v1" && s[1] == "users" && s[3] == "sessions":
            return .userSessions(user: s[2])
        case 5 where s[0] == "v1" && s[1] == "sessions" && s[3] == "data":
            return .dataKey(id: s[2], key: s[4])
        default:
            return nil
        }
    }

    /// Methods the route answers; HEAD goes wherever GET does.
    var allowed: [HTTPMethod] {
        switch self {
        case .healthz, .readyz, .metrics, .openapi: return Self.probeMethods
        case .sessions: return Self.collectionMethods
        case .session: return Self.sessionMethods
        default: return allowedElsewhere
        }
    }

    // The common tables are built once, not per request.
    private static let probeMethods: [HTTPMethod] = [.GET, .HEAD]
    private static let collectionMethods: [HTTPMethod] = [.POST, .DELETE]
    private static let sessionMethods: [HTTPMethod] = [.GET, .HEAD, .PUT, .PATCH, .DELETE]

    private var allowedElsewhere: [HTTPMethod] {
        switch self {
        case .healthz, .readyz, .metrics, .openapi: return [.GET, .HEAD]
        case .sessions: return [.POST, .DELETE]
        case .session: return [.GET, .HEAD, .PUT, .PATCH, .DELETE]
        case .data: return [.DELETE]
        case .dataKey: return [.GET, .HEAD, .PUT, .DELETE]
        case .expiry: return [.GET, .HEAD, .PUT]
        case .cycle: return [.POST]
        case .userSessions: return [.GET, .HEAD, .DELETE]
        }
    }

    /// A low-cardinality name for metrics and logs (never an id or a user).
    var name: String {
        switch self {
        case .healthz: return "/healthz"
        case .readyz: return "/readyz"
        case .metrics: return "/metrics"
        case .openapi: return "/openapi.yaml"
        case .sessions: return "/v1/sessions"
        case .session: return "/v1/sessions/{id}"
        case .data: return "/v1/sessions/{id}/data"
        case .dataKey: return "/v1/sessions/{id}/data/{key}"
        case .expiry: return "/v1/sessions/{id}/expiry"
        case .cycle: return "/v1/sessions/{id}/cycle"
        case .userSessions: return "/v1/users/{user}/sessions"
        }
    }

    /// The raw session id in the path, if any (for the salted log tag, never logged itself).
    var sessionID: Substring? {
        switch self {
        case .session(let id), .data(let id), .dataKey(let id, _), .expiry(let id), .cycle(let id): return id
        default: return nil
        }
    }

    /// Probes stay open when a token is configured.
    var isProbe: Bool { self == .healthz || self == .readyz }

    /// Every route with its methods, for the OpenAPI consistency test.
    static let table: [(path: String, methods: [HTTPMethod])] = [
        Route.healthz, .readyz, .metrics, .openapi, .sessions, .session(id: ""), .data(id: ""),
        .dataKey(id: "", key: ""), .expiry(id: ""), .cycle(id: ""), .userSessions(user: ""),
    ].map { ($0.name, $0.allowed) }
}
