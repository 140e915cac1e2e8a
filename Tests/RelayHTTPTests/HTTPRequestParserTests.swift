import Testing

@testable import RelayHTTP

@Suite struct HTTPRequestParserTests {
    private static let limits = HTTPRequestParser.Limits(maxHeaderBytes: 1024, maxBodyBytes: 64)

    /// Feeds `text` in pieces of `pieceSize` bytes and collects every event up to the point
    /// where the parser needs more data (or rejects).
    private func events(
        _ text: String, pieceSize: Int = .max, limits: HTTPRequestParser.Limits = limits
    ) -> [HTTPRequestParser.Event] {
        var parser = HTTPRequestParser(limits: limits)
        var collected: [HTTPRequestParser.Event] = []
        let bytes = Array(text.utf8)
        var offset = 0
        repeat {
            let end = min(bytes.count, offset + min(pieceSize, bytes.count))
            parser.feed(bytes[offset..<end])
            offset = end
            while true {
                let event = parser.next()
                if event == .needMoreData { break }
                collected.append(event)
                if case .reject = event { return collected }
            }
        } while offset < bytes.count
        return collected
    }

    private func requests(
        _ events: [HTTPRequestParser.Event]
    ) -> [HTTPRequestParser.ParsedRequest] {
        events.compactMap {
            if case .request(let parsed) = $0 { parsed } else { nil }
        }
    }

    private func rejectionStatus(_ text: String) -> Int? {
        for event in events(text) {
            if case .reject(let rejection) = event { return rejection.status }
        }
        return nil
    }

    // MARK: - Well-formed requests

    @Test func parsesASimpleGet() throws {
        let parsed = try #require(
            requests(events("GET /healthz HTTP/1.1\r\nHost: relay\r\nUser-Agent: t\r\n\r\n")).first)
        #expect(parsed.request.method == "GET")
        #expect(parsed.request.target == "/healthz")
        #expect(parsed.request.path == "/healthz")
        #expect(parsed.request.query == [:])
        #expect(parsed.request.headers == ["Host": "relay", "User-Agent": "t"])
        #expect(parsed.request.body.isEmpty)
        #expect(parsed.minorVersion == 1)
        #expect(parsed.keepAlive)
    }

    @Test func sameResultWhenFedOneByteAtATime() {
        let text = "POST /webhooks/messenger?hub.mode=subscribe HTTP/1.1\r\nHost: relay\r\n"
            + "Content-Length: 11\r\n\r\nhello world"
        let whole = requests(events(text))
        let byteByByte = requests(events(text, pieceSize: 1))
        #expect(whole.count == 1)
        #expect(byteByByte == whole)
        #expect(byteByByte.first?.request.body == Array("hello world".utf8))
    }

    @Test func splitsTheQueryFromThePathAndDecodesIt() throws {
        let text = "GET /webhooks/messenger?hub.mode=subscribe&hub.verify_token=a%20b+c"
            + "&hub.mode=override&flag HTTP/1.1\r\nHost: relay\r\n\r\n"
        let request = try #require(requests(events(text)).first).request
        #expect(request.path == "/webhooks/messenger")
        #expect(request.query == ["hub.mode": "subscribe", "hub.verify_token": "a b c", "flag": ""])
    }

    @Test func readsAContentLengthBody() throws {
        let text = "POST /e HTTP/1.1\r\nHost: relay\r\nContent-Length: 5\r\n\r\nabcde"
        let parsed = try #require(requests(events(text)).first)
        #expect(parsed.request.body == Array("abcde".utf8))
    }

    @Test func decodesAChunkedBodyIgnoringExtensionsAndTrailers() throws {
        let text = "POST /e HTTP/1.1\r\nHost: relay\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "5;name=value\r\nhello\r\n1 \r\n \r\nA\r\n0123456789\r\n"
            + "0\r\nX-Trailer: dropped\r\n\r\n"
        for pieceSize in [Int.max, 1, 7] {
            let parsed = try #require(requests(events(text, pieceSize: pieceSize)).first)
            #expect(parsed.request.body == Array("hello 0123456789".utf8))
            #expect(parsed.request.headers["X-Trailer"] == nil)
        }
    }

    @Test func stopsAtEachPipelinedRequest() {
        let text = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
            + "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi"
            + "GET /3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
        var parser = HTTPRequestParser(limits: Self.limits)
        parser.feed(Array(text.utf8))

        var paths: [String] = []
        while case .request(let parsed) = parser.next() {
            paths.append(parsed.request.path)
            if parsed.request.path == "/3" { #expect(!parsed.keepAlive) }
        }
        #expect(paths == ["/1", "/2", "/3"])
        #expect(parser.bufferedByteCount == 0)
        #expect(parser.phase == .idle)
    }

    @Test func reportsThePhaseForTimeouts() {
        var parser = HTTPRequestParser(limits: Self.limits)
        #expect(parser.phase == .idle)
        parser.feed(Array("POST / HTTP/1.1\r\nHost: a\r\n".utf8))
        #expect(parser.next() == .needMoreData)
        #expect(parser.phase == .head)
        parser.feed(Array("Content-Length: 3\r\n\r\nab".utf8))
        #expect(parser.next() == .needMoreData)
        #expect(parser.phase == .body)
        parser.feed(Array("c".utf8))
        guard case .request = parser.next() else {
            Issue.record("expected the request once its body is complete")
            return
        }
        #expect(parser.phase == .idle)
    }

    @Test func asksForContinueBeforeTheBody() {
        let head = "POST /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
            + "Content-Length: 2\r\n\r\n"
        var parser = HTTPRequestParser(limits: Self.limits)
        parser.feed(Array(head.utf8))
        #expect(parser.next() == .sendContinue)
        #expect(parser.next() == .needMoreData)
        parser.feed(Array("ok".utf8))
        guard case .request(let parsed) = parser.next() else {
            Issue.record("expected the request after its body")
            return
        }
        #expect(parsed.request.body == Array("ok".utf8))
    }

    @Test func http10ClosesUnlessKeepAliveIsAsked() {
        let plain = requests(events("GET / HTTP/1.0\r\n\r\n"))
        let asked = requests(events("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"))
        #expect(plain.first?.keepAlive == false)
        #expect(plain.first?.minorVersion == 0)
        #expect(asked.first?.keepAlive == true)
    }

    @Test func toleratesBlankLinesBeforeTheRequestLine() {
        #expect(requests(events("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n")).count == 1)
    }

    @Test func acceptsAbsoluteFormTargets() throws {
        let request = try #require(
            requests(events("GET http://relay.example/a/b?x=1 HTTP/1.1\r\nHost: r\r\n\r\n")).first
        ).request
        #expect(request.path == "/a/b")
        #expect(request.query == ["x": "1"])
    }

    // MARK: - Refusals

    @Test(arguments: [
        ("GET /\r\nHost: a\r\n\r\n", 400),  // request line without a version
        ("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400),  // double space
        ("GET / HTTP/1.1 extra\r\nHost: a\r\n\r\n", 400),
        ("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400),  // method is not a token
        ("GET nopath HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("GET / HTTX/1.1\r\nHost: a\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost a\r\n\r\n", 400),  // no colon
        ("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400),  // whitespace before the colon
        ("GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n  folded\r\n\r\n", 400),  // obs-fold
        ("GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\u{1}\r\n\r\n", 400),  // control in a value
        ("GET / HTTP/1.1\nHost: a\r\n\r\n", 400),  // bare LF
        ("GET / HTTP/1.1\r\n\r\n", 400),  // no Host
        ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        ("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
        ("GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505),
        ("POST / HTTP/1.1\r\nHost: a\r\nExpect: magic\r\nContent-Length: 1\r\n\r\nx", 417),
    ])
    func refusesMalformedHeads(text: String, status: Int) {
        #expect(rejectionStatus(text) == status, "for \(text.debugDescription)")
    }

    @Test(arguments: [
        "Content-Length: 3\r\nTransfer-Encoding: chunked",  // both framings
        "Transfer-Encoding: chunked\r\nContent-Length: 3",
        "Content-Length: 3\r\nContent-Length: 3",  // duplicate, even if equal
        "Content-Length: 3, 3",
        "Content-Length: +3",
        "Content-Length: 0x3",
        "Content-Length: ",
        "Transfer-Encoding: chunked, identity",
    ])
    func refusesAmbiguousFramingAsRequestSmuggling(headers: String) {
        let text = "POST / HTTP/1.1\r\nHost: a\r\n\(headers)\r\n\r\nabc"
        #expect(rejectionStatus(text) == 400, "for \(headers.debugDescription)")
    }

    @Test func refusesTransferCodingsOtherThanChunked() {
        let text = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
        let refusal = HTTPRequestParser.Rejection(
            status: 501, reason: #"transfer coding "gzip, chunked" is not supported; only chunked"#)
        #expect(events(text) == [.reject(refusal)])
    }

    @Test func quotesTheOffendingValueInTheReason() {
        let text = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 12abc\r\n\r\n"
        let refusal = HTTPRequestParser.Rejection(
            status: 400, reason: #"Content-Length must be a decimal number, got "12abc""#)
        #expect(events(text) == [.reject(refusal)])
    }

    @Test func refusesMalformedChunks() {
        let head = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        #expect(rejectionStatus(head + "zz\r\n") == 400)
        #expect(rejectionStatus(head + "3\r\nabcX\r\n") == 400)
        #expect(rejectionStatus(head + "3 x\r\nabc\r\n") == 400)
        // Bare line breaks where the relay ignores the content still decide framing elsewhere.
        #expect(rejectionStatus(head + "3;a\nb\r\nabc\r\n") == 400)
        #expect(rejectionStatus(head + "0\r\nX-T: a\nb\r\n\r\n") == 400)
    }

    @Test func refusesAnOversizedHeadWith431() {
        let padding = String(repeating: "x", count: 1100)
        #expect(rejectionStatus("GET / HTTP/1.1\r\nHost: a\r\nX-Pad: \(padding)\r\n\r\n") == 431)
        // Also before the head has ended, so a client cannot make the server buffer forever.
        #expect(rejectionStatus("GET / HTTP/1.1\r\nHost: a\r\nX-Pad: \(padding)") == 431)
    }

    @Test func refusesAnOversizedRequestLineWith414() {
        let target = "/" + String(repeating: "a", count: 1100)
        #expect(rejectionStatus("GET \(target) HTTP/1.1\r\nHost: a\r\n\r\n") == 414)
        #expect(rejectionStatus("GET \(target)") == 414)
    }

    @Test func refusesAnOversizedBodyFromContentLengthBeforeReadingIt() {
        // Only the head is fed: the refusal must not wait for body bytes.
        let head = "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
            + "Content-Length: 65\r\n\r\n"
        let refusal = HTTPRequestParser.Rejection(
            status: 413, reason: "request body larger than 64 bytes")
        #expect(events(head) == [.reject(refusal)])
        let huge = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n"
        #expect(rejectionStatus(huge) == 413)
    }

    @Test func refusesAnOversizedChunkedBodyAsSoonAsChunksAddUp() {
        let head = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        let chunk = "20\r\n" + String(repeating: "b", count: 32) + "\r\n"
        // Two chunks fit exactly; the size line of the third is enough to refuse.
        #expect(rejectionStatus(head + chunk + chunk + "1\r\n") == 413)
        #expect(rejectionStatus(head + "FFFFFFFFFFFFFFFFFFFFFFFF\r\n") == 413)
        let fits = requests(events(head + chunk + chunk + "0\r\n\r\n"))
        #expect(fits.first?.request.body.count == 64)
    }

    @Test func staysFailedAfterARefusal() {
        var parser = HTTPRequestParser(limits: Self.limits)
        parser.feed(Array("BAD\r\n\r\n".utf8))
        let first = parser.next()
        parser.feed(Array("GET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8))
        #expect(parser.next() == first)
        if case .reject(let rejection) = first {
            #expect(rejection.status == 400)
            #expect(rejection.reason.contains("request line"))
        } else {
            Issue.record("expected a refusal, got \(first)")
        }
    }

    @Test func survivesArbitraryBytes() {
        // Not a fuzzer, but every byte value in every position of a short head must end in a
        // request, a refusal or a wait, never a trap.
        let base = Array("GET /a?b=%zz HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx".utf8)
        for position in base.indices {
            for value in [0, 9, 10, 13, 32, 37, 58, 127, 128, 255] as [UInt8] {
                var bytes = base
                bytes[position] = value
                var parser = HTTPRequestParser(limits: Self.limits)
                parser.feed(bytes)
                _ = parser.next()
            }
        }
    }
}
