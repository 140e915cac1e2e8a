import Foundation
import Glibc
import RelayCore
import RelayTestSupport

/// A feed client over the relay's Unix socket, reading JSON lines as a console or `socat`
/// would.
final class FeedTestClient {
    let descriptor: Int32
    private var pending: [UInt8] = []

    /// - Parameter receiveBuffer: a small kernel buffer makes a client that stops reading
    ///   fall behind quickly.
    init(path: String, receiveBuffer: Int32? = nil) throws {
        descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw TestFailure("socket failed") }
        if var size = receiveBuffer {
            setsockopt(
                descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(
            descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))

        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: path.utf8.prefix(buffer.count - 1))
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            // deinit closes the descriptor: closing it here too could close a socket another
            // test opened meanwhile under the same number.
            throw TestFailure("cannot connect to \(path): \(String(cString: strerror(errno)))")
        }
    }

    deinit {
        close(descriptor)
    }

    /// The next line as JSON; throws on timeout or end of stream.
    func next() throws -> JSONValue {
        while true {
            if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(pending[..<newline])
                pending.removeSubrange(...newline)
                return try JSONValue(parsing: line)
            }
            var chunk = [UInt8](repeating: 0, count: 65_536)
            let count = recv(descriptor, &chunk, chunk.count, 0)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else {
                let reason = count == 0 ? "closed by the relay" : String(cString: strerror(errno))
                throw TestFailure("feed ended after \(pending.count) unread bytes: \(reason)")
            }
            pending += chunk[0..<count]
        }
    }

    /// Reads until a message satisfies `match`, returning everything read on the way, the
    /// match last. Stats arrive every second, so the wait is bounded by time, not by lines.
    func read(until match: (JSONValue) -> Bool, timeout: Double = 20) throws -> [JSONValue] {
        var seen: [JSONValue] = []
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let message = try next()
            seen.append(message)
            if match(message) { return seen }
        }
        throw TestFailure("no matching feed message within \(timeout) s")
    }

    func send(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes {
            Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
        }
    }

    /// Sends a command and returns its reply, skipping records and stats in between.
    func command(_ line: String) throws -> JSONValue {
        try commandAndRecords(line).reply
    }

    /// Sends a command; returns its reply and whatever arrived before it.
    func commandAndRecords(_ line: String) throws -> (reply: JSONValue, before: [JSONValue]) {
        send(line)
        var messages = try read { $0["type"]?.stringValue == "reply" }
        let reply = messages.removeLast()
        return (reply, messages)
    }
}
