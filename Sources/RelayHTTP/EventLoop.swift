import Foundation
import Glibc
import Synchronization

/// One thread waiting in `epoll_wait` and serving the connections it owns.
///
/// The first loop also owns the listening socket: it accepts and hands connections out
/// round-robin. Accepting in one place (rather than every loop registering the listener) keeps
/// the spread even and the `maxConnections` check in one spot; accepting is cheap next to
/// serving, so one thread does not become the bottleneck at this server's scale.
///
/// `@unchecked Sendable` because the loop object is handed to its thread once at start:
/// everything except `mailbox` and `slots` (both Sendable) is touched only by that thread.
final class EventLoop: @unchecked Sendable {
    /// Epoll tokens below this are not connections.
    private static let wakeToken: UInt64 = 0
    private static let listenerToken: UInt64 = 1
    private static let readBufferBytes = 64 * 1024
    /// Upper bound on connections accepted per wake-up, so a connection storm cannot starve
    /// the requests already in flight on the accepting loop.
    private static let acceptBatch = 64
    /// How long accepting pauses when the process is out of descriptors; retrying at once
    /// would spin, since the listener stays readable.
    private static let acceptPauseSeconds = 0.1

    let mailbox: EventLoopMailbox
    /// How many times `epoll_wait` has returned, for tests that show a loop is not spinning.
    let wakeUps = Atomic<Int>(0)
    /// Shared with the connections for their reads; valid until the loop's thread ends.
    let readBuffer: UnsafeMutableRawBufferPointer
    private let epoll: Epoll
    private let events = Epoll.EventBuffer(capacity: 256)
    private let configuration: HTTPServerConfiguration
    private let handler: HTTPHandler
    private let slots: ConnectionSlots

    // Loop-thread state.
    private var connections: [UInt64: HTTPConnection] = [:]
    private var nextConnectionID = EventLoop.listenerToken + 1
    private var isRunning = true
    private var listener: Int32 = -1
    private var acceptPausedUntil: Double?
    /// Every loop's mailbox, this one's included, for handing out accepted connections.
    private var peers: [EventLoopMailbox] = []
    private var nextPeer = 0
    private var cachedDate = (second: -1, text: "")

    init(
        configuration: HTTPServerConfiguration, handler: @escaping HTTPHandler,
        slots: ConnectionSlots
    ) throws(HTTPServerError) {
        let epoll = try Epoll()
        let mailbox: EventLoopMailbox
        do {
            mailbox = try EventLoopMailbox()
        } catch {
            epoll.close()
            throw error
        }
        guard epoll.add(mailbox.wakeDescriptor, events: .input, token: Self.wakeToken) == 0 else {
            let reason = systemErrorText()
            _ = mailbox.close()
            epoll.close()
            throw HTTPServerError(.systemResources, "cannot watch the eventfd: \(reason)")
        }

        self.epoll = epoll
        self.mailbox = mailbox
        self.configuration = configuration
        self.handler = handler
        self.slots = slots
        self.readBuffer = .allocate(byteCount: Self.readBufferBytes, alignment: 16)
    }

    /// Makes this loop the acceptor. Called before the thread starts.
    func acceptConnections(on listener: Int32, handingOutTo peers: [EventLoopMailbox])
        throws(HTTPServerError)
    {
        guard epoll.add(listener, events: .input, token: Self.listenerToken) == 0 else {
            throw HTTPServerError(
                .systemResources, "cannot watch the listening socket: \(systemErrorText())")
        }
        self.listener = listener
        self.peers = peers
    }

    /// The thread body: runs until a `.shutdown` message, then closes everything it owns.
    func run() {
        var nextDeadline = Double.infinity
        while isRunning {
            let timeout = waitTimeout(until: nextDeadline, now: now())
            let count = epoll.wait(into: events, timeoutMilliseconds: timeout)
            wakeUps.add(1, ordering: .relaxed)
            if count < 0 {
                guard errno == EINTR else {
                    preconditionFailure("epoll_wait failed: \(systemErrorText())")
                }
                continue
            }

            let now = now()
            for index in 0..<Int(count) {
                let (token, fired) = events[index]
                switch token {
                case Self.wakeToken:
                    mailbox.acknowledgeWake()
                case Self.listenerToken:
                    acceptPending(now: now)
                default:
                    connections[token]?.handle(fired, now: now)
                }
            }
            processMessages(now: now)
            nextDeadline = serviceDeadlines(now: now)
        }
        tearDown()
    }

    /// Releases the epoll instance and eventfd of a loop whose thread never started.
    func abandon() {
        precondition(connections.isEmpty, "abandoning an event loop that has connections")
        _ = mailbox.close()
        epoll.close()
        readBuffer.deallocate()
    }

    // MARK: - Services for connections

    func dispatch(_ request: HTTPRequest, connectionID: UInt64) {
        let mailbox = self.mailbox
        let responder = HTTPResponder(
            responseIfDropped: .text(500, "the request handler did not respond")
        ) { response in
            mailbox.post(.response(connectionID: connectionID, response))
        }
        handler(request, responder)
    }

    /// The `Date` header value, formatted once per second.
    func dateHeader() -> String {
        let second = HTTPDate.currentSecond()
        if second != cachedDate.second {
            cachedDate = (second, HTTPDate.format(secondsSince1970: second))
        }
        return cachedDate.text
    }

    func updateInterest(of connection: HTTPConnection) {
        let wanted = connection.wantedEvents
        guard wanted != connection.registeredEvents else { return }
        connection.registeredEvents = wanted
        if epoll.modify(connection.descriptor, events: wanted, token: connection.id) != 0 {
            close(connection)
        }
    }

    func close(_ connection: HTTPConnection) {
        guard !connection.isClosed else { return }
        connection.markClosed()
        epoll.remove(connection.descriptor)
        _ = Glibc.close(connection.descriptor)
        connections[connection.id] = nil
        slots.release()
    }

    // MARK: - Accepting

    private func acceptPending(now: Double) {
        for _ in 0..<Self.acceptBatch {
            switch Socket.accept(listener) {
            case .accepted(let descriptor, let remoteAddress):
                place(descriptor, remoteAddress: remoteAddress, now: now)
            case .wouldBlock:
                return
            case .skipped:
                continue
            case .outOfDescriptors:
                epoll.modify(listener, events: [], token: Self.listenerToken)
                acceptPausedUntil = now + Self.acceptPauseSeconds
                return
            }
        }
    }

    private func place(_ descriptor: Int32, remoteAddress: String, now: Double) {
        guard slots.reserve() else {
            refuseOverCapacity(descriptor)
            return
        }
        guard !peers.isEmpty else {
            adopt(descriptor, remoteAddress: remoteAddress, now: now)
            return
        }
        let target = peers[nextPeer]
        nextPeer = (nextPeer + 1) % peers.count
        if target === mailbox {
            adopt(descriptor, remoteAddress: remoteAddress, now: now)
        } else if !target.post(.adopt(descriptor: descriptor, remoteAddress: remoteAddress)) {
            // That loop is stopping; the connection never got served.
            _ = Glibc.close(descriptor)
            slots.release()
        }
    }

    /// Answers 503 and closes without reading a request.
    ///
    /// Accepting and refusing (rather than leaving connections in the backlog until a slot
    /// frees) tells clients at once that the server is saturated; they can retry elsewhere
    /// instead of timing out. The socket buffer of a new connection is empty, so one
    /// non-blocking send carries the whole short response.
    private func refuseOverCapacity(_ descriptor: Int32) {
        let response = HTTPResponse.text(503, "too many open connections; retry later")
            .serialized(framing: .init(keepAlive: false), date: dateHeader())
        _ = response.withUnsafeBytes { Socket.send(descriptor, $0) }
        _ = shutdown(descriptor, Int32(SHUT_WR))
        // Discard request bytes that already arrived: closing with unread input would send RST,
        // which can destroy the 503 before the client reads it. Bounded, because a client that
        // keeps sending must not hold the accepting loop here.
        var scratch = [UInt8](repeating: 0, count: 16 * 1024)
        for _ in 0..<4 where recv(descriptor, &scratch, scratch.count, Int32(MSG_DONTWAIT)) > 0 {}
        _ = Glibc.close(descriptor)
    }

    private func adopt(_ descriptor: Int32, remoteAddress: String, now: Double) {
        let id = nextConnectionID
        nextConnectionID += 1
        let machine = HTTPConnectionStateMachine(
            limits: configuration.parserLimits, timeouts: configuration.connectionTimeouts,
            remoteAddress: remoteAddress, now: now)
        let connection = HTTPConnection(
            id: id, descriptor: descriptor, machine: machine, loop: self,
            registeredEvents: [.input, .readHangUp])
        guard epoll.add(descriptor, events: connection.registeredEvents, token: id) == 0 else {
            _ = Glibc.close(descriptor)
            slots.release()
            return
        }
        connections[id] = connection
    }

    // MARK: - Messages and time

    private func processMessages(now: Double) {
        for message in mailbox.takeAll() {
            switch message {
            case .adopt(let descriptor, let remoteAddress):
                adopt(descriptor, remoteAddress: remoteAddress, now: now)
            case .response(let connectionID, let response):
                // A response for a connection that has since closed has nowhere to go.
                connections[connectionID]?.responseReady(response, now: now)
            case .stopAccepting(let done):
                closeListener()
                done.signal()
            case .shutdown:
                isRunning = false
            }
        }
    }

    /// Acts on every deadline that has passed and returns the earliest one still ahead.
    ///
    /// A scan of all connections once per wake-up, rather than a timer heap: with at most
    /// `maxConnections` spread over the loops it costs microseconds, and it cannot go stale
    /// when a deadline moves (which happens on nearly every read).
    private func serviceDeadlines(now: Double) -> Double {
        if let pausedUntil = acceptPausedUntil, now >= pausedUntil, listener >= 0 {
            acceptPausedUntil = nil
            epoll.modify(listener, events: .input, token: Self.listenerToken)
        }

        var earliest = acceptPausedUntil ?? .infinity
        var expired: [HTTPConnection] = []
        for connection in connections.values {
            guard let deadline = connection.machine.deadline else { continue }
            if deadline <= now {
                expired.append(connection)
            } else if deadline < earliest {
                earliest = deadline
            }
        }
        for connection in expired where !connection.isClosed {
            connection.deadlinePassed(now: now)
            if !connection.isClosed, let deadline = connection.machine.deadline {
                earliest = min(earliest, deadline)
            }
        }
        return earliest
    }

    /// Milliseconds until `deadline`, rounded up so the loop does not wake just before it; -1
    /// (wait indefinitely) when nothing is timed.
    private func waitTimeout(until deadline: Double, now: Double) -> Int32 {
        guard deadline.isFinite else { return -1 }
        let milliseconds = ((deadline - now) * 1000).rounded(.up)
        return Int32(min(max(milliseconds, 0), 60_000))
    }

    private func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1_000_000_000
    }

    // MARK: - Shutdown

    private func closeListener() {
        guard listener >= 0 else { return }
        epoll.remove(listener)
        _ = Glibc.close(listener)
        listener = -1
        acceptPausedUntil = nil
    }

    private func tearDown() {
        closeListener()
        for connection in Array(connections.values) {
            close(connection)
        }
        for message in mailbox.close() {
            switch message {
            case .adopt(let descriptor, _):
                _ = Glibc.close(descriptor)
                slots.release()
            case .stopAccepting(let done):
                done.signal()
            case .response, .shutdown:
                break
            }
        }
        epoll.close()
        readBuffer.deallocate()
    }
}
