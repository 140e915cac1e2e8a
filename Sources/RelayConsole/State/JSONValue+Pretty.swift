import RelayCore

extension JSONValue {
    /// The value as indented JSON, two spaces per level and keys sorted, split into lines.
    ///
    /// Sorted keys make the inspect view stable between runs, so an operator comparing two
    /// events sees the same member on the same line.
    func prettyLines() -> [String] {
        var lines: [String] = []
        appendPretty(to: &lines, indent: "", prefix: "", suffix: "")
        return lines
    }

    private func appendPretty(
        to lines: inout [String], indent: String, prefix: String, suffix: String
    ) {
        let inner = indent + "  "
        switch self {
        case .array(let elements) where !elements.isEmpty:
            lines.append(indent + prefix + "[")
            for (index, element) in elements.enumerated() {
                let comma = index == elements.count - 1 ? "" : ","
                element.appendPretty(to: &lines, indent: inner, prefix: "", suffix: comma)
            }
            lines.append(indent + "]" + suffix)
        case .object(let members) where !members.isEmpty:
            lines.append(indent + prefix + "{")
            let keys = members.keys.sorted()
            for (index, key) in keys.enumerated() {
                let comma = index == keys.count - 1 ? "" : ","
                members[key]!.appendPretty(
                    to: &lines, indent: inner,
                    prefix: JSONValue.string(key).serializedString + ": ",
                    suffix: comma)
            }
            lines.append(indent + "}" + suffix)
        default:
            lines.append(indent + prefix + serializedString + suffix)
        }
    }
}
