/// What the console draws: rows of cells, each a character in a theme role.
///
/// The renderer produces a `Screen`; the terminal layer copies it to curses. Tests compare
/// `text` with golden files, and look up roles where the meaning is the colour.
public struct Screen: Sendable, Equatable {
    public struct Cell: Sendable, Equatable {
        public var character: Character
        public var role: ThemeRole
    }

    public let width: Int
    public let height: Int
    public private(set) var rows: [[Cell]]

    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
        rows = Array(
            repeating: Array(repeating: Cell(character: " ", role: .text), count: width),
            count: height)
    }

    /// Writes `text` at a row and column, clipped to the screen; returns the column after it.
    ///
    /// Control characters in relay data (a message in an error) are shown as `?` so that they
    /// can never move the cursor or change the terminal's state. Text cut at the right edge
    /// ends in `…`, so that a clipped id or number never passes for a whole one.
    @discardableResult
    public mutating func put(_ text: String, row: Int, column: Int, role: ThemeRole) -> Int {
        guard rows.indices.contains(row) else { return column }
        var x = column
        for (offset, character) in text.enumerated() {
            guard x < width else {
                // Clipped where a space falls, the line would still pass for whole ("ext"
                // without its figure): what matters is whether anything visible was cut.
                let cut = text.dropFirst(offset)
                if cut.contains(where: { $0 != " " }) && width > 0 {
                    rows[row][width - 1] = Cell(character: "…", role: role)
                }
                break
            }
            if x >= 0 {
                let safe = character.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7f }
                rows[row][x] = Cell(character: safe ? "?" : character, role: role)
            }
            x += 1
        }
        return x
    }

    /// Sets the role of a whole row, keeping its characters: the selection bar, the header.
    public mutating func fill(row: Int, role: ThemeRole) {
        guard rows.indices.contains(row) else { return }
        for x in 0..<width { rows[row][x].role = role }
    }

    /// Each row as text, trailing spaces removed.
    public var lines: [String] {
        rows.map { row in
            var line = String(row.map(\.character))
            while line.last == " " { line.removeLast() }
            return line
        }
    }

    /// The whole screen as text, one line per row, for golden files.
    public var text: String { lines.joined(separator: "\n") + "\n" }
}
