import Foundation

/// Conversion between `JSONValue` and Foundation's `JSONSerialization`.
extension JSONValue {
    /// Why bytes could not be read as JSON, in `JSONSerialization`'s words.
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// Parses JSON text; top-level scalars ("fragments") are accepted.
    public init(parsing bytes: [UInt8]) throws(ParseError) {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(
                with: Data(bytes), options: [.fragmentsAllowed])
        } catch {
            let reason = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String
            throw ParseError(description: reason ?? "the data is not valid JSON")
        }
        self.init(foundation: object)
    }

    /// Parses JSON held in a string, such as a form field's value.
    public init(parsing text: String) throws(ParseError) {
        try self.init(parsing: Array(text.utf8))
    }

    /// Converts what `JSONSerialization` returns; anything it never produces becomes null.
    ///
    /// The containers are tried before `NSNumber`: casting a Swift dictionary or array to a
    /// class bridges it to an `NSDictionary` or `NSArray` first, whole, only to fail. Tried the
    /// other way round, that was half of the sandbox's CPU time.
    public init(foundation object: Any) {
        switch object {
        case let string as String:
            self = .string(string)
        case let dictionary as [String: Any]:
            self = .object(dictionary.mapValues(JSONValue.init(foundation:)))
        case let array as [Any]:
            self = .array(array.map(JSONValue.init(foundation:)))
        case let number as NSNumber:
            self = JSONValue(number: number)
        default:
            self = .null
        }
    }

    /// Classifies an NSNumber by how it was written in the JSON text.
    ///
    /// `as? Bool`, `as? Int` and `is Double` are all unreliable here (`1`, `1.0` and `true`
    /// each pass several of them), so the decision uses the concrete boolean class and the
    /// storage type: the parser stores numbers with a fraction or exponent as `d`, integers as
    /// `q`/`i`, integers above Int64.max as unsigned `Q`, and larger ones as NSDecimalNumber.
    ///
    /// Note the reverse direction is lossy: `JSONSerialization` writes the float `1.0` as `1`.
    private init(number: NSNumber) {
        if type(of: number) == JSONValue.booleanClass {
            self = .bool(number.boolValue)
            return
        }
        if number is NSDecimalNumber {
            // The parser falls back to decimals at the edges of Int64 (Int64.min is one).
            self = Int64(number.stringValue).map(JSONValue.integer) ?? .float(number.doubleValue)
            return
        }
        switch String(cString: number.objCType) {
        case "c", "s", "i", "l", "q", "C", "S", "I":
            self = .integer(number.int64Value)
        case "L", "Q":
            let unsigned = number.uint64Value
            self =
                unsigned <= UInt64(Int64.max) ? .integer(Int64(unsigned)) : .float(Double(unsigned))
        default:
            self = .float(number.doubleValue)
        }
    }

    private static let booleanClass: AnyClass = type(of: NSNumber(value: true))

    /// The Foundation object graph `JSONSerialization` can write.
    public var foundationObject: Any {
        switch self {
        case .null: NSNull()
        case .bool(let value): NSNumber(value: value)
        case .integer(let value): NSNumber(value: value)
        case .float(let value): NSNumber(value: value)
        case .string(let value): value
        case .array(let elements): elements.map(\.foundationObject)
        case .object(let members): members.mapValues(\.foundationObject)
        }
    }
}
