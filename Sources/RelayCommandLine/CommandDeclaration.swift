/// A command of the executable: either a leaf that runs, with options and positional arguments,
/// or a group that only holds subcommands (`capi-relay config` holds `example` and `check`).
///
/// The same declaration drives parsing and help, so help can never drift from what is accepted.
/// A group takes no options or arguments of its own; keeping values on leaves means a value's
/// meaning never depends on where on the line it was written. Declarations are checked when
/// built and trap on a mistake (a duplicate name, a required argument after an optional one),
/// because such a mistake is a bug in the program, not in its input.
public struct CommandDeclaration: Equatable, Sendable {
    /// The word that selects the command: `serve`. For the root, the executable's name.
    public let name: String

    /// One line for help and for the parent's list of commands.
    public let abstract: String

    /// Longer help: paragraphs separated by a blank line are reflowed to the help width; a
    /// paragraph whose every line starts with a space (an example) is kept as written.
    public let discussion: String?

    public let options: [OptionDeclaration]
    public let arguments: [ArgumentDeclaration]

    /// Empty for a leaf.
    public let subcommands: [CommandDeclaration]

    /// Whether this command only selects one of its subcommands.
    public var isGroup: Bool { !subcommands.isEmpty }

    /// A leaf command.
    public init(
        _ name: String, abstract: String, discussion: String? = nil,
        options: [OptionDeclaration] = [], arguments: [ArgumentDeclaration] = []
    ) {
        Self.checkName(name)
        Self.checkOptions(options, of: name)
        Self.checkArguments(arguments, of: name)
        self.name = name
        self.abstract = abstract
        self.discussion = discussion
        self.options = options
        self.arguments = arguments
        self.subcommands = []
    }

    /// A group of subcommands.
    public init(
        group name: String, abstract: String, discussion: String? = nil,
        subcommands: [CommandDeclaration]
    ) {
        Self.checkName(name)
        precondition(!subcommands.isEmpty, "group '\(name)' needs at least one subcommand")
        let names = subcommands.map(\.name)
        precondition(
            Set(names).count == names.count, "group '\(name)' has two subcommands of one name")
        self.name = name
        self.abstract = abstract
        self.discussion = discussion
        self.options = []
        self.arguments = []
        self.subcommands = subcommands
    }

    /// The subcommand called `name`, if any.
    public func subcommand(named name: String) -> CommandDeclaration? {
        subcommands.first { $0.name == name }
    }

    private static func checkName(_ name: String) {
        precondition(
            !name.isEmpty && !name.hasPrefix("-") && !name.contains(" "),
            "command name '\(name)' must be a bare word such as 'serve'")
    }

    private static func checkOptions(_ options: [OptionDeclaration], of command: String) {
        let names = options.map(\.name)
        precondition(
            Set(names).count == names.count, "command '\(command)' declares an option twice")
        let shorts = options.compactMap(\.short)
        precondition(
            Set(shorts).count == shorts.count,
            "command '\(command)' gives two options one short form")
    }

    private static func checkArguments(_ arguments: [ArgumentDeclaration], of command: String) {
        let names = arguments.map(\.name)
        precondition(
            Set(names).count == names.count, "command '\(command)' declares an argument twice")
        // Words after a variadic argument would all be taken by it.
        precondition(
            arguments.dropLast().allSatisfy { !$0.isVariadic },
            "command '\(command)' has a variadic argument that is not its last")

        // With an optional argument before a required one, a single word could fill either.
        if let firstOptional = arguments.firstIndex(where: { !$0.isRequired }) {
            precondition(
                arguments[firstOptional...].allSatisfy { !$0.isRequired },
                "command '\(command)' declares a required argument after an optional one")
        }
    }
}
