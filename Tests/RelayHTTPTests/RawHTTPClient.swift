import Glibc

@testable import RelayHTTP

/// A blocking loopback client that sends exactly the bytes a test writes and parses responses
/// just enough to check them, so tests can send what no well-behaved client library would.
///
/// Every read gives up after `timeout` seconds, so a server bug fails a test instead of
/// hanging the suite.
final class RawHTTPClient {
    struct Response {
        var status: Int
        var headers: HTTPHeaders
        var body: [UInt8]

        var text: String { String(decoding: body, as: UTF8.self) }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    private let descriptor: Int32
    private var received: [UInt8] = []
    private var isClosed = false

    init(port: UInt16, timeout: Double = 5) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw Failure(description: "socket: \(systemErrorText())") }

        let wholeSeconds = timeout.rounded(.down)
        var wait = timeval(tv_sec: Int(wholeSeconds), tv_usec: Int((timeout - wholeSeconds) * 1e6))
        let size = socklen_t(MemoryLayout<timeval>.size)
        _ = setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &wait, size)
        _ = setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &wait, size)

        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard status == 0 else {
            let reason = systemErrorText()
            // Once only: deinit calls close() too, and a second close could hit a socket
            // another test opened meanwhile under the same number.
            close()
            throw Failure(description: "connect to port \(port): \(reason)")
        }
    }

    deinit {
        close()
    }

    func send(_ text: String) throws {
        try send(Array(text.utf8))
    }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { all in
                let rest = UnsafeRawBufferPointer(rebasing: all[offset...])
                return Glibc.send(descriptor, rest.baseAddress, rest.count, Int32(MSG_NOSIGNAL))
            }
            guard written > 0 else { throw Failure(description: "send: \(systemErrorText())") }
            offset += written
        }
    }

    /// The next response, an interim `100 Continue` included.
    ///
    /// - Parameter bodyless: True for the answer to `HEAD`, whose Content-Length describes a body
    ///   that is not sent.
    func readResponse(bodyless: Bool = false) throws -> Response {
        let headEnd = try readUntilHeadEnd()
        let head = String(decoding: received[..<(headEnd - 4)], as: UTF8.self)
        received.removeFirst(headEnd)

        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ", maxSplits: 2)
        guard statusLine.count >= 2, statusLine[0] == "HTTP/1.1", let status = Int(statusLine[1])
        else {
            throw Failure(description: "malformed status line in \(head.debugDescription)")
        }
        var headers = HTTPHeaders()
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else {
                throw Failure(description: "malformed header line \(line.debugDescription)")
            }
            let value = line[line.index(after: colon)...].trimmingCharacters(in: " ")
            headers.add(name: String(line[..<colon]), value: value)
        }

        var body: [UInt8] = []
        if !bodyless && status >= 200, let length = headers["Content-Length"].flatMap({ Int($0) }) {
            while received.count < length {
                guard try receiveMore() else { throw Failure(description: "closed inside a body") }
            }
            body = Array(received[..<length])
            received.removeFirst(length)
        }
        return Response(status: status, headers: headers, body: body)
    }

    /// Whether the server closes the connection (rather than sending more) within the timeout.
    func serverClosed() -> Bool {
        while true {
            guard received.isEmpty else { return false }
            do {
                guard try receiveMore() else { return true }
            } catch {
                return false
            }
        }
    }

    /// Half-closes: the server reads end of input, and can still answer.
    func finishSending() {
        _ = shutdown(descriptor, Int32(SHUT_WR))
    }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        _ = Glibc.close(descriptor)
    }

    private func readUntilHeadEnd() throws -> Int {
        var searchFrom = 0
        while true {
            if received.count >= 4 {
                for index in searchFrom...(received.count - 4)
                where received[index..<(index + 4)].elementsEqual([13, 10, 13, 10]) {
                    return index + 4
                }
                searchFrom = received.count - 3
            }
            guard try receiveMore() else {
                throw Failure(description: "connection closed before a response head")
            }
        }
    }

    /// Reads what is available; false at end of stream.
    private func receiveMore() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        let count = recv(descriptor, &chunk, chunk.count, 0)
        if count > 0 {
            received.append(contentsOf: chunk[..<count])
            return true
        }
        if count == 0 {
            return false
        }
        if errno == ECONNRESET {
            return false
        }
        throw Failure(description: "recv: \(systemErrorText())")
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: Character) -> String {
        String(drop { $0 == set }.reversed().drop { $0 == set }.reversed())
    }
}
