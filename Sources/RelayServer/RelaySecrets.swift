/// The secrets a running relay needs, read from where the config says.
///
/// Held only in memory, and never printed: `description` names where each one came from.
public struct RelaySecrets: Sendable, CustomStringConvertible {
    public var appSecret: String
    public var verifyToken: String
    public var accessToken: String
    public var crmSecret: String?
    /// The bearer token of `POST /v1/events`; nil when `server_events` is not configured.
    public var eventsToken: String?
    /// The `access_token` of the CAPI-compatible ingest; nil when it is not configured.
    public var ingestToken: String?
    /// The key that signs CRM echoes; nil when `crm_echo` is not configured.
    public var crmEchoSecret: String?

    public init(
        appSecret: String, verifyToken: String, accessToken: String, crmSecret: String?,
        eventsToken: String? = nil, ingestToken: String? = nil, crmEchoSecret: String? = nil
    ) {
        self.appSecret = appSecret
        self.verifyToken = verifyToken
        self.accessToken = accessToken
        self.crmSecret = crmSecret
        self.eventsToken = eventsToken
        self.ingestToken = ingestToken
        self.crmEchoSecret = crmEchoSecret
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
        let eventsToken = configuration.serverEvents.flatMap {
            read("server_events.token", $0.token)
        }
        let ingestToken = configuration.capiIngest.flatMap { read("capi_ingest.token", $0.token) }
        let crmEchoSecret = configuration.crmEcho.flatMap { read("crm_echo.secret", $0.secret) }
        guard errors.isEmpty, let appSecret, let verifyToken, let accessToken else {
            throw ConfigErrors(file: file, errors: errors)
        }
        return RelaySecrets(
            appSecret: appSecret, verifyToken: verifyToken, accessToken: accessToken,
            crmSecret: crmSecret, eventsToken: eventsToken, ingestToken: ingestToken,
            crmEchoSecret: crmEchoSecret)
    }
}
