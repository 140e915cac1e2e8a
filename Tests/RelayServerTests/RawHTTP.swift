import Foundation
import RelayTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A minimal HTTP/1.1 client over a plain socket, for requests a normal client will not make
/// (malformed, oversized) and for exact control of headers and body bytes.
enum RawHTTP {
    struct Response {
        var status: Int
        var body: String
        /// The status line and header fields, as received.
        var head: String = ""

        /// The first value of a header field, by case-insensitive name.
        func header(_ name: String) -> String? {
            for line in head.split(separator: "\r\n").dropFirst() {
                let pieces = line.split(separator: ":", maxSplits: 1)
                if pieces.count == 2 && pieces[0].lowercased() == name.lowercased() {
                    return pieces[1].trimmingCharacters(in: .whitespaces)
                }
            }
            return nil
        }
    }

    /// Sends `request` bytes and reads one response; `Connection: close` is expected.
    static func exchange(port: UInt16, _ request: [UInt8], timeout: Double = 10) throws -> Response
    {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket failed") }
        defer { close(fd) }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))

        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw TestFailure("connect to \(port) failed") }

        var offset = 0
        while offset < request.count {
            let sent = request[offset...].withUnsafeBytes {
                send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            // A child process of the test ending (SIGCHLD) interrupts the call: try again.
            if sent < 0 && errno == EINTR { continue }
            if sent <= 0 { break }  // the server may close early, e.g. after a 413
            offset += sent
        }

        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            received.append(contentsOf: buffer[0..<count])
            if let response = parse(received) { return response }
        }
        guard let response = parse(received, complete: true) else {
            throw TestFailure("no HTTP response: \(String(decoding: received, as: UTF8.self))")
        }
        return response
    }

    /// A POST with the given headers and body.
    static func post(
        port: UInt16, path: String, headers: [String: String] = [:], body: [UInt8]
    ) throws -> Response {
        var head = "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        head += "Content-Length: \(body.count)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        return try exchange(port: port, Array(head.utf8) + body)
    }

    /// Any method, with a body (possibly empty).
    static func request(
        port: UInt16, method: String, path: String, body: [UInt8] = []
    ) throws -> Response {
        let head =
            "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            + "Content-Length: \(body.count)\r\n\r\n"
        return try exchange(port: port, Array(head.utf8) + body)
    }

    static func get(port: UInt16, _ target: String) throws -> Response {
        try exchange(
            port: port,
            Array("GET \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8))
    }

    private static func parse(_ bytes: [UInt8], complete: Bool = false) -> Response? {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let headEnd = text.range(of: "\r\n\r\n") else { return nil }
        let head = text[..<headEnd.lowerBound]
        let statusLine = head.split(separator: "\r\n").first ?? ""
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, let status = Int(parts[1]) else { return nil }
        let body = String(text[headEnd.upperBound...])
        var length: Int?
        for line in head.split(separator: "\r\n").dropFirst() {
            let pieces = line.split(separator: ":", maxSplits: 1)
            if pieces.count == 2 && pieces[0].lowercased() == "content-length" {
                length = Int(pieces[1].trimmingCharacters(in: .whitespaces))
            }
        }
        if let length, body.utf8.count < length, !complete { return nil }
        return Response(status: status, body: body, head: String(head))
    }
}
