import Testing

@testable import RelayIngest

@Suite struct MessengerSignatureTests {
    static let fixtures = [
        "batched-entries.json", "echo-read-delivery.json", "optin-notification.json",
        "postback-book-call.json", "postback-get-started-ad-referral.json",
        "quick-reply-lead.json", "referral-shortlink.json", "text-with-email-unicode.json",
    ]

    @Test(arguments: fixtures)
    func everyFixtureVerifiesWithTheFixtureSecret(name: String) throws {
        let body = try FixtureFiles.body(name)
        let header = try FixtureFiles.signature(name)
        #expect(
            MessengerSignature.verify(header: header, body: body, appSecret: "fixture-app-secret")
                == .valid)
    }

    @Test func theSignatureIsOverTheEscapedBytesNotTheDecodedText() throws {
        // Re-serializing would turn \u00e9 into é and break the signature.
        let body = try FixtureFiles.body("text-with-email-unicode.json")
        let decoded = Array(
            String(decoding: body, as: UTF8.self)
                .replacingOccurrences(of: "\\u00e9", with: "é").utf8)
        let header = try FixtureFiles.signature("text-with-email-unicode.json")
        #expect(
            MessengerSignature.verify(
                header: header, body: decoded, appSecret: "fixture-app-secret") == .mismatch)
    }

    @Test func missingMalformedAndWrongSignaturesAreTold() throws {
        let body = try FixtureFiles.body("quick-reply-lead.json")
        #expect(MessengerSignature.verify(header: nil, body: body, appSecret: "s") == .missing)
        #expect(
            MessengerSignature.verify(header: "sha1=abc", body: body, appSecret: "s") == .malformed)
        #expect(
            MessengerSignature.verify(header: "sha256=zz", body: body, appSecret: "s") == .malformed
        )
        let header = try FixtureFiles.signature("quick-reply-lead.json")
        #expect(
            MessengerSignature.verify(header: header, body: body, appSecret: "other-secret")
                == .mismatch)
    }

    @Test func uppercaseHexInTheHeaderIsAccepted() throws {
        let body = try FixtureFiles.body("quick-reply-lead.json")
        let header = try FixtureFiles.signature("quick-reply-lead.json")
        let upper = "sha256=" + header.dropFirst("sha256=".count).uppercased()
        #expect(
            MessengerSignature.verify(header: upper, body: body, appSecret: "fixture-app-secret")
                == .valid)
    }

    @Test func verificationHandshake() {
        let good = [
            "hub.mode": "subscribe", "hub.verify_token": "tok", "hub.challenge": "1158201444",
        ]
        #expect(
            MessengerVerification.answer(query: good, verifyToken: "tok")
                == .accept(challenge: "1158201444"))
        var wrong = good
        wrong["hub.verify_token"] = "nope"
        #expect(
            MessengerVerification.answer(query: wrong, verifyToken: "tok")
                == .reject(reason: "hub.verify_token does not match"))
        var mode = good
        mode["hub.mode"] = "unsubscribe"
        #expect(
            MessengerVerification.answer(query: mode, verifyToken: "tok")
                == .reject(reason: "hub.mode is not subscribe"))
    }
}
