import Foundation
import Testing

@testable import RelayDelivery

#if canImport(Glibc)
import Glibc
#endif

/// The real transport against a loopback server that takes the request and never answers:
/// the configured timeout must end it, whatever URLSession does with its own.
@Suite struct URLSessionTransportTests {
    @Test func aServerThatNeverAnswersTimesOutAtTheConfiguredDeadline() throws {
        let server = try SilentServer()
        defer { server.stop() }
        let transport = URLSessionTransport()
        let url = try #require(URL(string: "http://127.0.0.1:\(server.port)/v25.0/880/events"))

        let start = Date()
        let result = transport.post(
            url: url, headers: ["Content-Type": "application/json"], body: Array("{}".utf8),
            timeoutSeconds: 0.5)
        let elapsed = Date().timeIntervalSince(start)

        guard case .failure(let failure) = result else {
            Issue.record("a server that never answers gave \(result)")
            return
        }
        #expect(failure.timedOut)
        #expect(failure.message == "timed out after 0.5 s without an answer")
        #expect(elapsed >= 0.5 && elapsed < 3, "took \(elapsed) s")
        #expect(server.accepted >= 1, "the request reached the server")
    }
}

extension URLSessionTransportTests {
    /// A delivery lane waits for its answer on a thread of the shared dispatch pool, and a
    /// stopping relay waits for the lanes: with every pool thread so blocked, an answer that
    /// arrived must still reach the caller. It did not, when URLSession delivered answers on
    /// the pool: the request timed out though the server had answered, and the batch was
    /// sent again.
    @Test func anAnswerArrivesWhileTheSharedDispatchThreadsAreAllBlocked() throws {
        let server = try SilentServer(answering: true)
        defer { server.stop() }
        let transport = URLSessionTransport()
        let url = try #require(URL(string: "http://127.0.0.1:\(server.port)/v25.0/880/events"))

        let release = DispatchSemaphore(value: 0)
        let blockers = ProcessInfo.processInfo.activeProcessorCount * 4
        for _ in 0..<blockers {
            DispatchQueue.global().async { release.wait() }
        }
        defer { for _ in 0..<blockers { release.signal() } }
        Thread.sleep(forTimeInterval: 0.2)

        let result = transport.post(
            url: url, headers: ["Content-Type": "application/json"], body: Array("{}".utf8),
            timeoutSeconds: 3)
        guard case .success(let response) = result else {
            Issue.record("an answered request gave \(result)")
            return
        }
        #expect(response.status == 200)
    }
}

/// Accepts connections on a loopback port and reads; writes nothing, or with `answering`,
/// answers each request `200 {}` from a thread of its own.
private final class SilentServer: @unchecked Sendable {
    let port: UInt16
    private let answering: Bool
    private let listener: Int32
    private let lock = NSLock()
    private var clients: [Int32] = []
    private var stopped = false

    init(answering: Bool = false) throws {
        self.answering = answering
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(listener, 8) == 0 else {
            close(listener)
            throw POSIXError(.EADDRINUSE)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getsockname(listener, $0, &length)
            }
        }
        self.listener = listener
        port = UInt16(bigEndian: address.sin_port)
        Thread { [self] in acceptLoop() }.start()
    }

    var accepted: Int { lock.withLock { clients.count } }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            let keep = lock.withLock { () -> Bool in
                if stopped { return false }
                clients.append(client)
                return true
            }
            if !keep {
                close(client)
                return
            }
            if answering { Thread { Self.answer(client) }.start() }
        }
    }

    /// Reads requests up to the end of their headers (the test's bodies are tiny and come
    /// with them) and answers each.
    private static func answer(_ client: Int32) {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let reply = Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}".utf8)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return }
            if buffer[0..<count].contains(UInt8(ascii: "\n")) {
                _ = reply.withUnsafeBytes { send(client, $0.baseAddress, $0.count, 0) }
            }
        }
    }

    func stop() {
        let open = lock.withLock { () -> [Int32] in
            stopped = true
            return clients
        }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        for client in open { close(client) }
    }
}
