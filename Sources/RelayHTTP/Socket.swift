import Glibc

/// The few POSIX socket operations the server needs, with errors turned into values.
enum Socket {
    enum AcceptResult {
        case accepted(descriptor: Int32, remoteAddress: String)
        /// Nothing more is waiting in the backlog.
        case wouldBlock
        /// The process or system is out of descriptors; the caller should pause accepting.
        case outOfDescriptors
        /// This one connection failed (for example it was reset while queued); try the next.
        case skipped
    }

    /// Resolves `host`, binds with `SO_REUSEADDR` and listens, non-blocking.
    ///
    /// `SO_REUSEADDR` lets a restarted relay bind while connections of the previous process are
    /// still in TIME_WAIT; it does not allow two live listeners on one port.
    ///
    /// - Returns: The listening descriptor and the port actually bound (useful for port 0).
    static func listen(host: String, port: UInt16) throws(HTTPServerError) -> (Int32, UInt16) {
        let display = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        func failure(_ reason: String) -> HTTPServerError {
            HTTPServerError(.cannotListen, "cannot listen on \(display): \(reason)")
        }

        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var resolved: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &resolved)
        guard status == 0, let first = resolved else {
            let reason = gai_strerror(status).map { String(cString: $0) } ?? "unknown host"
            throw failure(reason)
        }
        defer { freeaddrinfo(first) }

        // Take the first address that binds, reporting the last failure if none does.
        var lastReason = "no usable address"
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        while let info = candidate {
            candidate = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, 0)
            guard fd >= 0 else {
                lastReason = systemErrorText()
                continue
            }
            var one: Int32 = 1
            _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            guard bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0,
                Glibc.listen(fd, SOMAXCONN) == 0, configure(fd)
            else {
                lastReason = systemErrorText()
                _ = close(fd)
                continue
            }
            return (fd, localPort(of: fd))
        }
        throw failure(lastReason)
    }

    /// Accepts one connection and makes it non-blocking, close-on-exec and `TCP_NODELAY`.
    static func accept(_ listener: Int32) -> AcceptResult {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let fd = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.accept(listener, $0, &length)
            }
        }
        guard fd >= 0 else {
            switch errno {
            case EAGAIN, EWOULDBLOCK: return .wouldBlock
            case EMFILE, ENFILE, ENOBUFS, ENOMEM: return .outOfDescriptors
            default: return .skipped
            }
        }
        guard configure(fd) else {
            _ = close(fd)
            return .skipped
        }
        // Responses are written whole, so Nagle's algorithm would only delay the last segment
        // of each one while the client's delayed ACK runs.
        var one: Int32 = 1
        _ = setsockopt(
            fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        return .accepted(descriptor: fd, remoteAddress: describe(storage))
    }

    /// Writes without ever raising SIGPIPE: `MSG_NOSIGNAL` turns a write to a closed peer into
    /// `EPIPE`, so the process-wide signal disposition is left alone.
    static func send(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int {
        Glibc.send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
    }

    static func localPort(of fd: Int32) -> UInt16 {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let status = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getsockname(fd, $0, &length)
            }
        }
        guard status == 0 else { return 0 }
        return port(of: storage)
    }

    /// `address:port`, with IPv6 addresses in brackets.
    static func describe(_ storage: sockaddr_storage) -> String {
        var copy = storage
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        let family = Int32(storage.ss_family)
        let written = withUnsafePointer(to: &copy) { pointer -> Bool in
            switch family {
            case AF_INET:
                return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                    var address = $0.pointee.sin_addr
                    return inet_ntop(AF_INET, &address, &text, socklen_t(text.count)) != nil
                }
            case AF_INET6:
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                    var address = $0.pointee.sin6_addr
                    return inet_ntop(AF_INET6, &address, &text, socklen_t(text.count)) != nil
                }
            default:
                return false
            }
        }
        guard written else { return "unknown" }
        let address = String(
            decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let port = port(of: storage)
        return family == AF_INET6 ? "[\(address)]:\(port)" : "\(address):\(port)"
    }

    private static func port(of storage: sockaddr_storage) -> UInt16 {
        var copy = storage
        return withUnsafePointer(to: &copy) { pointer in
            switch Int32(storage.ss_family) {
            case AF_INET:
                pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                    UInt16(bigEndian: $0.pointee.sin_port)
                }
            case AF_INET6:
                pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                    UInt16(bigEndian: $0.pointee.sin6_port)
                }
            default:
                0
            }
        }
    }

    /// Non-blocking, so one slow peer cannot stall a loop; close-on-exec, so a child process
    /// cannot keep a client connection open.
    private static func configure(_ fd: Int32) -> Bool {
        let flags = fcntl(fd, F_GETFL)
        return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0
            && fcntl(fd, F_SETFD, FD_CLOEXEC) == 0
    }
}
