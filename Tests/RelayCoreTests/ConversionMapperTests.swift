import Testing

@testable import RelayCore

@Suite struct ConversionMapperTests {
    static let rules = [
        MappingRule(name: "guide-lead", when: .init(quickReply: "LEAD_GUIDE_YES"), event: "Lead"),
        MappingRule(name: "book-call", when: .init(postback: "BOOK_CALL"), event: "Schedule"),
        MappingRule(
            name: "purchase", when: .init(postback: "PURCHASE"), event: "Purchase", currency: "usd"),
        MappingRule(
            name: "callback", when: .init(text: "(?i)\\bcall me\\b"), event: "CallbackRequested"),
        MappingRule(name: "optin", when: .init(optin: "*"), event: "Subscribe"),
        MappingRule(
            name: "newsletter",
            when: .init(referralRef: "newsletter_*", referralSource: "shortlink"),
            event: "NewsletterChat", customData: ["content_category": .string("newsletter")]),
    ]

    let mapper = try! ConversionMapper(rules: rules, datasets: ["100": "880", "101": "880"])

    func signal(
        _ kind: SignalKind, page: String = "100", mid: String? = "m1", text: String? = nil,
        payload: String? = nil, referral: Referral? = nil
    ) -> InboundSignal {
        InboundSignal(
            pageID: page, pageScopedUserID: "731", timestampMillis: 1_764_763_200_001, kind: kind,
            mid: mid, text: text, payload: payload, referral: referral)
    }

    @Test func quickReplyPayloadMakesALeadWithADerivedId() throws {
        let conversion = try #require(
            mapper.map(signal(.quickReply, payload: "LEAD_GUIDE_YES")).conversion)
        #expect(conversion.eventName == "Lead")
        #expect(conversion.dataset == "880")
        #expect(conversion.eventTime == 1_764_763_200)
        #expect(conversion.rule == "guide-lead")
        #expect(
            conversion.eventID
                == EventID.derive(
                    pageID: "100", pageScopedUserID: "731", eventName: "Lead", anchor: "mid:m1"))
        #expect(!conversion.eventIDSupplied)
    }

    @Test func postbackPayloadMakesASchedule() {
        #expect(
            mapper.map(signal(.postback, payload: "BOOK_CALL")).conversion?.eventName == "Schedule")
    }

    @Test func aQuickReplyPayloadDoesNotMatchAPostbackRule() {
        #expect(
            mapper.map(signal(.quickReply, payload: "BOOK_CALL"))
                == .notConversion(reason: "no rule matched the quick_reply"))
    }

    @Test func purchaseTakesValueAndIdFromPayloadParameters() throws {
        let outcome = mapper.map(
            signal(.postback, payload: "PURCHASE|value=120.50|event_id=ord-77"))
        let conversion = try #require(outcome.conversion)
        #expect(conversion.customData["value"] == .float(120.5))
        #expect(conversion.customData["currency"] == .string("USD"))
        #expect(conversion.eventID == "ord-77")
        #expect(conversion.eventIDSupplied)
    }

    @Test func purchaseWithoutAValueIsRefusedWithTheReason() {
        guard case .notConversion(let reason) = mapper.map(signal(.postback, payload: "PURCHASE"))
        else {
            Issue.record("a Purchase without a value must not become a conversion")
            return
        }
        #expect(reason.contains("without value and currency"))
    }

    @Test func textPatternMatchesMessageText() {
        #expect(
            mapper.map(signal(.message, text: "Please CALL ME tomorrow")).conversion?.eventName
                == "CallbackRequested")
        #expect(mapper.map(signal(.message, text: "recall meeting")).conversion == nil)
    }

    @Test func echoesNeverConvertEvenWhenTheirTextMatches() {
        #expect(
            mapper.map(signal(.echo, text: "call me"))
                == .notConversion(reason: "echo of the page's own message"))
    }

    @Test func referralRulesMatchRefAndSourceTogether() {
        let newsletter = Referral(ref: "newsletter_dec", source: "SHORTLINK")
        let conversion = mapper.map(signal(.referral, mid: nil, referral: newsletter)).conversion
        #expect(conversion?.eventName == "NewsletterChat")
        #expect(conversion?.customData["content_category"] == .string("newsletter"))
        let fromAd = Referral(ref: "newsletter_dec", source: "ADS")
        #expect(mapper.map(signal(.referral, mid: nil, referral: fromAd)).conversion == nil)
    }

    @Test func optinWildcardTakesEveryOptin() {
        #expect(
            mapper.map(signal(.optin, mid: nil, payload: "ANY")).conversion?.eventName
                == "Subscribe")
    }

    @Test func aPageWithoutADatasetIsNotAConversionAndSaysWhy() {
        #expect(
            mapper.map(signal(.postback, page: "999", payload: "BOOK_CALL"))
                == .notConversion(
                    reason: "rule book-call matched, but page 999 has no dataset in the config"))
    }

    @Test func firstMatchingRuleWins() throws {
        let both = [
            MappingRule(name: "first", when: .init(postback: "BOOK_*"), event: "Schedule"),
            MappingRule(name: "second", when: .init(postback: "BOOK_CALL"), event: "Contact"),
        ]
        let mapper = try ConversionMapper(rules: both, datasets: ["100": "880"])
        #expect(mapper.map(signal(.postback, payload: "BOOK_CALL")).conversion?.rule == "first")
    }

    @Test func anInvalidTextPatternIsRejectedWithTheRuleName() {
        let bad = [MappingRule(name: "broken", when: .init(text: "(unclosed"), event: "Lead")]
        #expect(throws: MappingError.self) { try ConversionMapper(rules: bad, datasets: [:]) }
    }

    @Test func globMatching() {
        #expect(globMatches("BOOK_*", "BOOK_CALL"))
        #expect(globMatches("*_CALL", "BOOK_CALL"))
        #expect(globMatches("B*K*L", "BOOK_CALL"))
        #expect(!globMatches("BOOK_*", "BOOKCALL"))
        #expect(globMatches("*", ""))
        #expect(!globMatches("BOOK", "BOOK_CALL"))
    }

    @Test func payloadParameters() {
        let payload = Payload("PURCHASE|value=12|currency=EUR|value=99|junk")
        #expect(payload.name == "PURCHASE")
        #expect(payload.parameters == ["value": "12", "currency": "EUR"])
    }
}
