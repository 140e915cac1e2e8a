import RelayCore

/// Checks `X-Hub-Signature-256` on a Messenger webhook.
///
/// Meta signs the raw body bytes as sent (with unicode still escaped as `\u00e9`), so the check
/// runs on the bytes as received and never on re-serialized JSON.
public enum MessengerSignature {
    /// The result of a check; anything but `.valid` is answered 403 and nothing is stored.
    public enum Verdict: String, Sendable, Equatable {
        case valid
        case missing
        /// The header is not `sha256=` followed by 64 hex digits.
        case malformed
        case mismatch
    }

    /// - Parameters:
    ///   - header: the `X-Hub-Signature-256` value, or nil when absent.
    ///   - body: the raw request body.
    ///   - appSecret: the Messenger app's secret.
    public static func verify(header: String?, body: [UInt8], appSecret: String) -> Verdict {
        guard let header, !header.isEmpty else { return .missing }
        let prefix = "sha256="
        guard header.hasPrefix(prefix) else { return .malformed }
        let received = String(header.dropFirst(prefix.count)).lowercased()
        guard Crypto.looksLikeSHA256(received) else { return .malformed }

        let expected = Crypto.hmacSHA256Hex(key: Array(appSecret.utf8), message: body)
        return Crypto.constantTimeEqual(expected, received) ? .valid : .mismatch
    }

    /// The header value for a body, as Meta would send it; used by the demo and the tests.
    public static func header(for body: [UInt8], appSecret: String) -> String {
        "sha256=" + Crypto.hmacSHA256Hex(key: Array(appSecret.utf8), message: body)
    }
}
