import RelayCore

/// One server event as the relay understood it, before the journal decides whether it is new.
///
/// Customer values are already normalized and hashed here (or dropped with a reason): nothing
/// after the parser sees a raw email or phone number.
public struct ServerEvent: Sendable, Equatable {
    public var eventName: String
    /// Unix seconds.
    public var eventTime: Int64
    /// The id the sender gave; nil when the relay must mint one.
    public var eventID: String?
    public var actionSource: String
    /// `messenger`, `whatsapp` or `instagram`; only for `business_messaging`.
    public var messagingChannel: String?
    public var eventSourceURL: String?
    /// The dataset the sender named (canonical events only; the CAPI path has it in the URL).
    public var dataset: String?
    /// The Messenger person, when the event names one: the key of their contact profile.
    public var pageID: String
    public var pageScopedUserID: String
    /// Hashed customer information by CAPI key (64 lowercase hex digits each; `external_id`
    /// as the config says).
    public var hashed: [String: [String]]
    /// Keys Meta reads unhashed: `client_ip_address`, `client_user_agent`, `fbc`, `fbp`.
    public var unhashed: [String: String]
    /// Values left out, with why; never the values.
    public var invalidDropped: [InvalidValue]
    public var customData: [String: JSONValue]
    /// The consent the sender reports for this person, if any.
    public var consent: ConsentState?
    /// CAPI's `opt_out`: use the event for attribution only.
    public var optOut: Bool

    /// Whether the event names its person by an identifier the `identity` dedupe rule can
    /// compare: a page-scoped user id, a hashed email or phone, or an external_id.
    public var hasIdentity: Bool {
        !pageScopedUserID.isEmpty || hashed["em"] != nil || hashed["ph"] != nil
            || hashed["external_id"] != nil
    }
}

/// Why one event was refused: the field and what was expected. Never quotes customer values.
public struct EventProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public var field: String
    public var message: String

    public init(_ field: String, _ message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "\(field): \(message)" }
}

/// Validates and normalizes server events, strictly: an unknown key is an error rather than
/// something silently ignored, because a mistyped `event_id` would otherwise become an
/// unmatched duplicate.
///
/// Two flavors share the rules: canonical events (`POST /v1/events`), which may also carry
/// `dataset`, `consent` and the browser fields at the top level; and Conversions API events
/// (`POST /{version}/{dataset}/events`), in exactly Meta's shape.
public struct ServerEventParser: Sendable {
    public enum Flavor: Sendable {
        case canonical
        case capi
    }

    /// The nine `action_source` values Meta documents.
    public static let actionSources = [
        "email", "website", "app", "phone_call", "chat", "physical_store", "system_generated",
        "business_messaging", "other",
    ]
    public static let messagingChannels = ["messenger", "whatsapp", "instagram"]
    /// Meta refuses events older than this (seconds).
    public static let maxAgeSeconds: Int64 = 7 * 24 * 3600
    /// Clock skew tolerated for an event_time ahead of the relay's clock (seconds).
    public static let allowedSkewSeconds: Int64 = 300

    static let browserKeys = ["client_ip_address", "client_user_agent", "fbc", "fbp"]
    static let commonKeys: Set<String> = [
        "event_name", "event_time", "event_id", "action_source", "messaging_channel",
        "event_source_url", "user_data", "custom_data", "opt_out",
    ]
    /// CAPI keys the relay accepts and leaves to its own policy (LDU is the config's to set).
    static let capiOnlyKeys: Set<String> = [
        "referrer_url", "data_processing_options", "data_processing_options_country",
        "data_processing_options_state",
    ]
    static let canonicalOnlyKeys: Set<String> = Set(
        ["dataset", "consent"] + ServerEventParser.browserKeys)

    public var normalizer: Normalizer
    public var flavor: Flavor

    public init(normalizer: Normalizer, flavor: Flavor) {
        self.normalizer = normalizer
        self.flavor = flavor
    }

    /// One event, or the first problem found in it.
    public func parse(_ value: JSONValue, nowSeconds: Int64) -> Result<ServerEvent, EventProblem> {
        do {
            return .success(try parseEvent(value, nowSeconds: nowSeconds))
        } catch {
            return .failure(error)
        }
    }

    private func parseEvent(_ value: JSONValue, nowSeconds: Int64) throws(EventProblem)
        -> ServerEvent
    {
        guard let fields = value.objectValue else {
            throw EventProblem("event", "expected a JSON object, got \(value.kindDescription)")
        }
        let allowed = Self.commonKeys.union(
            flavor == .canonical ? Self.canonicalOnlyKeys : Self.capiOnlyKeys)
        if let unknown = fields.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw EventProblem(
                unknown, "unknown key; expected one of \(allowed.sorted().joined(separator: ", "))")
        }

        // The event's identity: name, time, id and where it happened.
        let eventName = try Self.string(fields["event_name"], "event_name", required: true)!
        guard eventName.utf8.count <= 100, eventName.unicodeScalars.allSatisfy({ $0.value >= 0x20 })
        else {
            throw EventProblem("event_name", "expected at most 100 printable characters")
        }
        let eventTime = try Self.eventTime(fields["event_time"], nowSeconds: nowSeconds)
        let eventID = try Self.string(fields["event_id"], "event_id", required: false)
        if let eventID, !EventID.isValidSupplied(eventID) {
            throw EventProblem(
                "event_id", "expected 1 to 200 printable ASCII characters without spaces")
        }
        let actionSource = try Self.string(
            fields["action_source"], "action_source", required: true)!
        guard Self.actionSources.contains(actionSource) else {
            throw EventProblem(
                "action_source",
                "'\(actionSource.prefix(40))' is not one of "
                    + Self.actionSources.joined(separator: ", "))
        }
        let url = try Self.string(fields["event_source_url"], "event_source_url", required: false)
        if let url, !(url.hasPrefix("https://") || url.hasPrefix("http://")) {
            throw EventProblem("event_source_url", "expected an http or https URL")
        }

        var event = ServerEvent(
            eventName: eventName, eventTime: eventTime, eventID: eventID,
            actionSource: actionSource, messagingChannel: nil, eventSourceURL: url, dataset: nil,
            pageID: "", pageScopedUserID: "", hashed: [:], unhashed: [:], invalidDropped: [],
            customData: [:], consent: nil, optOut: false)

        // Customer information: the user_data object, plus the canonical top-level browser
        // fields.
        var userData: [String: JSONValue] = [:]
        if let value = fields["user_data"] {
            guard let object = value.objectValue else {
                throw EventProblem("user_data", "expected an object, got \(value.kindDescription)")
            }
            userData = object
        } else if flavor == .capi {
            throw EventProblem("user_data", "is required")
        }
        for key in Self.browserKeys {
            if let value = fields[key] { userData[key] = userData[key] ?? value }
        }
        try readUserData(userData, into: &event)

        try readDelivery(fields, into: &event)
        if let value = fields["custom_data"] {
            event.customData = try Self.customData(value, eventName: eventName)
        } else if eventName == "Purchase" {
            throw EventProblem("custom_data", "a Purchase needs value and currency")
        }
        if let value = fields["consent"] {
            event.consent = try Self.consent(value)
        }

        guard event.hasIdentity || !event.unhashed.isEmpty else {
            let dropped = event.invalidDropped.map(\.field)
            throw EventProblem(
                "user_data",
                "no usable customer information"
                    + (dropped.isEmpty
                        ? "; send at least one of em, ph, external_id, fbp, client_ip_address"
                        : " (dropped as invalid: \(dropped.joined(separator: ", ")))"))
        }
        return event
    }

    /// Dataset, channel, opt-out, and the requirements of the action source.
    private func readDelivery(_ fields: [String: JSONValue], into event: inout ServerEvent)
        throws(EventProblem)
    {
        if let dataset = try Self.string(fields["dataset"], "dataset", required: false) {
            guard !dataset.isEmpty, dataset.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                throw EventProblem("dataset", "expected a numeric dataset (pixel) id")
            }
            event.dataset = dataset
        }
        if let value = fields["opt_out"] {
            guard let optOut = value.boolValue else {
                throw EventProblem("opt_out", "expected true or false")
            }
            event.optOut = optOut
        }
        let channel = try Self.string(
            fields["messaging_channel"], "messaging_channel", required: false)
        switch event.actionSource {
        case "business_messaging":
            let channel = channel ?? (flavor == .canonical ? "messenger" : nil)
            guard let channel, Self.messagingChannels.contains(channel) else {
                throw EventProblem(
                    "messaging_channel",
                    "business_messaging needs one of "
                        + Self.messagingChannels.joined(separator: ", "))
            }
            guard !event.pageID.isEmpty, !event.pageScopedUserID.isEmpty else {
                throw EventProblem(
                    "user_data",
                    "business_messaging events need page_id and page_scoped_user_id")
            }
            event.messagingChannel = channel
        case "website":
            guard event.eventSourceURL != nil else {
                throw EventProblem("event_source_url", "website events need the page URL")
            }
            guard event.unhashed["client_user_agent"] != nil else {
                throw EventProblem(
                    "client_user_agent", "website events need the browser's user agent")
            }
        default:
            if channel != nil {
                throw EventProblem(
                    "messaging_channel", "only business_messaging events take a channel")
            }
        }
    }

    /// Normalizes and hashes what must be hashed, keeps what Meta reads as it is, and drops
    /// what cannot be used, with the reason.
    private func readUserData(_ userData: [String: JSONValue], into event: inout ServerEvent)
        throws(EventProblem)
    {
        for key in userData.keys.sorted() {
            let value = userData[key]!
            if value == .null { continue }
            let path = Self.browserKeys.contains(key) ? key : "user_data.\(key)"
            if let field = CustomerField(key: key) {
                let raws: [String]
                switch value {
                case .string(let text): raws = [text]
                case .array(let elements):
                    raws = try elements.map { element throws(EventProblem) in
                        guard let text = element.stringValue else {
                            throw EventProblem(
                                path, "expected strings, got \(element.kindDescription)")
                        }
                        return text
                    }
                default:
                    throw EventProblem(
                        path,
                        "expected a string or an array of strings, got \(value.kindDescription)")
                }
                for raw in raws {
                    switch normalizer.wireValue(field, raw) {
                    case .success(let wire):
                        if !(event.hashed[key] ?? []).contains(wire) {
                            event.hashed[key, default: []].append(wire)
                        }
                    case .failure(let reason):
                        event.invalidDropped.append(
                            InvalidValue(field: key, reason: reason.code.rawValue))
                    }
                }
                continue
            }
            guard let text = value.stringValue else {
                throw EventProblem(path, "expected a string, got \(value.kindDescription)")
            }
            switch key {
            case "page_id", "page_scoped_user_id":
                guard !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                    throw EventProblem(path, "expected the id as a string of digits")
                }
                if key == "page_id" { event.pageID = text } else { event.pageScopedUserID = text }
            case "client_ip_address":
                if Self.isIPAddress(text) {
                    event.unhashed[key] = text
                } else {
                    event.invalidDropped.append(
                        InvalidValue(field: key, reason: "invalid_ip_address"))
                }
            case "client_user_agent":
                if text.isEmpty {
                    event.invalidDropped.append(InvalidValue(field: key, reason: "empty"))
                } else {
                    event.unhashed[key] = text
                }
            case "fbc", "fbp":
                if Self.isClickID(text) {
                    event.unhashed[key] = text
                } else {
                    event.invalidDropped.append(InvalidValue(field: key, reason: "invalid_\(key)"))
                }
            default:
                throw EventProblem(
                    path,
                    "unknown or unsupported key; the relay takes em, ph, fn, ln, ge, db, ct, st,"
                        + " zp, country, external_id, client_ip_address, client_user_agent, fbc,"
                        + " fbp, page_id, page_scoped_user_id")
            }
        }
    }

    private static func string(_ value: JSONValue?, _ field: String, required: Bool)
        throws(EventProblem) -> String?
    {
        guard let value, value != .null else {
            if required { throw EventProblem(field, "is required") }
            return nil
        }
        guard let text = value.stringValue, !text.isEmpty else {
            throw EventProblem(field, "expected a non-empty string, got \(value.kindDescription)")
        }
        return text
    }

    private static func eventTime(_ value: JSONValue?, nowSeconds: Int64) throws(EventProblem)
        -> Int64
    {
        guard let value else { throw EventProblem("event_time", "is required (Unix seconds)") }
        guard let time = value.integerValue else {
            throw EventProblem(
                "event_time", "expected integer Unix seconds, got \(value.kindDescription)")
        }
        if time > 100_000_000_000 {
            throw EventProblem("event_time", "\(time) looks like milliseconds; send seconds")
        }
        if time < nowSeconds - maxAgeSeconds {
            throw EventProblem(
                "event_time", "\(time) is more than 7 days ago; Meta refuses such events")
        }
        if time > nowSeconds + allowedSkewSeconds {
            throw EventProblem("event_time", "\(time) is in the future (relay time \(nowSeconds))")
        }
        return time
    }

    private static func customData(_ value: JSONValue, eventName: String) throws(EventProblem)
        -> [String: JSONValue]
    {
        guard var object = value.objectValue else {
            throw EventProblem("custom_data", "expected an object, got \(value.kindDescription)")
        }
        if let amount = object["value"], amount.numberValue == nil {
            throw EventProblem("custom_data.value", "expected a number")
        }
        if let currency = object["currency"] {
            guard let code = currency.stringValue, code.count == 3,
                code.allSatisfy({ $0.isASCII && $0.isLetter })
            else {
                throw EventProblem("custom_data.currency", "expected a 3-letter ISO 4217 code")
            }
            object["currency"] = .string(code.uppercased())
        }
        if eventName == "Purchase" && (object["value"] == nil || object["currency"] == nil) {
            throw EventProblem("custom_data", "a Purchase needs value and currency")
        }
        return object
    }

    /// `granted`, `opted_out` (or `denied`) and `unknown`.
    static func consent(_ value: JSONValue) throws(EventProblem) -> ConsentState {
        switch value.stringValue {
        case "granted": return .granted
        case "opted_out", "denied": return .optedOut
        case "unknown": return .unknown
        default:
            throw EventProblem("consent", "expected granted, opted_out or unknown")
        }
    }

    /// A dotted IPv4 or a colon-separated IPv6 address, without spaces.
    static func isIPAddress(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        if parts.count == 4 {
            return parts.allSatisfy { part in
                !part.isEmpty && part.count <= 3 && part.allSatisfy(\.isNumber)
                    && Int(part).map { $0 <= 255 } == true
            }
        }
        return text.contains(":") && text.count <= 45
            && text.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." }
    }

    /// `fb.{subdomain index}.{creation time}.{id}` as Meta documents `fbc` and `fbp`.
    static func isClickID(_ text: String) -> Bool {
        let parts = text.split(separator: ".", maxSplits: 3, omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "fb" && parts[1].allSatisfy(\.isNumber)
            && !parts[2].isEmpty && parts[2].allSatisfy(\.isNumber) && !parts[3].isEmpty
            && !text.contains(" ")
    }
}
