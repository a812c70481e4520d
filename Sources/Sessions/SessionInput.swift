/// Parsed request bodies. Parsing is strict: unknown members are rejected so a
/// typo (`"tll"`) is a 400, not a silently ignored setting.

/// A field that may be absent, explicitly null, or set.
public enum Field<T: Sendable & Equatable>: Sendable, Equatable {
    case absent
    case null
    case value(T)
}

/// One data entry: the key, and the exact JSON text of its value.
public struct DataEntry: Sendable, Equatable {
    public var key: [UInt8]
    public var json: [UInt8]

    public init(key: [UInt8], json: [UInt8]) {
        self.key = key
        self.json = json
    }
}

/// `POST /v1/sessions` and `PUT /v1/sessions/{id}`: `{"data", "ttl", "user", "device"}`.
public struct SessionInput: Sendable, Equatable {
    public var data: [DataEntry]?
    public var ttl: Field<Int>
    public var user: Field<String>
    /// The exact JSON text of the device object (§3: any object of at most 2 KiB).
    public var device: Field<[UInt8]>

    public init(data: [DataEntry]? = nil, ttl: Field<Int> = .absent, user: Field<String> = .absent,
                device: Field<[UInt8]> = .absent) {
        self.data = data
        self.ttl = ttl
        self.user = user
        self.device = device
    }

    /// An empty body means "all defaults".
    public static func parse(_ body: [UInt8], limits: SessionLimits) throws(SessionError) -> SessionInput {
        var input = SessionInput()
        if body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return input }
        for (name, range) in try BodyParser.members(body, limits: limits) {
            switch String(decoding: name, as: UTF8.self) {
            case "data":
                input.data = try BodyParser.dataObject(body, range, limits: limits)
            case "ttl":
                input.ttl = try BodyParser.ttl(body, range, limits: limits)
            case "user":
                input.user = try BodyParser.user(body, range)
            case "device":
                input.device = try BodyParser.device(body, range)
            default:
                throw .invalid("unknown member \"\(String(decoding: name, as: UTF8.self))\" (expected data, ttl, user, device)")
            }
        }
        return input
    }
}

/// `PATCH /v1/sessions/{id}`: `{"set": {k: v}, "delete": [k]}`.
public struct PatchInput: Sendable, Equatable {
    public var set: [DataEntry] = []
    public var delete: [[UInt8]] = []

    public init(set: [DataEntry] = [], delete: [[UInt8]] = []) {
        self.set = set
        self.delete = delete
    }

    public static func parse(_ body: [UInt8], limits: SessionLimits) throws(SessionError) -> PatchInput {
        var input = PatchInput()
        for (name, range) in try BodyParser.members(body, limits: limits) {
            switch String(decoding: name, as: UTF8.self) {
            case "set":
                input.set = try BodyParser.dataObject(body, range, limits: limits)
            case "delete":
                let keys: [[UInt8]]
                do { keys = try JSONScanner.strings(inArray: body[range], maxDepth: limits.maxDepth) } catch {
                    throw .invalid("\"delete\" must be an array of key strings: \(error.message)")
                }
                for k in keys {
                    if let p = SessionName.problem(k, what: "key") { throw .invalid(p) }
                }
                input.delete = Array(Set(keys))
            default:
                throw .invalid("unknown member \"\(String(decoding: name, as: UTF8.self))\" (expected set, delete)")
            }
        }
        let setKeys = Set(input.set.map(\.key))
        if input.delete.contains(where: { setKeys.contains($0) }) {
            throw .invalid("a key cannot be both set and deleted in one PATCH")
        }
        if input.set.count > limits.maxKeys {
            throw .invalid("more than \(limits.maxKeys) keys in one session")
        }
        return input
    }
}

/// `PUT /v1/sessions/{id}/expiry`.
public enum ExpiryInput: Sendable, Equatable {
    /// `{"ttl": N}`: a new idle timeout; sliding resumes.
    case ttl(Int)
    /// `{"ttl": null}`: back to the server default.
    case defaultTTL
    /// `{"expires_at": "RFC 3339"}`: fixed, no sliding (unix ms).
    case at(Int64)

    public static func parse(_ body: [UInt8], limits: SessionLimits, nowMilliseconds: Int64) throws(SessionError) -> ExpiryInput {
        let members = try BodyParser.members(body, limits: limits)
        guard members.count == 1 else {
            throw .invalid("expected exactly one of {\"ttl\": N}, {\"ttl\": null} or {\"expires_at\": \"RFC 3339\"}")
        }
        let (name, range) = members[0]
        switch String(decoding: name, as: UTF8.self) {
        case "ttl":
            switch try BodyParser.ttl(body, range, limits: limits) {
            case .value(let t): return .ttl(t)
            default: return .defaultTTL
            }
        case "expires_at":
            guard body[range.lowerBound] == UInt8(ascii: "\"") else { throw .invalid("\"expires_at\" must be an RFC 3339 string") }
            let text: [UInt8]
            do { text = try JSONScanner.decodeString(body[range]) } catch { throw .invalid(error.message) }
            guard let ms = Timestamps.parse(String(decoding: text, as: UTF8.self)) else {
                throw .invalid("\"expires_at\" is not an RFC 3339 timestamp (e.g. 2026-12-05T22:47:19Z)")
            }
            let seconds = (ms - nowMilliseconds) / 1000
            guard ms > nowMilliseconds else { throw .invalid("\"expires_at\" is in the past") }
            guard seconds <= Int64(limits.ttlRange.upperBound) else {
                throw .invalid("\"expires_at\" is more than \(limits.ttlRange.upperBound) seconds away")
            }
            return .at(ms)
        default:
            throw .invalid("unknown member \"\(String(decoding: name, as: UTF8.self))\" (expected ttl or expires_at)")
        }
    }
}

/// A raw JSON value (`PUT …/data/{key}` body), validated and kept byte for byte.
public enum RawValue {
    public static func parse(_ body: [UInt8], limits: SessionLimits) throws(SessionError) -> [UInt8] {
        do {
            let r = try JSONScanner.validateValue(body, maxDepth: limits.maxDepth)
            return r == body.indices ? body : Array(body[r])
        } catch {
            throw .invalid(error.message)
        }
    }
}

enum BodyParser {
    static func members(_ body: [UInt8], limits: SessionLimits) throws(SessionError) -> [(key: [UInt8], value: Range<Int>)] {
        do {
            return try JSONScanner.members(ofObject: body, maxDepth: limits.maxDepth)
        } catch {
            throw .invalid(error.message)
        }
    }

    static func dataObject(_ body: [UInt8], _ range: Range<Int>, limits: SessionLimits) throws(SessionError) -> [DataEntry] {
        guard body[range.lowerBound] == UInt8(ascii: "{") else { throw .invalid("\"data\" must be a JSON object") }
        var scanner = JSONScanner(body, maxDepth: limits.maxDepth)
        // Re-scan from the object's start at depth 2 (it sits inside the body object).
        let members: [(key: [UInt8], value: Range<Int>)]
        do {
            scanner.seek(range.lowerBound)
            members = try scanner.scanObjectMembers(depth: 2)
        } catch {
            throw .invalid(error.message)
        }
        // Duplicate keys: the last one wins, as in JSON.parse and Python's json.
        var position: [[UInt8]: Int] = [:]
        var entries: [DataEntry] = []
        entries.reserveCapacity(members.count)
        for (key, value) in members {
            if let p = SessionName.problem(key, what: "key") { throw .invalid(p) }
            let entry = DataEntry(key: key, json: Array(body[value]))
            if let i = position[key] { entries[i] = entry } else { position[key] = entries.count; entries.append(entry) }
        }
        if entries.count > limits.maxKeys { throw .invalid("more than \(limits.maxKeys) keys in one session") }
        return entries
    }

    static func ttl(_ body: [UInt8], _ range: Range<Int>, limits: SessionLimits) throws(SessionError) -> Field<Int> {
        let text = body[range]
        if text.elementsEqual("null".utf8) { return .null }
        // Any JSON number with a whole value counts (3600, 3600.0, 3.6e3), as JSON Schema's "integer" does.
        let first = text.first ?? 0
        guard first == UInt8(ascii: "-") || (first >= 0x30 && first <= 0x39),
              let number = Double(String(decoding: text, as: UTF8.self)), number.isFinite, number == number.rounded()
        else {
            throw .invalid("\"ttl\" must be a whole number of seconds or null")
        }
        guard number >= Double(limits.ttlRange.lowerBound), number <= Double(limits.ttlRange.upperBound) else {
            throw .invalid("\"ttl\" must be between \(limits.ttlRange.lowerBound) and \(limits.ttlRange.upperBound) seconds")
        }
        return .value(Int(number))
    }

    /// What a device object may weigh (§3), in bytes of its JSON text.
    static let maxDeviceBytes = 2048

    /// `device`: a JSON object (already validated with the body), kept as its exact text, or null.
    static func device(_ body: [UInt8], _ range: Range<Int>) throws(SessionError) -> Field<[UInt8]> {
        let text = body[range]
        if text.elementsEqual("null".utf8) { return .null }
        guard text.first == UInt8(ascii: "{") else { throw .invalid("\"device\" must be a JSON object or null") }
        guard text.count <= maxDeviceBytes else {
            throw .invalid("\"device\" must be at most \(maxDeviceBytes) bytes of JSON (it has \(text.count))")
        }
        return .value(Array(text))
    }

    static func user(_ body: [UInt8], _ range: Range<Int>) throws(SessionError) -> Field<String> {
        let text = body[range]
        if text.elementsEqual("null".utf8) { return .null }
        guard text.first == UInt8(ascii: "\"") else { throw .invalid("\"user\" must be a string or null") }
        let bytes: [UInt8]
        do { bytes = try JSONScanner.decodeString(text) } catch { throw .invalid(error.message) }
        if let p = SessionName.problem(bytes, what: "user") { throw .invalid(p) }
        return .value(String(decoding: bytes, as: UTF8.self))
    }
}
