import RelayCommandLine

/// Parses with the sample tree; each word is one argument, as the shell would pass it.
func parse(_ words: String...) -> ParseOutcome {
    SampleCommands.parser.parse(words)
}

extension ParseOutcome {
    var command: ParsedCommand? {
        guard case .run(let command) = self else { return nil }
        return command
    }

    var error: CommandLineError? {
        guard case .failure(let error) = self else { return nil }
        return error
    }

    var helpText: String? {
        guard case .help(let text) = self else { return nil }
        return text
    }
}
