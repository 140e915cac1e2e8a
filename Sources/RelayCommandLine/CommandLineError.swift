/// A command line that could not be parsed, with a message a person can act on.
///
/// The message quotes the offending input (never a secret's value) and, where it can, suggests
/// the intended spelling. It is one sentence or two and does not repeat the usage: the executable
/// prints `message`, then may print `help` or point at `commandName --help`.
public struct CommandLineError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What went wrong, for code that switches on it; the raw value is safe as a metric label.
    public enum Code: String, Sendable {
        /// An option the command does not declare, including any that would carry a secret.
        case unknownOption
        /// An option that takes a value was the last argument, or was followed by another option.
        case missingValue
        /// A value of the wrong type, such as `ten` for an integer option.
        case invalidValue
        /// A name at a group level that is none of its subcommands.
        case unknownCommand
        /// A group was given no subcommand at all.
        case missingCommand
        /// A required positional argument was not given.
        case missingArgument
        /// An option declared required was not given.
        case missingOption
        /// A positional argument beyond those declared, or an option given twice.
        case unexpectedArgument
    }

    public let code: Code
    public let message: String

    /// The full name of the command being parsed when the error arose, e.g.
    /// `capi-relay config check`.
    public let commandName: String

    /// The generated help of that command, for the executable to show below the message.
    public let help: String

    public init(code: Code, message: String, commandName: String, help: String) {
        self.code = code
        self.message = message
        self.commandName = commandName
        self.help = help
    }

    /// Always `EX_USAGE`: every parse error is a mistake in the command line.
    public var exitCode: ExitCode { .usage }

    public var description: String { message }
}
