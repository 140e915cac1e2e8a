import Foundation
import RelayTestSupport

/// A stand-in for the relay's feed socket: plays scripted lines to each console that connects,
/// records the command lines it sends back and answers them through `respond`.
///
/// Tests use it so that the console's client, reconnects and tmux screens can be checked
/// without a relay; the relay's own feed tests cover the real server.
final class FakeFeedServer: @unchecked Sendable {
    let path: String
    private let listener: Int32
    private let lock = NSLock()
    /// Guarded by `lock`.
    private var clients: [Int32] = []
    /// Guarded by `lock`.
    private var receivedLines: [String] = []
    /// Guarded by `lock`.
    private var connections = 0
    /// Guarded by `lock`.
    private var stopped = false
    private let script: [String]
    private let respond: @Sendable (String) -> [String]

    /// Listens at `path`; every new connection gets `script`, and each command line gets the
    /// lines `respond` returns.
    init(
        path: String, script: [String],
        respond: @escaping @Sendable (String) -> [String] = { _ in [] }
    ) throws {
        self.path = path
        self.script = script
        self.respond = respond
        unlink(path)
        listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: Array(path.utf8))
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0, listen(listener, 8) == 0 else {
            throw TestFailure("cannot listen on \(path): \(String(cString: strerror(errno)))")
        }
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    deinit { stop() }

    var received: [String] { lock.withLock { receivedLines } }
    var connectionCount: Int { lock.withLock { connections } }

    /// Sends a line to every connected console.
    ///
    /// Descriptors are only used while they are in `clients`, under the lock, and a connection
    /// leaves `clients` before it is closed: a closed number can be reused at once by another
    /// test's socket in this process, which a late write or shutdown would then hit.
    func broadcast(_ line: String) {
        lock.withLock {
            for client in clients { write(line, to: client) }
        }
    }

    /// Closes the listener and every connection, as a relay that stops would.
    func stop() {
        let alreadyStopped = lock.withLock { () -> Bool in
            defer {
                stopped = true
                clients.removeAll()
            }
            if !stopped {
                for client in clients { shutdown(client, Int32(SHUT_RDWR)) }
            }
            return stopped
        }
        guard !alreadyStopped else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        unlink(path)
    }

    /// Drops the current connections but keeps listening: the console must reconnect.
    func dropConnections() {
        lock.withLock {
            for client in clients { shutdown(client, Int32(SHUT_RDWR)) }
            clients.removeAll()
        }
    }

    /// Waits until a command line satisfying `predicate` arrived.
    func waitForLine(
        timeout: Double = 10, _ predicate: (String) -> Bool
    ) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let line = received.first(where: predicate) { return line }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return nil
    }

    func waitForConnections(_ count: Int, timeout: Double = 10) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if connectionCount >= count { return true }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return false
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            let keep = lock.withLock { () -> Bool in
                guard !stopped else { return false }
                clients.append(client)
                connections += 1
                return true
            }
            guard keep else {
                close(client)
                return
            }
            for line in script { write(line, to: client) }
            Thread.detachNewThread { [self] in readLoop(client) }
        }
    }

    private func readLoop(_ client: Int32) {
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(client, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            pending += buffer[0..<count]
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeFirst(newline + 1)
                lock.withLock { receivedLines.append(line) }
                for reply in respond(line) { write(reply, to: client) }
            }
        }
        lock.withLock { clients.removeAll { $0 == client } }
        close(client)
    }

    private func write(_ line: String, to client: Int32) {
        let bytes = Array((line + "\n").utf8)
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes {
                send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            guard sent > 0 else { return }
            offset += sent
        }
    }
}
