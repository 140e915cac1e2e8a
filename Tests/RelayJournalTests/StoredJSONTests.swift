import Foundation
import RelayCore
import Testing

@testable import RelayJournal

/// The journal writes conversions and referrals through its own JSON writer and reads them
/// back through `Codable`, and rows written by earlier versions came from `JSONEncoder`: the
/// two must write the same JSON, or a stored field would come back empty.
@Suite struct StoredJSONTests {
    /// Every field set, each optional present: a key the writer spelled differently from the
    /// `Codable` conformance, or forgot, shows here.
    static func everything() -> Conversion {
        var conversion = Conversion(
            eventID: "cr1.5f3a\"quoted\"", eventIDSupplied: true, eventName: "Purchase",
            dataset: "123456789", pageID: "1002", pageScopedUserID: "731",
            eventTime: 1_764_763_200, channel: "messenger",
            customData: [
                "value": .float(49.9), "currency": "EUR", "count": 3,
                "tags": ["a", "b"], "nested": ["ok": true, "none": .null],
                "text": "line\nbreak\ttab \u{1}ctl é 日本",
            ],
            rule: "buy",
            referral: Referral(
                ref: "spring", source: "ADS", type: "OPEN_THREAD", adID: "6045",
                adTitle: "Spring sale", postID: "9912"))
        conversion.userData = ["em": ["a1b2"], "ph": ["c3", "d4"]]
        conversion.optOut = true
        conversion.limitedDataUse = LimitedDataUse(options: ["LDU"], country: 1, state: 1000)
        conversion.actionSource = "website"
        conversion.eventSourceURL = "https://shop.example/checkout?x=1&y=2"
        conversion.unhashedUserData = ["client_ip_address": "203.0.113.7", "fbp": "fb.1.2.3"]
        conversion.consent = .optedOut
        conversion.consentSource = "messenger_optin"
        conversion.invalidDropped = [InvalidValue(field: "em", reason: "not_an_email")]
        conversion.source = "server_event"
        conversion.testEventCode = "TEST123"
        return conversion
    }

    /// The same conversion with every optional absent.
    static func bare() -> Conversion {
        Conversion(
            eventID: "cr1.0", eventName: "Lead", dataset: "1", pageID: "", pageScopedUserID: "",
            eventTime: 0, rule: "r")
    }

    static func parsed(_ text: String) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    @Test(arguments: [everything(), bare()])
    func conversionsAreWrittenAsCodableWritesThem(_ conversion: Conversion) throws {
        let ours = conversion.storedJSON
        let foundations = String(decoding: try JSONEncoder().encode(conversion), as: UTF8.self)
        #expect(try Self.parsed(ours) == Self.parsed(foundations))
        #expect(try JSONDecoder().decode(Conversion.self, from: Data(ours.utf8)) == conversion)
        // Byte for byte what `JSONValue` writes for the same object (keys sorted), as rows
        // written before the direct writer are.
        #expect(ours == (try Self.parsed(foundations).serializedString))
    }

    @Test func referralsAreWrittenAsCodableWritesThem() throws {
        let referral = try #require(Self.everything().referral)
        let ours = referral.storedJSONValue.serializedString
        let foundations = String(decoding: try JSONEncoder().encode(referral), as: UTF8.self)
        #expect(try Self.parsed(ours) == Self.parsed(foundations))
        #expect(try JSONDecoder().decode(Referral.self, from: Data(ours.utf8)) == referral)
    }

    @Test func droppedValuesAreWrittenAsCodableWritesThem() throws {
        let values = [
            InvalidValue(field: "em", reason: "not_an_email"),
            InvalidValue(field: "db", reason: "future_date"),
        ]
        let ours = InvalidValue.storedJSONValue(values).serializedString
        let foundations = String(decoding: try JSONEncoder().encode(values), as: UTF8.self)
        #expect(try Self.parsed(ours) == Self.parsed(foundations))
    }
}
