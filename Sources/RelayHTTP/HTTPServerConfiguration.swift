/// Limits and timeouts for an `HTTPServer`.
///
/// The defaults suit the relay behind a reverse proxy on the same host: webhook requests are
/// small, so the limits are tight, and the timeouts are long enough for a slow mobile network.
public struct HTTPServerConfiguration: Sendable {
    /// The address to listen on: a numeric IPv4 or IPv6 address, or a name such as `localhost`.
    public var host: String
    /// The TCP port; 0 lets the kernel pick a free one, see `HTTPServer.boundPort`.
    public var port: UInt16
    /// Request line plus header fields, in bytes. A larger head is answered with 431 (or 414 when
    /// the request line alone is larger). Also bounds chunked trailers.
    public var maxHeaderBytes: Int
    /// Request body, in bytes after removing chunked coding. A larger body is answered with 413:
    /// from `Content-Length` before any of it is read, or as soon as chunks add up to more.
    public var maxBodyBytes: Int
    /// Seconds from the first byte of a request head (from accept, for a connection's first
    /// request) until the whole head has arrived; then 408 and close. Defends against clients
    /// that hold connections open by sending slowly.
    public var headerReadTimeout: Double
    /// Seconds from the end of the head until the whole body has arrived; then 408 and close.
    public var bodyReadTimeout: Double
    /// Seconds a keep-alive connection may sit between requests before it is closed without a
    /// response; also the longest a response write may make no progress because the client
    /// does not read.
    public var idleTimeout: Double
    /// Open connections allowed at once. A connection beyond it is accepted, answered with 503
    /// and closed at once, so that the client learns the server is busy instead of hanging in
    /// the listen backlog.
    public var maxConnections: Int
    /// Threads each running an epoll loop; connections are spread over them round-robin.
    public var eventLoopCount: Int

    public init(
        host: String = "127.0.0.1",
        port: UInt16 = 8080,
        maxHeaderBytes: Int = 16 * 1024,
        maxBodyBytes: Int = 1 << 20,
        headerReadTimeout: Double = 10,
        bodyReadTimeout: Double = 30,
        idleTimeout: Double = 60,
        maxConnections: Int = 1024,
        eventLoopCount: Int = 2
    ) {
        self.host = host
        self.port = port
        self.maxHeaderBytes = maxHeaderBytes
        self.maxBodyBytes = maxBodyBytes
        self.headerReadTimeout = headerReadTimeout
        self.bodyReadTimeout = bodyReadTimeout
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
        self.eventLoopCount = eventLoopCount
    }

    /// The first setting that cannot work, as a message naming it, its value and what is
    /// expected; nil when all are usable.
    func validationProblem() -> String? {
        if maxHeaderBytes < 64 {
            return "maxHeaderBytes must be at least 64, got \(maxHeaderBytes)"
        }
        if maxBodyBytes < 0 {
            return "maxBodyBytes must not be negative, got \(maxBodyBytes)"
        }
        let timeouts = [
            ("headerReadTimeout", headerReadTimeout), ("bodyReadTimeout", bodyReadTimeout),
            ("idleTimeout", idleTimeout),
        ]
        for (name, seconds) in timeouts where !(seconds > 0 && seconds.isFinite) {
            return "\(name) must be a positive number of seconds, got \(seconds)"
        }
        if maxConnections < 1 {
            return "maxConnections must be at least 1, got \(maxConnections)"
        }
        if !(1...64).contains(eventLoopCount) {
            return "eventLoopCount must be between 1 and 64, got \(eventLoopCount)"
        }
        return nil
    }

    var parserLimits: HTTPRequestParser.Limits {
        HTTPRequestParser.Limits(maxHeaderBytes: maxHeaderBytes, maxBodyBytes: maxBodyBytes)
    }

    var connectionTimeouts: HTTPConnectionStateMachine.Timeouts {
        HTTPConnectionStateMachine.Timeouts(
            header: headerReadTimeout, body: bodyReadTimeout, idle: idleTimeout)
    }
}
