import Foundation
import RelayCore
import RelayTestSupport
import Testing

@testable import RelayJournal

/// The relay end to end: real `serve` and `sandbox` processes, real HTTP, a real SQLite file.
@Suite(.serialized) struct MessengerPipelineTests {
    /// Lead from the quick-reply fixture: page 104857600000001, PSID 7310000000000001.
    static let leadEventID = "cr1.0b19a533abad2696d71263328305edaf"

    @Test func aSignedWebhookBecomesOneValidBusinessMessagingEventAndOneCRMPost() throws {
        let stack = try RelayStack()
        defer { stack.stop() }

        let body = try MessengerFixture.shifted("quick-reply-lead.json")
        let response = try stack.postWebhook(body)
        #expect(response.status == 200)

        #expect(
            try eventually {
                try stack.acceptedEvents().count == 1 && stack.acceptedCRMPosts().count == 1
            })
        let event = try #require(try stack.acceptedEvents().first)
        #expect(event["event_name"] as? String == "Lead")
        #expect(event["event_id"] as? String == Self.leadEventID)
        #expect(event["action_source"] as? String == "business_messaging")
        #expect(event["messaging_channel"] as? String == "messenger")
        let userData = try #require(event["user_data"] as? [String: Any])
        #expect(userData["page_id"] as? String == "104857600000001")
        #expect(userData["page_scoped_user_id"] as? String == "7310000000000001")
        let eventTime = try #require((event["event_time"] as? NSNumber)?.int64Value)
        #expect(
            abs(eventTime - Int64(Date().timeIntervalSince1970) + 30) < 5,
            "event_time is in seconds")

        let crm = try #require(try stack.acceptedCRMPosts().first)
        #expect(crm["event_id"] as? String == Self.leadEventID)
        #expect(crm["event_name"] as? String == "Lead")
        #expect(crm["page_scoped_user_id"] as? String == "7310000000000001")

        // Nothing the sandbox or relay printed carries a secret or message text.
        for output in [stack.relay.stderr, stack.relay.stdout, stack.sandbox.stderr] {
            #expect(!output.contains(RelayStack.accessToken))
            #expect(!output.contains(MessengerFixture.appSecret))
            #expect(!output.contains(RelayStack.crmSecret))
            #expect(!output.contains("send me the guide"))
        }
        let recordText = String(
            decoding: FileManager.default.contents(atPath: stack.recordPath) ?? Data(),
            as: UTF8.self)
        #expect(!recordText.contains(RelayStack.accessToken))
    }

    @Test func redeliveriesIncludingOneInsideABatchAreDedupeHitsAndNeverSentAgain() throws {
        let stack = try RelayStack()
        defer { stack.stop() }

        let body = try MessengerFixture.shifted("quick-reply-lead.json")
        #expect(try stack.postWebhook(body).status == 200)
        #expect(try stack.postWebhook(body).status == 200)
        #expect(try stack.postWebhook(body).status == 200)
        let batched = try MessengerFixture.batch([
            try MessengerFixture.shifted("postback-book-call.json"), body,
        ])
        #expect(try stack.postWebhook(batched).status == 200)

        #expect(
            try eventually {
                try stack.counters().capiPending == 0 && stack.acceptedEvents().count == 2
            })
        Thread.sleep(forTimeInterval: 0.5)  // time for a wrong second send to show up
        let events = try stack.acceptedEvents()
        #expect(events.filter { $0["event_id"] as? String == Self.leadEventID }.count == 1)
        #expect(
            events.map { $0["event_name"] as? String }.sorted { ($0 ?? "") < ($1 ?? "") } == [
                "Lead", "Schedule",
            ])

        let counters = try stack.counters()
        #expect(counters.dedupeHits == 3)
        #expect(counters.capiSent == 2)
        #expect(try stack.acceptedCRMPosts().count == 2)
    }

    @Test func badInputIsRefusedWithTheRightStatusAndNothingIsJournaled() throws {
        let stack = try RelayStack()
        defer { stack.stop() }
        let body = try MessengerFixture.shifted("quick-reply-lead.json")

        #expect(
            try stack.postWebhook(body, signature: "sha256=" + String(repeating: "0", count: 64))
                .status == 403)
        #expect(
            try RawHTTP.post(port: stack.relayPort, path: "/webhooks/messenger", body: body).status
                == 403)
        #expect(
            try stack.postWebhook(
                body, signature: MessengerFixture.signature(body, secret: "wrong")
            ).status == 403)
        #expect(try stack.counters().deliveries == 0)

        #expect(try stack.postWebhook(Array("{\"object\":\"page\",".utf8)).status == 400)
        #expect(
            try stack.postWebhook(Array(#"{"object":"instagram","entry":[]}"#.utf8)).status == 404)
        let oversized = [UInt8](repeating: UInt8(ascii: " "), count: (1 << 20) + 1)
        #expect(try stack.postWebhook(oversized).status == 413)
        #expect(try stack.counters().deliveries == 0)

        // The process keeps serving after all of that.
        #expect(try RawHTTP.get(port: stack.relayPort, "/healthz").status == 200)
        #expect(try stack.postWebhook(body).status == 200)
        #expect(try stack.counters().deliveries == 1)
    }

    @Test func aFailedCommitIsAnswered503SoThatMetaRedelivers() throws {
        let stack = try RelayStack()
        defer { stack.stop() }

        // Make every insert into deliveries fail, from a second connection, as a full disk or
        // a broken file would.
        let database = try SQLiteDatabase(path: stack.journalPath)
        try database.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON deliveries BEGIN SELECT RAISE(FAIL, 'refused'); END;"
        )
        let body = try MessengerFixture.shifted("quick-reply-lead.json")
        #expect(try stack.postWebhook(body).status == 503)
        #expect(try stack.counters().received == 0)

        // Once the journal works again, Meta's redelivery is accepted.
        try database.execute("DROP TRIGGER refuse")
        database.close()
        let retried = try stack.postWebhook(body)
        #expect(retried.status == 200, "\(retried.body) \(stack.relay.stderr)")
        #expect(try eventually { try stack.acceptedEvents().count == 1 })
    }

    @Test func theSubscriptionHandshakeEchoesTheChallengeOnlyForTheRightToken() throws {
        let stack = try RelayStack()
        defer { stack.stop() }
        let good = try RawHTTP.get(
            port: stack.relayPort,
            "/webhooks/messenger?hub.mode=subscribe&hub.verify_token=\(RelayStack.verifyToken)&hub.challenge=1158201444"
        )
        #expect(good.status == 200)
        // Byte for byte: Meta compares the body with the challenge it sent.
        #expect(good.body == "1158201444")
        let bad = try RawHTTP.get(
            port: stack.relayPort,
            "/webhooks/messenger?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1")
        #expect(bad.status == 403)
    }

    @Test func fixturesLeftInThePastAreExpiredAndNeverSent() throws {
        let stack = try RelayStack()
        defer { stack.stop() }

        #expect(
            try stack.postWebhook(try MessengerFixture.original("quick-reply-lead.json")).status
                == 200)
        #expect(
            try stack.postWebhook(try MessengerFixture.original("postback-book-call.json")).status
                == 200)
        #expect(try eventually { try stack.counters().capiExpired == 2 })
        #expect(try stack.acceptedEvents().isEmpty)
        #expect(
            try stack.records().filter { $0["kind"] as? String == "capi" }.isEmpty,
            "nothing was even tried")
    }

    @Test func sigtermStopsTheRelayWithExitZero() throws {
        let stack = try RelayStack()
        #expect(
            try stack.postWebhook(try MessengerFixture.shifted("postback-book-call.json")).status
                == 200)
        #expect(stack.stop() == 0)
        #expect(stack.relay.stderr.contains("msg=\"relay stopped\""))
    }

    @Test func aWebhookStillCommittingWhenTheStopBeginsIsAnswered200() throws {
        let stack = try RelayStack()
        defer { stack.stop() }

        // Another connection holds the journal's write lock, so the webhook's commit waits
        // (the relay's busy timeout is 5 s) while the relay is told to stop.
        let database = try SQLiteDatabase(path: stack.journalPath)
        defer { database.close() }
        try database.execute("BEGIN IMMEDIATE")
        let body = try MessengerFixture.shifted("postback-book-call.json")
        let answer = AnswerBox()
        let posting = Thread { answer.set(Result { try stack.postWebhook(body) }) }
        posting.start()
        // Time for the request to reach the journal writer; nothing the relay shows says so.
        Thread.sleep(forTimeInterval: 1)
        stack.relay.kill(SIGTERM)
        Thread.sleep(forTimeInterval: 0.5)
        try database.execute("COMMIT")

        #expect(try stack.relay.waitForExit() == 0)
        #expect(try eventually(timeout: 5) { answer.get() != nil })
        let response = try answer.get()?.get()
        #expect(response?.status == 200, "relay stderr:\n\(stack.relay.stderr.suffix(2000))")
        #expect(try stack.openJournal().counters().received == 1)
    }

    @Test func messageTextIsNotKeptInTheJournal() throws {
        let stack = try RelayStack()
        defer { stack.stop() }
        #expect(
            try stack.postWebhook(try MessengerFixture.shifted("text-with-email-unicode.json"))
                .status == 200)
        #expect(try stack.counters().received == 1)

        // Neither the database nor its write-ahead log holds what the person typed.
        for suffix in ["", "-wal"] {
            let bytes = FileManager.default.contents(atPath: stack.journalPath + suffix) ?? Data()
            #expect(bytes.range(of: Data("Renee.Dupont".utf8)) == nil, "journal\(suffix)")
            #expect(bytes.range(of: Data("mon email".utf8)) == nil, "journal\(suffix)")
        }
    }

    @Test func echoesReadsAndDeliveriesAreStoredButAreNotConversions() throws {
        let stack = try RelayStack()
        defer { stack.stop() }
        #expect(
            try stack.postWebhook(try MessengerFixture.shifted("echo-read-delivery.json")).status
                == 200)
        let counters = try stack.counters()
        #expect(counters.received == 3)
        #expect(counters.notConversions == 3)
        #expect(counters.conversions == 0)
    }

    @Test func afterSIGKILLEveryAcknowledgedConversionIsDeliveredExactlyOnce() throws {
        // A long tick, so that most of the 200 are still queued when the relay dies.
        let stack = try RelayStack(flushIntervalSeconds: 1.5)
        defer { stack.stop() }

        let template = String(
            decoding: try MessengerFixture.shifted("quick-reply-lead.json"), as: UTF8.self)
        var expected: Set<String> = []
        for index in 0..<200 {
            let psid = "73100000\(String(format: "%08d", index))"
            let body = Array(
                template
                    .replacingOccurrences(of: "7310000000000001", with: psid)
                    .replacingOccurrences(of: "m_AbCdEf0001-qr", with: "m_kill-\(index)").utf8)
            let response = try stack.postWebhook(body)
            try #require(response.status == 200, "webhook \(index) was not acknowledged")
            expected.insert(
                EventID.derive(
                    pageID: "104857600000001", pageScopedUserID: psid, eventName: "Lead",
                    anchor: "mid:m_kill-\(index)"))
        }

        stack.relay.kill(SIGKILL)
        _ = try stack.relay.waitForExit()
        try stack.startRelay()

        #expect(try eventually(timeout: 30) { try stack.acceptedEvents().count >= 200 })
        Thread.sleep(forTimeInterval: 1)
        let sent = try stack.acceptedEvents().compactMap { $0["event_id"] as? String }
        #expect(Set(sent) == expected)
        #expect(sent.count == 200, "no event may reach the sandbox twice")
    }
}

/// A response handed from the thread that waited for it.
private final class AnswerBox: @unchecked Sendable {
    private let lock = NSLock()
    private var result: Result<RawHTTP.Response, Error>?  // guarded by lock

    func set(_ value: Result<RawHTTP.Response, Error>) { lock.withLock { result = value } }
    func get() -> Result<RawHTTP.Response, Error>? { lock.withLock { result } }
}
