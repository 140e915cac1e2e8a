import Foundation

/// A connection to the relay's feed socket: newline-delimited JSON in, command lines out.
///
/// Plain POSIX on a non-blocking descriptor, so that the console's single loop can `poll` the
/// socket and the keyboard together; a thread per connection was rejected because the state
/// would then need a lock for every key press. Reconnecting is the caller's job (see
/// `ReconnectBackoff`), because it decides what the screen says meanwhile.
public final class FeedClient {
    /// Why the connection could not be made or was lost, in words for the header and log.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// The socket descriptor, for `poll`.
    public let descriptor: Int32
    private var pending: [UInt8] = []

    /// Whether the relay has closed the connection; true after the read that returned the
    /// last lines it sent.
    public private(set) var isClosed = false

    /// Lines longer than this are dropped rather than buffered without bound: a peer that never
    /// sends a newline must not exhaust memory.
    static let maximumLineBytes = 16 * 1024 * 1024

    /// Connects to the Unix socket at `path`.
    public init(path: String) throws(Failure) {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        let bytes = Array(path.utf8)
        guard bytes.count < capacity else {
            throw Failure(
                description: "socket path '\(path)' is \(bytes.count) bytes; "
                    + "the limit is \(capacity - 1), use a shorter path")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }

        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(Self.errorText())") }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            let text = Self.errorText()
            close(fd)
            throw Failure(description: "cannot connect to \(path): \(text)")
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        descriptor = fd
    }

    deinit { close(descriptor) }

    /// Reads whatever has arrived and returns the complete lines, without their newlines.
    ///
    /// - Throws: `Failure` when the relay closed the connection or reading failed.
    public func readLines() throws(Failure) -> [String] {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var sawEnd = false
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                pending.append(contentsOf: buffer[0..<count])
                continue
            }
            if count == 0 {
                sawEnd = true
            } else if errno == EINTR {
                continue
            } else if errno != EAGAIN && errno != EWOULDBLOCK {
                throw Failure(description: "read failed: \(Self.errorText())")
            }
            break
        }

        var lines: [String] = []
        var start = 0
        for index in pending.indices where pending[index] == UInt8(ascii: "\n") {
            lines.append(String(decoding: pending[start..<index], as: UTF8.self))
            start = index + 1
        }
        pending.removeFirst(start)
        if pending.count > Self.maximumLineBytes { pending.removeAll() }
        // The last lines before a close are still worth showing: return them now and let the
        // caller see `isClosed` after handling them.
        if sawEnd && lines.isEmpty { throw Failure(description: "the relay closed the feed") }
        if sawEnd { isClosed = true }
        return lines
    }

    /// Sends one command line (`inspect <event_id>`); the newline is added here.
    public func send(_ line: String) throws(Failure) {
        var bytes = Array((line + "\n").utf8)
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeMutableBytes {
                Glibc.send(
                    descriptor, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL))
            }
            if count > 0 {
                offset += count
            } else if count < 0 && (errno == EINTR || errno == EAGAIN) {
                // Command lines are tiny; waiting briefly beats dropping an operator's command.
                usleep(1000)
            } else {
                throw Failure(description: "send failed: \(Self.errorText())")
            }
        }
    }

    private static func errorText() -> String { String(cString: strerror(errno)) }
}
