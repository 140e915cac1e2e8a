import Foundation
import RelayCore

/// What the feed asks of the relay: the greeting for a new client, the periodic stats, and
/// the answer to a command line.
public protocol FeedProvider: AnyObject, Sendable {
    /// `hello` and `snapshot`, given the hub's recent records.
    func greeting(recent: [FeedRecord]) -> [JSONValue]
    /// The `stats` message sent every second.
    func stats() -> JSONValue
    /// The reply to one command line (`inspect <event_id>`, `resend <event_id> [confirm]`).
    func reply(to command: String, from peer: FeedAccessPolicy.Peer?) -> JSONValue
}

/// Serves the feed on a Unix domain socket: one line of JSON per message.
///
/// Each client has a writer thread that drains its queue, so a client that stops reading
/// blocks only its own thread while the pipeline keeps publishing (the queue is bounded and
/// overflows into a `missed` count). A reader thread per client takes command lines.
public final class FeedServer: @unchecked Sendable {
    public let path: String
    private let hub: FeedHub
    private let policy: FeedAccessPolicy
    private let logger: Logger
    private weak var provider: (any FeedProvider)?
    private let socketGroup: String?
    private var listener: Int32 = -1
    private let lock = NSLock()
    /// Guarded by `lock`.
    private var clients: [Int32: FeedSubscription] = [:]
    /// Guarded by `lock`.
    private var stopping = false
    private let finished = DispatchGroup()

    /// Seconds between `stats` messages.
    static let statsInterval = 1.0

    /// - Parameter socketGroup: when set, the socket file belongs to this group with mode
    ///   0660, so that its members can reach the peer check at all; otherwise it is 0600.
    public init(
        path: String, hub: FeedHub, policy: FeedAccessPolicy, provider: any FeedProvider,
        logger: Logger, socketGroup: String? = nil
    ) {
        self.socketGroup = socketGroup
        self.path = path
        self.hub = hub
        self.policy = policy
        self.provider = provider
        self.logger = logger
    }

    /// Creates the socket (mode 0600, replacing a stale one) and starts accepting.
    public func start() throws {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity else {
            throw FeedError("feed socket path is longer than \(capacity - 1) bytes: \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: path.utf8)
            buffer[path.utf8.count] = 0
        }

        // A socket file left by a relay that died is stale; a live one belongs to another relay.
        if FileManager.default.fileExists(atPath: path) {
            guard !FeedServer.isLive(path) else {
                throw FeedError("feed socket \(path) is in use by another process")
            }
            unlink(path)
        }

        let descriptor = socket(
            AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw FeedError("cannot create the feed socket") }
        let previousMask = umask(0o177)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        umask(previousMask)
        guard bound == 0, listen(descriptor, 16) == 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw FeedError("cannot listen on feed socket \(path): \(reason)")
        }
        if let socketGroup {
            guard let group = getgrnam(socketGroup) else {
                close(descriptor)
                unlink(path)
                throw FeedError("feed group '\(socketGroup)' does not exist on this machine")
            }
            chown(path, getuid(), group.pointee.gr_gid)
            chmod(path, 0o660)
        } else {
            chmod(path, 0o600)
        }
        listener = descriptor

        spawn("feed-accept") { [self] in acceptLoop() }
        spawn("feed-stats") { [self] in statsLoop() }
    }

    /// Closes the socket and every client, and removes the socket file.
    public func stop() {
        let subscriptions: [Int32: FeedSubscription] = lock.withLock {
            stopping = true
            return clients
        }
        if listener >= 0 {
            shutdown(listener, Int32(SHUT_RDWR))
            close(listener)
            listener = -1
        }
        for (descriptor, subscription) in subscriptions {
            shutdown(descriptor, Int32(SHUT_RDWR))
            hub.unsubscribe(subscription)
        }
        finished.wait()
        unlink(path)
    }

    /// Clients connected now.
    public var clientCount: Int { lock.withLock { clients.count } }

    private var isStopping: Bool { lock.withLock { stopping } }

    private func acceptLoop() {
        while !isStopping {
            let client = accept(listener, nil, nil)
            guard client >= 0 else {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return
            }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            admit(client)
        }
    }

    private func admit(_ client: Int32) {
        // MSG_NOSIGNAL on every send keeps a vanished client from raising SIGPIPE.
        let peer = FeedAccessPolicy.peer(of: client)
        let decision: (allowed: Bool, reason: String) =
            peer.map { policy.decide($0) } ?? (false, "the kernel did not name the peer")
        guard decision.allowed, let provider else {
            let refusal = JSONValue.object([
                "type": "error",
                "error": .object([
                    "code": "not_allowed",
                    "message": .string("feed refused: \(decision.reason)"),
                ]),
            ])
            writeAll(client, refusal.serialized() + [UInt8(ascii: "\n")])
            close(client)
            logger.warning(
                "feed client refused", [("uid", peer.map { "\($0.uid)" } ?? "unknown")])
            return
        }

        let subscription = hub.subscribe { recent in provider.greeting(recent: recent) }
        let registered = lock.withLock { () -> Bool in
            guard !stopping else { return false }
            clients[client] = subscription
            return true
        }
        guard registered else {
            hub.unsubscribe(subscription)
            close(client)
            return
        }
        logger.info("feed client connected", [("uid", "\(peer?.uid ?? 0)")])
        let descriptor = ClientDescriptor(client)
        spawn("feed-writer") { [self] in
            writeLoop(client, subscription)
            descriptor.release()
        }
        spawn("feed-reader") { [self] in
            readLoop(client, subscription, peer: peer)
            descriptor.release()
        }
    }

    private func writeLoop(_ client: Int32, _ subscription: FeedSubscription) {
        while let lines = subscription.next() {
            var buffer: [UInt8] = []
            buffer.reserveCapacity(lines.reduce(lines.count) { $0 + $1.count })
            for line in lines {
                buffer += line
                buffer.append(UInt8(ascii: "\n"))
            }
            guard writeAll(client, buffer) else { break }
        }
        disconnect(client, subscription)
    }

    private func readLoop(
        _ client: Int32, _ subscription: FeedSubscription, peer: FeedAccessPolicy.Peer?
    ) {
        var pending: [UInt8] = []
        // Inside a line longer than `maxCommandBytes`, which is dropped whole, up to its end.
        var discarding = false
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(client, &chunk, chunk.count, 0)
            guard count > 0 else { break }
            pending += chunk[0..<count]
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                if discarding {
                    pending.removeSubrange(...newline)
                    discarding = false
                    subscription.enqueue(reply: Self.tooLongReply)
                    continue
                }
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                let command = line.trimmingCharacters(in: .whitespacesAndNewlines)
                guard !command.isEmpty, let provider else { continue }
                subscription.enqueue(reply: provider.reply(to: command, from: peer).serialized())
            }
            // A command line longer than this is not a command; drop it rather than buffer.
            if pending.count > Self.maxCommandBytes {
                pending.removeAll()
                discarding = true
            }
        }
        // End of input is not the end of the client: `echo cmd | socat` and `socat -u` close
        // their sending side and still read. The writer ends the connection when a write
        // fails, which the stats sent every second make sure happens soon after a client goes.
    }

    /// The longest command line taken; a longer one is answered `tooLongReply`.
    static let maxCommandBytes = 64 * 1024

    /// The reply to a line over `maxCommandBytes`, in the shape of every command's failure.
    static let tooLongReply = JSONValue.object([
        "type": "reply", "command": "", "ok": false,
        "error": .object([
            "code": "bad_command",
            "message": .string("a command line over \(maxCommandBytes) bytes was dropped"),
        ]),
    ]).serialized()

    private func disconnect(_ client: Int32, _ subscription: FeedSubscription) {
        let wasConnected = lock.withLock { clients.removeValue(forKey: client) != nil }
        guard wasConnected else { return }
        hub.unsubscribe(subscription)
        // Shut down, but leave the close to the last of the two threads that use the
        // descriptor (`ClientDescriptor`), so that its number cannot be reused under the other.
        shutdown(client, Int32(SHUT_RDWR))
        logger.info("feed client disconnected", [("missed", "\(subscription.missedRecords)")])
    }

    private func statsLoop() {
        while !isStopping {
            Thread.sleep(forTimeInterval: FeedServer.statsInterval)
            guard !isStopping, let provider, clientCount > 0 else { continue }
            hub.broadcast(provider.stats())
        }
    }

    @discardableResult
    private func writeAll(_ descriptor: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes {
                send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return false }
            offset += written
        }
        return true
    }

    private func spawn(_ name: String, _ body: @escaping @Sendable () -> Void) {
        finished.enter()
        let thread = Thread { [finished] in
            body()
            finished.leave()
        }
        thread.name = name
        thread.start()
    }

    /// Whether something accepts connections on the socket at `path`.
    static func isLive(_ path: String) -> Bool {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: path.utf8.prefix(buffer.count - 1))
        }
        let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(probe) }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(probe, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        return result == 0
    }
}

/// Why the feed could not start.
public struct FeedError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A client socket shared by its reader and writer threads; closed when both are done with it.
///
/// Closing as soon as one side finishes would let the kernel hand the same number to the next
/// accepted client while the other thread may still read from it.
private final class ClientDescriptor: @unchecked Sendable {
    private let descriptor: Int32
    private let lock = NSLock()
    /// Guarded by `lock`.
    private var users = 2

    init(_ descriptor: Int32) {
        self.descriptor = descriptor
    }

    func release() {
        let last = lock.withLock { () -> Bool in
            users -= 1
            return users == 0
        }
        if last { close(descriptor) }
    }
}
