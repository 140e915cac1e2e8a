/// Where each key of a JSON5 document sits, and the first syntax error with its line and
/// column: what config errors need to name `file:line`.
///
/// Foundation's decoder reads the config; it reports neither the position of a key nor, in a
/// form we can rely on, that of a syntax error. This scanner reads the same JSON5 (comments,
/// trailing commas, unquoted keys, single quotes, hex numbers, Infinity and NaN, escaped line
/// breaks) and builds no values: only key paths (`capi.api_version`, `rules[2].when`) and
/// their positions. It errs on the lenient side, since Foundation has the last word on what
/// parses: where this scanner accepts text Foundation refuses, Foundation's message is shown.
struct JSON5Locator {
    struct Position: Sendable, Equatable, Comparable {
        /// From 1.
        var line: Int
        /// From 1, in Unicode scalars (a tab is one).
        var column: Int

        static func < (lhs: Position, rhs: Position) -> Bool {
            (lhs.line, lhs.column) < (rhs.line, rhs.column)
        }
    }

    struct SyntaxError: Error, Sendable, Equatable {
        var position: Position
        var message: String
    }

    /// A key given twice in one object; a JSON decoder keeps one of them without a word.
    struct Duplicate: Sendable, Equatable {
        var path: String
        var first: Position
        var again: Position
    }

    /// Key path → where its key starts (for an array element, where the element starts).
    private(set) var positions: [String: Position] = [:]
    private(set) var duplicates: [Duplicate] = []

    /// A locator that knows no position, for text only Foundation could read.
    init() {}

    private init(positions: [String: Position], duplicates: [Duplicate]) {
        self.positions = positions
        self.duplicates = duplicates
    }

    /// Scans a whole document.
    static func locate(_ text: [UInt8]) -> Result<JSON5Locator, SyntaxError> {
        var scanner = Scanner(bytes: text)
        do {
            try scanner.document()
            return .success(
                JSON5Locator(positions: scanner.positions, duplicates: scanner.duplicates))
        } catch {
            return .failure(error)
        }
    }

    /// The line of `path`, else of its nearest enclosing key that has one (a missing key is
    /// reported where its object is, a missing top-level key where the config's `{` is); nil
    /// for the document as a whole.
    func line(of path: String) -> Int? {
        guard !path.isEmpty else { return nil }
        var path = path
        while true {
            if let position = positions[path] { return position.line }
            if path.isEmpty { return nil }
            path = Self.parent(of: path)
        }
    }

    /// `rules[1].when` → `rules[1]` → `rules` → ``.
    static func parent(of path: String) -> String {
        guard let last = path.lastIndex(where: { $0 == "." || $0 == "[" }) else { return "" }
        return String(path[..<last])
    }
}

extension JSON5Locator {
    /// The scanning itself: a cursor over the bytes that keeps the line and column.
    private struct Scanner {
        let bytes: [UInt8]
        var index = 0
        var line = 1
        /// Byte index where the current line starts.
        var lineStart = 0
        var positions: [String: Position] = [:]
        var duplicates: [Duplicate] = []
        /// Nesting is bounded so that a hostile file cannot exhaust the stack.
        static let maxDepth = 200

        init(bytes: [UInt8]) {
            self.bytes = bytes
        }

        var position: Position {
            // Continuation bytes (10xxxxxx) do not start a scalar.
            let scalars = bytes[lineStart..<index].reduce(0) { $0 + ($1 & 0xC0 == 0x80 ? 0 : 1) }
            return Position(line: line, column: scalars + 1)
        }

        var current: UInt8? { index < bytes.count ? bytes[index] : nil }

        func fail(_ message: String, at position: Position? = nil) -> SyntaxError {
            SyntaxError(position: position ?? self.position, message: message)
        }

        /// What stands at the cursor, quoted for a message.
        var found: String {
            guard index < bytes.count else { return "the end of the file" }
            var end = index + 1
            while end < bytes.count, bytes[end] & 0xC0 == 0x80 { end += 1 }
            return "'" + String(decoding: bytes[index..<end], as: UTF8.self) + "'"
        }

        mutating func advance() {
            if bytes[index] == UInt8(ascii: "\n") {
                line += 1
                lineStart = index + 1
            }
            index += 1
        }

        mutating func document() throws(SyntaxError) {
            try skipTrivia()
            guard current != nil else {
                throw fail("the file is empty; a config is one JSON object, { … }")
            }
            // The top-level value's own line, where a missing top-level key is reported.
            positions[""] = position
            try value(path: "", depth: 0)
            try skipTrivia()
            if current != nil {
                throw fail("unexpected \(found) after the end of the config's top-level value")
            }
        }

        /// Whitespace (JSON5's, including no-break space, BOM and line separators) and comments.
        mutating func skipTrivia() throws(SyntaxError) {
            while let byte = current {
                switch byte {
                case 0x20, 0x09, 0x0A, 0x0D, 0x0B, 0x0C:
                    advance()
                case 0xC2 where index + 1 < bytes.count && bytes[index + 1] == 0xA0:
                    index += 2
                case 0xEF where bytes[index...].starts(with: [0xEF, 0xBB, 0xBF]):
                    index += 3
                case 0xE2
                where bytes[index...].starts(with: [0xE2, 0x80, 0xA8])
                    || bytes[index...].starts(with: [0xE2, 0x80, 0xA9]):
                    index += 3
                case UInt8(ascii: "/") where index + 1 < bytes.count:
                    let start = position
                    if bytes[index + 1] == UInt8(ascii: "/") {
                        while let next = current, next != UInt8(ascii: "\n") { advance() }
                    } else if bytes[index + 1] == UInt8(ascii: "*") {
                        index += 2
                        while true {
                            guard let next = current else {
                                throw fail("a /* comment is never closed with */", at: start)
                            }
                            if next == UInt8(ascii: "*"), index + 1 < bytes.count,
                                bytes[index + 1] == UInt8(ascii: "/")
                            {
                                index += 2
                                break
                            }
                            advance()
                        }
                    } else {
                        return
                    }
                default:
                    return
                }
            }
        }

        mutating func value(path: String, depth: Int) throws(SyntaxError) {
            guard depth < Self.maxDepth else {
                throw fail("nested more than \(Self.maxDepth) deep")
            }
            switch current {
            case UInt8(ascii: "{"): try object(path: path, depth: depth)
            case UInt8(ascii: "["): try array(path: path, depth: depth)
            case UInt8(ascii: "\""), UInt8(ascii: "'"): _ = try string()
            case let byte? where Self.isWordByte(byte): try literal()
            default:
                throw fail(
                    "expected a value (a string in quotes, a number, true, false, null, an object"
                        + " or an array), found \(found)")
            }
        }

        mutating func object(path: String, depth: Int) throws(SyntaxError) {
            let opened = position
            advance()
            var seen: [String: Position] = [:]
            while true {
                try skipTrivia()
                guard let byte = current else {
                    throw fail("the object opened here is never closed with }", at: opened)
                }
                if byte == UInt8(ascii: "}") {
                    advance()
                    return
                }

                let keyPosition = position
                let key: String
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                    key = try string()
                } else if Self.isIdentifierByte(byte) {
                    let start = index
                    while let next = current, Self.isIdentifierByte(next) { advance() }
                    key = String(decoding: bytes[start..<index], as: UTF8.self)
                } else {
                    throw fail(
                        "expected a key in quotes, or '}' to close the object; found \(found)")
                }
                let childPath = path.isEmpty ? key : "\(path).\(key)"
                if let first = seen[key] {
                    duplicates.append(Duplicate(path: childPath, first: first, again: keyPosition))
                } else {
                    seen[key] = keyPosition
                }
                // Under a repeated key the first occurrence keeps the positions.
                if positions[childPath] == nil { positions[childPath] = keyPosition }

                try skipTrivia()
                guard current == UInt8(ascii: ":") else {
                    throw fail("expected ':' after the key '\(key)', found \(found)")
                }
                advance()
                try skipTrivia()
                try value(path: childPath, depth: depth + 1)
                try skipTrivia()
                switch current {
                case UInt8(ascii: ","): advance()
                case UInt8(ascii: "}"): continue
                default:
                    throw fail(
                        "expected ',' or '}' after the value of '\(key)', found \(found)")
                }
            }
        }

        mutating func array(path: String, depth: Int) throws(SyntaxError) {
            let opened = position
            advance()
            var count = 0
            while true {
                try skipTrivia()
                guard let byte = current else {
                    throw fail("the array opened here is never closed with ]", at: opened)
                }
                if byte == UInt8(ascii: "]") {
                    advance()
                    return
                }
                let elementPath = "\(path)[\(count)]"
                if positions[elementPath] == nil { positions[elementPath] = position }
                try value(path: elementPath, depth: depth + 1)
                count += 1
                try skipTrivia()
                switch current {
                case UInt8(ascii: ","): advance()
                case UInt8(ascii: "]"): continue
                default:
                    throw fail("expected ',' or ']' after an element of the array, found \(found)")
                }
            }
        }

        /// A quoted string; returns its text with simple escapes resolved (enough for keys).
        mutating func string() throws(SyntaxError) -> String {
            let opened = position
            let quote = bytes[index]
            advance()
            var text: [UInt8] = []
            while true {
                guard let byte = current else {
                    throw fail("the string that starts here is never closed", at: opened)
                }
                if byte == quote {
                    advance()
                    return String(decoding: text, as: UTF8.self)
                }
                if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") {
                    throw fail(
                        "a line break inside a string; close the string on its line, or end"
                            + " the line with a backslash")
                }
                if byte == UInt8(ascii: "\\") {
                    advance()
                    guard let escaped = current else { continue }
                    // An escaped line break continues the string on the next line.
                    if escaped == UInt8(ascii: "\r"), index + 1 < bytes.count,
                        bytes[index + 1] == UInt8(ascii: "\n")
                    {
                        advance()
                    }
                    text.append(escaped)
                    advance()
                    continue
                }
                text.append(byte)
                advance()
            }
        }

        /// A number, true, false, null, Infinity or NaN.
        mutating func literal() throws(SyntaxError) {
            let start = position
            let from = index
            while let byte = current, Self.isWordByte(byte) { advance() }
            let word = String(decoding: bytes[from..<index], as: UTF8.self)
            guard Self.isLiteral(word) else {
                throw fail(
                    "'\(word)' is not a value: put text in quotes, or use a number, true, false"
                        + " or null", at: start)
            }
        }

        static func isLiteral(_ word: String) -> Bool {
            var body = Substring(word)
            if ["true", "false", "null"].contains(word) { return true }
            if body.first == "+" || body.first == "-" { body = body.dropFirst() }
            if body == "Infinity" || body == "NaN" { return true }
            if body.hasPrefix("0x") || body.hasPrefix("0X") {
                return body.count > 2 && body.dropFirst(2).allSatisfy(\.isHexDigit)
            }
            // digits, at most one point, an optional exponent; at least one digit.
            var mantissa = body
            if let e = body.firstIndex(where: { $0 == "e" || $0 == "E" }) {
                mantissa = body[..<e]
                var exponent = body[body.index(after: e)...]
                if exponent.first == "+" || exponent.first == "-" {
                    exponent = exponent.dropFirst()
                }
                guard !exponent.isEmpty, exponent.allSatisfy(\.isASCIIDigit) else { return false }
            }
            let points = mantissa.filter { $0 == "." }.count
            return points <= 1 && mantissa.contains(where: \.isASCIIDigit)
                && mantissa.allSatisfy { $0 == "." || $0.isASCIIDigit }
        }

        /// Letters, digits, `_`, `$` and anything beyond ASCII (JSON5 allows Unicode names).
        static func isIdentifierByte(_ byte: UInt8) -> Bool {
            byte >= 0x80 || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "$")
                || (byte >= 0x30 && byte <= 0x39)
                || ((byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A)
        }

        /// What a bare value may be made of: a number's characters, or a word.
        static func isWordByte(_ byte: UInt8) -> Bool {
            isIdentifierByte(byte) || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-")
                || byte == UInt8(ascii: ".")
        }
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
