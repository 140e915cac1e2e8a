import RelayCore
/// The rules for one server event (reference §1.2, §1.7, §2).
extension CAPIRequestValidator {
    /// The nine `action_source` values of the server-event reference, in its order.
    public static let actionSources = [
        "email", "website", "app", "phone_call", "chat", "physical_store", "system_generated",
        "business_messaging", "other",
    ]

    /// The `messaging_channel` values for `business_messaging` events.
    public static let messagingChannels = ["messenger", "whatsapp", "instagram"]

    func validateEvent(_ event: JSONValue, index: Int, now: Int64) throws(GraphError) {
        let fault = EventFault(index: index)
        guard case .object(let fields) = event else {
            throw fault.wrongType("data[\(index)]", expected: "an event object", got: event)
        }

        try checkEventName(fields["event_name"], fault)
        let actionSource = try checkActionSource(fields["action_source"], fault)
        try checkEventTime(fields["event_time"], actionSource: actionSource, now: now, fault)

        guard let userDataValue = fields["user_data"] else {
            throw fault.missing(
                "user_data", "every event needs customer information",
                fix: "Send user_data with at least one identifier, e.g. em or page_scoped_user_id."
            )
        }
        guard case .object(let userData) = userDataValue else {
            throw fault.wrongType("user_data", expected: "an object", got: userDataValue)
        }
        try validateUserData(userData, fault)

        // Channel-specific requirements, checked after user_data's own format so that a hashed
        // page_id is reported as hashed rather than as missing.
        switch actionSource {
        case "business_messaging":
            try checkBusinessMessaging(fields, userData: userData, fault)
        case "website":
            try checkWebsite(fields, userData: userData, fault)
        default:
            break
        }

        try checkOptionalFields(fields, fault)
        try checkDataProcessingOptions(fields, fault)
        try validateCustomData(fields["custom_data"], eventName: fields["event_name"], fault)
    }

    private func checkEventName(_ value: JSONValue?, _ fault: EventFault) throws(GraphError) {
        guard let value else {
            throw fault.missing(
                "event_name", "expected a non-empty string such as \"Purchase\"",
                fix: "Name the event: a standard event such as Purchase, or a custom name."
            )
        }
        guard case .string(let name) = value else {
            throw fault.wrongType("event_name", expected: "a non-empty string", got: value)
        }
        if name.trimmed(of: " \t\r\n").isEmpty {
            throw fault.invalid(
                "event_name", "expected a non-empty string, got \(quoted(name))",
                fix: "Name the event: a standard event such as Purchase, or a custom name."
            )
        }
    }

    private func checkActionSource(
        _ value: JSONValue?, _ fault: EventFault
    ) throws(GraphError) -> String {
        let allowed = Self.actionSources.joined(separator: ", ")
        guard let value else {
            throw fault.missing(
                "action_source", "expected one of \(allowed)",
                fix: "Say where the conversion happened; Messenger conversations use "
                    + "business_messaging."
            )
        }
        guard case .string(let source) = value, Self.actionSources.contains(source) else {
            throw fault.invalid(
                "action_source", "expected one of \(allowed), got \(describe(value))",
                fix: "Use one of the listed values, spelled in lowercase."
            )
        }
        return source
    }

    private func checkEventTime(
        _ value: JSONValue?, actionSource: String, now: Int64, _ fault: EventFault
    ) throws(GraphError) {
        let fix = "Send event_time as an integer Unix timestamp in seconds (UTC)."
        guard let value else {
            throw fault.missing("event_time", "expected integer Unix seconds", fix: fix)
        }
        guard case .integer(let time) = value else {
            throw fault.wrongType("event_time", expected: "integer Unix seconds", got: value)
        }

        let maxAge =
            actionSource == "physical_store" ? Self.maxPhysicalStoreEventAge : Self.maxEventAge
        if time < now - maxAge {
            throw fault.error(
                "timestamp too old", in: "event_time",
                "\(time) is \(Self.span(now - time)) before the server time \(now); events may be "
                    + "at most \(maxAge / 86_400) days old",
                title: "Event Timestamp Too Old",
                fix: "Send events soon after they happen; one that is more than "
                    + "\(maxAge / 86_400) days old can no longer be uploaded.",
                subcode: 2_804_003
            )
        }
        if time > now + Self.allowedClockSkew {
            // A 13-digit value is the classic mistake: milliseconds where seconds are expected.
            let hint = time > 100_000_000_000 ? "; it looks like milliseconds, send seconds" : ""
            throw fault.error(
                "timestamp in the future", in: "event_time",
                "\(time) is \(Self.span(time - now)) after the server time \(now); at most "
                    + "\(Self.allowedClockSkew) seconds of clock skew is allowed\(hint)",
                title: "Event Timestamp In The Future",
                fix: "Send the time the event happened, in Unix seconds, and check the clock."
            )
        }
    }

    private func checkBusinessMessaging(
        _ fields: [String: JSONValue], userData: [String: JSONValue], _ fault: EventFault
    ) throws(GraphError) {
        let allowed = Self.messagingChannels.joined(separator: ", ")
        guard let value = fields["messaging_channel"] else {
            throw fault.error(
                "Missing Messaging Channel Parameter", in: "messaging_channel",
                "action_source business_messaging needs messaging_channel, one of \(allowed)",
                title: "Missing Messaging Channel Parameter",
                fix: "Add \"messaging_channel\": \"messenger\" for Messenger conversations."
            )
        }
        guard case .string(let channel) = value, Self.messagingChannels.contains(channel) else {
            throw fault.error(
                "invalid value", in: "messaging_channel",
                "expected one of \(allowed), got \(describe(value))",
                title: "Invalid Messaging Channel Parameter",
                fix: "Use messenger, whatsapp or instagram, in lowercase."
            )
        }

        // WhatsApp and Instagram have their own identifiers (reference §2); the relay sends
        // only Messenger events, so only Messenger's are enforced.
        guard channel == "messenger" else { return }
        for key in ["page_id", "page_scoped_user_id"] where userData[key] == nil {
            throw fault.missing(
                "user_data.\(key)",
                "Messenger events need user_data.page_id and user_data.page_scoped_user_id, "
                    + "unhashed",
                fix: "Send the Page ID and the sender's page-scoped ID from the webhook, as "
                    + "received; never hash them."
            )
        }
    }

    private func checkWebsite(
        _ fields: [String: JSONValue], userData: [String: JSONValue], _ fault: EventFault
    ) throws(GraphError) {
        guard let urlValue = fields["event_source_url"] else {
            throw fault.missing(
                "event_source_url",
                "website events need the URL of the page the event "
                    + "happened on",
                fix: "Send event_source_url, e.g. https://example.com/checkout."
            )
        }
        guard case .string(let url) = urlValue else {
            throw fault.wrongType("event_source_url", expected: "a URL string", got: urlValue)
        }
        let lowered = url.lowercased()
        guard lowered.hasPrefix("http://") || lowered.hasPrefix("https://"), url.count > 8 else {
            throw fault.invalid(
                "event_source_url", "expected an http or https URL, got \(quoted(url))",
                fix: "Send the browser's full page URL."
            )
        }
        if userData["client_user_agent"] == nil {
            throw fault.missing(
                "user_data.client_user_agent",
                "website events need the browser's user agent",
                fix: "Send the User-Agent header of the browser that produced the event."
            )
        }
    }

    private func checkOptionalFields(
        _ fields: [String: JSONValue], _ fault: EventFault
    ) throws(GraphError) {
        if let value = fields["event_id"] {
            guard case .string(let id) = value, !id.isEmpty else {
                throw fault.wrongType("event_id", expected: "a non-empty string", got: value)
            }
        }
        if let value = fields["opt_out"], value.boolValue == nil {
            throw fault.wrongType("opt_out", expected: "a boolean (true or false)", got: value)
        }
        for key in ["event_source_url", "referrer_url"] {
            if let value = fields[key], value.stringValue == nil {
                throw fault.wrongType(key, expected: "a URL string", got: value)
            }
        }
    }

    private func checkDataProcessingOptions(
        _ fields: [String: JSONValue], _ fault: EventFault
    ) throws(GraphError) {
        // Country and state are typed whether or not LDU is set; they are required only with it.
        for key in ["data_processing_options_country", "data_processing_options_state"] {
            if let value = fields[key], value.integerValue == nil {
                throw fault.wrongType(key, expected: "an integer", got: value)
            }
        }
        guard let value = fields["data_processing_options"] else { return }
        guard case .array(let options) = value else {
            throw fault.wrongType(
                "data_processing_options", expected: "an array, [] or [\"LDU\"]", got: value
            )
        }
        for (position, option) in options.enumerated() where option.stringValue != "LDU" {
            throw fault.invalid(
                "data_processing_options[\(position)]",
                "the only allowed option is \"LDU\", got \(describe(option))",
                fix: "Send [\"LDU\"] for Limited Data Use, or [] for none."
            )
        }
        guard !options.isEmpty else { return }

        let fix =
            "With LDU, send data_processing_options_country and _state: 0 and 0 to let "
            + "Meta geolocate, or 1 and 1000 for California."
        if fields["data_processing_options_country"] == nil {
            throw fault.missing(
                "data_processing_options_country", "LDU needs a country (1 = USA, 0 = geolocate)",
                fix: fix
            )
        }
        if fields["data_processing_options_state"] == nil {
            throw fault.missing(
                "data_processing_options_state",
                "a country was set, so a state is needed too (1000 = California, 0 = geolocate)",
                fix: fix
            )
        }
    }

    /// "3 days 4 hours", "12 seconds": a duration in seconds, for messages.
    static func span(_ seconds: Int64) -> String {
        if seconds < 120 { return "\(seconds) seconds" }
        if seconds < 7_200 { return "\(seconds / 60) minutes" }
        if seconds < 172_800 { return "\(seconds / 3_600) hours" }
        return "\(seconds / 86_400) days \(seconds % 86_400 / 3_600) hours"
    }
}
