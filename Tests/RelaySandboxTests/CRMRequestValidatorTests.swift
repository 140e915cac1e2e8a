import RelayCore
import Testing

@testable import RelaySandbox

@Suite("CRM webhook validation")
struct CRMRequestValidatorTests {
    let secret = "crm-secret-1"
    let body = Array(#"{"event_id":"mid.1","event_name":"Purchase","value":12.5}"#.utf8)

    func signature(_ body: [UInt8], secret: String? = nil) -> String {
        "sha256=" + Crypto.hmacSHA256Hex(key: Array((secret ?? self.secret).utf8), message: body)
    }

    @Test func signedPostIsAcceptedWithItsBody() throws {
        let result = CRMRequestValidator(secret: secret).validate(
            signature: signature(body), body: body)
        #expect(
            result == .accepted(["event_id": "mid.1", "event_name": "Purchase", "value": 12.5]))
    }

    @Test func unsignedPostIsForbiddenWhenASecretIsSet() {
        let result = CRMRequestValidator(secret: secret).validate(signature: nil, body: body)
        guard case .rejected(let rejection, _) = result else {
            Issue.record("expected a rejection, got \(result)")
            return
        }
        #expect(rejection.httpStatus == 403)
        #expect(rejection.message.contains("missing X-Capi-Relay-Signature-256"))
    }

    @Test func wrongSecretOrTamperedBodyIsForbidden() {
        let validator = CRMRequestValidator(secret: secret)
        let wrongKey = validator.validate(signature: signature(body, secret: "other"), body: body)
        #expect(wrongKey == .rejected(rejection(wrongKey), body: nil))
        #expect(rejection(wrongKey).httpStatus == 403)

        let tampered = Array(#"{"event_id":"mid.1","event_name":"Purchase","value":99}"#.utf8)
        #expect(
            rejection(validator.validate(signature: signature(body), body: tampered)).httpStatus
                == 403)

        let uppercase =
            "sha256=" + Crypto.hmacSHA256Hex(key: Array(secret.utf8), message: body).uppercased()
        #expect(rejection(validator.validate(signature: uppercase, body: body)).httpStatus == 403)

        let bare = Crypto.hmacSHA256Hex(key: Array(secret.utf8), message: body)
        let missingPrefix = rejection(validator.validate(signature: bare, body: body))
        #expect(missingPrefix.message.contains("not of the form sha256="))
        #expect(!missingPrefix.message.contains(secret))
    }

    @Test func signatureIsComputedOverTheRawBytesLikeMetasWebhooks() {
        // The reference's computed X-Hub-Signature-256 vector: same algorithm, same format.
        let webhook = Array(#"{"object":"page","entry":[]}"#.utf8)
        let header = "sha256=1a82db3abc2fa71a3fffecfedef579a8468a44850cd8a83a0c56974faff81689"
        let result = CRMRequestValidator(secret: "test-app-secret").validate(
            signature: header, body: webhook)
        // The signature passes, so the answer is about the body (no event_id), not 403.
        #expect(rejection(result).httpStatus == 400)
        #expect(rejection(result).message.contains("missing event_id"))
    }

    @Test func withoutASecretUnsignedPostsAreAccepted() {
        let result = CRMRequestValidator().validate(signature: nil, body: body)
        #expect(
            result == .accepted(["event_id": "mid.1", "event_name": "Purchase", "value": 12.5]))
    }

    @Test func bodyNeedsEventIDAndEventNameStrings() {
        let validator = CRMRequestValidator()
        let noName = rejection(
            validator.validate(signature: nil, body: Array(#"{"event_id":"e"}"#.utf8)))
        #expect(noName.httpStatus == 400)
        #expect(noName.message.contains("event_name"))

        let numeric = rejection(
            validator.validate(
                signature: nil, body: Array(#"{"event_id":7,"event_name":"x"}"#.utf8)))
        #expect(numeric.message.contains("event_id must be a non-empty string, got the integer 7"))

        #expect(
            rejection(validator.validate(signature: nil, body: Array("[1]".utf8))).httpStatus == 400
        )
        #expect(
            rejection(validator.validate(signature: nil, body: Array("{".utf8))).message.contains(
                "not valid JSON"))
    }

    private func rejection(_ result: CRMValidationResult) -> CRMRejection {
        if case .rejected(let rejection, _) = result { return rejection }
        Issue.record("expected a rejection, got \(result)")
        return CRMRejection(0, "")
    }
}
