/// A problem in a config, located by its key path (`capi.api_version`, `rules[2].when`).
public struct ConfigError: Error, Equatable, CustomStringConvertible {
    /// The key path, empty for the file as a whole.
    public var path: String
    public var message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

/// Every problem found in a config at once, so that one run of `config check` shows them all.
public struct ConfigErrors: Error, CustomStringConvertible {
    /// The config file, when it came from one.
    public var file: String?
    public var errors: [ConfigError]

    public var description: String {
        errors.map { error in
            file.map { "\($0): \(error)" } ?? error.description
        }.joined(separator: "\n")
    }
}
