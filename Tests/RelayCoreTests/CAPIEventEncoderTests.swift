import Testing

@testable import RelayCore

@Suite struct CAPIEventEncoderTests {
    let conversion = Conversion(
        eventID: "cr1.abc", eventName: "Purchase", dataset: "880", pageID: "100",
        pageScopedUserID: "731", eventTime: 1_764_763_200,
        customData: ["value": .float(49.5), "currency": .string("USD")], rule: "purchase",
        referral: Referral(ref: "spring_promo", source: "ADS", adID: "2385"))

    @Test func businessMessagingShapeIsExact() {
        #expect(
            CAPIEventEncoder.event(conversion).serializedString == #"""
                {"action_source":"business_messaging","custom_data":{"ad_id":"2385","currency":"USD",\#
                "referral_ref":"spring_promo","referral_source":"ADS","value":49.5},"event_id":"cr1.abc",\#
                "event_name":"Purchase","event_time":1764763200,"messaging_channel":"messenger",\#
                "user_data":{"page_id":"100","page_scoped_user_id":"731"}}
                """#)
    }

    @Test func batchCarriesRequestLevelFields() {
        let batch = CAPIEventEncoder.batch(
            [conversion], testEventCode: "TEST1", partnerAgent: "capi-relay")
        #expect(batch["test_event_code"] == .string("TEST1"))
        #expect(batch["partner_agent"] == .string("capi-relay"))
        #expect(batch["data"]?.arrayValue?.count == 1)
    }

    @Test func crmPayloadSharesTheEventId() {
        let payload = CAPIEventEncoder.crmPayload(conversion)
        #expect(payload["event_id"] == .string("cr1.abc"))
        #expect(payload["page_scoped_user_id"] == .string("731"))
        #expect(payload["referral"]?["ad_id"] == .string("2385"))
    }

    @Test func jsonStringsEscapeControlCharacters() {
        #expect(JSONValue.string("a\"b\\c\n\u{01}").serializedString == #""a\"b\\c\n\u0001""#)
    }
}
