import Foundation
import RelayCore
import RelayTestSupport
import Testing

@testable import RelayJournal

/// Delivery through failures, end to end: real `serve` and `sandbox` processes on loopback, a
/// real SQLite journal, and the sandbox's fault plan standing in for a misbehaving Meta or CRM.
///
/// Times are scaled to keep the suite short: backoff starts at 0.1 s instead of 1 s, and an
/// outage lasts 3 s instead of 30 s. The properties under test do not depend on the scale:
/// every wait is still the policy's, and the outage still outlasts several retries.
@Suite(.serialized) struct DeliveryFailureTests {
    /// capi settings that make retries quick; the policy the tests hold attempts to.
    static let quickRetries = """
        "backoff_base_seconds": 0.1, "backoff_max_seconds": 1, "max_attempts": 40
        """
    static let policy = (base: 0.1, max: 1.0, attempts: 40)

    /// Accepted CAPI requests in the sandbox's order, each with its event ids.
    static func acceptedRequests(_ stack: RelayStack) throws -> [[String]] {
        try stack.records().filter {
            $0["kind"] as? String == "capi" && $0["verdict"] as? String == "accepted"
        }.map { record in
            ((record["events"] as? [[String: Any]]) ?? []).compactMap { $0["event_id"] as? String }
        }
    }

    static func capiRequests(_ stack: RelayStack) throws -> [[String: Any]] {
        try stack.records().filter { $0["kind"] as? String == "capi" }
    }

    // MARK: Random errors and an outage

    @Test func randomErrorsAndAnOutageStillDeliverEveryEventExactlyOnce() throws {
        let stack = try RelayStack(
            capiConfig: Self.quickRetries + #", "batch_size": 100, "concurrency": 2"#,
            feedHistory: 100_000)
        defer { stack.stop() }

        // 10 % of requests get a 5xx (half with Graph code 2, half a bare 502), and CAPI is
        // down from 1 s to 4 s after the load starts: a 30 s outage scaled to 3 s.
        try stack.setFaults(
            """
            {"seed": 6, "capi": {"errors": [{"rate": 0.05, "status": 503, "code": 2},
                                            {"rate": 0.05, "status": 502}],
                                 "outages": [{"from_seconds": 1, "to_seconds": 4}]}}
            """)
        let started = Date()
        let expected = try LeadLoad.post(5000, perWebhook: 50, tag: "chaos", to: stack)
        #expect(
            try eventually(timeout: 120) { try stack.counters().capiSent == 5000 },
            "relay stderr:\n\(stack.relay.stderr.suffix(3000))")
        let seconds = Date().timeIntervalSince(started)

        // Every event reached the sandbox, exactly once by event_id.
        let delivered = try Self.acceptedRequests(stack).flatMap { $0 }
        #expect(delivered.count == 5000, "no event reaches the sandbox twice")
        #expect(Set(delivered) == Set(expected))
        let counters = try stack.counters()
        #expect(counters.capiFailed == 0)
        #expect(counters.capiPending == 0)

        // Attempts stay within the policy: never more than max_attempts, and each retry came
        // no sooner than the backoff's lower bound after the attempt before it.
        // One query over the attempts table: per event, every CAPI attempt in order.
        let database = try SQLiteDatabase(path: stack.journalPath)
        defer { database.close() }
        let rows = try database.statement(
            """
            SELECT e.conversion_id, a.started_at_ms, a.finished_at_ms
            FROM attempts a JOIN attempt_events e ON e.attempt_id = a.id
            WHERE a.destination = 'capi' ORDER BY e.conversion_id, a.id
            """)
        var attemptsByEvent: [Int64: [(started: Int64, finished: Int64)]] = [:]
        while try rows.step() {
            attemptsByEvent[rows.int(0), default: []].append((rows.int(1), rows.int(2)))
        }
        #expect(attemptsByEvent.count == 5000)
        var maxAttempts = 0
        var retried = 0
        var tooSoon: [String] = []
        for (conversionID, attempts) in attemptsByEvent {
            maxAttempts = max(maxAttempts, attempts.count)
            if attempts.count > 1 { retried += 1 }
            for (index, pair) in zip(attempts, attempts.dropFirst()).enumerated() {
                let gap = pair.1.started - pair.0.finished
                let floor = Int64(
                    min(Self.policy.max, Self.policy.base * pow(2, Double(index))) / 2 * 1000)
                if gap < floor { tooSoon.append("\(conversionID) attempt \(index + 2): \(gap) ms") }
            }
        }
        #expect(maxAttempts <= Self.policy.attempts)
        #expect(tooSoon.isEmpty, "\(tooSoon.prefix(5))")
        #expect(retried > 0, "the faults made some events retry")

        // The outage and the recovery are in the feed, in that order.
        let feed = try FeedTestClient(path: stack.feedPath)
        _ = try feed.next()  // hello
        let records = try feed.next()["records"]?.arrayValue ?? []
        let stages = records.compactMap { $0["stage"]?.stringValue }
        let outage = try #require(stages.firstIndex(of: "outage"), "no outage record")
        let recovered = try #require(stages.lastIndex(of: "recovered"), "no recovery record")
        #expect(outage < recovered)
        #expect(
            records[outage]["destination"]?.stringValue == "capi \(LeadLoad.dataset)")

        let requests = try Self.capiRequests(stack)
        let faulted = requests.filter { $0["fault"] as? String != nil }.count
        print(
            "random errors and outage: 5000 events in \(String(format: "%.1f", seconds)) s,"
                + " \(requests.count) CAPI requests of which \(faulted) failed by fault,"
                + " \(retried) events retried, at most \(maxAttempts) attempts for one event")
    }

    // MARK: Poisoned batch

    @Test func aPoisonedEventInABatchOfAThousandIsIsolatedAndResentAfterTheFix() throws {
        let stack = try RelayStack()
        defer { stack.stop() }

        // One event out of 1,000 is one Meta would reject; all 1,000 arrive in one webhook,
        // so that they are pending together and leave in one batch.
        let poisoned = LeadLoad.eventID(613, tag: "poison")
        try stack.setFaults(
            #"{"capi": {"reject_event_ids": "^\#(NSRegularExpression.escapedPattern(for: poisoned))$"}}"#
                .replacingOccurrences(of: "\\", with: "\\\\"))
        let expected = try LeadLoad.post(1000, perWebhook: 1000, tag: "poison", to: stack)
        #expect(
            try eventually(timeout: 60) {
                let counters = try stack.counters()
                return counters.capiPending == 0 && counters.capiSent + counters.capiFailed == 1000
            }, "relay stderr:\n\(stack.relay.stderr.suffix(3000))")

        let counters = try stack.counters()
        #expect(counters.capiSent == 999)
        #expect(counters.capiFailed == 1)
        let delivered = try Self.acceptedRequests(stack).flatMap { $0 }
        #expect(delivered.count == 999)
        #expect(Set(delivered) == Set(expected).subtracting([poisoned]))

        // The first request carried all 1,000 and was rejected whole; then halves, down to
        // the one event: one rejected request per level of the split.
        let rejected = try Self.capiRequests(stack).filter {
            $0["verdict"] as? String == "rejected"
        }
        #expect((rejected.first?["events"] as? [Any])?.count == 1000)
        #expect(
            rejected.count == 11, "the 1,000, then each half that holds it, down to the event alone"
        )

        // The dead letter keeps Meta's reason, code and the event.
        let journal = try stack.openJournal()
        defer { journal.close() }
        let letters = try journal.deadLetters(matching: DeadLetterFilter(), limit: 10)
        let letter = try #require(letters.first)
        #expect(letters.count == 1)
        #expect(letter.conversion.eventID == poisoned)
        #expect(letter.reason.code == "graph_100")
        #expect(letter.reason.graphCode == 100)
        #expect(letter.reason.message.contains("rejected by the sandbox's fault plan"))
        let attempts = try journal.inspect(eventID: poisoned).first?.attempts ?? []
        #expect(attempts.count == 11, "every attempt is kept: ten splits and the last")

        // Once the cause is fixed, a resend delivers it.
        try stack.setFaults("")
        let resend = try TestProcess(
            ["resend", "--dead-letters", "--reason", "100", "--config", stack.configPath])
        #expect(try resend.waitForExit() == 0, "stderr: \(resend.stderr)")
        #expect(
            resend.stdout.contains("resent 1 of 1 dead letters: delivered 1"), "\(resend.stdout)")
        let all = try Self.acceptedRequests(stack).flatMap { $0 }
        #expect(all.count == 1000)
        #expect(Set(all) == Set(expected))
        #expect(try journal.deadLetters(matching: DeadLetterFilter(), limit: 10).isEmpty)
    }

    // MARK: Bad token

    @Test func aRefusedTokenPausesDeliveryAndSIGHUPWithANewTokenResumesIt() throws {
        let stack = try RelayStack(relayAccessToken: "expired-token-0000")
        defer { stack.stop() }

        let expected = try LeadLoad.post(3, perWebhook: 1, tag: "token", to: stack)
        #expect(
            eventually { stack.relay.stderr.contains("msg=\"delivery paused") },
            "relay stderr:\n\(stack.relay.stderr)")
        let refused = try Self.capiRequests(stack)
        #expect(refused.allSatisfy { ($0["error"] as? [String: Any])?["code"] as? Int == 190 })

        // No retry storm: nothing more is sent while paused, though the tick runs every 0.1 s
        // and more events arrive.
        _ = try LeadLoad.post(5, perWebhook: 5, tag: "token-more", to: stack)
        Thread.sleep(forTimeInterval: 1.5)
        #expect(try Self.capiRequests(stack).count == refused.count)
        #expect(try stack.counters().capiPending == 8)
        #expect(try stack.counters().capiFailed == 0, "a pause dead-letters nothing")

        // The feed and so the console show the alert.
        let feed = try FeedTestClient(path: stack.feedPath)
        _ = try feed.next()
        let snapshot = try feed.next()
        let capi = snapshot["destinations"]?.arrayValue?.first { $0["kind"] == "capi" }
        #expect(capi?["paused"] == true)
        #expect(capi?["paused_reason"]?.stringValue?.contains("code=190") == true)
        let alert = snapshot["records"]?.arrayValue?.first { $0["stage"] == "paused" }
        #expect(alert?["alert"]?.stringValue?.contains("SIGHUP") == true)

        // A new token and a reload: delivery resumes, everything arrives once.
        try stack.writeAccessToken(RelayStack.accessToken)
        stack.relay.kill(SIGHUP)
        #expect(
            try eventually { try stack.counters().capiSent == 8 },
            "relay stderr:\n\(stack.relay.stderr)")
        let delivered = try Self.acceptedRequests(stack).flatMap { $0 }
        #expect(delivered.count == 8)
        #expect(Set(delivered).isSuperset(of: expected))
        #expect(stack.relay.stderr.contains("msg=\"config reloaded\""))
        #expect(stack.relay.stderr.contains("msg=\"delivery resumed\""))
        #expect(!stack.relay.stderr.contains("expired-token-0000"))
        #expect(!stack.relay.stderr.contains(RelayStack.accessToken))
    }

    // MARK: Crash

    @Test func sigkillDuringLoadLosesNoAcknowledgedEventAndRepeatsOnlyInFlightBatches() throws {
        // Answers take 300 ms, so that a kill very likely lands while a batch is on the wire:
        // the sandbox has recorded it, the relay has not.
        let stack = try RelayStack(capiConfig: #""batch_size": 40, "concurrency": 2"#)
        defer { stack.stop() }
        try stack.setFaults(#"{"capi": {"latency_ms": 300}}"#)

        let poster = LeadPoster(tag: "kill", perWebhook: 10, port: { [stack] in stack.relayPort })
        #expect(try eventually(timeout: 30) { try Self.acceptedRequests(stack).count >= 4 })
        stack.relay.kill(SIGKILL)
        _ = try stack.relay.waitForExit()
        #expect(poster.waitUntilRefused())
        let beforeRestart = try Self.acceptedRequests(stack)
        let acknowledged = Set(poster.acknowledged)

        try stack.startRelay()
        #expect(
            try eventually(timeout: 60) {
                let delivered = Set(try Self.acceptedRequests(stack).flatMap { $0 })
                let pending = try stack.counters().capiPending
                return delivered.isSuperset(of: acknowledged) && pending == 0
            }, "relay stderr:\n\(stack.relay.stderr.suffix(3000))")

        // Every acknowledged event was delivered.
        let requests = try Self.acceptedRequests(stack)
        let all = requests.flatMap { $0 }
        #expect(Set(all).isSuperset(of: acknowledged))

        // A repeat is only of a batch that was in flight at the kill: such a batch is repeated
        // whole, each of its events once more with the same event_id, and at most one batch
        // per concurrent request was in flight.
        var seen: [String: Int] = [:]
        for id in all { seen[id, default: 0] += 1 }
        let repeated = Set(seen.filter { $0.value > 1 }.keys)
        #expect(seen.values.allSatisfy { $0 <= 2 })
        let inFlight = beforeRestart.filter { batch in batch.contains { repeated.contains($0) } }
        for batch in inFlight {
            #expect(batch.allSatisfy { repeated.contains($0) }, "a batch repeated only in part")
        }
        #expect(inFlight.count <= 2, "at most `concurrency` batches were in flight")
        #expect(Set(inFlight.flatMap { $0 }) == repeated)
        print(
            "sigkill during load: \(acknowledged.count) acknowledged, \(all.count) delivered,"
                + " \(repeated.count) repeated from \(inFlight.count) batch(es) in flight")
    }

    // MARK: CRM outage

    @Test func aCRMOutageLeavesCAPIDeliveryLatencyUnchanged() throws {
        let stack = try RelayStack(
            crmConfig:
                #""timeout_seconds": 1, "backoff_base_seconds": 0.1, "backoff_max_seconds": 1, "max_attempts": 40"#
        )
        defer { stack.stop() }

        /// Posts leads one webhook at a time and returns each event's CAPI latency in ms:
        /// from the webhook's acknowledgement to the sandbox accepting it.
        func latencies(tag: String) throws -> [Double] {
            var acknowledgedAt: [String: Double] = [:]
            for index in 0..<60 {
                _ = try LeadLoad.post(1, perWebhook: 1, tag: "\(tag)-\(index)", to: stack)
                acknowledgedAt[LeadLoad.eventID(0, tag: "\(tag)-\(index)")] =
                    Date().timeIntervalSince1970
                Thread.sleep(forTimeInterval: 0.03)
            }
            #expect(
                try eventually(timeout: 30) {
                    let delivered = Set(try Self.acceptedRequests(stack).flatMap { $0 })
                    return delivered.isSuperset(of: acknowledgedAt.keys)
                })
            var result: [Double] = []
            for record in try stack.records()
            where record["kind"] as? String == "capi" && record["verdict"] as? String == "accepted"
            {
                guard let time = (record["time"] as? String).flatMap(Self.parseTime) else {
                    continue
                }
                for event in (record["events"] as? [[String: Any]]) ?? [] {
                    if let id = event["event_id"] as? String, let sent = acknowledgedAt[id] {
                        result.append((time - sent) * 1000)
                    }
                }
            }
            return result.sorted()
        }
        func describe(_ values: [Double]) -> String {
            guard !values.isEmpty else { return "none" }
            let p50 = values[values.count / 2]
            let p95 = values[min(values.count - 1, values.count * 95 / 100)]
            return String(format: "p50 %.0f ms, p95 %.0f ms, max %.0f ms", p50, p95, values.last!)
        }

        let healthy = try latencies(tag: "crm-up")
        // The CRM now holds every post for 3 s without answering (past the relay's 1 s
        // timeout): the worst outage for a client, as it ties up connections.
        try stack.setFaults(#"{"crm": {"timeout_rate": 1, "timeout_ms": 3000}}"#)
        let outage = try latencies(tag: "crm-down")
        print(
            "CAPI latency, CRM healthy: \(describe(healthy)); CRM timing out: \(describe(outage))")
        #expect(try stack.counters().crmPending > 0, "the CRM outage was real")

        let healthyMedian = healthy[healthy.count / 2]
        let outageMedian = outage[outage.count / 2]
        #expect(
            outageMedian <= healthyMedian + 150,
            "CAPI median latency went from \(healthyMedian) ms to \(outageMedian) ms")

        // And the CRM catches up once it answers again.
        try stack.setFaults("")
        #expect(try eventually(timeout: 30) { try stack.counters().crmPending == 0 })
        #expect(try stack.counters().crmSent == 120)
    }

    /// `2026-12-03T12:31:23.287Z` as Unix seconds.
    static func parseTime(_ text: String) -> Double? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)?.timeIntervalSince1970
    }

    // MARK: SIGTERM

    /// Posts leads until the relay refuses them, sending SIGTERM right after a CAPI request
    /// reached the sandbox, so that a batch is in flight; expects exit 0.
    static func sigtermWithABatchOnTheWire(
        _ stack: RelayStack, tag: String, sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> LeadPoster {
        let poster = LeadPoster(tag: tag, perWebhook: 10, port: { [stack] in stack.relayPort })
        #expect(
            try eventually(timeout: 30) { try capiRequests(stack).count >= 2 },
            sourceLocation: sourceLocation)
        let count = try capiRequests(stack).count
        #expect(
            try eventually(timeout: 10) { try capiRequests(stack).count > count },
            sourceLocation: sourceLocation)
        stack.relay.kill(SIGTERM)
        let status = try stack.relay.waitForExit()
        #expect(poster.waitUntilRefused(), sourceLocation: sourceLocation)
        #expect(status == 0, sourceLocation: sourceLocation)
        return poster
    }

    @Test func sigtermDuringLoadExitsZeroAndARestartDrainsTheRest() throws {
        // Answers take a second, so that a batch is on the wire when SIGTERM comes.
        let stack = try RelayStack(capiConfig: #""batch_size": 40"#)
        defer { stack.stop() }
        try stack.setFaults(#"{"capi": {"latency_ms": 1000}}"#)

        let poster = try Self.sigtermWithABatchOnTheWire(stack, tag: "term")
        #expect(stack.relay.stderr.contains("msg=\"relay stopped\""))
        #expect(!stack.relay.stderr.contains("not finished by the shutdown deadline"))
        #expect(poster.statuses[503, default: 0] > 0, "webhooks during the drain got 503")

        let acknowledged = Set(poster.acknowledged)
        let pendingAtStop = try stack.counters().capiPending
        try stack.setFaults("")
        try stack.startRelay()
        #expect(
            try eventually(timeout: 60) { try stack.counters().capiPending == 0 },
            "relay stderr:\n\(stack.relay.stderr.suffix(3000))")
        let delivered = try Self.acceptedRequests(stack).flatMap { $0 }
        #expect(Set(delivered) == acknowledged)
        #expect(delivered.count == acknowledged.count, "a graceful stop repeats nothing")
        print(
            "sigterm during load: \(acknowledged.count) acknowledged, \(pendingAtStop) pending"
                + " at the stop and drained after the restart,"
                + " \(poster.statuses[503, default: 0]) webhooks answered 503 while draining")
    }

    /// Both destinations busy when SIGTERM comes: CAPI batches and CRM posts waiting for slow
    /// answers, and the stop waiting for both. The answers that arrive inside the deadline
    /// must be heard, or the batches they answer are sent again after the restart. (A trial
    /// run on two cores found them timing out, and Meta getting each batch twice; the cause,
    /// answers waiting for blocked dispatch threads, is held apart by
    /// `URLSessionTransportTests.anAnswerArrivesWhileTheSharedDispatchThreadsAreAllBlocked`.)
    /// A journal that takes webhooks but not delivery records (as a disk filling up would)
    /// must not make the relay send the same events on every pass.
    @Test func whenOutcomesCannotBeJournaledNothingIsSentAgain() throws {
        let stack = try RelayStack()
        defer { stack.stop() }
        let database = try SQLiteDatabase(path: stack.journalPath)
        defer { database.close() }
        try database.execute(
            "CREATE TRIGGER full BEFORE INSERT ON attempts BEGIN SELECT RAISE(FAIL, 'disk full'); END;"
        )
        #expect(
            try stack.postWebhook(try MessengerFixture.shifted("postback-book-call.json")).status
                == 200)
        #expect(try eventually { try stack.acceptedEvents().count == 1 })
        #expect(try eventually { try stack.acceptedCRMPosts().count == 1 })
        // Twenty CAPI passes and more: every one would have sent the event again.
        Thread.sleep(forTimeInterval: 2)
        #expect(try stack.acceptedEvents().count == 1, "\(stack.relay.stderr.suffix(1500))")
        #expect(try stack.acceptedCRMPosts().count == 1)
        #expect(stack.relay.stderr.contains("nothing more is sent until it is recorded"))

        // Once the journal takes records again, the held outcomes go in and nothing is resent.
        try database.execute("DROP TRIGGER full")
        #expect(
            try eventually {
                let counters = try stack.counters()
                return counters.capiSent == 1 && counters.crmSent == 1
            }, "\(stack.relay.stderr.suffix(1500))")
        Thread.sleep(forTimeInterval: 0.5)
        #expect(try stack.acceptedEvents().count == 1)
        #expect(try stack.acceptedCRMPosts().count == 1)
    }

    @Test func aStopWithBothDestinationsWaitingHearsTheirAnswersAndRepeatsNothing() throws {
        let stack = try RelayStack(capiConfig: #""batch_size": 50, "concurrency": 2"#)
        defer { stack.stop() }
        try stack.setFaults(#"{"capi": {"latency_ms": 400}, "crm": {"latency_ms": 400}}"#)

        let poster = try Self.sigtermWithABatchOnTheWire(stack, tag: "busy")
        #expect(!stack.relay.stderr.contains("timed out"), "\(stack.relay.stderr.suffix(2000))")

        let acknowledged = Set(poster.acknowledged)
        try stack.setFaults("")
        try stack.startRelay()
        #expect(
            try eventually(timeout: 60) {
                let counters = try stack.counters()
                return counters.capiPending == 0 && counters.crmPending == 0
            }, "relay stderr:\n\(stack.relay.stderr.suffix(3000))")
        let delivered = try Self.acceptedRequests(stack).flatMap { $0 }
        #expect(Set(delivered) == acknowledged)
        #expect(delivered.count == acknowledged.count, "a graceful stop repeats nothing")
        let posted = try stack.acceptedCRMPosts().compactMap { $0["event_id"] as? String }
        #expect(posted.count == Set(posted).count, "no CRM post twice")
    }
}
