/// One typed value of an option, as parsed or as declared for its default.
public enum OptionValue: Equatable, Sendable, CustomStringConvertible {
    case string(String)
    case int(Int)
    case double(Double)

    /// The value as help shows it after `default:`.
    public var description: String {
        switch self {
        case .string(let text): text
        case .int(let number): String(number)
        case .double(let number): String(number)
        }
    }
}
