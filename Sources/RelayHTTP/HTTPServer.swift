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
        case stopped(boundPort: UInt16)
    }

    private struct Running {
        var loops: [EventLoop]
        var threads: [pthread_t]
        var boundPort: UInt16
    }

    private let configuration: HTTPServerConfiguration
    private let handler: HTTPHandler
    private let slots: ConnectionSlots
    /// Guarded by the mutex: whether the server runs, its loops and threads. `stop()` holds it
    /// while joining, so a concurrent `stop()` returns only once everything has stopped.
    private let state = Mutex(Lifecycle.idle)

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
            lifecycle = .running(try launch())
        }
    }

    /// The port the server listens on, which differs from the configured one when that was 0.
    /// 0 before `start()`; after `stop()`, the port it had.
    public var boundPort: UInt16 {
        state.withLock { lifecycle in
            switch lifecycle {
            case .idle: 0
            case .running(let running): running.boundPort
            case .stopped(let port): port
            }
        }
    }

    /// Connections currently open, on all loops.
    public var openConnectionCount: Int { slots.current }

    /// Closes the listening socket so no new connection is accepted; open connections keep being
    /// served. Returns once the socket is closed. For draining before a restart: call this, wait
    /// for `openConnectionCount` to reach 0 or a deadline, then `stop()`.
    public func stopAccepting() {
        state.withLock { lifecycle in
            guard case .running(let running) = lifecycle, let acceptor = running.loops.first else {
                return
            }
            let done = DispatchSemaphore(value: 0)
            if acceptor.mailbox.post(.stopAccepting(done)) {
                done.wait()
            }
        }
    }

    /// Stops accepting, closes every connection (requests still with the handler get no
    /// response) and joins the loop threads. Idempotent. Must not be called from the handler,
    /// which runs on a loop thread that this call waits for.
    public func stop() {
        state.withLock { lifecycle in
            guard case .running(let running) = lifecycle else { return }
            let current = pthread_self()
            precondition(
                !running.threads.contains { pthread_equal($0, current) != 0 },
                "HTTPServer.stop() called on one of its own event-loop threads")

            for loop in running.loops {
                loop.mailbox.post(.shutdown)
            }
            for thread in running.threads {
                pthread_join(thread, nil)
            }
            lifecycle = .stopped(boundPort: running.boundPort)
        }
    }

    // MARK: - Starting

    private func launch() throws(HTTPServerError) -> Running {
        if let problem = configuration.validationProblem() {
            throw HTTPServerError(.invalidConfiguration, problem)
        }
        let calls = try LinuxSystemCalls.shared.get()
        let (listener, port) = try Socket.listen(host: configuration.host, port: configuration.port)

        // Build every loop before starting any thread, so a failure has nothing running to undo.
        var loops: [EventLoop] = []
        do {
            for _ in 0..<configuration.eventLoopCount {
                loops.append(
                    try EventLoop(
                        configuration: configuration, handler: handler, slots: slots,
                        calls: calls))
            }
            try loops[0].acceptConnections(on: listener, handingOutTo: loops.map(\.mailbox))
        } catch {
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
                // Loops without a thread never tear themselves down; the started ones do on
                // shutdown. The listener belongs to the first loop, which always starts first.
                for started in loops.prefix(threads.count) {
                    started.mailbox.post(.shutdown)
                }
                for started in threads {
                    pthread_join(started, nil)
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
        return Running(loops: loops, threads: threads, boundPort: port)
    }
}

/// The pthread entry point; takes over the retain `launch()` made for the thread.
private func runEventLoop(_ context: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    guard let context else { return nil }
    let loop = Unmanaged<EventLoop>.fromOpaque(context).takeRetainedValue()
    loop.run()
    return nil
}
