/// A positional argument of a command, such as `FILE` in `capi-relay config check [FILE]`.
///
/// Positional arguments are matched in declaration order, so every required one comes before
/// every optional one; `CommandDeclaration` enforces that.
public struct ArgumentDeclaration: Equatable, Sendable {
    /// The key for `ParsedCommand.positional(_:)`: `file`.
    public let name: String

    /// The placeholder help shows: `FILE`. Defaults to the name in capitals.
    public let valueName: String

    public let isRequired: Bool

    /// Whether it takes every remaining word (`VALUE...`); only the last argument may.
    public let isVariadic: Bool

    /// One sentence for help.
    public let help: String

    init(
        name: String, valueName: String?, isRequired: Bool, isVariadic: Bool = false,
        help: String
    ) {
        precondition(
            !name.isEmpty && !name.hasPrefix("-") && !name.contains(" "),
            "argument name '\(name)' must be a bare word such as 'file'")
        self.name = name
        self.valueName = valueName ?? name.uppercased()
        self.isRequired = isRequired
        self.isVariadic = isVariadic
        self.help = help
    }

    /// One or more values, every remaining word: `VALUE...`. Read them with
    /// `ParsedCommand.positionals(_:)`.
    public static func variadic(
        _ name: String, valueName: String? = nil, help: String
    ) -> ArgumentDeclaration {
        ArgumentDeclaration(
            name: name, valueName: valueName, isRequired: true, isVariadic: true, help: help)
    }

    /// An argument the command cannot run without.
    public static func required(
        _ name: String, valueName: String? = nil, help: String
    ) -> ArgumentDeclaration {
        ArgumentDeclaration(name: name, valueName: valueName, isRequired: true, help: help)
    }

    /// An argument that may be left out; `ParsedCommand.positional(_:)` is then `nil`.
    public static func optional(
        _ name: String, valueName: String? = nil, help: String
    ) -> ArgumentDeclaration {
        ArgumentDeclaration(name: name, valueName: valueName, isRequired: false, help: help)
    }
}
