import Foundation
import RelayCore
import RelayTestSupport
import Testing

@testable import RelayJournal

/// `POST /webhooks/crm` end to end: echoes are dedupe hits that enrich the contact profile,
/// lifecycle changes are new conversions that deduplicate on the record and stage.
@Suite(.serialized) struct CRMEchoTests {
    static let leadEventID = MessengerPipelineTests.leadEventID
    static let email = Crypto.sha256Hex("renee.dupont@example.com")
    static let recordID = Crypto.sha256Hex("crm-1001")

    static func records(_ response: RawHTTP.Response) throws -> [[String: Any]] {
        let object = try JSONSerialization.jsonObject(with: Data(response.body.utf8))
        return try #require((object as? [String: Any])?["records"] as? [[String: Any]])
    }

    @Test func anEchoOfASentLeadIsADedupeHitThatAddsIdentifiersAndSendsNothing() throws {
        let stack = try RelayStack()
        defer { stack.stop() }
        try stack.deliverTheFixtureLead()
        #expect(try eventually { try stack.acceptedCRMPosts().count == 1 })

        let echo: [String: Any] = [
            "record_id": "crm-1001", "event_id": Self.leadEventID, "event_name": "Lead",
            "email": " Renee.Dupont@Example.com", "consent": "granted",
        ]
        let response = try stack.postCRM(echo)
        #expect(response.status == 200, "\(response.body)")
        let record = try #require(try Self.records(response).first)
        #expect(record["status"] as? String == "duplicate")
        #expect(record["rule"] as? String == "event_id")
        #expect(record["event_id"] as? String == Self.leadEventID)

        // The person's profile now holds the hashes (never the address), with the consent.
        let database = try SQLiteDatabase(path: stack.journalPath)
        defer { database.close() }
        let profile = try database.statement("SELECT profile FROM profiles")
        #expect(try profile.step())
        let stored = try JSONDecoder().decode(
            ContactProfile.self, from: Data((profile.text(0) ?? "").utf8))
        #expect(stored.identifiers["em"] == [Self.email])
        #expect(stored.identifiers["external_id"] == [Self.recordID])
        #expect(stored.consent == .granted)
        #expect(stored.consentSource == "crm_echo")
        profile.reset()
        let hit = try database.statement("SELECT rule, source FROM dedupe_hits")
        #expect(try hit.step())
        #expect(hit.text(0) == "event_id")
        #expect(hit.text(1) == "crm_echo")
        hit.reset()

        Thread.sleep(forTimeInterval: 0.5)  // time for a wrong second send to show up
        #expect(try stack.acceptedEvents().count == 1)
        #expect(try stack.acceptedCRMPosts().count == 1)
        let bytes = FileManager.default.contents(atPath: stack.journalPath + "-wal") ?? Data()
        #expect(bytes.range(of: Data("Renee.Dupont".utf8)) == nil)

        // A bad signature is refused before anything is read.
        #expect(try stack.postCRM(echo, secret: "wrong").status == 403)
    }

    @Test func aStageChangeIsANewConversionAndItsRepeatedEchoesAreDuplicates() throws {
        let stack = try RelayStack()
        defer { stack.stop() }
        try stack.deliverTheFixtureLead()

        let qualified: [String: Any] = [
            "record_id": "crm-1001", "event_id": Self.leadEventID, "stage": "Qualified",
            "email": "renee.dupont@example.com", "consent": "granted",
        ]
        let first = try #require(try Self.records(try stack.postCRM(qualified)).first)
        #expect(first["status"] as? String == "new")
        let qualifiedID = EventID.forCRMStage(recordID: "crm-1001", stage: "qualified")
        #expect(first["event_id"] as? String == qualifiedID)
        let again = try #require(try Self.records(try stack.postCRM([qualified, qualified])).first)
        #expect(again["status"] as? String == "duplicate")
        #expect(again["event_id"] as? String == qualifiedID)

        // Won without a value cannot be a Purchase; with one it is.
        let noValue = try #require(
            try Self.records(
                try stack.postCRM(["record_id": "crm-1001", "stage": "won"])
            ).first)
        #expect(noValue["status"] as? String == "rejected")
        let won = try #require(
            try Self.records(
                try stack.postCRM([
                    "record_id": "crm-1001", "event_id": Self.leadEventID, "stage": "won",
                    "value": 480,
                ])
            ).first)
        #expect(won["status"] as? String == "new")

        #expect(try eventually { try stack.acceptedEvents().count == 3 })
        Thread.sleep(forTimeInterval: 0.5)
        let events = try stack.acceptedEvents()
        #expect(
            events.map { $0["event_name"] as? String }.sorted { ($0 ?? "") < ($1 ?? "") } == [
                "Lead", "Purchase", "QualifiedLead",
            ])
        let lead = try #require(events.first { $0["event_name"] as? String == "QualifiedLead" })
        #expect(lead["event_id"] as? String == qualifiedID)
        #expect(lead["action_source"] as? String == "business_messaging")
        let userData = try #require(lead["user_data"] as? [String: Any])
        #expect(userData["page_scoped_user_id"] as? String == "7310000000000001")
        #expect(userData["em"] as? [String] == [Self.email])
        #expect(userData["external_id"] as? [String] == [Self.recordID])
        let purchase = try #require(events.first { $0["event_name"] as? String == "Purchase" })
        #expect((purchase["custom_data"] as? [String: Any])?["currency"] as? String == "USD")
        // The CRM is not told of the conversions it reported itself.
        #expect(try stack.acceptedCRMPosts().count == 1)
    }

    @Test func theFeedShowsAStageChangeAndAnEchoUnderThePersonTheyFollow() throws {
        // Neither names the Messenger person: the journal takes it from the lead. The console
        // finds a person's events by these fields, so they must not be empty.
        let stack = try RelayStack()
        defer { stack.stop() }
        try stack.deliverTheFixtureLead()
        var client = try FeedTestClient(path: stack.feedPath)
        _ = try client.next()  // hello
        _ = try client.next()  // snapshot

        let qualified: [String: Any] = [
            "record_id": "crm-1001", "event_id": Self.leadEventID, "stage": "Qualified",
        ]
        #expect(try stack.postCRM(qualified).status == 200)
        let qualifiedID = EventID.forCRMStage(recordID: "crm-1001", stage: "qualified")
        let mapped = try #require(
            try client.read { $0["stage"] == "mapped" && $0["event_id"] == .string(qualifiedID) }
                .last)
        #expect(mapped["psid"] == "7310000000000001")
        #expect(mapped["page_id"]?.stringValue?.isEmpty == false)
        #expect(mapped["dataset"] == "880000000000001")

        #expect(
            try stack.postCRM(["record_id": "crm-1001", "event_id": Self.leadEventID]).status == 200
        )
        let hit = try #require(try client.read { $0["stage"] == "dedupe_hit" }.last)
        #expect(hit["psid"] == "7310000000000001")
        #expect(hit["page_id"] == mapped["page_id"])
        #expect(hit["source"] == "crm_echo")
    }
}
