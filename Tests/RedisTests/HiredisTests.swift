import NIOCore
import Testing
@testable import Redis

/// RESP through hiredis: the encoder and the reader, with no sockets.
@Suite struct HiredisTests {
    @Test func encodesCommandsLikeRedisFormatCommandArgv() {
        var buffer = ByteBuffer()
        RedisCommand(["SET", "k", "v"]).write(into: &buffer)
        #expect(String(buffer: buffer) == "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n")
        let args: [[UInt8]] = [Array("HSET".utf8), [], Array(repeating: 0x61, count: 1000), [0x0D, 0x0A], Array("é".utf8)]
        var cmd = RedisCommand([])
        for a in args { cmd.append(bytes: a) }
        var ours = ByteBuffer()
        cmd.write(into: &ours)
        #expect(Array(ours.readableBytesView) == Hiredis.format(args))
    }

    @Test func transactionsEncodeNumbersAndOptionsInPlace() {
        var t = RedisTransaction()
        t.append("PEXPIRE", "k", 0)
        t.append("PEXPIRE", "k", -15)
        t.append("PEXPIREAT", "key", 1_795_335_047_811, "GT")
        t.finish()
        #expect(String(buffer: t.encoded) == "*1\r\n$5\r\nMULTI\r\n"
            + "*3\r\n$7\r\nPEXPIRE\r\n$1\r\nk\r\n$1\r\n0\r\n"
            + "*3\r\n$7\r\nPEXPIRE\r\n$1\r\nk\r\n$3\r\n-15\r\n"
            + "*4\r\n$9\r\nPEXPIREAT\r\n$3\r\nkey\r\n$13\r\n1795335047811\r\n$2\r\nGT\r\n"
            + "*1\r\n$4\r\nEXEC\r\n")
        #expect(t.commandCount == 5)
        #expect(t.key == "k")
    }

    @Test func encodesEmptyAndBinaryArguments() {
        var cmd = RedisCommand("HSET")
        cmd.append("")
        cmd.append(bytes: [0x00, 0xFF, 0x0D, 0x0A])
        var buffer = ByteBuffer()
        cmd.write(into: &buffer)
        #expect(Array(buffer.readableBytesView) == Array("*3\r\n$4\r\nHSET\r\n$0\r\n\r\n$4\r\n".utf8) + [0x00, 0xFF, 0x0D, 0x0A] + Array("\r\n".utf8))
    }

    @Test func readsEveryReplyTypeFedOneByteAtATime() throws {
        let reader = HiredisReader()
        let wire = "+OK\r\n:42\r\n$-1\r\n*2\r\n$1\r\na\r\n*1\r\n:-7\r\n-ERR boom\r\n$0\r\n\r\n"
        var replies: [RESPValue] = []
        for byte in wire.utf8 {
            try reader.feed(ByteBuffer(bytes: [byte]))
            while let r = try reader.next() { replies.append(r.value) }
        }
        #expect(replies == [
            .status("OK"), .integer(42), .null,
            .array([.bulk(Array("a".utf8)), .array([.integer(-7)])]),
            .error("ERR boom"), .bulk([]),
        ])
    }

    @Test func flatRepliesWalkLikeTrees() throws {
        let reader = HiredisReader()
        try reader.feed(ByteBuffer(string: "*4\r\n*2\r\n$1\r\na\r\n:5\r\n*0\r\n$-1\r\n*1\r\n-ERR x\r\n"))
        let r = try #require(try reader.next())
        #expect(r.kind(0) == .array && r.count(0) == 4)
        let first = r.firstChild(0)
        #expect(r.kind(first) == .array && String(decoding: r.view(first + 1), as: UTF8.self) == "a" && r.int(first + 2) == 5)
        let empty = r.next(first)
        #expect(r.kind(empty) == .array && r.count(empty) == 0)
        #expect(r.kind(r.next(empty)) == .null)
        #expect(r.next(0) == 8)
        #expect(r.errorMessage == nil)
        #expect(r.value == .array([.array([.bulk([0x61]), .integer(5)]), .array([]), .null, .array([.error("ERR x")])]))
        #expect(try reader.next() == nil)
    }

    @Test func bulkStringsKeepTheirBytes() throws {
        let reader = HiredisReader()
        try reader.feed(ByteBuffer(bytes: Array("$4\r\n".utf8) + [0x00, 0x0D, 0x0A, 0xFF] + Array("\r\n".utf8)))
        #expect(try reader.next()?.value == .bulk([0x00, 0x0D, 0x0A, 0xFF]))
        #expect(try reader.next() == nil)
    }

    @Test func rejectsBytesThatAreNotRESP() throws {
        let reader = HiredisReader()
        try reader.feed(ByteBuffer(string: "?what\r\n"))
        #expect(throws: RedisError.self) { try reader.next() }
    }

    @Test func discardedRepliesKeepOnlyErrors() throws {
        let reader = HiredisReader()
        try reader.feed(ByteBuffer(string: "+OK\r\n+QUEUED\r\n-MOVED 1 127.0.0.1:7000\r\n*2\r\n:1\r\n$1\r\na\r\n"))
        let ok = try #require(try reader.next(discarding: true))
        #expect(ok.kind(RedisReply.root) == .status && ok.byteCount == 0)
        _ = try #require(try reader.next(discarding: true))
        let error = try #require(try reader.next(discarding: true))
        #expect(error.errorMessage == "MOVED 1 127.0.0.1:7000")
        let kept = try #require(try reader.next(discarding: false))
        #expect(kept.value == .array([.integer(1), .bulk(Array("a".utf8))]))
        #expect(try reader.next() == nil)
    }
}
