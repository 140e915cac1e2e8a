import Foundation

/// Where a secret comes from: an environment variable or a file, never the config text or the
/// command line, which end up in shells' histories, process lists and backups.
public struct SecretSource: Sendable, Equatable, Codable {
    /// The environment variable holding the secret.
    public var env: String?
    /// A file holding the secret; surrounding whitespace (a trailing newline) is dropped.
    public var file: String?

    public init(env: String? = nil, file: String? = nil) {
        self.env = env
        self.file = file
    }

    enum CodingKeys: String, CodingKey {
        case env, file
    }

    public init(from decoder: Decoder) throws {
        // A string here is almost certainly the secret itself, pasted into the file.
        if let single = try? decoder.singleValueContainer(),
            (try? single.decode(String.self)) != nil
        {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: decoder.codingPath,
                    debugDescription: "a secret is never written in the config; name where it is"
                        + " read from: {\"env\": \"VARIABLE\"} or {\"file\": \"/path\"}"))
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        env = try container.decodeIfPresent(String.self, forKey: .env)
        file = try container.decodeIfPresent(String.self, forKey: .file)
    }

    /// Where this secret comes from, for messages: names the variable or file, never the value.
    public var origin: String {
        if let env { return "environment variable \(env)" }
        if let file { return "file \(file)" }
        return "nowhere"
    }

    /// Reads the secret.
    /// - Parameter environment: the process environment (injected for tests).
    /// - Returns: the value, or nil when the variable is unset or empty.
    /// - Throws: `ConfigError` when a named file cannot be read.
    public func resolve(environment: [String: String]) throws -> String? {
        if let env {
            let value = environment[env]?.trimmingCharacters(in: .whitespacesAndNewlines)
            return (value?.isEmpty ?? true) ? nil : value
        }
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ConfigError(path: "", message: "cannot read secret file \(file)")
            }
            let value = String(decoding: data, as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            return value.isEmpty ? nil : value
        }
        return nil
    }
}
