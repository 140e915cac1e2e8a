import Foundation
import RelayCore
import RelayJournal
import Testing

@testable import RelayDelivery

/// A journal in a temporary directory with `count` pending Lead conversions.
final class PendingJournal {
    let directory: URL
    let journal: SQLiteJournal

    init(
        count: Int, eventTime: Int64 = Int64(Date().timeIntervalSince1970) - 60,
        datasets: [String] = ["880"]
    ) throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("delivery-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        journal = try SQLiteJournal(path: directory.appendingPathComponent("j.sqlite").path)
        let items = (0..<count).map { index in
            let dataset = datasets[index % datasets.count]
            let signal = InboundSignal(
                pageID: "100", pageScopedUserID: "u\(index)", timestampMillis: eventTime * 1000,
                kind: .quickReply, mid: "m\(index)")
            let conversion = Conversion(
                eventID: "e\(index)", eventName: "Lead", dataset: dataset, pageID: "100",
                pageScopedUserID: "u\(index)", eventTime: eventTime, rule: "test")
            return InboundItem(signal: signal, outcome: .conversion(conversion))
        }
        _ = try journal.appendAndWait(
            InboundDelivery(
                source: "test", receivedAtMillis: Int64(Date().timeIntervalSince1970 * 1000),
                body: [], items: items))
    }

    deinit {
        journal.close()
        try? FileManager.default.removeItem(at: directory)
    }
}

/// A clock the test moves by hand; jitter pinned to the top of the range.
final class ManualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var millis = Int64(Date().timeIntervalSince1970 * 1000)

    var now: Int64 { lock.withLock { millis } }
    func advance(seconds: Double) { lock.withLock { millis += Int64(seconds * 1000) } }

    var deliveryClock: DeliveryClock {
        DeliveryClock(nowMillis: { self.now }, jitterUnit: { 1.0 })
    }
}

@Suite struct CAPIDispatcherTests {
    func destination(
        batch: Int = 1000, maxAttempts: Int = 12, testEventCode: String? = nil
    ) -> CAPIDestination {
        CAPIDestination(
            graphURL: "http://127.0.0.1:9/graph", apiVersion: "v25.0", accessToken: "tok-1",
            appSecret: "appsecret-123", testEventCode: testEventCode, partnerAgent: "capi-relay",
            maxBatchSize: batch,
            retry: RetryPolicy(baseSeconds: 1, maxSeconds: 60, maxAttempts: maxAttempts))
    }

    @Test func batchesPerDatasetAndSignsTheRequest() throws {
        let pending = try PendingJournal(count: 5, datasets: ["880", "881"])
        let transport = ScriptedTransport([ScriptedTransport.graphSuccess(3)])
        let dispatcher = CAPIDispatcher(
            journal: pending.journal, destination: destination(testEventCode: "TEST42"),
            transport: transport)
        dispatcher.deliverDue()

        #expect(transport.sent.count == 2)
        let paths = transport.sent.map(\.url.path).sorted()
        #expect(paths == ["/graph/v25.0/880/events", "/graph/v25.0/881/events"])
        let query = try #require(transport.sent.first?.url.query)
        #expect(query.contains("access_token=tok-1"))
        #expect(
            query.contains(
                "appsecret_proof=" + Crypto.hmacSHA256Hex(key: "appsecret-123", message: "tok-1")))
        #expect(transport.sent.first?.json["test_event_code"] as? String == "TEST42")
        #expect(try pending.journal.counters().capiSent == 5)
    }

    @Test func neverMoreThanTheBatchSizePerRequest() throws {
        let pending = try PendingJournal(count: 25)
        let transport = ScriptedTransport([ScriptedTransport.graphSuccess(10)])
        let dispatcher = CAPIDispatcher(
            journal: pending.journal, destination: destination(batch: 10), transport: transport)
        dispatcher.deliverDue()
        #expect(transport.sent.map { ($0.json["data"] as? [Any])?.count ?? 0 } == [10, 10, 5])
    }

    @Test func transientFailuresAreRetriedWithBackoffThenSucceed() throws {
        let pending = try PendingJournal(count: 2)
        let clock = ManualClock()
        let transport = ScriptedTransport([
            .failure(TransportFailure(timedOut: true, message: "timed out")),
            ScriptedTransport.graphError(status: 400, code: 4),
            ScriptedTransport.graphSuccess(2),
        ])
        let dispatcher = CAPIDispatcher(
            journal: pending.journal, destination: destination(), transport: transport,
            clock: clock.deliveryClock)

        dispatcher.deliverDue()
        #expect(try pending.journal.counters().capiPending == 2)
        // Not due again until the backoff (1 s after the first attempt) has passed.
        dispatcher.deliverDue()
        #expect(transport.sent.count == 1)
        clock.advance(seconds: 1.01)
        dispatcher.deliverDue()
        #expect(transport.sent.count == 2)
        clock.advance(seconds: 2.01)
        dispatcher.deliverDue()
        #expect(transport.sent.count == 3)
        #expect(try pending.journal.counters().capiSent == 2)
    }

    @Test func retryAfterIsHonoured() throws {
        let pending = try PendingJournal(count: 1)
        let clock = ManualClock()
        let transport = ScriptedTransport([
            ScriptedTransport.graphError(status: 503, code: 2, retryAfter: "30"),
            ScriptedTransport.graphSuccess(1),
        ])
        let dispatcher = CAPIDispatcher(
            journal: pending.journal, destination: destination(), transport: transport,
            clock: clock.deliveryClock)
        dispatcher.deliverDue()
        clock.advance(seconds: 29)
        dispatcher.deliverDue()
        #expect(transport.sent.count == 1)
        clock.advance(seconds: 1.01)
        dispatcher.deliverDue()
        #expect(transport.sent.count == 2)
    }

    @Test func permanentGraphErrorsFailTheEventsWithMetasMessage() throws {
        let pending = try PendingJournal(count: 3)
        let transport = ScriptedTransport([
            ScriptedTransport.graphError(status: 400, code: 100, subcode: 2_804_019)
        ])
        let dispatcher = CAPIDispatcher(
            journal: pending.journal, destination: destination(), transport: transport)
        dispatcher.deliverDue()
        dispatcher.deliverDue()
        #expect(transport.sent.count == 1, "a permanent error is never retried blindly")
        let counters = try pending.journal.counters()
        #expect(counters.capiFailed == 3)
    }

    @Test func attemptsRunOutIntoFailed() throws {
        let pending = try PendingJournal(count: 1)
        let clock = ManualClock()
        let transport = ScriptedTransport([ScriptedTransport.graphError(status: 500, code: 1)])
        let dispatcher = CAPIDispatcher(
            journal: pending.journal, destination: destination(maxAttempts: 3),
            transport: transport,
            clock: clock.deliveryClock)
        for _ in 0..<5 {
            dispatcher.deliverDue()
            clock.advance(seconds: 120)
        }
        #expect(transport.sent.count == 3)
        #expect(try pending.journal.counters().capiFailed == 1)
    }

    @Test func eventsOlderThanSevenDaysExpireWithoutBeingSent() throws {
        let old = Int64(Date().timeIntervalSince1970) - 7 * 24 * 3600 - 10
        let pending = try PendingJournal(count: 2, eventTime: old)
        let transport = ScriptedTransport([ScriptedTransport.graphSuccess(0)])
        let dispatcher = CAPIDispatcher(
            journal: pending.journal, destination: destination(), transport: transport)
        dispatcher.deliverDue()
        #expect(transport.sent.isEmpty)
        #expect(try pending.journal.counters().capiExpired == 2)
    }
}

@Suite struct RetryPolicyTests {
    @Test func backoffDoublesWithinJitterAndIsCapped() {
        let policy = RetryPolicy(baseSeconds: 1, maxSeconds: 10, maxAttempts: 12)
        #expect(policy.delay(afterAttempts: 1, retryAfter: nil, unit: 1) == 1)
        #expect(policy.delay(afterAttempts: 3, retryAfter: nil, unit: 1) == 4)
        #expect(policy.delay(afterAttempts: 3, retryAfter: nil, unit: 0) == 2)
        #expect(policy.delay(afterAttempts: 20, retryAfter: nil, unit: 1) == 10)
        #expect(policy.delay(afterAttempts: 1, retryAfter: 30, unit: 1) == 30)
    }

    @Test func graphCodesAreClassified() {
        func error(_ code: Int) -> GraphError { GraphError(code: code, message: "x") }
        for code in [1, 2, 4, 17, 341, 613, 80004] {
            #expect(
                GraphError.classify(status: 400, error: error(code)) == .transient, "code \(code)")
        }
        for code in [100, 190, 102, 10, 200] {
            #expect(
                GraphError.classify(status: 400, error: error(code)) == .permanent, "code \(code)")
        }
        #expect(GraphError.classify(status: 502, error: nil) == .transient)
        #expect(GraphError.classify(status: 404, error: nil) == .permanent)
    }

    @Test func graphErrorBodiesParse() {
        let body = Array(
            (#"{"error":{"message":"Invalid parameter","type":"OAuthException","code":100,"#
                + #""error_subcode":2804003,"fbtrace_id":"Ab"}}"#).utf8)
        let error = GraphError.parse(body)
        #expect(error?.code == 100)
        #expect(error?.subcode == 2_804_003)
        #expect(error?.summary == "graph error code=100 subcode=2804003 Invalid parameter")
    }
}
