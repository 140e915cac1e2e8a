import Testing

@testable import RelayHTTP

@Suite struct HTTPResponseSerializationTests {
    private let date = "Sun, 06 Nov 1994 08:49:37 GMT"

    private func wire(_ response: HTTPResponse, _ framing: HTTPResponse.Framing) -> String {
        String(decoding: response.serialized(framing: framing, date: date), as: UTF8.self)
    }

    @Test func writesStatusLineHeadersLengthAndBody() {
        let text = wire(.text(200, "ok"), .init(keepAlive: true))
        #expect(
            text == "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
                + "Date: \(date)\r\nContent-Length: 3\r\n\r\nok\n")
    }

    @Test func saysConnectionCloseWhenClosing() {
        let text = wire(.text(400, "bad request: no colon"), .init(keepAlive: false))
        #expect(text.hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
        #expect(text.contains("\r\nConnection: close\r\n"))
        #expect(text.hasSuffix("\r\n\r\nbad request: no colon\n"))
    }

    @Test func announcesKeepAliveToHTTP10Clients() {
        let text = wire(HTTPResponse(status: 204), .init(keepAlive: true, announceKeepAlive: true))
        #expect(text.contains("\r\nConnection: keep-alive\r\n"))
    }

    @Test func leavesTheBodyOutForHeadButKeepsItsLength() {
        let text = wire(.text(200, "hello"), .init(keepAlive: true, includeBody: false))
        #expect(text.contains("Content-Length: 6\r\n"))
        #expect(text.hasSuffix("\r\n\r\n"))
    }

    @Test func sendsNoLengthOrBodyWith204() {
        let text = wire(HTTPResponse(status: 204, body: [1, 2, 3]), .init(keepAlive: true))
        #expect(text == "HTTP/1.1 204 No Content\r\nDate: \(date)\r\n\r\n")
    }

    @Test func replacesFramingHeadersTheHandlerSet() {
        let response = HTTPResponse(
            status: 200, headers: ["Content-Length": "999", "connection": "keep-alive"],
            body: Array("abc".utf8))
        let text = wire(response, .init(keepAlive: false))
        #expect(!text.contains("999"))
        #expect(!text.contains("keep-alive"))
        #expect(text.contains("Content-Length: 3\r\n"))
    }

    @Test func cannotBeSplitByAHeaderValueFromTheRequest() {
        let response = HTTPResponse(
            status: 302, headers: ["Location": "/a\r\nSet-Cookie: evil", "Bad Name": "x"])
        let text = wire(response, .init(keepAlive: true))
        #expect(text.contains("Location: /a  Set-Cookie: evil\r\n"))
        #expect(!text.contains("Bad Name"))
    }

    @Test func sendsAnUnframeableStatusAs500() {
        #expect(wire(HTTPResponse(status: 42), .init(keepAlive: true)).hasPrefix("HTTP/1.1 500 "))
        #expect(wire(HTTPResponse(status: 101), .init(keepAlive: true)).hasPrefix("HTTP/1.1 500 "))
    }
}
