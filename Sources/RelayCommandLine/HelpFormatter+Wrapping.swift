/// Filling words into lines no wider than the help width.
extension HelpFormatter {
    /// `words` joined by single spaces into lines of at most `width` columns: the first line
    /// starts with `firstPrefix`, later ones with `indent` spaces. A word wider than the room
    /// left gets a line of its own rather than being broken, since a broken option name or
    /// path could not be copied back into a command line.
    func wrap(_ words: [String], firstPrefix: String, indent: Int) -> [String] {
        var lines: [String] = []
        var line = firstPrefix
        var lineHasWord = false
        for word in words {
            let candidate = lineHasWord ? "\(line) \(word)" : line + word

            // A word that does not fit still stays when a new line would give it no more room.
            if candidate.count <= width || (!lineHasWord && line.count <= indent) {
                line = candidate
            } else {
                lines.append(line)
                line = pad(indent) + word
            }
            lineHasWord = true
        }
        lines.append(line)
        return lines.map(trimmingTrailingSpaces)
    }

    /// Text reflowed to the width, every line starting with `indent` spaces.
    func reflow(_ text: String, indent: Int) -> [String] {
        let words = text.split(whereSeparator: \.isWhitespace).map(String.init)
        return wrap(words, firstPrefix: pad(indent), indent: indent)
    }

    /// The blocks of a discussion: prose paragraphs reflowed, indented paragraphs (examples of
    /// command lines) kept as written because reflowing would run the example lines together.
    func paragraphs(of discussion: String) -> [[String]] {
        discussion.split(separator: "\n\n").map { paragraph in
            let lines = paragraph.split(separator: "\n", omittingEmptySubsequences: false)
            if lines.allSatisfy({ $0.hasPrefix(" ") }) {
                return lines.map { trimmingTrailingSpaces(String($0)) }
            }
            return reflow(String(paragraph), indent: 0)
        }
    }

    func pad(_ count: Int) -> String {
        String(repeating: " ", count: max(count, 0))
    }

    private func trimmingTrailingSpaces(_ line: String) -> String {
        var line = line
        while line.last == " " {
            line.removeLast()
        }
        return line
    }
}
