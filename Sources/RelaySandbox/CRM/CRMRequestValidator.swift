import RelayCore

/// Decides whether the stand-in CRM webhook accepts a conversion posted by the relay.
///
/// The relay signs each CRM post the way Meta signs webhooks (reference §4.2), with its own
/// header: `X-Capi-Relay-Signature-256: sha256=<lowercase hex HMAC-SHA256(secret, raw body)>`.
/// The signature is checked over the bytes as received, before parsing, because re-serialised
/// JSON would not reproduce them.
public struct CRMRequestValidator: Sendable {
    /// The header carrying the body's signature.
    public static let signatureHeader = "X-Capi-Relay-Signature-256"

    /// When set, every post must carry a valid signature; when nil, the header is ignored.
    public var secret: String?

    public init(secret: String? = nil) {
        self.secret = secret
    }

    /// Validates one post: the signature (403 when wrong), then the body (400 when malformed).
    ///
    /// - Parameters:
    ///   - signature: the value of `X-Capi-Relay-Signature-256`, nil when absent.
    ///   - body: the raw request body.
    public func validate(signature: String?, body: [UInt8]) -> CRMValidationResult {
        if let secret {
            guard let signature else {
                return .rejected(.init(403, "missing \(Self.signatureHeader) header"), body: nil)
            }
            let expected = "sha256=" + Crypto.hmacSHA256Hex(key: Array(secret.utf8), message: body)
            guard Crypto.constantTimeEqual(signature, expected) else {
                // The received value is a MAC, not a secret, but echoing it helps no one; the
                // message says how the expected one is computed instead.
                let problem =
                    signature.hasPrefix("sha256=")
                    ? "does not match the body"
                    : "is not of the form sha256=<64 lowercase hex digits>"
                return .rejected(
                    .init(
                        403,
                        "\(Self.signatureHeader) \(problem); expected sha256= and the lowercase "
                            + "hex HMAC-SHA256 of the raw body keyed with the CRM secret"
                    ),
                    body: nil
                )
            }
        }

        let parsed: JSONValue
        do {
            parsed = try JSONValue(parsing: body)
        } catch {
            return .rejected(.init(400, "the body is not valid JSON (\(error))"), body: nil)
        }
        guard case .object(let members) = parsed else {
            return .rejected(
                .init(400, "the body must be a JSON object, got \(parsed.kindDescription)"),
                body: parsed
            )
        }
        for key in ["event_id", "event_name"] {
            guard let value = members[key] else {
                return .rejected(
                    .init(400, "missing \(key): expected a non-empty string"), body: parsed)
            }
            guard case .string(let text) = value, !text.isEmpty else {
                return .rejected(
                    .init(400, "\(key) must be a non-empty string, got \(describe(value))"),
                    body: parsed
                )
            }
        }
        return .accepted(parsed)
    }
}

/// Why the CRM stand-in refused a post.
public struct CRMRejection: Error, Sendable, Equatable {
    /// 403 for a missing or wrong signature, 400 for a malformed body.
    public var httpStatus: Int
    public var message: String

    public init(_ httpStatus: Int, _ message: String) {
        self.httpStatus = httpStatus
        self.message = message
    }

    /// The response body: `{"ok":false,"error":"…"}`.
    public var responseBody: JSONValue {
        ["ok": false, "error": .string(message)]
    }
}

/// What the CRM stand-in decided about one post.
public enum CRMValidationResult: Sendable, Equatable {
    /// The body, parsed; the response is 200 `{"ok":true}`.
    case accepted(JSONValue)
    /// `body` is the parsed body when it was JSON, so the rejection can be recorded with it.
    case rejected(CRMRejection, body: JSONValue?)
}
