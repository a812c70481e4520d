import NIOCore
import Sessions

/// Writes the JSON of the API by concatenation: values are already JSON text
/// (stored as received), so a session read never re-encodes them.
extension ByteBuffer {
    mutating func writeJSONString<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        writeInteger(UInt8(ascii: "\""))
        var needsEscape = false
        for b in bytes where b < 0x20 || b == 0x22 || b == 0x5C { needsEscape = true; break }
        if !needsEscape {
            writeBytes(bytes)
        } else {
            let hex = Array("0123456789abcdef".utf8)
            for b in bytes {
                switch b {
                case 0x22: writeStaticString("\\\"")
                case 0x5C: writeStaticString("\\\\")
                case 0x0A: writeStaticString("\\n")
                case 0x0D: writeStaticString("\\r")
                case 0x09: writeStaticString("\\t")
                case 0..<0x20:
                    writeStaticString("\\u00")
                    writeInteger(hex[Int(b >> 4)])
                    writeInteger(hex[Int(b & 0xF)])
                default: writeInteger(b)
                }
            }
        }
        writeInteger(UInt8(ascii: "\""))
    }

    mutating func writeJSONString(_ s: String) {
        var s = s
        s.withUTF8 { writeJSONString($0) }
    }

    mutating func writeSession(_ s: Session) {
        writeStaticString("{\"id\":")
        writeJSONString(s.id)
        writeStaticString(",\"data\":{")
        var first = true
        s.forEachData { key, json in
            if !first { writeInteger(UInt8(ascii: ",")) }
            first = false
            writeJSONString(key)
            writeInteger(UInt8(ascii: ":"))
            writeBytes(json)
        }
        writeStaticString("},")
        writeExpiryFields(s)
        writeStaticString(",\"created_at\":\"")
        writeTimestamp(s.createdMilliseconds)
        writeStaticString("\",\"user\":")
        if let u = s.user { writeJSONString(u) } else { writeStaticString("null") }
        writeStaticString(",\"device\":")
        if let d = s.device { writeBytes(d) } else { writeStaticString("null") }
        writeStaticString(",\"last_seen_at\":")
        if let seen = s.seenMilliseconds {
            writeInteger(UInt8(ascii: "\""))
            writeTimestamp(seen)
            writeInteger(UInt8(ascii: "\""))
        } else {
            writeStaticString("null")
        }
        writeInteger(UInt8(ascii: "}"))
    }

    mutating func writeExpiry(_ s: Session) {
        writeInteger(UInt8(ascii: "{"))
        writeExpiryFields(s)
        writeInteger(UInt8(ascii: "}"))
    }

    /// `"ttl":…,"expires_in":…,"expires_at":"…"`, shared by sessions and expiry answers.
    private mutating func writeExpiryFields(_ s: Session) {
        writeStaticString("\"ttl\":")
        writeSignedDecimal(Int64(s.ttl))
        writeStaticString(",\"expires_in\":")
        writeSignedDecimal(s.expiresIn)
        writeStaticString(",\"expires_at\":\"")
        writeTimestamp(s.expiresAtMilliseconds)
        writeInteger(UInt8(ascii: "\""))
    }

    mutating func writeSignedDecimal(_ v: Int64) {
        if v < 0 {
            writeInteger(UInt8(ascii: "-"))
            if v == .min {
                writeStaticString("9223372036854775808")
                return
            }
        }
        writeDecimal(Int(v.magnitude))
    }

    /// RFC 3339 in UTC to the second (`2026-12-05T22:47:19Z`), as `Timestamps.format` spells it.
    mutating func writeTimestamp(_ unixMilliseconds: Int64) {
        let c = Timestamps.civil(unixMilliseconds: unixMilliseconds)
        guard (0...9999).contains(c.year) else {
            writeString(Timestamps.format(unixMilliseconds: unixMilliseconds))
            return
        }
        // YYYY-MM-DDTHH:MM:SSZ in one write.
        writeWithUnsafeMutableBytes(minimumWritableBytes: 20) { out in
            func put(_ v: Int64, _ at: Int, _ width: Int) {
                var rest = v
                for i in stride(from: at + width - 1, through: at, by: -1) {
                    out[i] = UInt8(truncatingIfNeeded: rest % 10) + 0x30
                    rest /= 10
                }
            }
            put(c.year, 0, 4); out[4] = UInt8(ascii: "-")
            put(c.month, 5, 2); out[7] = UInt8(ascii: "-")
            put(c.day, 8, 2); out[10] = UInt8(ascii: "T")
            put(c.hour, 11, 2); out[13] = UInt8(ascii: ":")
            put(c.minute, 14, 2); out[16] = UInt8(ascii: ":")
            put(c.second, 17, 2); out[19] = UInt8(ascii: "Z")
            return 20
        }
    }
}
