import Testing
@testable import RelayCore

@Suite struct CryptoTests {
    @Test func sha256MatchesMetasDocumentedEmailHash() {
        // customer-information parameters: john_smith@gmail.com
        #expect(
            Crypto.sha256Hex("john_smith@gmail.com")
                == "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f")
    }

    @Test func hmacMatchesTheWebhookSignatureVector() {
        let signature = Crypto.hmacSHA256Hex(
            key: "test-app-secret", message: #"{"object":"page","entry":[]}"#)
        #expect(signature == "1a82db3abc2fa71a3fffecfedef579a8468a44850cd8a83a0c56974faff81689")
    }

    @Test func appSecretProofMatchesTheSDKVector() {
        let proof = Crypto.hmacSHA256Hex(key: "appsecret-123", message: "access-token-234")
        #expect(proof == "cdfcbc87edc90f8123cd3797a0d6f6f7eedf63d97038a15d1693d297f653d7f2")
    }

    @Test func constantTimeEqualRejectsDifferentLengthsAndBytes() {
        #expect(Crypto.constantTimeEqual("abc", "abc"))
        #expect(!Crypto.constantTimeEqual("abc", "abd"))
        #expect(!Crypto.constantTimeEqual("abc", "abcd"))
    }

    @Test func sha256ShapeCheck() {
        let digest = Crypto.sha256Hex("x")
        #expect(Crypto.looksLikeSHA256(digest, lowercaseOnly: true))
        #expect(Crypto.looksLikeSHA256(digest.uppercased()))
        #expect(!Crypto.looksLikeSHA256(digest.uppercased(), lowercaseOnly: true))
        #expect(!Crypto.looksLikeSHA256(String(digest.dropLast())))
    }
}
