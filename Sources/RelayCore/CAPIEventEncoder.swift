/// Builds the exact JSON the relay sends to the Conversions API and to the CRM.
///
/// Both are built from the stored conversion at send time, never kept as separate copies, so
/// what `inspect` shows and what was sent cannot drift apart.
public enum CAPIEventEncoder {
    /// One event: Meta's business-messaging shape for Messenger conversions, or the shape of the
    /// source's `action_source` (website, chat, system_generated, …) for the others.
    ///
    /// `page_id` and `page_scoped_user_id` go unhashed: Meta documents them as never hashed.
    /// The thread's first referral travels as custom properties, because a business-messaging
    /// event has no field of its own for the ad that opened the thread.
    public static func event(_ conversion: Conversion) -> JSONValue {
        var customData = conversion.customData
        if let referral = conversion.referral {
            if let adID = referral.adID { customData["ad_id"] = .string(adID) }
            if let ref = referral.ref { customData["referral_ref"] = .string(ref) }
            if let source = referral.source { customData["referral_source"] = .string(source) }
        }

        let actionSource = conversion.actionSource ?? "business_messaging"
        var event: [String: JSONValue] = [
            "event_name": .string(conversion.eventName),
            "event_time": .integer(conversion.eventTime),
            "event_id": .string(conversion.eventID),
            "action_source": .string(actionSource),
            "user_data": .object(userData(conversion)),
        ]
        if actionSource == "business_messaging" {
            event["messaging_channel"] = .string(conversion.channel)
        }
        if let url = conversion.eventSourceURL { event["event_source_url"] = .string(url) }
        if conversion.optOut == true { event["opt_out"] = true }
        if let ldu = conversion.limitedDataUse {
            event["data_processing_options"] = .array(ldu.options.map(JSONValue.string))
            if let country = ldu.country {
                event["data_processing_options_country"] = .integer(Int64(country))
            }
            if let state = ldu.state {
                event["data_processing_options_state"] = .integer(Int64(state))
            }
        }
        if !customData.isEmpty {
            event["custom_data"] = .object(customData)
        }
        return .object(event)
    }

    /// The event's `user_data`: the page and page-scoped user unhashed, the values Meta takes
    /// as they are (fbc, fbp, client address and agent), and the hashes.
    public static func userData(_ conversion: Conversion) -> [String: JSONValue] {
        var userData: [String: JSONValue] = [:]
        if !conversion.pageID.isEmpty { userData["page_id"] = .string(conversion.pageID) }
        if !conversion.pageScopedUserID.isEmpty {
            userData["page_scoped_user_id"] = .string(conversion.pageScopedUserID)
        }
        for (key, value) in conversion.unhashedUserData ?? [:] {
            userData[key] = .string(value)
        }
        for (key, hashes) in conversion.userData ?? [:] where !hashes.isEmpty {
            userData[key] = .array(hashes.map(JSONValue.string))
        }
        return userData
    }

    /// The request body for one batch: `{"data": [...]}` plus the request-level fields.
    public static func batch(
        _ conversions: [Conversion], testEventCode: String?, partnerAgent: String?
    ) -> JSONValue {
        var body: [String: JSONValue] = ["data": .array(conversions.map(event))]
        if let testEventCode { body["test_event_code"] = .string(testEventCode) }
        if let partnerAgent { body["partner_agent"] = .string(partnerAgent) }
        return .object(body)
    }

    /// The JSON the CRM webhook receives for one conversion.
    ///
    /// It carries the same event_id as the CAPI event, so the CRM record and the pixel can both
    /// be matched to it later.
    public static func crmPayload(_ conversion: Conversion) -> JSONValue {
        var payload: [String: JSONValue] = [
            "event_id": .string(conversion.eventID),
            "event_name": .string(conversion.eventName),
            "event_time": .integer(conversion.eventTime),
            "dataset": .string(conversion.dataset),
            "rule": .string(conversion.rule),
            "custom_data": .object(conversion.customData),
        ]
        // A chat's channel and person only for conversions that happened in a chat: a website
        // event has neither, and an empty page id would look like a broken record.
        if !conversion.pageScopedUserID.isEmpty {
            payload["channel"] = .string(conversion.channel)
            payload["page_id"] = .string(conversion.pageID)
            payload["page_scoped_user_id"] = .string(conversion.pageScopedUserID)
        }
        if let actionSource = conversion.actionSource {
            payload["action_source"] = .string(actionSource)
        }
        if let referral = conversion.referral {
            var object: [String: JSONValue] = [:]
            if let ref = referral.ref { object["ref"] = .string(ref) }
            if let source = referral.source { object["source"] = .string(source) }
            if let adID = referral.adID { object["ad_id"] = .string(adID) }
            payload["referral"] = .object(object)
        }
        return .object(payload)
    }
}
