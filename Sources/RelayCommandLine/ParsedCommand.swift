/// The command a command line resolved to, with its values typed as declared.
///
/// Accessors take the declared name and apply the declared default. Asking for a name the
/// command does not declare, or with the accessor of another type, traps: that is a typo in
/// the program, and returning `nil` would hide it as "option not given".
public struct ParsedCommand: Equatable, Sendable {
    /// The subcommand names below the root, e.g. `["config", "check"]`; empty when the root
    /// itself is a leaf. Made for `switch parsed.path { case ["serve"]: ... }`.
    public let path: [String]

    /// The leaf that was resolved.
    public let declaration: CommandDeclaration

    /// Values given on the line, in order, keyed by option name; defaults are not stored here.
    let values: [String: [OptionValue]]
    let flags: Set<String>
    let positionals: [String: String]
    /// The words of a variadic last argument, keyed by its name.
    let variadicPositionals: [String: [String]]

    init(
        path: [String], declaration: CommandDeclaration, values: [String: [OptionValue]],
        flags: Set<String>, positionals: [String: String],
        variadicPositionals: [String: [String]] = [:]
    ) {
        self.path = path
        self.declaration = declaration
        self.values = values
        self.flags = flags
        self.positionals = positionals
        self.variadicPositionals = variadicPositionals
    }

    /// The value of a string option, its default if not given, or `nil`.
    public func string(_ name: String) -> String? {
        single(name, .string).map { value in
            guard case .string(let text) = value else { mismatch(name, value) }
            return text
        }
    }

    /// The value of an integer option, its default if not given, or `nil`.
    public func int(_ name: String) -> Int? {
        single(name, .int).map { value in
            guard case .int(let number) = value else { mismatch(name, value) }
            return number
        }
    }

    /// The value of a decimal option, its default if not given, or `nil`.
    public func double(_ name: String) -> Double? {
        single(name, .double).map { value in
            guard case .double(let number) = value else { mismatch(name, value) }
            return number
        }
    }

    /// Whether a flag was given.
    public func flag(_ name: String) -> Bool {
        _ = option(name, .flag, repeatable: false)
        return flags.contains(name)
    }

    /// Every value of a repeatable string option in the order given; the default alone if none
    /// was given and one is declared; otherwise empty.
    public func strings(_ name: String) -> [String] {
        all(name, .string).map { value in
            guard case .string(let text) = value else { mismatch(name, value) }
            return text
        }
    }

    /// Every value of a repeatable integer option, as `strings(_:)` does for text.
    public func ints(_ name: String) -> [Int] {
        all(name, .int).map { value in
            guard case .int(let number) = value else { mismatch(name, value) }
            return number
        }
    }

    /// Every value of a repeatable decimal option, as `strings(_:)` does for text.
    public func doubles(_ name: String) -> [Double] {
        all(name, .double).map { value in
            guard case .double(let number) = value else { mismatch(name, value) }
            return number
        }
    }

    /// The positional argument called `name`, or `nil` if it is optional and was left out.
    /// Every word of a variadic argument, in order; empty when none was given.
    public func positionals(_ name: String) -> [String] {
        precondition(
            declaration.arguments.contains { $0.name == name && $0.isVariadic },
            "command '\(declaration.name)' declares no variadic argument '\(name)'")
        return variadicPositionals[name] ?? []
    }

    public func positional(_ name: String) -> String? {
        precondition(
            declaration.arguments.contains { $0.name == name },
            "command '\(declaration.name)' declares no argument '\(name)'")
        return positionals[name]
    }

    private func single(_ name: String, _ kind: OptionDeclaration.Kind) -> OptionValue? {
        let declared = option(name, kind, repeatable: false)
        return values[name]?.last ?? declared.defaultValue
    }

    private func all(_ name: String, _ kind: OptionDeclaration.Kind) -> [OptionValue] {
        let declared = option(name, kind, repeatable: true)
        return values[name] ?? declared.defaultValue.map { [$0] } ?? []
    }

    private func option(
        _ name: String, _ kind: OptionDeclaration.Kind, repeatable: Bool
    ) -> OptionDeclaration {
        guard let declared = declaration.options.first(where: { $0.name == name }) else {
            preconditionFailure("command '\(declaration.name)' declares no option '--\(name)'")
        }
        precondition(
            declared.kind == kind,
            "option '--\(name)' of '\(declaration.name)' is \(declared.kind), not \(kind)")
        precondition(
            declared.isRepeatable == repeatable,
            repeatable
                ? "option '--\(name)' is not repeatable; read it with the single-value accessor"
                : "option '--\(name)' is repeatable; read it with the plural accessor")
        return declared
    }

    private func mismatch(_ name: String, _ value: OptionValue) -> Never {
        preconditionFailure("option '--\(name)' holds \(value), which is not of its declared type")
    }
}
