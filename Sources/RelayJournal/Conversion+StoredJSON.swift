import RelayCore

/// The conversion as a journal row keeps it: the JSON its `Codable` conformance reads back,
/// written through `JSONValue` instead of Foundation's `JSONEncoder`.
///
/// Every webhook's conversion is written on the journal's writer thread, the one thread every
/// acknowledgement waits for, and `JSONEncoder` cost about a sixth of that thread's work per
/// append (callgrind on `capi-relay-bench journal`). The keys are the property names, as
/// the synthesized `Codable` conformance writes them, and an absent optional is left out, as
/// `encodeIfPresent` leaves it: `StoredJSONTests` holds the two to the same JSON.
extension Conversion {
    var storedJSON: String {
        var members: [String: JSONValue] = [
            "eventID": .string(eventID),
            "eventIDSupplied": .bool(eventIDSupplied),
            "eventName": .string(eventName),
            "dataset": .string(dataset),
            "pageID": .string(pageID),
            "pageScopedUserID": .string(pageScopedUserID),
            "eventTime": .integer(eventTime),
            "channel": .string(channel),
            "customData": .object(customData),
            "rule": .string(rule),
        ]
        members["referral"] = referral?.storedJSONValue
        members["userData"] = userData.map { userData in
            .object(userData.mapValues { .array($0.map(JSONValue.string)) })
        }
        members["optOut"] = optOut.map(JSONValue.bool)
        members["limitedDataUse"] = limitedDataUse.map { ldu in
            var object: [String: JSONValue] = ["options": .array(ldu.options.map(JSONValue.string))]
            object["country"] = ldu.country.map { .integer(Int64($0)) }
            object["state"] = ldu.state.map { .integer(Int64($0)) }
            return .object(object)
        }
        members["actionSource"] = actionSource.map(JSONValue.string)
        members["eventSourceURL"] = eventSourceURL.map(JSONValue.string)
        members["unhashedUserData"] = unhashedUserData.map {
            .object($0.mapValues(JSONValue.string))
        }
        members["consent"] = consent.map { .string($0.rawValue) }
        members["consentSource"] = consentSource.map(JSONValue.string)
        members["invalidDropped"] = invalidDropped.map(InvalidValue.storedJSONValue)
        members["source"] = source.map(JSONValue.string)
        members["testEventCode"] = testEventCode.map(JSONValue.string)
        return JSONValue.object(members).serializedString
    }
}

extension Referral {
    /// As `Codable` writes it: the present fields under their coding keys (Meta's names).
    var storedJSONValue: JSONValue {
        var object: [String: JSONValue] = [:]
        object["ref"] = ref.map(JSONValue.string)
        object["source"] = source.map(JSONValue.string)
        object["type"] = type.map(JSONValue.string)
        object["ad_id"] = adID.map(JSONValue.string)
        object["ad_title"] = adTitle.map(JSONValue.string)
        object["post_id"] = postID.map(JSONValue.string)
        return .object(object)
    }
}

extension InvalidValue {
    /// A list of dropped values as `Codable` writes it: field and reason, never the value.
    static func storedJSONValue(_ values: [InvalidValue]) -> JSONValue {
        .array(values.map { .object(["field": .string($0.field), "reason": .string($0.reason)]) })
    }
}
