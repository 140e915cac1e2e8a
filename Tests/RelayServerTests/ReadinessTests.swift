import Testing

@testable import RelayServer

@Suite struct ReadinessTests {
    static let healthy = Readiness.Inputs(
        draining: false, journalProblem: nil, paused: [:], backlog: ["capi": 3, "crm": 0],
        maxBacklog: 100)

    @Test func allChecksPassingIs200AndSaysWhatWasChecked() {
        let response = Readiness.response(Readiness.checks(Self.healthy))
        #expect(response.status == 200)
        #expect(
            String(decoding: response.body, as: UTF8.self) == """
                ready
                ok   journal: writable
                ok   draining: accepting new work
                ok   paused: no destination paused
                ok   backlog: capi 3, crm 0 pending, threshold 100 per destination

                """)
    }

    @Test func eachFailingCheckIsNamedFirstAndExplained() {
        var inputs = Self.healthy
        inputs.paused = ["capi": "graph_190 code=190 Invalid OAuth access token."]
        inputs.backlog?["crm"] = 101
        inputs.draining = true
        let response = Readiness.response(Readiness.checks(inputs))
        #expect(response.status == 503)
        let lines = String(decoding: response.body, as: UTF8.self).split(separator: "\n")
        #expect(lines.first == "not ready: draining, paused, backlog")
        #expect(
            lines.contains(
                "FAIL paused: capi paused: graph_190 code=190 Invalid OAuth access token."))
        #expect(
            lines.contains("FAIL backlog: capi 3, crm 101 pending, threshold 100 per destination"))
    }

    @Test func aJournalThatCannotCommitMakesTheRelayUnready() {
        var inputs = Self.healthy
        inputs.journalProblem = "not writable: the journal is closed"
        let response = Readiness.response(Readiness.checks(inputs))
        #expect(response.status == 503)
        #expect(
            String(decoding: response.body, as: UTF8.self).hasPrefix(
                "not ready: journal\nFAIL journal: not writable: the journal is closed\n"))
    }

    /// With the journal unreadable nothing is known of the backlog, and it does not say
    /// "nothing pending".
    @Test func aJournalThatCannotBeReadLeavesTheBacklogUnknown() {
        var inputs = Self.healthy
        inputs.journalProblem = "not readable: no connection to the server"
        inputs.backlog = nil
        let body = String(
            decoding: Readiness.response(Readiness.checks(inputs)).body, as: UTF8.self)
        #expect(body.hasPrefix("not ready: journal, backlog\n"), "\(body)")
        #expect(body.contains("FAIL backlog: unknown: the journal could not be read"))
        #expect(!body.contains("nothing pending"))
    }
}
