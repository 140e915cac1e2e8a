import RelayCore

extension JSONValue {
    /// A copy with the value at `path` replaced, or removed when `replacement` is nil; nil when
    /// the path does not lead anywhere or asks to remove an array element (which would
    /// renumber the ones after it).
    func replacing(_ path: ArraySlice<any CodingKey>, with replacement: JSONValue?) -> JSONValue? {
        guard let key = path.first else { return replacement }
        let rest = path.dropFirst()
        switch self {
        case .object(var members):
            if rest.isEmpty {
                members[key.stringValue] = replacement
            } else {
                guard let child = members[key.stringValue]?.replacing(rest, with: replacement)
                else { return nil }
                members[key.stringValue] = child
            }
            return .object(members)
        case .array(var elements):
            guard let index = key.intValue, elements.indices.contains(index) else { return nil }
            if rest.isEmpty {
                guard let replacement else { return nil }
                elements[index] = replacement
            } else {
                guard let child = elements[index].replacing(rest, with: replacement) else {
                    return nil
                }
                elements[index] = child
            }
            return .array(elements)
        default:
            return nil
        }
    }
}
