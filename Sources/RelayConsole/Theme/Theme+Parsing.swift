extension Theme {
    /// The colour names a theme file may use besides a palette number 0–255.
    static let colorNames: [String: Int] = [
        "black": 0, "red": 1, "green": 2, "yellow": 3, "blue": 4, "magenta": 5, "cyan": 6,
        "white": 7, "bright-black": 8, "gray": 8, "grey": 8, "bright-red": 9, "bright-green": 10,
        "bright-yellow": 11, "bright-blue": 12, "bright-magenta": 13, "bright-cyan": 14,
        "bright-white": 15,
    ]

    /// Parses a theme file.
    ///
    /// One role per line: `role = foreground background [attribute …]`, where a colour is a
    /// name (`green`, `bright-red`), a palette number 0–255 or `default`, and attributes are
    /// `bold dim reverse underline standout` (or `none`). `#` starts a comment. A bad line is
    /// reported and its role keeps the `fallback` theme's style, so one typo never leaves a role
    /// unreadable.
    ///
    /// - Parameters:
    ///   - text: The file's contents.
    ///   - name: The theme's name (the file name without `.theme`).
    ///   - path: Used in diagnostics.
    ///   - fallback: Supplies every role the file does not set validly.
    /// - Returns: The theme and one diagnostic per bad line.
    public static func parse(
        _ text: String, name: String, path: String, fallback: Theme = BuiltinThemes.standard
    ) -> (theme: Theme, diagnostics: [ThemeDiagnostic]) {
        var styles = fallback.styles
        var diagnostics: [ThemeDiagnostic] = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false)
            .enumerated()
        {
            let line =
                rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)
                .first.map(String.init) ?? ""
            let trimmed = line.trimmingWhitespace()
            guard !trimmed.isEmpty else { continue }
            switch parseLine(trimmed) {
            case .success(let (role, style)): styles[role] = style
            case .failure(let problem):
                diagnostics.append(
                    ThemeDiagnostic(path: path, line: index + 1, message: problem.message))
            }
        }
        return (Theme(name: name, styles: styles), diagnostics)
    }

    private struct Problem: Error {
        var message: String
    }

    private static func parseLine(_ line: String) -> Result<(ThemeRole, Style), Problem> {
        let sides = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        guard sides.count == 2 else {
            return .failure(
                Problem(
                    message: "expected 'role = foreground background [attributes]', got '\(line)'"))
        }
        let roleName = String(sides[0]).trimmingWhitespace()
        guard let role = ThemeRole(rawValue: roleName) else {
            let known = ThemeRole.allCases.map(\.rawValue).joined(separator: ", ")
            return .failure(Problem(message: "unknown role '\(roleName)'; roles are \(known)"))
        }
        let words = sides[1].split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard words.count >= 2 else {
            let given = String(sides[1]).trimmingWhitespace()
            return .failure(
                Problem(
                    message: "role '\(roleName)' needs a foreground and a background colour "
                        + "(use 'default' for the terminal's own), got '\(given)'"
                ))
        }
        guard let foreground = color(words[0]) else { return .failure(badColor(words[0])) }
        guard let background = color(words[1]) else { return .failure(badColor(words[1])) }
        var attributes: Set<Attribute> = []
        for word in words.dropFirst(2) where word != "none" {
            guard let attribute = Attribute(rawValue: word) else {
                let known = Attribute.allCases.map(\.rawValue).joined(separator: ", ")
                return .failure(
                    Problem(message: "unknown attribute '\(word)'; attributes are \(known) or none")
                )
            }
            attributes.insert(attribute)
        }
        return .success((role, Style(foreground, background, attributes)))
    }

    private static func color(_ word: String) -> Color? {
        if word == "default" { return .terminalDefault }
        if let number = Int(word), (0...255).contains(number) { return .index(number) }
        return colorNames[word].map(Color.index)
    }

    private static func badColor(_ word: String) -> Problem {
        Problem(
            message: "unknown colour '\(word)'; use default, a name such as green or "
                + "bright-red, or a palette number 0-255")
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" || first == "\r" {
            slice.removeFirst()
        }
        while let last = slice.last, last == " " || last == "\t" || last == "\r" {
            slice.removeLast()
        }
        return String(slice)
    }
}
