/// Parses a command line against a tree of `CommandDeclaration`s.
///
/// Words select subcommands until a leaf is reached; the rest of the line belongs to that leaf:
/// `--name VALUE`, `--name=VALUE`, `-n VALUE`, flags, and positional arguments in any order.
/// Options therefore follow the subcommand they belong to (`capi-relay serve --listen ADDR`).
/// `--` ends options, so every later word is positional. A value that starts with `-` must be
/// written `--name=-value`, except a negative number, which is taken as a value as it stands.
///
/// Built in: `--help` and `-h` on every command; `--version` and `help <command path>` at the
/// top level. A group given no subcommand is a `missingCommand` failure that carries the group's
/// help, rather than help with success, so a script that forgot the subcommand does not carry on
/// as if it had worked.
///
/// Parsing is a pure function from words to a `ParseOutcome`: no printing, no exiting.
public struct CommandLineParser: Sendable {
    public let root: CommandDeclaration
    let formatter = HelpFormatter()

    public init(root: CommandDeclaration) {
        precondition(
            root.subcommand(named: "help") == nil, "'help' is built in at the top level")
        self.root = root
    }

    /// The outcome for `arguments`, which exclude the executable's own name.
    public func parse(_ arguments: [String]) -> ParseOutcome {
        var context = [root]
        var index = arguments.startIndex
        var optionsEnded = false

        // Each word at a group level selects a subcommand, until a leaf is reached.
        while let group = context.last, group.isGroup {
            guard index < arguments.endIndex else {
                return missingCommand(context)
            }
            let word = arguments[index]
            index += 1

            if context.count == 1 && word == "help" {
                return helpCommand(Array(arguments[index...]))
            }
            if !optionsEnded && isOption(word) {
                if word == "--" {
                    optionsEnded = true
                    continue
                }
                if word == "--help" || word == "-h" {
                    return .help(help(context))
                }
                if word == "--version" && context.count == 1 {
                    return .version
                }
                return unknownOption(spelled(word).name, context)
            }
            guard let subcommand = group.subcommand(named: word) else {
                return unknownCommand(word, context)
            }
            context.append(subcommand)
        }
        return parseLeaf(Array(arguments[index...]), context, optionsEnded: optionsEnded)
    }

    /// The help of the command at `path` (subcommand names below the root), or `nil` if there
    /// is no such command.
    public func help(forPath path: [String]) -> String? {
        var context = [root]
        for name in path {
            guard let next = context.last?.subcommand(named: name) else {
                return nil
            }
            context.append(next)
        }
        return help(context)
    }

    private func parseLeaf(
        _ words: [String], _ context: [CommandDeclaration], optionsEnded: Bool
    ) -> ParseOutcome {
        let command = context[context.count - 1]

        // Help wins over any mistake on the line: whoever asks for it is about to fix the line.
        let optionWords = optionsEnded ? [] : words.prefix { $0 != "--" }
        if optionWords.contains(where: { $0 == "--help" || $0 == "-h" }) {
            return .help(help(context))
        }
        if context.count == 1 && optionWords.contains("--version") {
            return .version
        }

        var values: [String: [OptionValue]] = [:]
        var flags: Set<String> = []
        var positionalWords: [String] = []
        var optionsEnded = optionsEnded
        var index = words.startIndex
        while index < words.endIndex {
            let word = words[index]
            index += 1

            guard !optionsEnded && isOption(word) else {
                positionalWords.append(word)
                continue
            }
            if word == "--" {
                optionsEnded = true
                continue
            }
            let (name, inlineValue) = spelled(word)
            guard let option = option(spelled: name, in: command) else {
                return unknownOption(name, context)
            }
            // Last-one-wins would silently drop a value the person meant, so a repeat is refused.
            let alreadyGiven = values[option.name] != nil || flags.contains(option.name)
            guard option.isRepeatable || !alreadyGiven else {
                let message = "Option '\(name)' may be given only once."
                return failure(.unexpectedArgument, message, context)
            }

            if option.kind == .flag {
                if let inlineValue {
                    let message = "Flag '\(name)' takes no value; leave out '=\(inlineValue)'."
                    return failure(.invalidValue, message, context)
                }
                flags.insert(option.name)
                continue
            }

            // The value is the inline part or the next word, unless that word is an option.
            let text: String
            if let inlineValue {
                text = inlineValue
            } else if index < words.endIndex && !isOption(words[index]) {
                text = words[index]
                index += 1
            } else {
                let example = "\(name) \(option.valueName)"
                let message = "Option '\(name)' expects a value, as in '\(example)'."
                return failure(.missingValue, message, context)
            }
            guard let value = convert(text, to: option.kind) else {
                let expected = option.kind == .int ? "an integer" : "a number"
                let message = "Option '\(name)' expects \(expected), got '\(text)'."
                return failure(.invalidValue, message, context)
            }
            values[option.name, default: []].append(value)
        }

        // Only once the whole line is read: a required option may be anywhere on it.
        let missing = command.options.first { option in
            option.isRequired && values[option.name] == nil && !flags.contains(option.name)
        }
        if let missing {
            let value = missing.kind == .flag ? "" : " \(missing.valueName)"
            let message = "Missing option '--\(missing.name)\(value)'."
            return failure(.missingOption, message, context)
        }

        switch matchPositionals(positionalWords, context) {
        case .failure(let error):
            return .failure(error)
        case .success(let (positionals, variadic)):
            return .run(
                ParsedCommand(
                    path: context.dropFirst().map(\.name), declaration: command, values: values,
                    flags: flags, positionals: positionals, variadicPositionals: variadic))
        }
    }

    /// Assigns positional words to the declared arguments in order.
    private func matchPositionals(
        _ words: [String], _ context: [CommandDeclaration]
    ) -> Result<([String: String], [String: [String]]), CommandLineError> {
        let command = context[context.count - 1]
        let declared = command.arguments

        // A variadic last argument takes every remaining word.
        if let last = declared.last, last.isVariadic, words.count >= declared.count {
            let fixed = Dictionary(
                uniqueKeysWithValues: zip(declared.dropLast().map(\.name), words))
            return .success((fixed, [last.name: Array(words.dropFirst(declared.count - 1))]))
        }
        if words.count > declared.count {
            let extra = words[declared.count]
            let fullName = context.map(\.name).joined(separator: " ")
            let limit =
                switch declared.count {
                case 0: "takes no arguments"
                case 1: "takes at most 1 argument"
                default: "takes at most \(declared.count) arguments"
                }
            let message = "Unexpected argument '\(extra)': '\(fullName)' \(limit)."
            return .failure(error(.unexpectedArgument, message, context))
        }
        if let missing = declared.dropFirst(words.count).first(where: \.isRequired) {
            let message = "Missing argument '\(missing.valueName)'."
            return .failure(error(.missingArgument, message, context))
        }
        return .success((Dictionary(uniqueKeysWithValues: zip(declared.map(\.name), words)), [:]))
    }

    /// `help [command path]`: the help of the named command.
    private func helpCommand(_ words: [String]) -> ParseOutcome {
        var context = [root]
        for word in words {
            let current = context[context.count - 1]
            // `help help` is answered by the root's help, which is where `help` is described.
            if context.count == 1 && word == "help" {
                continue
            }
            guard current.isGroup else {
                let fullName = context.map(\.name).joined(separator: " ")
                let message = "Unexpected argument '\(word)': '\(fullName)' has no subcommands."
                return failure(.unexpectedArgument, message, context)
            }
            guard let next = current.subcommand(named: word) else {
                return unknownCommand(word, context)
            }
            context.append(next)
        }
        return .help(help(context))
    }

    // MARK: - Words

    /// Whether a word is an option rather than a value: `-` alone means standard input by
    /// convention, and `-5` or `-0.5` is a negative number.
    private func isOption(_ word: String) -> Bool {
        guard word.hasPrefix("-"), word.count > 1 else {
            return false
        }
        let second = word[word.index(after: word.startIndex)]
        return !(second.isASCII && (second.isNumber || second == "."))
    }

    /// A long option split at its first `=`; a short option is never split, so `-c=x` is an
    /// unknown option rather than a guess.
    private func spelled(_ word: String) -> (name: String, inlineValue: String?) {
        guard word.hasPrefix("--"), let equals = word.firstIndex(of: "=") else {
            return (word, nil)
        }
        return (String(word[..<equals]), String(word[word.index(after: equals)...]))
    }

    private func option(
        spelled name: String, in command: CommandDeclaration
    ) -> OptionDeclaration? {
        if name.hasPrefix("--") {
            let long = name.dropFirst(2)
            return command.options.first { $0.name == long }
        }
        guard name.count == 2, let letter = name.last else {
            return nil
        }
        return command.options.first { $0.short == letter }
    }

    private func convert(_ text: String, to kind: OptionDeclaration.Kind) -> OptionValue? {
        switch kind {
        case .string:
            return .string(text)
        case .int:
            return Int(text).map(OptionValue.int)
        case .double:
            // `inf` and `nan` parse as doubles but are never a sensible setting.
            guard let number = Double(text), number.isFinite else {
                return nil
            }
            return .double(number)
        case .flag:
            preconditionFailure("a flag has no value to convert")
        }
    }

    // MARK: - Failures

    private func unknownOption(_ name: String, _ context: [CommandDeclaration]) -> ParseOutcome {
        let bare = String(name.drop { $0 == "-" })
        if SecretOptionGuard.looksLikeSecret(bare) {
            return failure(.unknownOption, SecretOptionGuard.message(for: name), context)
        }

        // Short options are single letters; a guess among them would be noise.
        var message = "Unknown option '\(name)'."
        if name.hasPrefix("--") {
            let command = context[context.count - 1]
            var candidates = command.options.map(\.name) + ["help"]
            if context.count == 1 {
                candidates.append("version")
            }
            if let guess = Suggestion.closest(to: bare, among: candidates) {
                message += " Did you mean '--\(guess)'?"
            }
        }
        return failure(.unknownOption, message, context)
    }

    private func unknownCommand(_ word: String, _ context: [CommandDeclaration]) -> ParseOutcome {
        let names = commandNames(context)
        let message: String
        if let guess = Suggestion.closest(to: word, among: names) {
            message = "Unknown command '\(word)'. Did you mean '\(guess)'?"
        } else {
            message =
                "Unknown command '\(word)'. Available commands: "
                + names.joined(separator: ", ") + "."
        }
        return failure(.unknownCommand, message, context)
    }

    private func missingCommand(_ context: [CommandDeclaration]) -> ParseOutcome {
        let fullName = context.map(\.name).joined(separator: " ")
        let message =
            "Missing command for '\(fullName)'. Available commands: "
            + commandNames(context).joined(separator: ", ") + "."
        return failure(.missingCommand, message, context)
    }

    private func commandNames(_ context: [CommandDeclaration]) -> [String] {
        let names = context[context.count - 1].subcommands.map(\.name)
        return context.count == 1 ? names + ["help"] : names
    }

    private func failure(
        _ code: CommandLineError.Code, _ message: String, _ context: [CommandDeclaration]
    ) -> ParseOutcome {
        .failure(error(code, message, context))
    }

    private func error(
        _ code: CommandLineError.Code, _ message: String, _ context: [CommandDeclaration]
    ) -> CommandLineError {
        CommandLineError(
            code: code, message: message,
            commandName: context.map(\.name).joined(separator: " "), help: help(context))
    }

    private func help(_ context: [CommandDeclaration]) -> String {
        formatter.help(for: context[context.count - 1], names: context.map(\.name))
    }
}
