import COpenSSL
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

    /// RFC 4231's HMAC-SHA256 test cases 1, 2, 3, 4, 6 and 7 (5 truncates the output).
    @Test(arguments: [
        (
            [UInt8](repeating: 0x0b, count: 20), Array("Hi There".utf8),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        ),
        (
            Array("Jefe".utf8), Array("what do ya want for nothing?".utf8),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        ),
        (
            [UInt8](repeating: 0xaa, count: 20), [UInt8](repeating: 0xdd, count: 50),
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"
        ),
        (
            Array(1...25), [UInt8](repeating: 0xcd, count: 50),
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"
        ),
        (
            [UInt8](repeating: 0xaa, count: 131),
            Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        ),
        (
            [UInt8](repeating: 0xaa, count: 131),
            Array(
                ("This is a test using a larger than block-size key and a larger than block-size"
                    + " data. The key needs to be hashed before being used by the HMAC algorithm.")
                    .utf8),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"
        ),
    ])
    func hmacMatchesRFC4231(key: [UInt8], message: [UInt8], expected: String) {
        #expect(Crypto.hmacSHA256Hex(key: key, message: message) == expected)
    }

    @Test func hmacMatchesOpenSSLsOwnForKeysAndMessagesOfEveryLengthAround64() {
        // Keys shorter than, equal to and longer than SHA-256's block, empty ones included.
        var generator = SystemRandomNumberGenerator()
        for keyCount in [0, 1, 32, 63, 64, 65, 128, 200] {
            for messageCount in [0, 1, 55, 56, 64, 119, 1000] {
                let key = (0..<keyCount).map { _ in UInt8.random(in: 0...255, using: &generator) }
                let message = (0..<messageCount).map { _ in
                    UInt8.random(in: 0...255, using: &generator)
                }
                var digest = [UInt8](repeating: 0, count: 32)
                var length: UInt32 = 0
                _ = HMAC(
                    EVP_sha256(), key, Int32(key.count), message, message.count, &digest, &length)
                #expect(
                    Crypto.hmacSHA256Hex(key: key, message: message) == Crypto.hex(digest),
                    "key of \(keyCount) bytes, message of \(messageCount)")
            }
        }
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
