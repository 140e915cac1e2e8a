import RelayCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The rules for `user_data` (reference §1.3, §2).
///
/// Values here are customer information, so error messages describe a bad value by its shape
/// ("17 characters containing @") and never quote it.
extension CAPIRequestValidator {
    /// Keys Meta requires to be SHA-256 hashed, as 64 lowercase hex digits.
    public static let hashedUserDataKeys = [
        "em", "ph", "fn", "ln", "ge", "db", "ct", "st", "zp", "country",
    ]

    /// Every other user_data key the reference knows; at least one known key must be present.
    public static let otherUserDataKeys = [
        "external_id", "client_ip_address", "client_user_agent", "fbc", "fbp", "subscription_id",
        "fb_login_id", "lead_id", "anon_id", "madid", "page_id", "page_scoped_user_id",
        "ctwa_clid", "ig_account_id", "ig_sid", "whatsapp_business_account_id",
        "instagram_business_account_id",
    ]

    func validateUserData(_ userData: [String: JSONValue], _ fault: EventFault) throws(GraphError) {
        let known = Set(Self.hashedUserDataKeys + Self.otherUserDataKeys)
        let present = userData.keys.filter { known.contains($0) && userData[$0] != .null }
        if present.isEmpty {
            let sent = userData.keys.sorted().map(quoted).joined(separator: ", ")
            throw fault.error(
                "no customer information", in: "user_data",
                "expected at least one known key such as em, ph, external_id or "
                    + "page_scoped_user_id, got "
                    + (sent.isEmpty ? "an empty object" : "keys \(sent)"),
                title: "Missing Customer Information",
                fix: "Send at least one correctly formatted customer information parameter."
            )
        }

        for key in Self.hashedUserDataKeys {
            guard let value = userData[key] else { continue }
            try forEachString(value, field: "user_data.\(key)", fault) {
                field, text throws(GraphError) in
                if let problem = Self.hashProblem(text) {
                    throw fault.error(
                        "unhashed or malformed value", in: field,
                        "expected a SHA-256 hash as 64 lowercase hex digits, \(problem)",
                        title: "Invalid Customer Information Hash",
                        fix: "Normalise \(key) as Meta describes (trimmed, lowercase), hash it "
                            + "with SHA-256 and send the 64 lowercase hex digits."
                    )
                }
            }
        }

        if let value = userData["external_id"] {
            try forEachString(value, field: "user_data.external_id", fault) {
                field, text throws(GraphError) in
                if text.isEmpty {
                    throw fault.invalid(
                        field, "expected a non-empty string", fix: "Omit empty IDs.")
                }
            }
        }
        try checkUnhashedIdentifiers(userData, fault)
        try checkBrowserIdentifiers(userData, fault)
    }

    /// Identifiers Meta says never to hash: Messenger IDs must be sent as received.
    private func checkUnhashedIdentifiers(
        _ userData: [String: JSONValue], _ fault: EventFault
    ) throws(GraphError) {
        for key in ["page_id", "page_scoped_user_id"] {
            guard let value = userData[key] else { continue }
            let field = "user_data.\(key)"
            guard case .string(let text) = value else {
                throw fault.wrongType(
                    field, expected: "a string of digits", got: value, quoteValue: false)
            }
            if Crypto.looksLikeSHA256(text) {
                throw fault.error(
                    "hashed value", in: field,
                    "got 64 hex digits, which looks like a SHA-256 hash; \(key) is never hashed",
                    title: "Hashed Messenger Identifier",
                    fix: "Send \(key) exactly as the Messenger webhook delivered it, unhashed."
                )
            }
            if text.isEmpty || !text.utf8.allSatisfy(isASCIIDigit) {
                throw fault.invalid(
                    field,
                    "expected a string of digits, got \(text.count) characters that are not "
                        + "all digits",
                    fix: "Send \(key) exactly as the Messenger webhook delivered it."
                )
            }
        }

        // Meta types these as integers; a digit string is what JSON clients usually send.
        for key in ["fb_login_id", "lead_id"] {
            guard let value = userData[key] else { continue }
            let isDigitString = value.stringValue.map {
                !$0.isEmpty && $0.utf8.allSatisfy(isASCIIDigit)
            }
            guard value.integerValue != nil || isDigitString == true else {
                throw fault.wrongType(
                    "user_data.\(key)", expected: "an integer ID", got: value, quoteValue: false
                )
            }
        }
    }

    /// `client_ip_address`, `client_user_agent`, `fbc`, `fbp`: sent raw, but with a format.
    private func checkBrowserIdentifiers(
        _ userData: [String: JSONValue], _ fault: EventFault
    ) throws(GraphError) {
        if let value = userData["client_ip_address"] {
            guard case .string(let address) = value else {
                throw fault.wrongType(
                    "user_data.client_ip_address", expected: "an IPv4 or IPv6 address string",
                    got: value, quoteValue: false
                )
            }
            if !Self.isIPAddress(address) {
                let shape =
                    Crypto.looksLikeSHA256(address)
                    ? "got 64 hex digits, which looks hashed; client_ip_address is never hashed"
                    : "got \(address.count) characters that are not an IPv4 or IPv6 address"
                throw fault.invalid(
                    "user_data.client_ip_address", shape,
                    fix: "Send the client's address as received, unhashed and without spaces."
                )
            }
        }
        if let value = userData["client_user_agent"] {
            guard case .string(let agent) = value, !agent.isEmpty else {
                throw fault.wrongType(
                    "user_data.client_user_agent", expected: "a non-empty string", got: value,
                    quoteValue: false
                )
            }
        }
        for key in ["fbc", "fbp"] {
            guard let value = userData[key] else { continue }
            let field = "user_data.\(key)"
            guard case .string(let cookie) = value else {
                throw fault.wrongType(field, expected: "a string", got: value, quoteValue: false)
            }
            if let problem = Self.cookieProblem(cookie) {
                throw fault.invalid(
                    field,
                    "expected fb.{subdomain_index}.{creation_time_ms}.{value}, \(problem)",
                    fix: "Send the _\(key) cookie value unmodified."
                )
            }
        }
    }

    /// Calls `body` for the value, or for each element of an array value, with a field path
    /// such as `user_data.em[1]`; anything else is a type error.
    private func forEachString(
        _ value: JSONValue, field: String, _ fault: EventFault,
        _ body: (String, String) throws(GraphError) -> Void
    ) throws(GraphError) {
        let expected = "a string or an array of strings"
        switch value {
        case .string(let text):
            try body(field, text)
        case .array(let elements):
            guard !elements.isEmpty else {
                throw fault.invalid(field, "got an empty array", fix: "Omit the key instead.")
            }
            for (position, element) in elements.enumerated() {
                guard case .string(let text) = element else {
                    throw fault.wrongType(
                        "\(field)[\(position)]", expected: "a string", got: element,
                        quoteValue: false
                    )
                }
                try body("\(field)[\(position)]", text)
            }
        default:
            throw fault.wrongType(field, expected: expected, got: value, quoteValue: false)
        }
    }

    /// Why a value is not a lowercase SHA-256 hex digest, phrased as "got …"; nil if it is one.
    static func hashProblem(_ value: String) -> String? {
        if Crypto.looksLikeSHA256(value, lowercaseOnly: true) { return nil }
        if Crypto.looksLikeSHA256(value) {
            return "got 64 hex digits with uppercase letters; Meta expects lowercase hex"
        }
        let trimmed = value.trimmed(of: " \t\r\n")
        if trimmed != value, Crypto.looksLikeSHA256(trimmed) {
            return "got a hash with surrounding whitespace"
        }
        if value.isEmpty { return "got an empty string" }
        let utf8 = value.utf8
        if utf8.count == 32,
            utf8.allSatisfy({
                isASCIIDigit($0) || (97...102).contains($0) || (65...70).contains($0)
            })
        {
            return "got 32 hex digits, which looks like MD5"
        }
        if value.contains("@") {
            return "got \(value.count) characters containing \"@\", which looks like an unhashed "
                + "email address"
        }
        return "got \(value.count) characters that are not a SHA-256 hex digest (unhashed?)"
    }

    /// True for a literal IPv4 or IPv6 address as `inet_pton` reads them (no zone, no port).
    static func isIPAddress(_ text: String) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 16)
        return inet_pton(AF_INET, text, &buffer) == 1 || inet_pton(AF_INET6, text, &buffer) == 1
    }

    /// Why a value is not `fb.{subdomain_index}.{creation_time}.{value}`; nil if it is.
    ///
    /// The creation time is epoch milliseconds (13 digits in every reference example); a
    /// 10-digit value is a seconds timestamp and would skew Meta's click attribution.
    static func cookieProblem(_ cookie: String) -> String? {
        let parts = cookie.split(separator: ".", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "fb" else {
            return "got \(cookie.count) characters not of that form"
        }
        guard !parts[1].isEmpty, parts[1].utf8.allSatisfy(isASCIIDigit) else {
            return "the subdomain index is not a number"
        }
        guard !parts[2].isEmpty, parts[2].utf8.allSatisfy(isASCIIDigit) else {
            return "the creation time is not a number"
        }
        guard parts[2].utf8.count == 13 else {
            return "the creation time has \(parts[2].utf8.count) digits; it is epoch milliseconds "
                + "(13 digits)"
        }
        guard !parts[3].isEmpty, !parts[3].contains(where: \.isWhitespace) else {
            return "the last part is empty or contains whitespace"
        }
        return nil
    }
}
