import COpenSSL

/// SHA-256 and HMAC-SHA256 from OpenSSL's libcrypto, as lowercase hex.
///
/// Lowercase hex is what Meta's hashed customer-information fields, `X-Hub-Signature-256` and
/// `appsecret_proof` all use, so it is the only form offered.
public enum Crypto {
    /// SHA-256 of the bytes, as 64 lowercase hex digits.
    public static func sha256Hex<Bytes: Collection>(_ bytes: Bytes) -> String
    where Bytes.Element == UInt8 {
        let hashed: String? = bytes.withContiguousStorageIfAvailable { buffer in
            sha256Hex(UnsafeRawBufferPointer(buffer))
        }
        return hashed ?? Array(bytes).withUnsafeBytes { sha256Hex($0) }
    }

    /// SHA-256 of the string's UTF-8 bytes, as 64 lowercase hex digits.
    public static func sha256Hex(_ string: String) -> String {
        var string = string
        return string.withUTF8 { sha256Hex(UnsafeRawBufferPointer($0)) }
    }

    /// The digest goes to a stack buffer and straight into the hex string: hashing short
    /// customer values is dominated by allocation otherwise, not by SHA-256.
    private static func sha256Hex(_ buffer: UnsafeRawBufferPointer) -> String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { digest in
            capi_relay_sha256(
                buffer.baseAddress?.assumingMemoryBound(to: UInt8.self), buffer.count,
                digest.baseAddress)
            // Hex into a second stack buffer, then one copy into the String: String's
            // ASCII check on a finished buffer costs less than its UTF-8 validation of a
            // buffer filled in place.
            return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { hex in
                for index in 0..<32 {
                    hex[2 * index] = hexDigit(digest[index] >> 4)
                    hex[2 * index + 1] = hexDigit(digest[index] & 0x0f)
                }
                return String(decoding: UnsafeBufferPointer(hex), as: UTF8.self)
            }
        }
    }

    /// The lowercase hex digit of a nibble, by arithmetic rather than a table lookup, which
    /// the compiler can vectorize.
    @inline(__always)
    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble + (nibble < 10 ? UInt8(ascii: "0") : UInt8(ascii: "a") - 10)
    }

    /// HMAC-SHA256 of `message` keyed with `key`, as 64 lowercase hex digits.
    public static func hmacSHA256Hex(key: [UInt8], message: [UInt8]) -> String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { digest in
            key.withUnsafeBufferPointer { keyBuffer in
                message.withUnsafeBufferPointer { messageBuffer in
                    capi_relay_hmac_sha256(
                        keyBuffer.baseAddress, keyBuffer.count, messageBuffer.baseAddress,
                        messageBuffer.count, digest.baseAddress)
                }
            }
            return hex(UnsafeBufferPointer(digest))
        }
    }

    /// HMAC-SHA256 of a string message keyed with a string key, as lowercase hex.
    public static func hmacSHA256Hex(key: String, message: String) -> String {
        hmacSHA256Hex(key: Array(key.utf8), message: Array(message.utf8))
    }

    /// Compares two byte strings in time that depends only on their lengths.
    ///
    /// Used for signatures and tokens, where an early exit would tell an attacker how many
    /// leading bytes of a guess were right.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        guard !a.isEmpty else { return true }
        return CRYPTO_memcmp(a, b, a.count) == 0
    }

    /// Compares two strings' UTF-8 bytes in constant time.
    public static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        constantTimeEqual(Array(a.utf8), Array(b.utf8))
    }

    /// `count` bytes from OpenSSL's CSPRNG.
    public static func randomBytes(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let status = RAND_bytes(&bytes, Int32(count))
        precondition(status == 1, "RAND_bytes failed; the system random source is unavailable")
        return bytes
    }

    /// Lowercase hex of the bytes.
    public static func hex<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// True when the string is exactly 64 hex digits, the shape of a SHA-256 hex digest.
    public static func looksLikeSHA256(_ value: String, lowercaseOnly: Bool = false) -> Bool {
        let utf8 = value.utf8
        guard utf8.count == 64 else { return false }
        return utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"): true
            case UInt8(ascii: "A")...UInt8(ascii: "F"): !lowercaseOnly
            default: false
            }
        }
    }
}
