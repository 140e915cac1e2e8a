/// Generates a command's help from its declaration.
///
/// Layout: the abstract, the usage line, the discussion, then sections for arguments, options
/// and subcommands in two columns, all wrapped to `width`. Help is made only from declarations,
/// so a new option appears in help the moment it can be parsed.
struct HelpFormatter: Sendable {
    /// Columns of the terminal help is written for; 80 fits every terminal and man-page viewer.
    var width = 80

    /// Widest label that still shares its line with the description; a longer one gets a line
    /// to itself, so one long option does not push every description to the right.
    var widestInlineLabel = 24

    /// The help of `command`, reached through `names` (the root's name first, then every
    /// subcommand down to `command`). Lines carry no trailing spaces and the text does not end
    /// with a newline.
    func help(for command: CommandDeclaration, names: [String]) -> String {
        let isRoot = names.count == 1
        let fullName = names.joined(separator: " ")
        var blocks: [[String]] = []

        blocks.append(reflow(command.abstract, indent: 0))
        blocks.append(usage(of: command, fullName: fullName))
        if let discussion = command.discussion {
            blocks.append(contentsOf: paragraphs(of: discussion))
        }

        // One label column for all sections, so the page reads as a single table.
        let sections = sections(of: command, isRoot: isRoot)
        let labelWidth = min(
            sections.flatMap { $0.rows.map(\.label.count) }.max() ?? 0, widestInlineLabel)
        for section in sections where !section.rows.isEmpty {
            let rows = section.rows.flatMap { self.rows(for: $0, labelWidth: labelWidth) }
            blocks.append(["\(section.title):"] + rows)
        }

        if command.isGroup {
            let hint = "Run '\(fullName) <command> --help' for the options of a command."
            blocks.append(reflow(hint, indent: 0))
        }
        return blocks.map { $0.joined(separator: "\n") }.joined(separator: "\n\n")
    }

    /// The one-line synopsis, e.g. `Usage: capi-relay hash --field FIELD [--country CC] VALUE...`,
    /// wrapped under the command name when it is long. What may be left out is in brackets.
    func usage(of command: CommandDeclaration, fullName: String) -> [String] {
        let prefix = "Usage: \(fullName) "
        var tokens: [String] = []
        if command.isGroup {
            tokens.append("<command>")
        }
        for option in command.options {
            let value = option.kind == .flag ? "" : " \(option.valueName)"
            let repeats = option.isRepeatable ? " ..." : ""
            let token = "--\(option.name)\(value)\(repeats)"
            tokens.append(option.isRequired ? token : "[\(token)]")
        }
        for argument in command.arguments {
            let name = argument.isVariadic ? argument.valueName + "..." : argument.valueName
            tokens.append(argument.isRequired ? name : "[\(name)]")
        }

        // Under the name reads best, but not at the cost of squeezing the options into a sliver.
        let indent = prefix.count <= width / 2 ? prefix.count : 8
        return wrap(tokens, firstPrefix: prefix, indent: indent)
    }

    private struct Row {
        var label: String
        var text: String
        /// Words kept whole when wrapped, after the text.
        var notes: [String]

        init(_ label: String, _ text: String, _ notes: [String] = []) {
            self.label = label
            self.text = text
            self.notes = notes
        }
    }

    private struct Section {
        var title: String
        var rows: [Row]
    }

    private func sections(of command: CommandDeclaration, isRoot: Bool) -> [Section] {
        var arguments = Section(title: "Arguments", rows: [])
        for argument in command.arguments {
            arguments.rows.append(Row(argument.valueName, argument.help))
        }

        var options = Section(title: "Options", rows: [])
        for option in command.options {
            // Long names stay aligned whether or not an option has a short form.
            let short = option.short.map { "-\($0), " } ?? "    "
            let value = option.kind == .flag ? "" : " \(option.valueName)"
            // A note is one word to the wrapper: a default split after "default:" misreads.
            var notes: [String] = []
            if option.isRequired {
                notes.append("(required)")
            }
            if let defaultValue = option.defaultValue {
                notes.append("(default: \(defaultValue))")
            }
            if option.isRepeatable {
                notes.append("(may be repeated)")
            }
            options.rows.append(Row("\(short)--\(option.name)\(value)", option.help, notes))
        }
        if isRoot {
            options.rows.append(Row("    --version", "Show the version and exit."))
        }
        options.rows.append(Row("-h, --help", "Show this help and exit."))

        var commands = Section(title: "Commands", rows: [])
        for subcommand in command.subcommands {
            commands.rows.append(Row(subcommand.name, subcommand.abstract))
        }
        if isRoot && command.isGroup {
            commands.rows.append(Row("help", "Show the help of a command."))
        }
        return [arguments, options, commands]
    }

    private func rows(for row: Row, labelWidth: Int) -> [String] {
        let indent = 2
        let column = indent + labelWidth + 2
        let label = String(repeating: " ", count: indent) + row.label
        let words = row.text.split(whereSeparator: \.isWhitespace).map(String.init) + row.notes

        guard row.label.count <= labelWidth else {
            return [label] + wrap(words, firstPrefix: pad(column), indent: column)
        }
        let firstPrefix = label + pad(column - label.count)
        return wrap(words, firstPrefix: firstPrefix, indent: column)
    }
}
