/// A named option of a command: `--listen ADDR`, `--events=10`, `-c FILE` or a flag `--confirm`.
///
/// Build one with the factory for its type (`.string`, `.int`, `.double`, `.flag`) so that a
/// default can only be of the option's own type. An option is optional unless declared
/// `required`; the parser then refuses a line without it, and help shows it without brackets.
public struct OptionDeclaration: Equatable, Sendable {
    /// The type of value the option takes; a flag takes none.
    public enum Kind: Equatable, Sendable {
        case string
        case int
        case double
        case flag
    }

    /// The long name without dashes: `listen` for `--listen`. Also the key for `ParsedCommand`.
    public let name: String

    /// The optional one-letter form without its dash: `c` for `-c`.
    public let short: Character?

    public let kind: Kind

    /// The placeholder help shows for the value: `ADDR` in `--listen ADDR`. Empty for a flag.
    public let valueName: String

    /// The value used when the option is not given, shown in help.
    public let defaultValue: OptionValue?

    /// Whether the option may be given more than once, collecting every value in order.
    public let isRepeatable: Bool

    /// Whether the command cannot run without it. An input that is named rather than placed
    /// (`--field ph`, `--dead-letters`) is a required option instead of a positional argument.
    public let isRequired: Bool

    /// One sentence for help.
    public let help: String

    /// Names of the built-in options, which no declaration may reuse.
    static let reservedNames: Set<String> = ["help", "version"]

    init(
        name: String, short: Character?, kind: Kind, valueName: String,
        defaultValue: OptionValue?, isRepeatable: Bool, isRequired: Bool, help: String
    ) {
        // A bad declaration is a bug in the executable, found the first time it runs at all.
        precondition(
            !name.isEmpty && !name.hasPrefix("-") && !name.contains(" ") && !name.contains("="),
            "option name '\(name)' must be a bare word such as 'listen'")
        precondition(
            !Self.reservedNames.contains(name), "option name '--\(name)' is built in")
        if let short {
            precondition(short.isLetter, "short form '-\(short)' of '--\(name)' must be a letter")
            precondition(short != "h", "short form '-h' of '--\(name)' is built in for help")
        }
        // A default would never apply, and help would promise one.
        precondition(
            !(isRequired && defaultValue != nil), "required option '--\(name)' has a default")
        self.name = name
        self.short = short
        self.kind = kind
        self.valueName = valueName
        self.defaultValue = defaultValue
        self.isRepeatable = isRepeatable
        self.isRequired = isRequired
        self.help = help
    }

    /// An option taking any text.
    public static func string(
        _ name: String, short: Character? = nil, valueName: String = "VALUE",
        default defaultValue: String? = nil, repeatable: Bool = false, required: Bool = false,
        help: String
    ) -> OptionDeclaration {
        OptionDeclaration(
            name: name, short: short, kind: .string, valueName: valueName,
            defaultValue: defaultValue.map(OptionValue.string), isRepeatable: repeatable,
            isRequired: required, help: help)
    }

    /// An option taking a whole number in decimal, such as `10` or `-3`.
    public static func int(
        _ name: String, short: Character? = nil, valueName: String = "N",
        default defaultValue: Int? = nil, repeatable: Bool = false, required: Bool = false,
        help: String
    ) -> OptionDeclaration {
        OptionDeclaration(
            name: name, short: short, kind: .int, valueName: valueName,
            defaultValue: defaultValue.map(OptionValue.int), isRepeatable: repeatable,
            isRequired: required, help: help)
    }

    /// An option taking a finite decimal number, such as `0.25`.
    public static func double(
        _ name: String, short: Character? = nil, valueName: String = "NUMBER",
        default defaultValue: Double? = nil, repeatable: Bool = false, required: Bool = false,
        help: String
    ) -> OptionDeclaration {
        OptionDeclaration(
            name: name, short: short, kind: .double, valueName: valueName,
            defaultValue: defaultValue.map(OptionValue.double), isRepeatable: repeatable,
            isRequired: required, help: help)
    }

    /// An option that is either present or absent. A required flag is a word the command
    /// insists on, such as `resend --dead-letters` while dead letters are all it re-sends.
    public static func flag(
        _ name: String, short: Character? = nil, required: Bool = false, help: String
    ) -> OptionDeclaration {
        OptionDeclaration(
            name: name, short: short, kind: .flag, valueName: "", defaultValue: nil,
            isRepeatable: false, isRequired: required, help: help)
    }
}
