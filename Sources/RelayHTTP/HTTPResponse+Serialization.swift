extension HTTPResponse {
    /// How a response is framed on its connection; decided by the connection, not the handler.
    struct Framing: Sendable, Equatable {
        /// False adds `Connection: close`; the connection closes once the response is written.
        var keepAlive: Bool
        /// HTTP/1.0 clients assume close unless told otherwise, so they get
        /// `Connection: keep-alive` when the connection stays open.
        var announceKeepAlive: Bool = false
        /// False for `HEAD`: the headers describe the body that a `GET` would have sent.
        var includeBody: Bool = true
    }

    /// Sent before reading a body the client has held back with `Expect: 100-continue`.
    static let continueBytes: [UInt8] = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    /// Headers the server writes itself; a handler's copy would contradict the real framing.
    private static let serverOwnedHeaders: Set<String> = [
        "content-length", "transfer-encoding", "connection", "date",
    ]

    /// The status line, headers and body as they go on the wire.
    ///
    /// A status outside 200...599 is sent as 500: interim (1xx) responses are the server's
    /// business, and anything else cannot be framed. Header fields whose name is not a token are
    /// dropped, and CR, LF and other controls in values become spaces, so that a value echoed
    /// from a request cannot split the response.
    ///
    /// - Parameter date: The `Date` header value, see `HTTPDate`.
    func serialized(framing: Framing, date: String) -> [UInt8] {
        let status = (200...599).contains(self.status) ? self.status : 500
        // 204 and 304 never carry a body or a Content-Length (RFC 9110 §8.6).
        let hasBody = status != 204 && status != 304

        var head = "HTTP/1.1 \(status) \(httpReasonPhrase(status))\r\n"
        for field in headers where !Self.serverOwnedHeaders.contains(field.name.lowercased()) {
            guard !field.name.isEmpty, field.name.utf8.allSatisfy(\.isTokenCharacter) else {
                continue
            }
            head += "\(field.name): \(Self.sanitized(field.value))\r\n"
        }
        head += "Date: \(date)\r\n"
        if hasBody {
            head += "Content-Length: \(body.count)\r\n"
        }
        if !framing.keepAlive {
            head += "Connection: close\r\n"
        } else if framing.announceKeepAlive {
            head += "Connection: keep-alive\r\n"
        }
        head += "\r\n"

        var bytes = Array(head.utf8)
        if hasBody && framing.includeBody {
            bytes.append(contentsOf: body)
        }
        return bytes
    }

    private static func sanitized(_ value: String) -> String {
        guard !value.utf8.allSatisfy(\.isFieldValueCharacter) else { return value }
        return String(
            decoding: value.utf8.map { $0.isFieldValueCharacter ? $0 : .space }, as: UTF8.self)
    }
}
