import Foundation
import RelayCore
import RelayTestSupport
import Testing

@testable import RelayJournal

/// Consent, contact profiles and Limited Data Use, end to end: what reaches the sandbox.
@Suite(.serialized) struct ConsentTests {
    static let grant = #""consent": { "grant": [{ "optin": "CONSENT_MARKETING" }] }"#
    static let renee = "7310000000000006"
    static let email = Crypto.sha256Hex("renee.dupont@example.com")
    static let phone = Crypto.sha256Hex("33612345678")

    /// A fixture moved to the present and made to come from Renée, with its own mid.
    func fromRenee(_ name: String, mid: String) throws -> [UInt8] {
        let text = String(decoding: try MessengerFixture.shifted(name), as: UTF8.self)
            .replacingOccurrences(of: "7310000000000001", with: Self.renee)
            .replacingOccurrences(of: "m_AbCdEf0001-qr", with: mid)
        return Array(text.utf8)
    }

    func lead(at stack: RelayStack) throws -> [String: Any]? {
        try stack.acceptedEvents().first { $0["event_name"] as? String == "Lead" }
    }

    @Test func anEmailTypedInChatWithConsentTravelsHashedOnTheLaterLead() throws {
        let stack = try RelayStack(extraConfig: Self.grant)
        defer { stack.stop() }
        #expect(
            try stack.postWebhook(try MessengerFixture.shifted("text-with-email-unicode.json"))
                .status == 200)
        #expect(
            try stack.postWebhook(try fromRenee("optin-notification.json", mid: "-")).status == 200)
        #expect(
            try stack.postWebhook(try fromRenee("quick-reply-lead.json", mid: "m_renee-1")).status
                == 200)

        #expect(try eventually { try lead(at: stack) != nil })
        let userData = try #require(try lead(at: stack)?["user_data"] as? [String: Any])
        #expect(userData["em"] as? [String] == [Self.email])
        #expect(userData["ph"] as? [String] == [Self.phone])
        #expect(userData["page_scoped_user_id"] as? String == Self.renee)
    }

    @Test func withoutConsentTheIdentifiersAreRemovedAndTheirNamesReported() throws {
        let stack = try RelayStack(extraConfig: Self.grant)
        defer { stack.stop() }
        let feed = try FeedTestClient(path: stack.feedPath)
        #expect(
            try stack.postWebhook(try MessengerFixture.shifted("text-with-email-unicode.json"))
                .status == 200)
        #expect(
            try stack.postWebhook(try fromRenee("quick-reply-lead.json", mid: "m_renee-2")).status
                == 200)

        #expect(try eventually { try lead(at: stack) != nil })
        let userData = try #require(try lead(at: stack)?["user_data"] as? [String: Any])
        #expect(userData["em"] == nil)
        #expect(userData["ph"] == nil)

        let dropped = try feed.read { $0["stage"] == "consent_dropped" }.last
        #expect(dropped?["fields"] == ["em", "ph"])
        // Nothing consent-only is in the journal's copy of the conversion either.
        let journal = try SQLiteJournal(path: stack.journalPath)
        defer { journal.close() }
        let stored = try journal.inspect(
            eventID: try #require(try lead(at: stack)?["event_id"] as? String))
        #expect(stored.first?.conversion.userData == nil)
        #expect(try journal.counters().consentDrops == 1)
    }

    @Test func aPolicyThatDropsTheEventSendsNothingAndSaysWhy() throws {
        let stack = try RelayStack(extraConfig: #""consent": { "without_consent": "drop_event" }"#)
        defer { stack.stop() }
        #expect(
            try stack.postWebhook(try MessengerFixture.shifted("quick-reply-lead.json")).status
                == 200)
        #expect(try eventually { try stack.counters().consentDrops == 1 })
        Thread.sleep(forTimeInterval: 0.5)
        #expect(try stack.acceptedEvents().isEmpty)
    }

    @Test func limitedDataUseCarriesExactlyTheDocumentedFields() throws {
        let stack = try RelayStack(extraConfig: #""ldu": { "mode": "always" }"#)
        defer { stack.stop() }
        #expect(
            try stack.postWebhook(try MessengerFixture.shifted("quick-reply-lead.json")).status
                == 200)
        #expect(try eventually { try lead(at: stack) != nil })
        let event = try #require(try lead(at: stack))
        #expect(event["data_processing_options"] as? [String] == ["LDU"])
        #expect((event["data_processing_options_country"] as? NSNumber)?.intValue == 0)
        #expect((event["data_processing_options_state"] as? NSNumber)?.intValue == 0)
    }
}
