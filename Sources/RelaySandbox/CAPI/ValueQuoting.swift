import RelayCore
/// Quoting of offending values in error messages.
///
/// Messages quote what was sent so that a reader can find it in their payload, but only for
/// fields that carry no customer information; user_data values are described by shape instead
/// (see `CAPIRequestValidator+UserData.swift`). Long values are cut so that one bad field
/// cannot blow up a response or a record line.

/// A string in double quotes, with quotes, backslashes and control characters escaped, cut
/// after 60 characters.
func quoted(_ text: String) -> String {
    let limit = 60
    var out = "\""
    for (offset, character) in text.enumerated() {
        if offset == limit {
            out += "…"
            break
        }
        switch character {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if character.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7f }) {
                out.append(character)
            } else {
                out += "?"
            }
        }
    }
    return out + "\""
}

/// "the string "abc"", "the integer 12", "the array […]": kind and content, for messages.
func describe(_ value: JSONValue) -> String {
    switch value {
    case .string(let text): "the string \(quoted(text))"
    case .integer(let number): "the integer \(number)"
    case .float(let number): "the number \(number)"
    case .bool(let flag): "the boolean \(flag)"
    case .null: "null"
    case .array: "an array"
    case .object: "an object"
    }
}
