import Glibc

/// One accepted socket: performs the I/O its `HTTPConnectionStateMachine` asks for.
///
/// Confined to the thread of the event loop that owns it; nothing here is locked.
final class HTTPConnection {
    let id: UInt64
    let descriptor: Int32
    /// The epoll interest currently registered, so that it is only changed when it must be.
    var registeredEvents: Epoll.Events
    private(set) var machine: HTTPConnectionStateMachine
    private unowned let loop: EventLoop
    /// Bytes queued for the socket; `outboundOffset` of them are already written. Appended to
    /// only while the connection is writing a response, so it holds at most one response (and
    /// perhaps a 100 Continue).
    private var outbound: [UInt8] = []
    private var outboundOffset = 0
    private(set) var isClosed = false
    /// Set when input fired while the machine did not want to read, so that the loop stops
    /// watching for it; cleared once the machine reads again.
    private var inputUnwanted = false

    init(
        id: UInt64, descriptor: Int32, machine: HTTPConnectionStateMachine, loop: EventLoop,
        registeredEvents: Epoll.Events
    ) {
        self.id = id
        self.descriptor = descriptor
        self.machine = machine
        self.loop = loop
        self.registeredEvents = registeredEvents
    }

    var hasPendingOutput: Bool { outboundOffset < outbound.count }

    /// The interest the connection needs now: input while the machine wants to read, output
    /// while bytes wait for room in the socket buffer.
    ///
    /// Input stays watched while a request is with its handler, until it fires: a client waits
    /// for its answer and sends nothing meanwhile, so keeping it saves the two `epoll_ctl`
    /// calls per request that turning it off and on again would cost. Should a client send
    /// (pipeline) or hang up in that time, the first such event turns it off, since the
    /// level-triggered input would otherwise fire on every wait.
    var wantedEvents: Epoll.Events {
        var events: Epoll.Events = []
        if machine.wantsToRead || (registeredEvents.contains(.input) && !inputUnwanted) {
            events.formUnion([.input, .readHangUp])
        }
        if hasPendingOutput {
            events.insert(.output)
        }
        return events
    }

    // MARK: - Events from the loop

    func handle(_ events: Epoll.Events, now: Double) {
        // An error or a hang-up in both directions means nothing more can be exchanged; a
        // hang-up is reported whatever the interest, so it must be acted on to avoid spinning.
        if !events.isDisjoint(with: [.error, .hangUp]) {
            loop.close(self)
            return
        }
        if !events.isDisjoint(with: [.input, .readHangUp]) {
            if machine.wantsToRead {
                readOnce(now: now)
            } else {
                inputUnwanted = true
                loop.updateInterest(of: self)
            }
        }
        if !isClosed && events.contains(.output) {
            perform([], now: now)
        }
    }

    func responseReady(_ response: HTTPResponse, now: Double) {
        perform(machine.responseReady(response, now: now), now: now)
    }

    func deadlinePassed(now: Double) {
        perform(machine.deadlinePassed(now: now), now: now)
    }

    // MARK: - Driving the machine

    /// Performs `actions`, writes what they queued, and feeds the outcome of the write back into
    /// the machine until it has nothing more to do.
    private func perform(_ actions: [HTTPConnectionStateMachine.Action], now: Double) {
        var queue = actions[...]
        while !isClosed {
            if let action = queue.popFirst() {
                switch action {
                case .sendContinue:
                    outbound.append(contentsOf: HTTPResponse.continueBytes)
                case .sendResponse(let response, let framing):
                    let date = loop.dateHeader()
                    outbound.append(contentsOf: response.serialized(framing: framing, date: date))
                case .dispatch(let request):
                    loop.dispatch(request, connectionID: id)
                case .shutdownOutput:
                    _ = shutdown(descriptor, Int32(SHUT_WR))
                case .close:
                    loop.close(self)
                }
                continue
            }

            // Every action is done; write, and tell the machine when the queue has drained.
            guard hasPendingOutput else { break }
            guard flush(now: now) else { return }
            guard !hasPendingOutput else { break }
            queue = machine.outputDrained(now: now)[...]
        }
        if !isClosed {
            if machine.wantsToRead { inputUnwanted = false }
            loop.updateInterest(of: self)
        }
    }

    private func readOnce(now: Double) {
        let buffer = loop.readBuffer
        let count = recv(descriptor, buffer.baseAddress, buffer.count, 0)
        if count > 0 {
            let bytes = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
            perform(machine.received(bytes, now: now), now: now)
        } else if count == 0 {
            perform(machine.inputEnded(now: now), now: now)
        } else if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
            loop.close(self)
        }
    }

    /// Writes as much of the queue as the socket takes. Returns false when the connection had to
    /// be closed because the peer is gone.
    private func flush(now: Double) -> Bool {
        let before = outboundOffset
        while hasPendingOutput {
            let written = outbound.withUnsafeBytes { bytes in
                Socket.send(descriptor, UnsafeRawBufferPointer(rebasing: bytes[outboundOffset...]))
            }
            if written > 0 {
                outboundOffset += written
            } else if written < 0 && errno == EINTR {
                continue
            } else if written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                break
            } else {
                loop.close(self)
                return false
            }
        }

        if !hasPendingOutput {
            // Same trade as the parser's buffer: reuse small allocations, free large ones.
            outbound.removeAll(keepingCapacity: outbound.capacity <= 16 * 1024)
            outboundOffset = 0
        } else if outboundOffset > before {
            machine.outputProgressed(now: now)
        }
        return true
    }

    /// Called by the loop, which owns the descriptor's registration and the connection count.
    func markClosed() {
        isClosed = true
        outbound = []
        outboundOffset = 0
    }
}
