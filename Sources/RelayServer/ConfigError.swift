/// A problem in a config, located by its key path (`capi.api_version`, `rules[2].when`) and,
/// when the config came from text, by the line of that key.
public struct ConfigError: Error, Equatable, CustomStringConvertible {
    /// The key path, empty for the file as a whole.
    public var path: String
    public var message: String
    /// The line of the key (or of its nearest enclosing key, for one that is missing), from 1.
    public var line: Int?
    /// Only for syntax errors, where the line alone does not say where to look.
    public var column: Int?

    public init(path: String, message: String, line: Int? = nil, column: Int? = nil) {
        self.path = path
        self.message = message
        self.line = line
        self.column = column
    }

    /// `key: message`, without the position; `ConfigErrors` adds the file and line.
    public var description: String { path.isEmpty ? message : "\(path): \(message)" }

    /// `line: key: message` or `line:column: message`, the part after the file name.
    var located: String {
        guard let line else { return description }
        let position = column.map { "\(line):\($0)" } ?? "\(line)"
        return "\(position): \(description)"
    }
}

/// Every problem found in a config at once, so that one run of `config check` shows them all.
public struct ConfigErrors: Error, CustomStringConvertible {
    /// The config file, when it came from one.
    public var file: String?
    public var errors: [ConfigError]

    public init(file: String?, errors: [ConfigError]) {
        self.file = file
        self.errors = errors
    }

    /// One line per problem, as compilers write them: `file:line: key: message`.
    public var description: String { lines.joined(separator: "\n") }

    /// The lines of `description`, one per problem.
    public var lines: [String] {
        errors.map { error in
            guard let file else { return error.located }
            return error.line == nil ? "\(file): \(error)" : "\(file):\(error.located)"
        }
    }
}
