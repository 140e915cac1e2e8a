/// A developer-defined payload split into its name and parameters.
///
/// Bots often need to carry facts in a postback or quick reply: the order value, or an event id
/// minted before the conversion so that the landing page's pixel can share it. The convention is
/// `NAME|key=value|key=value`; rules match on `NAME`, and the parameters `value`, `currency` and
/// `event_id` feed the conversion.
public struct Payload: Sendable, Equatable {
    /// The part before the first `|`: what rules match.
    public var name: String
    /// The `key=value` parameters after it; later duplicates are ignored.
    public var parameters: [String: String]

    public init(_ raw: String) {
        let parts = raw.split(separator: "|", omittingEmptySubsequences: false)
        name = parts.first.map(String.init) ?? ""
        var parameters: [String: String] = [:]
        for part in parts.dropFirst() {
            guard let equals = part.firstIndex(of: "=") else { continue }
            let key = String(part[..<equals])
            if parameters[key] == nil {
                parameters[key] = String(part[part.index(after: equals)...])
            }
        }
        self.parameters = parameters
    }
}

/// Matches a pattern in which `*` stands for any run of characters, and nothing else is special.
///
/// Payloads are identifiers, not prose: a full regular expression would invite escaping
/// mistakes in config for no gain. Text rules use real regular expressions instead.
public func globMatches(_ pattern: String, _ value: String) -> Bool {
    let pieces = pattern.split(separator: "*", omittingEmptySubsequences: false).map(String.init)
    guard pieces.count > 1 else { return pattern == value }

    var rest = Substring(value)
    guard rest.hasPrefix(pieces[0]) else { return false }
    rest = rest.dropFirst(pieces[0].count)
    for piece in pieces.dropFirst().dropLast() where !piece.isEmpty {
        guard let found = rest.range(of: piece) else { return false }
        rest = rest[found.upperBound...]
    }
    return rest.hasSuffix(pieces[pieces.count - 1])
}
