/// What the command line asked for.
///
/// The parser performs no I/O: the executable prints help to stdout, the version string to
/// stdout, and a failure's message to stderr, then exits with the matching `ExitCode`.
public enum ParseOutcome: Equatable, Sendable {
    /// Run the resolved command with these values.
    case run(ParsedCommand)
    /// `--help`, `-h` or `help <command path>`: show this text and exit with success.
    case help(String)
    /// `--version` at the top level: show the version string and exit with success.
    case version
    /// The command line was wrong: show the message and exit with `error.exitCode`.
    case failure(CommandLineError)
}
