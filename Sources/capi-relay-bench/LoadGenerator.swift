import Foundation

/// HTTP/1.1 load over loopback: N keep-alive connections, each on its own thread, sending
/// prebuilt requests and timing each until its whole response has arrived.
///
/// Requests are built before the clock starts, so the generator spends its time on sockets.
/// At a fixed offered rate, latency is measured from when a request was due, not from when it
/// went out: a stalled server delays the requests queued behind it, and timing from the send
/// would hide exactly that (coordinated omission).
struct LoadGenerator {
    /// The servers to load; connection n goes to the n-th in turn, as a round-robin balancer
    /// in front of several relays would spread them.
    var ports: [UInt16]
    var connections: Int
    /// Requests per second across all connections; nil sends as fast as answers come back.
    var offeredRate: Double?

    init(port: UInt16, connections: Int, offeredRate: Double?) {
        self.init(ports: [port], connections: connections, offeredRate: offeredRate)
    }

    init(ports: [UInt16], connections: Int, offeredRate: Double?) {
        self.ports = ports
        self.connections = connections
        self.offeredRate = offeredRate
    }

    struct Report {
        var requests: Int
        var succeeded: Int
        /// Responses other than 200, and connections that failed.
        var failed: Int
        var seconds: Double
        /// Per request, in milliseconds, sorted.
        var latencies: [Double]

        var rate: Double { Double(succeeded) / seconds }

        func percentile(_ fraction: Double) -> Double {
            guard !latencies.isEmpty else { return .nan }
            let index = min(latencies.count - 1, Int(Double(latencies.count) * fraction))
            return latencies[index]
        }

        var summary: String {
            String(
                format: "%9.0f req/s  p50 %6.2f ms  p99 %6.2f ms  max %7.2f ms  (%d ok, %d failed)",
                rate, percentile(0.50), percentile(0.99), latencies.last ?? .nan, succeeded,
                failed)
        }
    }

    /// Sends every request once, spread over the connections in turn.
    func run(_ requests: [[UInt8]]) -> Report {
        let lanes = (0..<connections).map { lane in
            stride(from: lane, to: requests.count, by: connections).map { requests[$0] }
        }
        let results = LockedResults(count: connections)
        let start = DispatchTime.now().uptimeNanoseconds
        let interval = offeredRate.map { Double(connections) / $0 * 1e9 }

        // A thread per connection: Dispatch would run only as many lanes at once as there are
        // cores, and the point is N requests in flight.
        let finished = DispatchSemaphore(value: 0)
        for lane in 0..<connections {
            let port = ports[lane % ports.count]
            let requests = lanes[lane]
            // Each lane starts a little later than the one before, so a fixed rate is smooth.
            let offset = interval.map { $0 * Double(lane) / Double(connections) } ?? 0
            let thread = Thread {
                results.store(
                    lane,
                    Self.drive(
                        port: port, requests: requests, start: start + UInt64(offset),
                        interval: interval))
                finished.signal()
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        for _ in 0..<connections { finished.wait() }

        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let all = results.all
        return Report(
            requests: requests.count, succeeded: all.reduce(0) { $0 + $1.succeeded },
            failed: all.reduce(0) { $0 + $1.failed }, seconds: seconds,
            latencies: all.flatMap(\.latencies).sorted())
    }

    struct LaneResult {
        var succeeded = 0
        var failed = 0
        var latencies: [Double] = []
    }

    final class LockedResults: @unchecked Sendable {
        private let lock = NSLock()
        private var results: [LaneResult]  // guarded by lock
        init(count: Int) { results = Array(repeating: LaneResult(), count: count) }
        func store(_ lane: Int, _ result: LaneResult) { lock.withLock { results[lane] = result } }
        var all: [LaneResult] { lock.withLock { results } }
    }

    /// One connection's requests, in order, reconnecting whenever the server closes.
    private static func drive(
        port: UInt16, requests: [[UInt8]], start: UInt64, interval: Double?
    ) -> LaneResult {
        var result = LaneResult()
        result.latencies.reserveCapacity(requests.count)
        var connection: Int32 = -1
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        for (index, request) in requests.enumerated() {
            // Wait until this request is due, at a fixed rate.
            var due = DispatchTime.now().uptimeNanoseconds
            if let interval {
                due = start + UInt64(interval * Double(index))
                let now = DispatchTime.now().uptimeNanoseconds
                if due > now { usleep(UInt32((due - now) / 1000)) }
            }

            if connection < 0 { connection = connect(port: port) }
            guard connection >= 0 else {
                result.failed += 1
                continue
            }
            let outcome = exchange(connection, request, &buffer)
            let finished = DispatchTime.now().uptimeNanoseconds
            switch outcome {
            case .status(let status, let keepAlive):
                if status == 200 { result.succeeded += 1 } else { result.failed += 1 }
                result.latencies.append(Double(finished - due) / 1e6)
                if !keepAlive {
                    close(connection)
                    connection = -1
                }
            case .broken:
                result.failed += 1
                close(connection)
                connection = -1
            }
        }
        if connection >= 0 { close(connection) }
        return result
    }

    private static func connect(port: UInt16) -> Int32 {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { return -1 }
        var yes: Int32 = 1
        setsockopt(
            socket, Int32(IPPROTO_TCP), TCP_NODELAY, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(socket)
            return -1
        }
        return socket
    }

    enum Outcome {
        case status(Int, keepAlive: Bool)
        case broken
    }

    /// Writes one request and reads one whole response (headers and Content-Length body).
    private static func exchange(_ socket: Int32, _ request: [UInt8], _ buffer: inout [UInt8])
        -> Outcome
    {
        var written = 0
        while written < request.count {
            let count = request.withUnsafeBytes {
                write(socket, $0.baseAddress! + written, request.count - written)
            }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return .broken }
            written += count
        }

        var received = 0
        var headerEnd: Int?
        while true {
            if received == buffer.count {
                buffer.append(contentsOf: [UInt8](repeating: 0, count: buffer.count))
            }
            let count = buffer.withUnsafeMutableBytes {
                read(socket, $0.baseAddress! + received, $0.count - received)
            }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return .broken }
            received += count

            if headerEnd == nil { headerEnd = findHeaderEnd(buffer, received) }
            guard let end = headerEnd else { continue }
            let head = String(decoding: buffer[0..<end], as: UTF8.self).lowercased()
            let length =
                head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                .flatMap {
                    Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces))
                } ?? 0
            guard received >= end + 4 + length else { continue }
            let statusLine = head.prefix { $0 != "\r" }.split(separator: " ")
            let status = statusLine.count > 1 ? Int(statusLine[1]) ?? 0 : 0
            return .status(status, keepAlive: !head.contains("connection: close"))
        }
    }

    private static func findHeaderEnd(_ buffer: [UInt8], _ count: Int) -> Int? {
        guard count >= 4 else { return nil }
        for index in 0...(count - 4)
        where buffer[index] == 13 && buffer[index + 1] == 10 && buffer[index + 2] == 13
            && buffer[index + 3] == 10
        {
            return index
        }
        return nil
    }
}
