/// What normalizing one customer-information value produced.
public enum NormalizationResult: Equatable, Sendable {
    /// The normalized value, ready to hash.
    case value(String)
    /// The input already was a SHA-256 hex digest; this is it lowercased. It must not be hashed
    /// again: a hash of a hash matches nobody.
    case alreadyHashed(String)
    /// The value cannot be used; it is left out of the event, never hashed, and the reason is
    /// recorded on the feed.
    case dropped(reason: DropReason)
}

/// Why a customer-information value was left out of an event.
///
/// The message names the field and what was expected, never the value itself: the value is
/// personal data, and reasons are shown on the feed and written to logs.
public struct DropReason: Error, Equatable, Sendable, CustomStringConvertible {
    /// A stable code to switch on and to use as a metric label.
    public enum Code: String, Sendable {
        case empty
        case neverHashed = "never_hashed"
        case invalidEmail = "invalid_email"
        case invalidPhone = "invalid_phone"
        case invalidDate = "invalid_date"
        case unknownGender = "unknown_gender"
        case unknownCountry = "unknown_country"
    }

    public let code: Code
    /// A sentence a person can act on, free of the dropped value.
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }

    static func empty(_ field: CustomerField) -> DropReason {
        DropReason(.empty, "\(field.key) is empty after normalization; nothing to send")
    }
}
