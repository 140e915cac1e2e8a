import Testing

@testable import RelayHTTP

@Suite struct HTTPConnectionStateMachineTests {
    private typealias Action = HTTPConnectionStateMachine.Action

    private static let closingRequest = "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"

    private static let timeouts = HTTPConnectionStateMachine.Timeouts(
        header: 10, body: 30, idle: 60, linger: 2)

    private func makeMachine(now: Double = 0) -> HTTPConnectionStateMachine {
        HTTPConnectionStateMachine(
            limits: .init(maxHeaderBytes: 1024, maxBodyBytes: 1024), timeouts: Self.timeouts,
            remoteAddress: "127.0.0.1:5555", now: now)
    }

    private func dispatchedPaths(_ actions: [Action]) -> [String] {
        actions.compactMap {
            if case .dispatch(let request) = $0 { request.path } else { nil }
        }
    }

    private func sentStatuses(_ actions: [Action]) -> [Int] {
        actions.compactMap {
            if case .sendResponse(let response, _) = $0 { response.status } else { nil }
        }
    }

    @Test func dispatchesOneRequestAtATimeAndKeepsPipelinedOnesForLater() {
        var machine = makeMachine()
        let pipelined = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n"

        let first = machine.received(Array(pipelined.utf8), now: 1)
        #expect(dispatchedPaths(first) == ["/1"])
        #expect(!machine.wantsToRead)
        #expect(machine.deadline == nil, "the handler may take as long as it needs")

        let answered = machine.responseReady(.text(200, "one"), now: 2)
        #expect(sentStatuses(answered) == [200])
        // The second request waits until the first response has left.
        #expect(dispatchedPaths(machine.outputDrained(now: 3)) == ["/2"])
    }

    @Test func tellsTheHandlerWhoIsAsking() {
        var machine = makeMachine()
        let actions = machine.received(Array("GET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8), now: 1)
        guard case .dispatch(let request) = actions.first else {
            Issue.record("expected a dispatch, got \(actions)")
            return
        }
        #expect(request.remoteAddress == "127.0.0.1:5555")
    }

    @Test func framesTheResponseForTheRequest() {
        var machine = makeMachine()
        let head = "HEAD / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
        _ = machine.received(Array(head.utf8), now: 1)
        let actions = machine.responseReady(.text(200, "x"), now: 2)
        #expect(
            actions == [
                .sendResponse(
                    .text(200, "x"),
                    .init(keepAlive: true, announceKeepAlive: true, includeBody: false))
            ])
    }

    @Test func aResponseMayCloseAKeepAliveConnection() {
        var machine = makeMachine()
        _ = machine.received(Array("GET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8), now: 1)
        var response = HTTPResponse.text(503, "shutting down")
        response.closesConnection = true
        let actions = machine.responseReady(response, now: 2)
        #expect(actions == [.sendResponse(response, .init(keepAlive: false))])
    }

    @Test func closesAfterConnectionCloseByShuttingDownOutputFirst() {
        var machine = makeMachine()
        _ = machine.received(Array(Self.closingRequest.utf8), now: 1)
        let sent = machine.responseReady(.text(200, "bye"), now: 2)
        #expect(sent == [.sendResponse(.text(200, "bye"), .init(keepAlive: false))])
        #expect(machine.outputDrained(now: 3) == [.shutdownOutput])
        #expect(machine.wantsToRead, "unread client bytes are drained while lingering")
        #expect(machine.inputEnded(now: 4) == [.close])
        #expect(machine.isClosed)
    }

    @Test func lingersNoLongerThanItsTimeout() {
        var machine = makeMachine()
        _ = machine.received(Array(Self.closingRequest.utf8), now: 1)
        _ = machine.responseReady(.text(200, "bye"), now: 2)
        _ = machine.outputDrained(now: 3)
        #expect(machine.deadline == 5)
        #expect(machine.deadlinePassed(now: 5) == [.close])
    }

    @Test func refusesABadRequestAndThenCloses() {
        var machine = makeMachine()
        let actions = machine.received(Array("NOT HTTP\r\n\r\n".utf8), now: 1)
        #expect(sentStatuses(actions) == [400])
        if case .sendResponse(_, let framing) = actions.first {
            #expect(!framing.keepAlive)
        }
        #expect(machine.outputDrained(now: 2) == [.shutdownOutput])
    }

    @Test func answersAFreshSilentConnectionWith408() {
        var machine = makeMachine(now: 100)
        #expect(machine.deadline == 110)
        #expect(machine.deadlinePassed(now: 109) == [])
        #expect(sentStatuses(machine.deadlinePassed(now: 110)) == [408])
    }

    @Test func startsTheHeaderTimeoutAtTheFirstByteOfALaterRequest() {
        var machine = makeMachine()
        _ = machine.received(Array("GET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8), now: 1)
        _ = machine.responseReady(.text(200, ""), now: 2)
        _ = machine.outputDrained(now: 3)
        #expect(machine.deadline == 63, "idle between requests")

        _ = machine.received(Array("GET / HT".utf8), now: 50)
        #expect(machine.deadline == 60, "header timeout from the first byte")
        #expect(sentStatuses(machine.deadlinePassed(now: 60)) == [408])
    }

    @Test func closesAnIdleKeepAliveConnectionQuietly() {
        var machine = makeMachine()
        _ = machine.received(Array("GET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8), now: 1)
        _ = machine.responseReady(.text(200, ""), now: 2)
        _ = machine.outputDrained(now: 3)
        #expect(machine.deadlinePassed(now: 63) == [.close])
    }

    @Test func timesOutASlowBody() {
        var machine = makeMachine()
        _ = machine.received(
            Array("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nab".utf8), now: 5)
        #expect(machine.deadline == 35)
        #expect(sentStatuses(machine.deadlinePassed(now: 35)) == [408])
    }

    @Test func closesAConnectionWhoseClientStopsReadingTheResponse() {
        var machine = makeMachine()
        _ = machine.received(Array("GET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8), now: 1)
        _ = machine.responseReady(.text(200, "big"), now: 2)
        machine.outputProgressed(now: 30)
        #expect(machine.deadline == 90)
        #expect(machine.deadlinePassed(now: 90) == [.close])
    }

    @Test func answersAHalfClosedClientThenCloses() {
        var machine = makeMachine()
        _ = machine.received(Array("GET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8), now: 1)
        #expect(machine.inputEnded(now: 2) == [])
        let sent = machine.responseReady(.text(200, "ok"), now: 3)
        #expect(sent == [.sendResponse(.text(200, "ok"), .init(keepAlive: false))])
        #expect(machine.outputDrained(now: 4) == [.close])
    }

    @Test func sendsContinueWhenAsked() {
        var machine = makeMachine()
        let head = "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"
        #expect(machine.received(Array(head.utf8), now: 1) == [.sendContinue])
        #expect(dispatchedPaths(machine.received(Array("ok".utf8), now: 2)) == ["/"])
    }

    @Test func ignoresAResponseNobodyIsWaitingFor() {
        var machine = makeMachine()
        #expect(machine.responseReady(.text(200, ""), now: 1) == [])
    }
}
