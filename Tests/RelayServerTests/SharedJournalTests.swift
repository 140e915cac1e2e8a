import Foundation
import RelayCore
import RelayJournal
import RelayTestSupport
import Testing

/// Several relays behind a load balancer on one PostgreSQL journal, as real processes: a
/// webhook accepted by any of them is one conversion, sent once, whichever relay sends it and
/// whichever dies.
@Suite(.serialized) struct SharedJournalTests {
    @Test func twoRelaysWithRedeliveriesToBothSendEachConversionOnce() throws {
        let stack = try SharedJournalStack()
        defer { stack.stop() }
        try stack.startSandbox()
        try stack.startRelay("relay-a")
        try stack.startRelay("relay-b")

        // Webhooks alternate between the relays; every third is delivered again to both at
        // the same moment, as Meta redelivers one the balancer first sent to a slow relay.
        var expected: [String] = []
        var redelivered = 0
        for index in 0..<60 {
            let (body, eventID) = try stack.lead(index)
            expected.append(eventID)
            let first = index.isMultiple(of: 2) ? "relay-a" : "relay-b"
            try #require(try stack.postWebhook(body, to: first).status == 200)
            if index.isMultiple(of: 3) {
                let statuses = Statuses()
                DispatchQueue.concurrentPerform(iterations: 2) { copy in
                    let relay = copy == 0 ? "relay-a" : "relay-b"
                    statuses.add((try? stack.postWebhook(body, to: relay).status) ?? 0)
                }
                #expect(statuses.all == [200, 200], "a redelivery is acknowledged")
                redelivered += 2
            }
        }

        #expect(
            try eventually(timeout: 30) { stack.acceptedEventIDs().count >= expected.count },
            "relay-a:\n\(stack.stderr("relay-a"))\nrelay-b:\n\(stack.stderr("relay-b"))")
        // A late duplicate would land within a few delivery ticks.
        Thread.sleep(forTimeInterval: 1)
        let sent = stack.acceptedEventIDs()
        #expect(Set(sent) == Set(expected))
        #expect(sent.count == expected.count, "no conversion may reach the sandbox twice")

        let counters = try stack.counters()
        #expect(counters.capiSent == 60)
        #expect(counters.dedupeHits == redelivered)
        // Both relays took part in delivering.
        let senders = try stack.query("SELECT DISTINCT node FROM attempts ORDER BY node")
        #expect(senders == [["relay-a"], ["relay-b"]])

        // The QA tools read the shared journal too: every relay's conversions and bodies.
        let qa = try TestProcess(["qa", "--config", stack.configPath("relay-b"), "--json"])
        _ = try qa.waitForExit()
        let report = try JSONSerialization.jsonObject(with: Data(qa.stdout.utf8)) as? [String: Any]
        #expect(report?["conversions"] as? Int == 60, "\(qa.stdout)\n\(qa.stderr)")
        let export = try TestProcess(
            ["journal", "export-bodies", "--config", stack.configPath("relay-a")])
        #expect(try export.waitForExit() == 0, "\(export.stderr)")
        let bodies = export.stdout.split(separator: "\n")
        #expect(bodies.count == 60 + redelivered, "every accepted webhook, at either relay")
    }

    @Test func afterSIGKILLTheOtherRelayFinishesTheDeadRelaysClaimsOnceTheLeaseRunsOut() throws {
        // A lease just above twice the request timeout, the shortest the config accepts.
        let stack = try SharedJournalStack(leaseSeconds: 11, timeoutSeconds: 5)
        defer { stack.stop() }
        let meta = try stack.startSandbox()
        // relay-a's requests go to a sandbox that holds every request without answering or
        // accepting it: whatever relay-a claims is on the wire, unsent, when it dies.
        let holding = try stack.startSandbox()
        let response = try RawHTTP.request(
            port: stack.sandboxes[holding].port, method: "PUT", path: "/_sandbox/faults",
            body: Array(#"{"capi": {"timeout_rate": 1, "timeout_ms": 600000}}"#.utf8))
        try #require(response.status == 200, "the sandbox refused the faults: \(response.body)")
        try stack.startRelay("relay-a", sandbox: holding)
        try stack.startRelay("relay-b", sandbox: meta)

        // Load on both relays until relay-a holds claimed work.
        var expected: [String] = []
        var index = 0
        func post(to relay: String) throws {
            let (body, eventID) = try stack.lead(index)
            index += 1
            expected.append(eventID)
            try #require(try stack.postWebhook(body, to: relay).status == 200)
        }
        let claimedByA = """
            SELECT id, capi_lease_until_ms FROM conversions
            WHERE capi_state = 'pending' AND capi_lease_owner = 'relay-a'
            """
        var held: [PostgresRow] = []
        let deadline = Date().addingTimeInterval(20)
        while held.isEmpty && Date() < deadline {
            try post(to: index.isMultiple(of: 2) ? "relay-a" : "relay-b")
            held = try stack.query(claimedByA)
        }
        try #require(!held.isEmpty, "relay-a never claimed work:\n\(stack.stderr("relay-a"))")

        stack.nodes["relay-a"]?.process.kill(SIGKILL)
        _ = try stack.nodes["relay-a"]?.process.waitForExit()
        // What relay-a held when it died, and until when.
        held = try stack.query(claimedByA)
        try #require(!held.isEmpty)
        let heldIDs = held.compactMap { $0[0] }
        let leaseEnd = held.compactMap { $0[1].flatMap { Int64($0) } }.max() ?? 0

        // The load goes on at the surviving relay.
        for _ in 0..<20 { try post(to: "relay-b") }

        #expect(
            try eventually(timeout: 40) {
                stack.acceptedEventIDs(sandbox: meta).count >= expected.count
            },
            "relay-b:\n\(stack.stderr("relay-b"))")
        Thread.sleep(forTimeInterval: 1)
        let sent = stack.acceptedEventIDs(sandbox: meta)
        #expect(Set(sent) == Set(expected), "nothing acknowledged is lost")
        #expect(sent.count == expected.count, "nothing is sent twice")
        #expect(stack.acceptedEventIDs(sandbox: holding).isEmpty)

        // relay-b sent relay-a's claims, and only once the lease had run out.
        let takenOver = try stack.query(
            """
            SELECT a.node, min(a.started_at_ms) FROM attempts a
            JOIN attempt_events e ON e.attempt_id = a.id
            WHERE e.conversion_id = ANY(string_to_array($1, ',')::bigint[]) AND a.outcome = 'sent'
            GROUP BY a.node
            """, [heldIDs.joined(separator: ",")])
        #expect(takenOver.map { $0[0] } == ["relay-b"])
        let firstSend = takenOver.first?[1].flatMap { Int64($0) } ?? 0
        #expect(firstSend >= leaseEnd, "a claim is taken over only after its lease")
        #expect(try stack.counters().capiSent == expected.count)
    }
}

/// HTTP statuses gathered from concurrent posts.
final class Statuses: @unchecked Sendable {
    private let lock = NSLock()
    private var statuses: [Int] = []

    func add(_ status: Int) { lock.withLock { statuses.append(status) } }
    var all: [Int] { lock.withLock { statuses } }
}
