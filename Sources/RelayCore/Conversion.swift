/// A conversion as the mapper makes it: the event the relay will send, once, to CAPI and the CRM.
public struct Conversion: Sendable, Equatable, Codable {
    /// Shared by the pixel, CAPI and the CRM; with `dataset` and `eventName` the dedupe key.
    public var eventID: String
    /// Whether the source supplied `eventID` (it wins over a derived one).
    public var eventIDSupplied: Bool
    public var eventName: String
    /// The dataset (pixel) id the page maps to; the Graph API path component.
    public var dataset: String
    public var pageID: String
    public var pageScopedUserID: String
    /// Unix seconds: Meta wants seconds, Messenger sends milliseconds.
    public var eventTime: Int64
    public var channel: String
    public var customData: [String: JSONValue]
    /// The name of the rule that made it, for the feed and for `inspect`.
    public var rule: String
    /// The thread's first referral, filled in by the journal from the contact's thread record.
    public var referral: Referral?
    /// Hashed identifiers from the person's profile, as far as consent allows; set by the
    /// journal. Optional so that conversions journaled before profiles existed still decode.
    public var userData: [String: [String]]?
    /// True when the person opted out: Meta then uses the event for attribution only.
    public var optOut: Bool?
    public var limitedDataUse: LimitedDataUse?
    /// Meta's `action_source`; nil means `business_messaging`, the Messenger path's value, so
    /// that conversions journaled before other sources existed keep their meaning.
    public var actionSource: String?
    /// The page URL, for `website` events.
    public var eventSourceURL: String?
    /// `user_data` keys Meta reads unhashed (`client_ip_address`, `client_user_agent`, `fbc`,
    /// `fbp`), as the source sent them.
    public var unhashedUserData: [String: String]?
    /// The person's consent when the conversion was journaled, and where it came from
    /// (`messenger_optin`, `server_event`, `crm_echo`, `capi_ingest`, or `none`).
    public var consent: ConsentState?
    public var consentSource: String?
    /// Customer values left out because they could not be used: field names and reason codes,
    /// never the values.
    public var invalidDropped: [InvalidValue]?
    /// Which ingest path made it: `messenger`, `server_event`, `capi_ingest` or `crm_echo`.
    public var source: String?
    /// Sent as the request's `test_event_code` instead of the config's: a code the sender
    /// asked for, or the mark of a QA replay on a relay that accepts it. Never part of the
    /// dedupe key.
    public var testEventCode: String?

    public init(
        eventID: String, eventIDSupplied: Bool = false, eventName: String, dataset: String,
        pageID: String, pageScopedUserID: String, eventTime: Int64, channel: String = "messenger",
        customData: [String: JSONValue] = [:], rule: String, referral: Referral? = nil
    ) {
        self.eventID = eventID
        self.eventIDSupplied = eventIDSupplied
        self.eventName = eventName
        self.dataset = dataset
        self.pageID = pageID
        self.pageScopedUserID = pageScopedUserID
        self.eventTime = eventTime
        self.channel = channel
        self.customData = customData
        self.rule = rule
        self.referral = referral
    }
}

/// What the mapper decided for one signal.
public enum MappingOutcome: Sendable, Equatable {
    case conversion(Conversion)
    /// Not a conversion, with the reason recorded in the journal (every signal has one).
    case notConversion(reason: String)

    public var conversion: Conversion? {
        if case .conversion(let conversion) = self { return conversion }
        return nil
    }
}
