import RelayCore
import Testing

@testable import RelayIngest

@Suite struct MessengerWebhookTests {
    @Test func quickReplyBecomesAQuickReplySignalWithItsPayload() throws {
        let signals = try MessengerWebhook.parse(try FixtureFiles.body("quick-reply-lead.json"))
        #expect(
            signals == [
                InboundSignal(
                    pageID: "104857600000001", pageScopedUserID: "7310000000000001",
                    timestampMillis: 1_764_763_200_001, kind: .quickReply, mid: "m_AbCdEf0001-qr",
                    text: "Yes, send me the guide", payload: "LEAD_GUIDE_YES")
            ])
    }

    @Test func getStartedPostbackCarriesTheAdReferral() throws {
        let signals = try MessengerWebhook.parse(
            try FixtureFiles.body("postback-get-started-ad-referral.json"))
        let signal = try #require(signals.first)
        #expect(signal.kind == .postback)
        #expect(signal.payload == "GET_STARTED")
        #expect(
            signal.referral
                == Referral(
                    ref: "spring_promo", source: "ADS", type: "OPEN_THREAD",
                    adID: "23850000000000042",
                    adTitle: "Book a free consult", postID: "104857600000001_900000000000001"))
    }

    @Test func shortlinkReferralIsAReferralSignal() throws {
        let signals = try MessengerWebhook.parse(try FixtureFiles.body("referral-shortlink.json"))
        #expect(signals.map(\.kind) == [.referral])
        #expect(signals.first?.referral?.ref == "newsletter_dec")
        #expect(signals.first?.referral?.source == "SHORTLINK")
        #expect(signals.first?.mid == nil)
    }

    @Test func batchedEntriesYieldOneSignalEachInOrder() throws {
        let signals = try MessengerWebhook.parse(try FixtureFiles.body("batched-entries.json"))
        #expect(signals.map(\.kind) == [.message, .postback, .quickReply])
        #expect(
            signals.map(\.pageScopedUserID) == [
                "7310000000000003", "7310000000000004", "7310000000000005",
            ])
        #expect(signals.map(\.pageID) == ["104857600000001", "104857600000001", "104857600000002"])
    }

    @Test func echoReadAndDeliveryAreRecognised() throws {
        let signals = try MessengerWebhook.parse(try FixtureFiles.body("echo-read-delivery.json"))
        #expect(signals.map(\.kind) == [.echo, .read, .delivery])
        // The person of an echo is its recipient.
        #expect(signals[0].pageScopedUserID == "7310000000000001")
        #expect(signals.allSatisfy { !$0.kind.canConvert })
    }

    @Test func optinCarriesItsPayloadAndType() throws {
        let signals = try MessengerWebhook.parse(try FixtureFiles.body("optin-notification.json"))
        #expect(signals.first?.kind == .optin)
        #expect(signals.first?.payload == "CONSENT_MARKETING")
        #expect(signals.first?.optinType == "notification_messages")
    }

    @Test func unicodeEscapesAreDecodedInText() throws {
        let signals = try MessengerWebhook.parse(
            try FixtureFiles.body("text-with-email-unicode.json"))
        #expect(signals.first?.text?.contains("Renée") == true)
    }

    @Test func anotherObjectIsUnsupported() {
        #expect(throws: MessengerWebhook.ParseError.unsupportedObject("instagram")) {
            try MessengerWebhook.parse(Array(#"{"object":"instagram","entry":[]}"#.utf8))
        }
    }

    @Test func malformedBodiesSayWhatIsWrong() {
        #expect(throws: MessengerWebhook.ParseError.malformed("not JSON")) {
            try MessengerWebhook.parse(Array("{not json".utf8))
        }
        #expect(throws: MessengerWebhook.ParseError.malformed("missing object")) {
            try MessengerWebhook.parse(Array(#"{"entry":[]}"#.utf8))
        }
    }

    @Test func stringTimestampsAndChangesWrappersAreAccepted() throws {
        let body = #"""
            {"object":"page","entry":[{"id":"1","changes":[{"field":"messaging_postbacks","value":
            {"sender":{"id":"2"},"recipient":{"id":"1"},"timestamp":"1764763399950",
            "postback":{"mid":"m1","payload":"BOOK_CALL"}}}]}]}
            """#
        let signals = try MessengerWebhook.parse(Array(body.utf8))
        #expect(signals.count == 1)
        #expect(signals.first?.timestampMillis == 1_764_763_399_950)
        #expect(signals.first?.kind == .postback)
    }
}
