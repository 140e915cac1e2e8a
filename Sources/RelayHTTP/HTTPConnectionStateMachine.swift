/// The life of one HTTP/1.1 connection as a value-type state machine: it is told what happened
/// (bytes arrived, the handler answered, the socket drained, a deadline passed) and answers with
/// the actions to perform. `HTTPConnection` performs them; tests drive this type with no socket.
///
/// At most one request is with the handler at a time, and the next pipelined request is not
/// parsed until the previous response has been handed to the socket, so responses stay in
/// request order and a client that pipelines without reading cannot make the server buffer
/// an unbounded number of responses.
struct HTTPConnectionStateMachine: Sendable {
    /// Deadlines, all in seconds.
    struct Timeouts: Sendable, Equatable {
        /// From the first byte of a head (or from accept, for a connection's first request) to
        /// the end of the head; then 408.
        var header: Double
        /// From the end of the head to the end of the body; then 408.
        var body: Double
        /// Between keep-alive requests, and the longest a response write may make no progress
        /// because the client is not reading; then a quiet close.
        var idle: Double
        /// After a response that ends the connection, how long unread client bytes are drained
        /// before the socket is closed (see `Action.shutdownOutput`).
        var linger: Double = 2
    }

    enum Action: Sendable, Equatable {
        case sendContinue
        case sendResponse(HTTPResponse, HTTPResponse.Framing)
        /// Hand this request to the handler; its response comes back through `responseReady`.
        case dispatch(HTTPRequest)
        /// Send FIN but keep reading. Closing outright with unread request bytes in the kernel
        /// would make it send RST, and the client could lose the response it has not read yet.
        case shutdownOutput
        case close
    }

    private enum State: Sendable, Equatable {
        /// Parsing: between requests, or inside one.
        case reading
        case awaitingResponse(HTTPResponse.Framing)
        case writingResponse(closeAfter: Bool)
        case lingering(until: Double)
        case closed
    }

    let timeouts: Timeouts
    let remoteAddress: String
    private var parser: HTTPRequestParser
    private var state: State = .reading
    private var responsesSent = 0
    /// The parser phase the current deadline was started for, and when it started (seconds,
    /// monotonic clock).
    private var observedPhase: HTTPRequestParser.Phase = .idle
    private var phaseStartedAt: Double
    private var lastWriteProgressAt: Double
    /// The client sent FIN: no further requests can arrive.
    private var inputClosed = false

    /// - Parameter now: Monotonic time in seconds; the first request's header timeout counts
    ///   from here, so a client that connects and sends nothing gets 408.
    init(
        limits: HTTPRequestParser.Limits, timeouts: Timeouts, remoteAddress: String, now: Double
    ) {
        self.parser = HTTPRequestParser(limits: limits)
        self.timeouts = timeouts
        self.remoteAddress = remoteAddress
        self.phaseStartedAt = now
        self.lastWriteProgressAt = now
    }

    /// Whether the driver should watch the socket for input.
    var wantsToRead: Bool {
        guard !inputClosed else { return false }
        switch state {
        case .reading, .lingering: return true
        case .awaitingResponse, .writingResponse, .closed: return false
        }
    }

    var isClosed: Bool { state == .closed }

    /// When `deadlinePassed` must be called, in monotonic seconds; nil while none applies (a
    /// request is with the handler, which may take as long as it needs).
    var deadline: Double? {
        switch state {
        case .reading:
            switch observedPhase {
            case .idle:
                let timeout = responsesSent == 0 ? timeouts.header : timeouts.idle
                return phaseStartedAt + timeout
            case .head:
                return phaseStartedAt + timeouts.header
            case .body:
                return phaseStartedAt + timeouts.body
            }
        case .writingResponse:
            return lastWriteProgressAt + timeouts.idle
        case .lingering(let until):
            return until
        case .awaitingResponse, .closed:
            return nil
        }
    }

    // MARK: - Events

    mutating func received<Bytes: Collection>(
        _ bytes: Bytes, now: Double
    ) -> [Action] where Bytes.Element == UInt8 {
        switch state {
        case .reading:
            parser.feed(bytes)
            return advance(now: now)
        case .awaitingResponse, .writingResponse:
            // Reading is paused in these states, but one read may already have been under way;
            // keep the bytes for when the connection reads again.
            parser.feed(bytes)
            return []
        case .lingering, .closed:
            return []
        }
    }

    /// The client closed its sending side (read returned 0).
    mutating func inputEnded(now: Double) -> [Action] {
        inputClosed = true
        switch state {
        case .reading:
            return advance(now: now)
        case .lingering:
            state = .closed
            return [.close]
        case .awaitingResponse, .writingResponse, .closed:
            // A half-closed client still gets its response; the connection closes after it.
            return []
        }
    }

    /// The handler's response. Ignored unless a request is awaiting one, which only happens when
    /// the connection was already closed.
    mutating func responseReady(_ response: HTTPResponse, now: Double) -> [Action] {
        guard case .awaitingResponse(var framing) = state else { return [] }
        responsesSent += 1
        if (inputClosed && parser.bufferedByteCount == 0) || response.closesConnection {
            framing.keepAlive = false
        }
        state = .writingResponse(closeAfter: !framing.keepAlive)
        lastWriteProgressAt = now
        return [.sendResponse(response, framing)]
    }

    /// Some queued bytes were written but not all; the client is reading, however slowly.
    mutating func outputProgressed(now: Double) {
        lastWriteProgressAt = now
    }

    /// Everything queued has been handed to the kernel.
    mutating func outputDrained(now: Double) -> [Action] {
        guard case .writingResponse(let closeAfter) = state else { return [] }
        guard !closeAfter else { return finish(now: now) }

        state = .reading
        observedPhase = parser.phase
        phaseStartedAt = now
        return advance(now: now)
    }

    mutating func deadlinePassed(now: Double) -> [Action] {
        guard let deadline, now >= deadline else { return [] }
        switch state {
        case .reading where observedPhase == .idle && responsesSent > 0:
            // A keep-alive connection nobody uses any more: close without a word.
            state = .closed
            return [.close]
        case .reading:
            let what = observedPhase == .body ? "request body" : "request head"
            let seconds = observedPhase == .body ? timeouts.body : timeouts.header
            let reason = "\(what) not received within \(seconds) seconds"
            return reject(.init(status: 408, reason: reason), now: now)
        case .writingResponse, .lingering:
            state = .closed
            return [.close]
        case .awaitingResponse, .closed:
            return []
        }
    }

    // MARK: - Steps

    /// Parses buffered bytes until the parser needs more, a request goes to the handler, or the
    /// request is refused.
    private mutating func advance(now: Double) -> [Action] {
        var actions: [Action] = []
        while state == .reading {
            let event = parser.next()
            notePhase(now: now)
            switch event {
            case .needMoreData:
                if inputClosed {
                    // The client is gone; a partial request cannot be completed.
                    state = .closed
                    actions.append(.close)
                }
                return actions
            case .sendContinue:
                actions.append(.sendContinue)
            case .request(let parsed):
                var request = parsed.request
                request.remoteAddress = remoteAddress
                let framing = HTTPResponse.Framing(
                    keepAlive: parsed.keepAlive,
                    announceKeepAlive: parsed.keepAlive && parsed.minorVersion == 0,
                    includeBody: request.method != "HEAD")
                state = .awaitingResponse(framing)
                actions.append(.dispatch(request))
                return actions
            case .reject(let rejection):
                actions += reject(rejection, now: now)
                return actions
            }
        }
        return actions
    }

    private mutating func notePhase(now: Double) {
        let phase = parser.phase
        guard phase != observedPhase else { return }
        observedPhase = phase
        phaseStartedAt = now
    }

    /// Every refusal answers with its status and then ends the connection: after a framing error
    /// the server can no longer tell where the next request would start.
    private mutating func reject(
        _ rejection: HTTPRequestParser.Rejection, now: Double
    ) -> [Action] {
        state = .writingResponse(closeAfter: true)
        lastWriteProgressAt = now
        return [
            .sendResponse(
                .text(rejection.status, rejection.reason), HTTPResponse.Framing(keepAlive: false))
        ]
    }

    private mutating func finish(now: Double) -> [Action] {
        guard !inputClosed else {
            state = .closed
            return [.close]
        }
        state = .lingering(until: now + timeouts.linger)
        return [.shutdownOutput]
    }
}
