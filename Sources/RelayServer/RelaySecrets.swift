/// The secrets a running relay needs, read from where the config says.
///
/// Held only in memory, and never printed: `description` names where each one came from.
public struct RelaySecrets: Sendable, CustomStringConvertible {
    public var appSecret: String
    public var verifyToken: String
    public var accessToken: String
    public var crmSecret: String?

    public init(appSecret: String, verifyToken: String, accessToken: String, crmSecret: String?) {
        self.appSecret = appSecret
        self.verifyToken = verifyToken
        self.accessToken = accessToken
        self.crmSecret = crmSecret
    }

    public var description: String { "RelaySecrets(redacted)" }

    /// Reads every secret, reporting each missing one by the variable or file it should be in.
    public static func resolve(
        _ configuration: RelayConfiguration, environment: [String: String], file: String?
    ) throws(ConfigErrors) -> RelaySecrets {
        var errors: [ConfigError] = []
        func read(_ path: String, _ source: SecretSource) -> String? {
            do {
                if let value = try source.resolve(environment: environment) { return value }
                errors.append(ConfigError(path: path, message: "no value in \(source.origin)"))
            } catch let error as ConfigError {
                errors.append(ConfigError(path: path, message: error.message))
            } catch {
                errors.append(ConfigError(path: path, message: "cannot read \(source.origin)"))
            }
            return nil
        }

        let appSecret = read("messenger.app_secret", configuration.messenger.appSecret)
        let verifyToken = read("messenger.verify_token", configuration.messenger.verifyToken)
        let accessToken = read("capi.access_token", configuration.capi.accessToken)
        let crmSecret = configuration.crm.flatMap { read("crm.secret", $0.secret) }
        guard errors.isEmpty, let appSecret, let verifyToken, let accessToken else {
            throw ConfigErrors(file: file, errors: errors)
        }
        return RelaySecrets(
            appSecret: appSecret, verifyToken: verifyToken, accessToken: accessToken,
            crmSecret: crmSecret)
    }
}
