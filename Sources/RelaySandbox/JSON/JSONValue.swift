/// A parsed JSON value that keeps the distinctions Meta's validation depends on.
///
/// Foundation's `JSONSerialization` hands back `NSNumber` for `true`, `1` and `1.0` alike, and on
/// Linux `1 as Any is Bool` is even true. Meta rejects `"event_time": 1.7e9` and `"opt_out": 1`,
/// so the sandbox converts parsed JSON into this enum once (see `JSONValue+Foundation.swift`) and
/// every rule matches on an unambiguous case.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    /// A number written without a fraction or exponent that fits in 64 bits.
    case integer(Int64)
    /// Any other number: one with a fraction or exponent (`1.0`, `1e3`), or too large for Int64.
    case float(Double)
    case string(String)
    case array([JSONValue])
    /// Key order is not kept: JSON objects are unordered, and the record file sorts keys.
    case object([String: JSONValue])
}

extension JSONValue {
    /// The member of an object, or nil when this is not an object or the key is absent.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members[key]
    }

    /// The element of an array, or nil when this is not an array or the index is out of range.
    public subscript(index: Int) -> JSONValue? {
        guard case .array(let elements) = self, elements.indices.contains(index) else { return nil }
        return elements[index]
    }

    public var stringValue: String? {
        if case .string(let value) = self { value } else { nil }
    }

    public var boolValue: Bool? {
        if case .bool(let value) = self { value } else { nil }
    }

    public var integerValue: Int64? {
        if case .integer(let value) = self { value } else { nil }
    }

    /// The value of either kind of number; nil for booleans, which are not numbers in JSON.
    public var numberValue: Double? {
        switch self {
        case .integer(let value): Double(value)
        case .float(let value): value
        default: nil
        }
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { value } else { nil }
    }

    public var objectValue: [String: JSONValue]? {
        if case .object(let value) = self { value } else { nil }
    }

    /// "a string", "an integer", …: the JSON kind, for error messages that say what was sent.
    public var kindDescription: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .integer: "an integer"
        case .float: "a non-integer number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// A copy with every object member named in `keys` removed, at any depth.
    ///
    /// The recorder uses it so that an access token or appsecret_proof pasted into a body never
    /// reaches the record file.
    public func removingMembers(named keys: Set<String>) -> JSONValue {
        switch self {
        case .array(let elements):
            return .array(elements.map { $0.removingMembers(named: keys) })
        case .object(let members):
            var kept: [String: JSONValue] = [:]
            for (key, value) in members where !keys.contains(key) {
                kept[key] = value.removingMembers(named: keys)
            }
            return .object(kept)
        default:
            return self
        }
    }
}

// Literals keep test fixtures and response bodies readable.
extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral, ExpressibleByStringLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(floatLiteral value: Double) { self = .float(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }

    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}
