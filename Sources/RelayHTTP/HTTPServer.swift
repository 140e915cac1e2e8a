import Foundation
import Glibc
import Synchronization

/// A small, strict HTTP/1.1 server on epoll, for the relay's own endpoints.
///
/// Every request goes to the one handler; the handler is called on an event-loop thread and may
/// respond later from any thread through its `HTTPResponder`. A connection does not read its next
/// pipelined request until the current one is answered, so responses keep request order.
///
/// Limits and timeouts come from `HTTPServerConfiguration`; every refused request is answered
/// with its status and a short plain-text reason, and the connection is then closed.
///
/// `@unchecked Sendable`: the lifecycle state is guarded by `state`'s mutex, and everything else
/// stored is immutable and Sendable.
public final class HTTPServer: @unchecked Sendable {
    private enum Lifecycle {
        case idle
        case running(Running)
        /// `stop()` is joining the threads; the group is left when it has.
        case stopping(DispatchGroup)
        case stopped
    }

    private struct Running {
        var loops: [EventLoop]
        var threads: [pthread_t]

        var isCurrentThreadALoop: Bool {
            let current = pthread_self()
            return threads.contains { pthread_equal($0, current) != 0 }
        }
    }

    private let configuration: HTTPServerConfiguration
    private let handler: HTTPHandler
    private let slots: ConnectionSlots
    /// Guarded by the mutex: whether the server runs, its loops and threads. Never held while
    /// waiting for a loop, since a handler on a loop thread may call into the server.
    private let state = Mutex(Lifecycle.idle)
    /// Written once by `start()`; an atomic so that handlers can read it without the lock.
    private let port = Atomic<UInt16>(0)

    /// - Parameters:
    ///   - configuration: Address, limits and timeouts; checked by `start()`.
    ///   - handler: Receives every request; see `HTTPHandler` for its threading rules.
    public init(configuration: HTTPServerConfiguration, handler: @escaping HTTPHandler) {
        self.configuration = configuration
        self.handler = handler
        self.slots = ConnectionSlots(limit: configuration.maxConnections)
    }

    deinit {
        stop()
    }

    /// Binds, listens and starts the event-loop threads; returns once the server accepts.
    ///
    /// - Throws: `HTTPServerError`, for example `.cannotListen` with the message
    ///   "cannot listen on 127.0.0.1:8080: Address already in use". A server can be started once.
    public func start() throws {
        try state.withLock { (lifecycle: inout Lifecycle) throws(HTTPServerError) in
            guard case .idle = lifecycle else {
                throw HTTPServerError(.alreadyStarted, "the HTTP server was already started")
            }
            let (running, boundPort) = try launch()
            lifecycle = .running(running)
            port.store(boundPort, ordering: .releasing)
        }
    }

    /// The port the server listens on, which differs from the configured one when that was 0.
    /// 0 before `start()`; after `stop()`, the port it had.
    public var boundPort: UInt16 { port.load(ordering: .acquiring) }

    /// Connections currently open, on all loops.
    public var openConnectionCount: Int { slots.current }

    /// How many times the event loops have woken, all together; 0 unless running.
    var eventLoopWakeUps: Int {
        state.withLock { lifecycle in
            guard case .running(let running) = lifecycle else { return 0 }
            return running.loops.reduce(0) { $0 + $1.wakeUps.load(ordering: .relaxed) }
        }
    }

    /// Closes the listening socket so no new connection is accepted; open connections keep being
    /// served. Returns once the socket is closed, except when called from the handler, where
    /// waiting could deadlock the loop; then the socket closes as soon as that loop gets to it.
    ///
    /// For draining before a restart: call this, wait for `openConnectionCount` to reach 0 or a
    /// deadline, then `stop()`.
    public func stopAccepting() {
        let target = state.withLock { lifecycle -> (EventLoopMailbox, wait: Bool)? in
            guard case .running(let running) = lifecycle, let acceptor = running.loops.first else {
                return nil
            }
            return (acceptor.mailbox, !running.isCurrentThreadALoop)
        }
        guard let (mailbox, wait) = target else { return }

        let done = DispatchSemaphore(value: 0)
        // A loop that is stopping signals queued requests as it closes its mailbox.
        if mailbox.post(.stopAccepting(done)) && wait {
            done.wait()
        }
    }

    /// Stops accepting, closes every connection (requests still with the handler get no
    /// response) and joins the loop threads; returns when all of that is done, also when
    /// another thread's `stop()` is doing it. Idempotent.
    ///
    /// Must not be called from the handler: it waits for the loop threads, the handler's among
    /// them. To stop from a request, hand the call to another thread.
    public func stop() {
        enum Step {
            case join(Running, DispatchGroup)
            case wait(DispatchGroup)
            case none
        }
        let step = state.withLock { lifecycle -> Step in
            switch lifecycle {
            case .running(let running):
                precondition(
                    !running.isCurrentThreadALoop,
                    "HTTPServer.stop() called from its handler, on the loop thread it would join")
                let stopped = DispatchGroup()
                stopped.enter()
                lifecycle = .stopping(stopped)
                return .join(running, stopped)
            case .stopping(let stopped):
                return .wait(stopped)
            case .idle, .stopped:
                return .none
            }
        }

        switch step {
        case .join(let running, let stopped):
            for loop in running.loops {
                loop.mailbox.post(.shutdown)
            }
            for thread in running.threads {
                pthread_join(thread, nil)
            }
            state.withLock { $0 = .stopped }
            stopped.leave()
        case .wait(let stopped):
            stopped.wait()
        case .none:
            break
        }
    }

    // MARK: - Starting

    private func launch() throws(HTTPServerError) -> (Running, UInt16) {
        if let problem = configuration.validationProblem() {
            throw HTTPServerError(.invalidConfiguration, problem)
        }
        let (listener, port) = try Socket.listen(host: configuration.host, port: configuration.port)

        // Build every loop before starting any thread, so a failure has nothing running to undo.
        var loops: [EventLoop] = []
        do {
            for _ in 0..<configuration.eventLoopCount {
                loops.append(
                    try EventLoop(
                        configuration: configuration, handler: handler, slots: slots))
            }
            try loops[0].acceptConnections(on: listener, handingOutTo: loops.map(\.mailbox))
        } catch {
            for loop in loops {
                loop.abandon()
            }
            _ = Glibc.close(listener)
            throw error
        }

        var threads: [pthread_t] = []
        for loop in loops {
            var thread = pthread_t()
            let context = Unmanaged.passRetained(loop).toOpaque()
            let status = pthread_create(&thread, nil, runEventLoop, context)
            guard status == 0 else {
                Unmanaged<EventLoop>.fromOpaque(context).release()
                // Started loops tear themselves down on shutdown, the listener with the first
                // one; the others never ran and are released here.
                for started in loops.prefix(threads.count) {
                    started.mailbox.post(.shutdown)
                }
                for started in threads {
                    pthread_join(started, nil)
                }
                for unstarted in loops.dropFirst(threads.count) {
                    unstarted.abandon()
                }
                if threads.isEmpty {
                    _ = Glibc.close(listener)
                }
                throw HTTPServerError(
                    .systemResources,
                    "cannot start an event-loop thread: \(systemErrorText(status))")
            }
            threads.append(thread)
        }
        return (Running(loops: loops, threads: threads), port)
    }
}

/// The pthread entry point; takes over the retain `launch()` made for the thread.
private func runEventLoop(_ context: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    guard let context else { return nil }
    let loop = Unmanaged<EventLoop>.fromOpaque(context).takeRetainedValue()
    loop.run()
    return nil
}
