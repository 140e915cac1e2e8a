import RelayCore

/// The conversion as a journal row keeps it: the JSON its `Codable` conformance reads back,
/// written straight to bytes instead of through Foundation's `JSONEncoder`.
///
/// Every webhook's conversion is written on the journal's writer thread, the one thread every
/// acknowledgement waits for. `JSONEncoder` cost about a sixth of that thread's work per
/// append, and building a `JSONValue` tree to serialize (a dictionary per object, every key
/// hashed and then sorted) still an eighth (callgrind on `capi-relay-bench journal`). The keys
/// are the property names, as the synthesized `Codable` conformance writes them, in sorted
/// order, so the bytes are those `JSONValue` writes for the same object; an absent optional is
/// left out, as `encodeIfPresent` leaves it. `StoredJSONTests` holds all three to the same
/// JSON.
extension Conversion {
    var storedJSON: String {
        var object = StoredObjectWriter()
        object.add("actionSource", actionSource.map(JSONValue.string))
        object.add("channel", .string(channel))
        object.add("consent", consent.map { .string($0.rawValue) })
        object.add("consentSource", consentSource.map(JSONValue.string))
        object.add("customData", .object(customData))
        object.add("dataset", .string(dataset))
        object.add("eventID", .string(eventID))
        object.add("eventIDSupplied", .bool(eventIDSupplied))
        object.add("eventName", .string(eventName))
        object.add("eventSourceURL", eventSourceURL.map(JSONValue.string))
        object.add("eventTime", .integer(eventTime))
        object.add("invalidDropped", invalidDropped.map(InvalidValue.storedJSONValue))
        if let ldu = limitedDataUse {
            object.addObject("limitedDataUse") { members in
                members.add("country", ldu.country.map { .integer(Int64($0)) })
                members.add("options", .array(ldu.options.map(JSONValue.string)))
                members.add("state", ldu.state.map { .integer(Int64($0)) })
            }
        }
        object.add("optOut", optOut.map(JSONValue.bool))
        object.add("pageID", .string(pageID))
        object.add("pageScopedUserID", .string(pageScopedUserID))
        object.add("referral", referral?.storedJSONValue)
        object.add("rule", .string(rule))
        object.add("source", source.map(JSONValue.string))
        object.add("testEventCode", testEventCode.map(JSONValue.string))
        if let unhashedUserData {
            object.addObject("unhashedUserData") { members in
                for (key, value) in unhashedUserData.sorted(by: { $0.key < $1.key }) {
                    members.add(key, .string(value))
                }
            }
        }
        if let userData {
            object.addObject("userData") { members in
                for (key, hashes) in userData.sorted(by: { $0.key < $1.key }) {
                    members.add(key, .array(hashes.map(JSONValue.string)))
                }
            }
        }
        return String(decoding: object.finished(), as: UTF8.self)
    }
}

/// Writes one JSON object's members in the order given; the caller gives them sorted.
private struct StoredObjectWriter {
    private var bytes: [UInt8]
    private var isFirst = true

    init() {
        bytes = []
        bytes.reserveCapacity(1024)
        bytes.append(UInt8(ascii: "{"))
    }

    /// Continues in `buffer`, which is left empty until `finished()` gives it back, so that
    /// a nested object is written in place rather than into a copy.
    private init(continuing buffer: inout [UInt8]) {
        bytes = buffer
        buffer = []
        bytes.append(UInt8(ascii: "{"))
    }

    /// Writes `"key":value`, or nothing for an absent value.
    mutating func add(_ key: String, _ value: JSONValue?) {
        guard let value else { return }
        addKey(key)
        value.write(to: &bytes)
    }

    /// Writes `"key":{…}`, with the members `body` adds.
    mutating func addObject(_ key: String, _ body: (inout StoredObjectWriter) -> Void) {
        addKey(key)
        var members = StoredObjectWriter(continuing: &bytes)
        body(&members)
        bytes = members.finished()
    }

    consuming func finished() -> [UInt8] {
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }

    private mutating func addKey(_ key: String) {
        if !isFirst { bytes.append(UInt8(ascii: ",")) }
        isFirst = false
        JSONValue.writeString(key, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
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
