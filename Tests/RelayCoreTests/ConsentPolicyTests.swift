import Testing

@testable import RelayCore

@Suite struct ConsentPolicyTests {
    let email = Crypto.sha256Hex("renee.dupont@example.com")
    let phone = Crypto.sha256Hex("33612345678")

    func signal(_ kind: SignalKind, payload: String) -> InboundSignal {
        InboundSignal(
            pageID: "1", pageScopedUserID: "2", timestampMillis: 0, kind: kind, payload: payload)
    }

    func policy(_ without: ConsentPolicy.WithoutConsent = .dropFields) throws -> ConsentPolicy {
        ConsentPolicy(
            grant: [try SignalMatcher(.init(optin: "CONSENT_MARKETING"))],
            revoke: [try SignalMatcher(.init(quickReply: "CONSENT_NO"))],
            requiredFor: ["em", "ph"], withoutConsent: without)
    }

    @Test func signalsGrantAndRevokeByRule() throws {
        let policy = try policy()
        #expect(
            policy.consent(expressedBy: signal(.optin, payload: "CONSENT_MARKETING")) == .granted)
        #expect(
            policy.consent(expressedBy: signal(.quickReply, payload: "CONSENT_NO")) == .optedOut)
        #expect(policy.consent(expressedBy: signal(.postback, payload: "BOOK_CALL")) == nil)
    }

    @Test func withConsentEveryIdentifierTravels() throws {
        let profile = ContactProfile(
            consent: .granted, identifiers: ["em": [email], "ph": [phone]])
        let decision = try policy().decide(for: profile)
        #expect(decision.userData == ["em": [email], "ph": [phone]])
        #expect(decision.droppedFields.isEmpty)
        #expect(!decision.optOut)
    }

    @Test func withoutConsentTheFieldsGoAndTheirNamesAreReported() throws {
        let profile = ContactProfile(identifiers: ["em": [email], "ph": [phone]])
        let decision = try policy().decide(for: profile)
        #expect(decision.userData.isEmpty)
        #expect(decision.droppedFields == ["em", "ph"])
        #expect(!decision.dropEvent)
    }

    @Test func anOptOutAlsoMarksTheEvent() throws {
        let decision = try policy().decide(for: ContactProfile(consent: .optedOut))
        #expect(decision.optOut)
    }

    @Test func thePolicyCanDropTheWholeEvent() throws {
        #expect(try policy(.dropEvent).decide(for: ContactProfile()).dropEvent)
    }

    @Test func profilesKeepTheNewestValuesPerKey() {
        var profile = ContactProfile()
        for index in 0..<7 {
            profile = profile.applying(ProfileUpdate(identifiers: ["em": ["h\(index)"]]))
        }
        #expect(profile.identifiers["em"] == ["h2", "h3", "h4", "h5", "h6"])
        profile = profile.applying(ProfileUpdate(consent: .granted))
        #expect(profile.consent == .granted)
    }
}

@Suite struct IdentifierCaptureTests {
    let capture = IdentifierCapture(normalizer: Normalizer())

    @Test func anEmailAndAPhoneTypedInChatAreHashedNeverKept() {
        let found = capture.capture(
            from:
                "C'est Renée — mon email est  Renee.Dupont@Example.COM  et mon tél +33 6 12 34 56 78"
        )
        #expect(found["em"] == [Crypto.sha256Hex("renee.dupont@example.com")])
        #expect(found["ph"] == [Crypto.sha256Hex("33612345678")])
    }

    @Test func ordinaryTextFindsNothing() {
        #expect(capture.capture(from: "hi, is the consult really free?").isEmpty)
    }
}

@Suite struct LimitedDataUseTests {
    @Test func theFlagsAreExactlyAsMetaDocuments() {
        #expect(LimitedDataUsePolicy.never.flags(country: nil, state: nil) == nil)
        #expect(
            LimitedDataUsePolicy.always(.geolocated).flags(country: nil, state: nil)
                == LimitedDataUse(options: ["LDU"], country: 0, state: 0))
        let byRegion = LimitedDataUsePolicy.byRegion([.init(country: "US", state: "CA")])
        #expect(byRegion.flags(country: "us", state: "ca") == .california)
        #expect(byRegion.flags(country: "fr", state: nil) == .off)
        #expect(byRegion.flags(country: nil, state: nil) == .geolocated)
    }

    @Test func theEventCarriesTheFlagsAndOptOut() {
        var conversion = Conversion(
            eventID: "e", eventName: "Lead", dataset: "1", pageID: "2", pageScopedUserID: "3",
            eventTime: 1, rule: "r")
        conversion.limitedDataUse = .california
        conversion.optOut = true
        conversion.userData = ["em": [Crypto.sha256Hex("a@b.co")]]
        let event = CAPIEventEncoder.event(conversion)
        #expect(event["data_processing_options"] == ["LDU"])
        #expect(event["data_processing_options_country"] == 1)
        #expect(event["data_processing_options_state"] == 1000)
        #expect(event["opt_out"] == true)
        #expect(event["user_data"]?["em"] == [.string(Crypto.sha256Hex("a@b.co"))])
        #expect(event["user_data"]?["page_id"] == "2")
    }
}
