/// A customer-information key of a Conversions API `user_data` object that the relay normalizes
/// and hashes.
///
/// Meta requires SHA-256 for every key here except `external_id`, where hashing is recommended;
/// keys Meta wants sent as they are (IP address, user agent, click ids, page-scoped ids) are not
/// cases of this type at all, so they cannot be hashed by accident. Callers that walk an
/// arbitrary object use ``isNeverHashed(_:)`` to refuse them explicitly.
public enum CustomerField: String, CaseIterable, Sendable {
    case email = "em"
    case phone = "ph"
    case firstName = "fn"
    case lastName = "ln"
    case gender = "ge"
    case dateOfBirth = "db"
    case city = "ct"
    case state = "st"
    case zip = "zp"
    case country = "country"
    case externalID = "external_id"

    /// The `user_data` key as Meta spells it.
    public var key: String { rawValue }

    /// The field for a `user_data` key, or nil when the key is not one the relay hashes.
    public init?(key: String) {
        self.init(rawValue: key)
    }

    /// `user_data` keys Meta says must never be hashed.
    ///
    /// Hashing one of these makes it useless: Meta reads them as they are (an IP address, a
    /// cookie value, a Graph id). `anon_id`, `madid`, `ig_account_id` and `ig_sid` are on Meta's
    /// list too; they are app and Instagram keys the relay does not produce, listed so that a
    /// caller passing them through is refused the same way.
    public static let neverHashedKeys: Set<String> = [
        "client_ip_address", "client_user_agent", "fbc", "fbp", "page_id",
        "page_scoped_user_id", "lead_id", "ctwa_clid", "subscription_id", "fb_login_id",
        "anon_id", "madid", "ig_account_id", "ig_sid",
    ]

    /// True when Meta says the key must be sent unhashed.
    public static func isNeverHashed(_ key: String) -> Bool {
        neverHashedKeys.contains(key)
    }
}
