import Foundation
import RelayCore
import Testing

@testable import RelaySandbox

@Suite("CAPI request validation")
struct CAPIRequestValidatorTests {
    let validator = CAPIRequestValidator()

    /// The validator's answer for `events`, expected to be a rejection.
    func rejection(
        _ events: [JSONValue], validator: CAPIRequestValidator? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> GraphError {
        let result = (validator ?? self.validator).validate(CAPIFixtures.request(events))
        return try #require(
            result.error, "expected a rejection, got \(result)", sourceLocation: sourceLocation)
    }

    func rejection(
        changing path: String, to value: JSONValue?, in event: JSONValue? = nil
    ) throws -> GraphError {
        try rejection([
            CAPIFixtures.changing(event ?? CAPIFixtures.messengerPurchase(), path, to: value)
        ])
    }

    // MARK: - Accepted requests

    @Test func messengerBatchIsAcceptedWithEventsReceived() throws {
        let events = (0..<3).map { CAPIFixtures.messengerPurchase(eventID: "mid.\($0)") }
        let result = validator.validate(
            CAPIFixtures.request(
                events, extra: ["partner_agent": "capi-relay/0.1", "test_event_code": "TEST123"])
        )

        let batch = try #require(
            result.isAccepted ? result.batch : nil, "rejected: \(String(describing: result.error))")
        #expect(batch.eventsReceived == 3)
        #expect(batch.events == events)
        #expect(batch.partnerAgent == "capi-relay/0.1")
        #expect(batch.testEventCode == "TEST123")
    }

    @Test func referenceWebsiteExampleIsAccepted() {
        let result = validator.validate(CAPIFixtures.request([CAPIFixtures.websitePurchase()]))
        #expect(result.isAccepted, "\(String(describing: result.error))")
    }

    @Test func formEncodedBodyWithTokenFieldIsAccepted() throws {
        let data = JSONValue.array([CAPIFixtures.messengerPurchase()]).serializedString
        let form =
            "access_token=\(CAPIFixtures.token)&test_event_code=TEST123&data="
            + percentEncoded(data)
        let request = CAPIRequest(
            dataset: CAPIFixtures.dataset, contentType: "application/x-www-form-urlencoded",
            body: Array(form.utf8), now: CAPIFixtures.now
        )

        let result = validator.validate(request)
        #expect(result.isAccepted, "\(String(describing: result.error))")
        #expect(result.batch?.eventsReceived == 1)
        #expect(result.batch?.testEventCode == "TEST123")
    }

    @Test func multipartBodyAsSentByCurlDashFIsAccepted() {
        let data = JSONValue.array([CAPIFixtures.messengerPurchase()]).serializedString
        let boundary = "------------------------d74496d66958873e"
        let body =
            "--\(boundary)\r\nContent-Disposition: form-data; name=\"data\"\r\n\r\n\(data)\r\n"
            + "--\(boundary)\r\nContent-Disposition: form-data; name=\"access_token\"\r\n\r\n"
            + "\(CAPIFixtures.token)\r\n--\(boundary)--\r\n"
        let request = CAPIRequest(
            dataset: CAPIFixtures.dataset, contentType: "multipart/form-data; boundary=\(boundary)",
            body: Array(body.utf8), now: CAPIFixtures.now
        )

        let result = validator.validate(request)
        #expect(result.isAccepted, "\(String(describing: result.error))")
    }

    @Test func tokenInJSONBodyIsAccepted() {
        let request = CAPIRequest(
            dataset: CAPIFixtures.dataset,
            body: CAPIFixtures.body(
                [CAPIFixtures.messengerPurchase()], extra: ["access_token": "abc"]),
            now: CAPIFixtures.now
        )
        #expect(validator.validate(request).isAccepted)
    }

    @Test func eventsSentAsJSONStringsLikeThePythonSDKAreDecoded() throws {
        let event = CAPIFixtures.messengerPurchase()
        let result = validator.validate(CAPIFixtures.request([.string(event.serializedString)]))
        #expect(result.isAccepted, "\(String(describing: result.error))")
        #expect(result.batch?.events == [event])
    }

    @Test func thousandEventsAreAccepted() {
        let events = Array(repeating: CAPIFixtures.messengerPurchase(), count: 1_000)
        #expect(validator.validate(CAPIFixtures.request(events)).batch?.eventsReceived == 1_000)
        #expect(validator.validate(CAPIFixtures.request(events)).isAccepted)
    }

    // MARK: - Authentication

    @Test func missingAccessTokenIsCode104() throws {
        let result = validator.validate(
            CAPIFixtures.request([CAPIFixtures.messengerPurchase()], query: [:]))
        let error = try #require(result.error)
        #expect(error.httpStatus == 400)
        #expect(error.code == 104)
        #expect(error.type == "OAuthException")
        #expect(error.message == "An access token is required to request this resource.")
    }

    @Test func wrongTokenIsCode190AndDoesNotEchoTheToken() throws {
        let strict = CAPIRequestValidator(expectedAccessToken: "the-right-token")
        let result = strict.validate(
            CAPIFixtures.request(
                [CAPIFixtures.messengerPurchase()], query: ["access_token": "a-wrong-token"])
        )
        let error = try #require(result.error)
        #expect(error.httpStatus == 400)
        #expect(error.code == 190)
        #expect(error.subcode == 467)
        #expect(!error.object.serializedString.contains("a-wrong-token"))
        #expect(!error.object.serializedString.contains("the-right-token"))
    }

    @Test func tokenInTheQueryIsCheckedBeforeTheBody() throws {
        let strict = CAPIRequestValidator(expectedAccessToken: "right")
        let request = CAPIRequest(
            dataset: CAPIFixtures.dataset, query: ["access_token": "wrong"],
            body: Array("{nope".utf8), now: CAPIFixtures.now
        )
        #expect(strict.validate(request).error?.code == 190)
    }

    @Test func unreadableBodyWithoutAQueryTokenReportsTheBodyNotTheToken() throws {
        // The token may be inside the broken body; "token required" would send the user
        // looking in the wrong place.
        let request = CAPIRequest(
            dataset: CAPIFixtures.dataset, body: Array(#"{"access_token":"t","data":["#.utf8),
            now: CAPIFixtures.now
        )
        let error = try #require(validator.validate(request).error)
        #expect(error.code == 100)
        #expect(error.message.contains("not valid JSON"))
    }

    @Test func appsecretProofIsRequiredAndCheckedWhenAnAppSecretIsSet() throws {
        // The reference's computed vector: secret appsecret-123, token access-token-234.
        let proofValidator = CAPIRequestValidator(appSecret: "appsecret-123")
        let proof = "cdfcbc87edc90f8123cd3797a0d6f6f7eedf63d97038a15d1693d297f653d7f2"
        let events = [CAPIFixtures.messengerPurchase()]

        let good = proofValidator.validate(
            CAPIFixtures.request(
                events, query: ["access_token": "access-token-234", "appsecret_proof": proof])
        )
        #expect(good.isAccepted)

        let missing = proofValidator.validate(
            CAPIFixtures.request(events, query: ["access_token": "access-token-234"]))
        #expect(missing.error?.code == 100)
        #expect(
            missing.error?.message
                == "API calls from the server require an appsecret_proof argument")

        let wrong = proofValidator.validate(
            CAPIFixtures.request(
                events, query: ["access_token": "other-token", "appsecret_proof": proof])
        )
        #expect(wrong.error?.code == 100)
        #expect(wrong.error?.httpStatus == 400)
        #expect(wrong.error?.message == "Invalid appsecret_proof provided in the API argument")

        let uppercase = proofValidator.validate(
            CAPIFixtures.request(
                events,
                query: ["access_token": "access-token-234", "appsecret_proof": proof.uppercased()])
        )
        #expect(uppercase.error?.message == "Invalid appsecret_proof provided in the API argument")
    }

    // MARK: - Envelope

    @Test func thousandAndOneEventsAreRejected() throws {
        let events = Array(repeating: CAPIFixtures.messengerPurchase(), count: 1_001)
        let error = try rejection(events)
        #expect(error.code == 100)
        #expect(error.message.contains("1001 events"))
        #expect(error.message.contains("1000"))
    }

    @Test func emptyOrMissingDataIsRejected() throws {
        #expect(try rejection([]).message.contains("empty array"))

        let noData = CAPIRequest(
            dataset: CAPIFixtures.dataset, query: ["access_token": "t"], body: Array("{}".utf8),
            now: CAPIFixtures.now
        )
        #expect(validator.validate(noData).error?.message.contains("missing data") == true)
    }

    @Test func malformedJSONBodyIsCode100QuotingTheProblem() throws {
        let request = CAPIRequest(
            dataset: CAPIFixtures.dataset, query: ["access_token": "t"],
            body: Array("{\"data\": [".utf8),
            now: CAPIFixtures.now
        )
        let error = try #require(validator.validate(request).error)
        #expect(error.code == 100)
        #expect(error.message.contains("not valid JSON"))
    }

    @Test func unsupportedContentTypeIsRejectedNamingIt() throws {
        let request = CAPIRequest(
            dataset: CAPIFixtures.dataset, query: ["access_token": "t"], contentType: "text/plain",
            body: CAPIFixtures.body([CAPIFixtures.messengerPurchase()]), now: CAPIFixtures.now
        )
        #expect(validator.validate(request).error?.message.contains("\"text/plain\"") == true)
    }

    @Test func nonNumericDatasetIsObjectDoesNotExist() throws {
        var request = CAPIFixtures.request([CAPIFixtures.messengerPurchase()])
        request.dataset = "my-pixel"
        let error = try #require(validator.validate(request).error)
        #expect(error.code == 100)
        #expect(error.subcode == 33)
        #expect(error.message.contains("\"my-pixel\""))
    }

    @Test func oneBadEventAmongTenRejectsTheWholeBatch() throws {
        var events = (0..<10).map { CAPIFixtures.messengerPurchase(eventID: "mid.\($0)") }
        events[6] = CAPIFixtures.changing(events[6], "action_source", to: nil)

        let result = validator.validate(CAPIFixtures.request(events))
        let error = try #require(result.error)
        #expect(error.message.contains("action_source of event 6"))
        // The rejection still carries all ten events so that the record shows what was sent.
        #expect(result.batch?.events.count == 10)
    }

    // MARK: - Event fields

    @Test func eventNameMustBeANonEmptyString() throws {
        #expect(
            try rejection(changing: "event_name", to: nil).message.contains("event_name of event 0")
        )
        #expect(try rejection(changing: "event_name", to: "  ").message.contains("event_name"))
        #expect(try rejection(changing: "event_name", to: 7).message.contains("the integer 7"))
    }

    @Test func eventTimeMustBeIntegerSeconds() throws {
        let fraction = try rejection(
            changing: "event_time", to: .float(Double(CAPIFixtures.now) + 0.5))
        #expect(fraction.message.contains("wrong type in event_time of event 0"))
        #expect(fraction.message.contains("expected integer Unix seconds, got the number"))

        // Written with a fraction or exponent, a whole number is still a float to Meta's parser.
        for spelling in ["1760000000.0", "1.76e9"] {
            let text = JSONValue.array([CAPIFixtures.messengerPurchase()]).serializedString
                .replacingOccurrences(
                    of: "\"event_time\":1759999970", with: "\"event_time\":\(spelling)")
            let request = CAPIRequest(
                dataset: CAPIFixtures.dataset, query: ["access_token": "t"],
                body: Array("{\"data\":\(text)}".utf8), now: CAPIFixtures.now
            )
            #expect(
                validator.validate(request).error?.message.contains("wrong type in event_time")
                    == true, "\(spelling)")
        }

        let text = try rejection(changing: "event_time", to: .string(String(CAPIFixtures.now)))
        #expect(text.message.contains("the string \"1760000000\""))

        #expect(
            try rejection(changing: "event_time", to: true).message.contains("the boolean true"))
        #expect(
            try rejection(changing: "event_time", to: nil).message.contains(
                "missing value in event_time"))
    }

    @Test func eventOlderThanSevenDaysIsSubcode2804003() throws {
        let error = try rejection(
            changing: "event_time", to: .integer(CAPIFixtures.now - 7 * 86_400 - 1))
        #expect(error.code == 100)
        #expect(error.subcode == 2_804_003)
        #expect(error.userTitle == "Event Timestamp Too Old")
        #expect(error.message.contains("event_time of event 0"))

        let edge = CAPIFixtures.changing(
            CAPIFixtures.messengerPurchase(), "event_time",
            to: .integer(CAPIFixtures.now - 7 * 86_400))
        #expect(validator.validate(CAPIFixtures.request([edge])).isAccepted)
    }

    @Test func physicalStoreEventsMayBeSixtyTwoDaysOld() throws {
        var event = CAPIFixtures.changing(
            CAPIFixtures.websitePurchase(), "action_source", to: "physical_store")
        event = CAPIFixtures.changing(
            event, "event_time", to: .integer(CAPIFixtures.now - 30 * 86_400))
        #expect(validator.validate(CAPIFixtures.request([event])).isAccepted)

        event = CAPIFixtures.changing(
            event, "event_time", to: .integer(CAPIFixtures.now - 63 * 86_400))
        #expect(try rejection([event]).subcode == 2_804_003)
    }

    @Test func futureEventBeyondClockSkewIsRejected() throws {
        let error = try rejection(changing: "event_time", to: .integer(CAPIFixtures.now + 61))
        #expect(error.code == 100)
        #expect(error.subcode == nil)
        #expect(error.userTitle == "Event Timestamp In The Future")

        let skewed = CAPIFixtures.changing(
            CAPIFixtures.messengerPurchase(), "event_time", to: .integer(CAPIFixtures.now + 60))
        #expect(validator.validate(CAPIFixtures.request([skewed])).isAccepted)
    }

    @Test func millisecondEventTimeSaysSo() throws {
        let error = try rejection(changing: "event_time", to: .integer(CAPIFixtures.now * 1_000))
        #expect(error.message.contains("looks like milliseconds"))
    }

    @Test func actionSourceMustBeOneOfTheNineValues() throws {
        #expect(CAPIRequestValidator.actionSources.count == 9)
        let error = try rejection(changing: "action_source", to: "Website")
        #expect(error.message.contains("action_source of event 0"))
        #expect(error.message.contains("\"Website\""))
        #expect(try rejection(changing: "action_source", to: nil).message.contains("missing value"))
    }

    @Test func businessMessagingWithoutChannelIsMissingMessagingChannelParameter() throws {
        let error = try rejection(changing: "messaging_channel", to: nil)
        #expect(error.httpStatus == 400)
        #expect(error.code == 100)
        #expect(error.userTitle == "Missing Messaging Channel Parameter")
        #expect(error.message.contains("Missing Messaging Channel Parameter"))
        #expect(error.message.contains("messenger, whatsapp, instagram"))

        #expect(
            try rejection(changing: "messaging_channel", to: "telegram").message.contains(
                "\"telegram\""))
    }

    @Test func messengerEventsNeedPageIDAndPSID() throws {
        #expect(
            try rejection(changing: "user_data.page_id", to: nil).message.contains(
                "user_data.page_id of event 0"))
        let psid = try rejection(changing: "user_data.page_scoped_user_id", to: nil)
        #expect(psid.message.contains("user_data.page_scoped_user_id of event 0"))
    }

    @Test func hashedPageIDIsRejectedBecauseItIsNeverHashed() throws {
        let hashed = Crypto.sha256Hex("106540352242922")
        let error = try rejection(changing: "user_data.page_id", to: .string(hashed))
        #expect(error.message.contains("user_data.page_id of event 0"))
        #expect(error.message.contains("never hashed"))
        #expect(!error.message.contains(hashed))

        let psid = try rejection(
            changing: "user_data.page_scoped_user_id", to: .string(Crypto.sha256Hex("1")))
        #expect(psid.message.contains("never hashed"))
        #expect(
            try rejection(changing: "user_data.page_id", to: 106_540_352_242_922).message.contains(
                "wrong type"))
    }

    @Test func websiteEventsNeedSourceURLAndUserAgent() throws {
        let website = CAPIFixtures.websitePurchase()
        #expect(
            try rejection(changing: "event_source_url", to: nil, in: website).message.contains(
                "event_source_url of event 0"))
        #expect(
            try rejection(changing: "event_source_url", to: "jaspers-market.com", in: website)
                .message.contains("http"))
        let agent = try rejection(changing: "user_data.client_user_agent", to: nil, in: website)
        #expect(agent.message.contains("user_data.client_user_agent of event 0"))
    }

    @Test func userDataMustBeAnObjectWithAKnownKey() throws {
        #expect(
            try rejection(changing: "user_data", to: nil).message.contains(
                "missing value in user_data"))
        #expect(
            try rejection(changing: "user_data", to: "x").message.contains(
                "wrong type in user_data"))

        let chat = CAPIFixtures.changing(
            CAPIFixtures.messengerPurchase(), "action_source", to: "chat")
        let unknown = try rejection(changing: "user_data", to: ["email": "x"], in: chat)
        #expect(unknown.message.contains("no customer information in user_data of event 0"))
        #expect(unknown.message.contains("\"email\""))
        #expect(
            try rejection(changing: "user_data", to: [:], in: chat).message.contains("empty object")
        )
    }

    @Test func unhashedEmailIsRejectedWithoutQuotingIt() throws {
        var events = (0..<5).map { _ in CAPIFixtures.websitePurchase() }
        events[3] = CAPIFixtures.changing(events[3], "user_data.em", to: "John_Smith@gmail.com")

        let error = try rejection(events)
        #expect(error.message.contains("unhashed or malformed value in user_data.em of event 3"))
        #expect(error.message.contains("email address"))
        #expect(!error.object.serializedString.contains("John_Smith"))
    }

    @Test func uppercaseHexEmailIsRejected() throws {
        let error = try rejection(
            changing: "user_data.em", to: .string(CAPIFixtures.hashedEmail.uppercased()),
            in: CAPIFixtures.websitePurchase())
        #expect(error.message.contains("user_data.em of event 0"))
        #expect(error.message.contains("lowercase"))
    }

    @Test func everyHashedKeyIsCheckedInListsToo() throws {
        for key in CAPIRequestValidator.hashedUserDataKeys {
            let error = try rejection(
                changing: "user_data.\(key)", to: [.string(CAPIFixtures.hashedEmail), "plain"],
                in: CAPIFixtures.websitePurchase()
            )
            #expect(
                error.message.contains("user_data.\(key)[1] of event 0"), "\(key): \(error.message)"
            )
        }
        #expect(
            try rejection(
                changing: "user_data.ph", to: 16_505_551_212, in: CAPIFixtures.websitePurchase()
            ).message.contains("wrong type"))
    }

    @Test func externalIDMayBeUnhashedStringOrArray() {
        let plain = CAPIFixtures.changing(
            CAPIFixtures.websitePurchase(), "user_data.external_id", to: "crm-42")
        #expect(validator.validate(CAPIFixtures.request([plain])).isAccepted)
        let list = CAPIFixtures.changing(
            plain, "user_data.external_id", to: ["crm-42", .string(CAPIFixtures.hashedEmail)])
        #expect(validator.validate(CAPIFixtures.request([list])).isAccepted)
    }

    @Test func clientIPAddressMustBeIPv4OrIPv6() throws {
        let website = CAPIFixtures.websitePurchase()
        let ipv6 = CAPIFixtures.changing(website, "user_data.client_ip_address", to: "2001:db8::1")
        #expect(validator.validate(CAPIFixtures.request([ipv6])).isAccepted)
        let bad = try rejection(
            changing: "user_data.client_ip_address", to: "192.168.1.300", in: website)
        #expect(bad.message.contains("user_data.client_ip_address of event 0"))
        #expect(!bad.message.contains("192.168"))
    }

    @Test func fbcAndFbpMustHaveMetasFormat() throws {
        let website = CAPIFixtures.websitePurchase()
        let seconds = try rejection(
            changing: "user_data.fbp", to: "fb.1.1558571054.1098115397", in: website)
        #expect(seconds.message.contains("user_data.fbp of event 0"))
        #expect(seconds.message.contains("milliseconds"))
        #expect(
            try rejection(changing: "user_data.fbc", to: "AbCdEf", in: website).message.contains(
                "user_data.fbc"))
    }

    @Test func eventIDAndOptOutHaveTypes() throws {
        #expect(try rejection(changing: "event_id", to: 42).message.contains("event_id of event 0"))
        #expect(try rejection(changing: "opt_out", to: 1).message.contains("opt_out of event 0"))
        #expect(try rejection(changing: "opt_out", to: "false").message.contains("opt_out"))
    }

    @Test func dataProcessingOptionsAllowOnlyLDUWithCountryAndState() throws {
        let base = CAPIFixtures.messengerPurchase()
        let none = CAPIFixtures.changing(base, "data_processing_options", to: [])
        #expect(validator.validate(CAPIFixtures.request([none])).isAccepted)

        var california = CAPIFixtures.changing(base, "data_processing_options", to: ["LDU"])
        california = CAPIFixtures.changing(california, "data_processing_options_country", to: 1)
        california = CAPIFixtures.changing(california, "data_processing_options_state", to: 1000)
        #expect(validator.validate(CAPIFixtures.request([california])).isAccepted)

        let other = try rejection(changing: "data_processing_options", to: ["GDPR"], in: california)
        #expect(other.message.contains("data_processing_options[0] of event 0"))
        #expect(other.message.contains("\"GDPR\""))
        #expect(
            try rejection(changing: "data_processing_options_state", to: nil, in: california)
                .message.contains("data_processing_options_state"))
        #expect(
            try rejection(changing: "data_processing_options_country", to: nil, in: california)
                .message.contains("data_processing_options_country"))
        #expect(
            try rejection(changing: "data_processing_options_country", to: "1", in: california)
                .message.contains("wrong type"))
    }

    @Test func purchaseNeedsValueAndCurrency() throws {
        let noCurrency = try rejection(changing: "custom_data.currency", to: nil)
        #expect(noCurrency.message.contains("custom_data.currency of event 0"))
        #expect(
            try rejection(changing: "custom_data.value", to: nil).message.contains(
                "custom_data.value of event 0"))
        #expect(
            try rejection(changing: "custom_data", to: nil).message.contains(
                "custom_data of event 0"))

        let lead = CAPIFixtures.changing(
            CAPIFixtures.messengerPurchase(), "event_name", to: "LeadSubmitted")
        #expect(
            validator.validate(
                CAPIFixtures.request([CAPIFixtures.changing(lead, "custom_data", to: nil)])
            ).isAccepted)
    }

    @Test func customDataValueAndCurrencyHaveFormats() throws {
        #expect(
            try rejection(changing: "custom_data.value", to: "123.5").message.contains(
                "the string \"123.5\""))
        #expect(
            try rejection(changing: "custom_data.value", to: true).message.contains(
                "custom_data.value"))
        #expect(
            try rejection(changing: "custom_data.currency", to: "US$").message.contains("\"US$\""))
        let integerValue = CAPIFixtures.changing(
            CAPIFixtures.messengerPurchase(), "custom_data.value", to: 123)
        #expect(validator.validate(CAPIFixtures.request([integerValue])).isAccepted)
        #expect(
            try rejection(changing: "custom_data", to: [1]).message.contains(
                "wrong type in custom_data"))
    }
}

/// Percent-encoding for a form value: everything but unreserved characters.
func percentEncoded(_ text: String) -> String {
    var out = ""
    for byte in text.utf8 {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"),
            UInt8(ascii: "."), UInt8(ascii: "~"):
            out.append(Character(Unicode.Scalar(byte)))
        default:
            out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
        }
    }
    return out
}

extension String {
    func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
