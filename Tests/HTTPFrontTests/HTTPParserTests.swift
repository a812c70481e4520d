import NIOCore
import NIOHTTP1
import Testing
@testable import HTTPFront

/// The request parser on its own: framing, strictness, and input split anywhere.
@Suite struct HTTPParserTests {
    struct Parsed: Equatable {
        var method: String
        var uri: String
        var headers: [String]
        var body: String
    }

    /// Feeds `chunks` one after another and collects whole requests.
    static func parse(_ chunks: [String], maxHeadBytes: Int = 80 * 1024) throws(HTTPParseError) -> [Parsed] {
        var parser = HTTPRequestParser(maxHeadBytes: maxHeadBytes)
        var input = ByteBuffer()
        var out: [Parsed] = []
        var current: Parsed?
        for chunk in chunks {
            input.writeString(chunk)
            while let event = try parser.next(&input) {
                switch event {
                case .head(let h):
                    current = Parsed(method: h.method.rawValue, uri: h.uri,
                                     headers: h.headers.map { "\($0.name)=\($0.value)" }, body: "")
                case .body(let b):
                    current!.body += String(buffer: b)
                case .end:
                    out.append(current!)
                    current = nil
                }
            }
        }
        return out
    }

    static func error(_ chunks: [String], maxHeadBytes: Int = 80 * 1024) -> HTTPParseError? {
        do {
            _ = try parse(chunks, maxHeadBytes: maxHeadBytes)
            return nil
        } catch {
            return error
        }
    }

    @Test func simpleRequestAndTrimmedHeaderValues() throws {
        let r = try Self.parse(["GET /v1/sessions/abc?touch=false HTTP/1.1\r\nHost: x\r\nX-A:  padded \t\r\n\r\n"])
        #expect(r == [Parsed(method: "GET", uri: "/v1/sessions/abc?touch=false", headers: ["Host=x", "X-A=padded"], body: "")])
    }

    @Test func pipelinedRequestsWithBodiesSplitAtEveryByte() throws {
        let text = "POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
            + "PUT /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nTrailer: t\r\n\r\n"
            + "\r\nGET /c HTTP/1.0\r\n\r\n"
        let expected = [
            Parsed(method: "POST", uri: "/a", headers: ["Content-Length=5"], body: "hello"),
            Parsed(method: "PUT", uri: "/b", headers: ["Transfer-Encoding=chunked"], body: "abcde"),
            Parsed(method: "GET", uri: "/c", headers: [], body: ""),
        ]
        #expect(try Self.parse([text]) == expected)
        #expect(try Self.parse(text.map { String($0) }) == expected)
    }

    @Test func incompleteInputWaits() throws {
        #expect(try Self.parse(["GET / HTTP/1.1\r\nHost: x\r\n"]).isEmpty)
        #expect(try Self.parse(["POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc"]).isEmpty)
    }

    @Test(arguments: [
        "GET / HTTP/1.1\nHost: x\n\n",                                     // bare LF
        "GET / HTTP/1.1\r\nHost: x\r\n continued\r\n\r\n",                 // obs-fold
        "GET / HTTP/1.1\r\nHost : x\r\n\r\n",                              // space before colon
        "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n",                               // bare CR
        "GET / HTTP/1.1\r\nX: a\u{01}b\r\n\r\n",                           // control character
        "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: -3\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",     // bad chunk size
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n", // chunk longer than said
        "GET  / HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1 \r\n\r\n",
        "GET /\u{7F} HTTP/1.1\r\n\r\n",
        "NOT HTTP AT ALL\r\n\r\n",
    ])
    func rejectsWhatRFC9112SaysToReject(_ text: String) {
        guard case .malformed = Self.error([text]) else {
            Issue.record("accepted: \(text.debugDescription)")
            return
        }
    }

    @Test func versionsAndSizes() {
        #expect(Self.error(["GET / HTTP/2.0\r\n\r\n"]) == .unsupportedVersion)
        #expect(Self.error(["GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 200) + "\r\n\r\n"], maxHeadBytes: 100)
                == .headersTooLarge)
        // Too large is known before the head ends, without waiting for the rest.
        #expect(Self.error(["GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 200)], maxHeadBytes: 100)
                == .headersTooLarge)
        #expect(Self.error(["GET / HTTP/1.1\r\n" + String(repeating: "X: a\r\n", count: 40) + "\r\n"], maxHeadBytes: 100)
                == .headersTooLarge)
    }
}
