import RelayCore

/// A webhook body made fit to show an operator: message text replaced by its length, and any
/// credential-looking member removed.
///
/// Message text is what people typed; it can hold anything, including data they never meant
/// for an ad system. It is kept in the journal, but shown only where raw retention is switched
/// on in the config.
enum InboundMasking {
    static func masked(_ body: [UInt8], keepText: Bool) -> JSONValue {
        guard let parsed = try? JSONValue(parsing: body) else {
            return .string("(\(body.count) bytes, not JSON)")
        }
        let cleaned = parsed.removingMembers(named: ["access_token", "appsecret_proof"])
        return keepText ? cleaned : maskText(cleaned)
    }

    private static func isMask(_ text: String) -> Bool {
        text.hasPrefix("[masked: ") && text.hasSuffix(" characters]")
    }

    private static func maskText(_ value: JSONValue) -> JSONValue {
        switch value {
        case .array(let elements):
            return .array(elements.map(maskText))
        case .object(var members):
            // Bodies are masked when journaled, and again when shown (for journals written
            // before masking or with raw retention): masking must leave a mask as it is.
            if case .string(let text)? = members["text"], !isMask(text) {
                members["text"] = .string("[masked: \(text.count) characters]")
            }
            return .object(members.mapValues(maskText))
        default:
            return value
        }
    }
}
