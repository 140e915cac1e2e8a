/// A config rule that turns one kind of signal into a conversion.
///
/// Every condition present in `when` must hold; rules are tried in config order and the first
/// match wins, so one signal makes at most one conversion and the order of rules is the
/// operator's way to say which matters more.
public struct MappingRule: Sendable, Equatable, Codable {
    /// The conditions, each optional; at least one must be present.
    public struct Conditions: Sendable, Equatable, Codable {
        /// A postback payload pattern (`*` matches any run of characters).
        public var postback: String?
        /// A quick-reply payload pattern.
        public var quickReply: String?
        /// A referral `ref` pattern (m.me links and ads).
        public var referralRef: String?
        /// A referral `source`, compared without regard to case (`ADS`, `SHORTLINK`).
        public var referralSource: String?
        /// An optin payload (or plugin `ref`) pattern; `*` takes every optin.
        public var optin: String?
        /// A regular expression searched in message text (and quick-reply text).
        public var text: String?

        public init(
            postback: String? = nil, quickReply: String? = nil, referralRef: String? = nil,
            referralSource: String? = nil, optin: String? = nil, text: String? = nil
        ) {
            self.postback = postback
            self.quickReply = quickReply
            self.referralRef = referralRef
            self.referralSource = referralSource
            self.optin = optin
            self.text = text
        }

        /// Whether any condition is set.
        public var isEmpty: Bool {
            postback == nil && quickReply == nil && referralRef == nil && referralSource == nil
                && optin == nil && text == nil
        }

        /// The config keys a `when` object may hold.
        public static var configKeys: [String] { CodingKeys.allCases.map(\.rawValue) }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case postback
            case quickReply = "quick_reply"
            case referralRef = "referral_ref"
            case referralSource = "referral_source"
            case optin, text
        }
    }

    /// Shown in the journal, the feed and `inspect`.
    public var name: String
    public var when: Conditions
    /// The CAPI `event_name`: a standard name (Lead, Schedule, Purchase…) or a custom one.
    public var event: String
    /// `custom_data.value`; a payload parameter `value=` overrides it.
    public var value: Double?
    /// ISO 4217 code for `custom_data.currency`; a payload parameter `currency=` overrides it.
    public var currency: String?
    /// Extra `custom_data` members, merged under value and currency.
    public var customData: [String: JSONValue]?

    public init(
        name: String, when: Conditions, event: String, value: Double? = nil,
        currency: String? = nil, customData: [String: JSONValue]? = nil
    ) {
        self.name = name
        self.when = when
        self.event = event
        self.value = value
        self.currency = currency
        self.customData = customData
    }

    /// The config keys a rule object may hold.
    public static var configKeys: [String] { CodingKeys.allCases.map(\.rawValue) }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, when, event, value, currency
        case customData = "custom_data"
    }
}
