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
            retry: RetryPolicy(baseSeconds: 1, maxSeconds: 60, maxAttempts: maxAttempts),
            concurrency: 1)
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

    @Test func aPermanentErrorIsNeverRetriedBlindly() throws {
        let pending = try PendingJournal(count: 3)
        let transport = ScriptedTransport([
            ScriptedTransport.graphError(status: 403, code: 10)
        ])
        let dispatcher = CAPIDispatcher(
            journal: pending.journal, destination: destination(), transport: transport)
        dispatcher.deliverDue()
        dispatcher.deliverDue()
        #expect(transport.sent.count == 1, "a permanent error is never retried blindly")
        #expect(try pending.journal.counters().capiFailed == 3)
        let letters = try pending.journal.deadLetters(matching: DeadLetterFilter(), limit: 10)
        #expect(letters.map(\.reason.code) == ["graph_10", "graph_10", "graph_10"])
        #expect(letters.first?.reason.message == "scripted")
    }

    @Test func aBatchRejectedForOneEventIsSplitUntilTheEventStandsAlone() throws {
        let pending = try PendingJournal(count: 8)
        let transport = PoisonTransport(poisoned: "e5")
        let dispatcher = CAPIDispatcher(
            journal: pending.journal, destination: destination(), transport: transport)
        dispatcher.deliverDue()

        // 8 → 4+4 → 2+2 → 1+1: one failed request per level, and the good halves delivered.
        #expect(transport.accepted.sorted() == ["e0", "e1", "e2", "e3", "e4", "e6", "e7"])
        #expect(transport.requests == 7)
        let letters = try pending.journal.deadLetters(matching: DeadLetterFilter(), limit: 10)
        #expect(letters.map(\.conversion.eventID) == ["e5"])
        #expect(letters.first?.reason.graphCode == 100)
        #expect(letters.first?.reason.graphSubcode == 2_804_050)
        #expect(letters.first?.reason.message == "Invalid parameter: poisoned")
        #expect(try pending.journal.counters().capiSent == 7)
    }

    @Test func aRefusedTokenPausesUntilTheDestinationIsUpdated() throws {
        let pending = try PendingJournal(count: 2)
        let transport = ScriptedTransport([
            ScriptedTransport.graphError(status: 400, code: 190, subcode: 463),
            ScriptedTransport.graphSuccess(2),
        ])
        let events = EventLog()
        let dispatcher = CAPIDispatcher(
            journal: pending.journal, destination: destination(), transport: transport,
            observer: events.append)
        dispatcher.deliverDue()
        dispatcher.deliverDue()
        dispatcher.deliverDue()
        #expect(transport.sent.count == 1, "a paused destination sends nothing")
        #expect(dispatcher.pausedBecause?.graphCode == 190)
        #expect(
            try pending.journal.due(for: .capi, nowMillis: .max, limit: 10).map(\.attempts)
                == [0, 0], "a pause costs no attempt")

        var renewed = destination()
        renewed.accessToken = "tok-2"
        dispatcher.update(renewed)
        dispatcher.deliverDue()
        #expect(transport.sent.count == 2)
        #expect(transport.sent.last?.url.query?.contains("access_token=tok-2") == true)
        #expect(try pending.journal.counters().capiSent == 2)
        #expect(events.all.contains(.resumed(destination: "capi")))
        #expect(events.all.contains { if case .paused = $0 { true } else { false } })
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

/// Rejects any batch holding the poisoned event id with Graph's 100, accepts the rest.
final class PoisonTransport: OutboundHTTP, @unchecked Sendable {
    private let lock = NSLock()
    private let poisoned: String
    /// Guarded by `lock`.
    private var acceptedIDs: [String] = []
    /// Guarded by `lock`.
    private var requestCount = 0

    init(poisoned: String) { self.poisoned = poisoned }

    var accepted: [String] { lock.withLock { acceptedIDs } }
    var requests: Int { lock.withLock { requestCount } }

    func post(
        url: URL, headers: [String: String], body: [UInt8], timeoutSeconds: Double
    ) -> Result<OutboundResponse, TransportFailure> {
        let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
        let ids = ((object?["data"] as? [[String: Any]]) ?? []).compactMap {
            $0["event_id"] as? String
        }
        return lock.withLock {
            requestCount += 1
            if ids.contains(poisoned) {
                return .success(
                    OutboundResponse(
                        status: 400,
                        body: Array(
                            (#"{"error":{"message":"Invalid parameter: poisoned","#
                                + #""type":"OAuthException","code":100,"error_subcode":2804050}}"#)
                                .utf8)))
            }
            acceptedIDs += ids
            return ScriptedTransport.graphSuccess(ids.count)
        }
    }
}

/// Delivery events as a dispatcher reported them.
final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    /// Guarded by `lock`.
    private var events: [DeliveryEvent] = []

    var all: [DeliveryEvent] { lock.withLock { events } }

    var append: DeliveryObserver {
        { [self] event in lock.withLock { events.append(event) } }
    }
}
