extension RelayConfiguration {
    /// What `GET /readyz` requires besides a writable journal and no paused destination.
    /// Both settings take effect at a reload.
    public struct Readiness: Sendable, Equatable, Codable {
        /// Pending conversions at one destination (all datasets together) above which the
        /// relay says it is not ready: it is falling behind, or a destination is down.
        public var maxBacklog: Int = 10_000
        /// How long the journal's writer may take to answer the readiness probe, in seconds.
        public var journalTimeoutSeconds: Double = 2

        public init() {}

        enum CodingKeys: String, CodingKey, CaseIterable {
            case maxBacklog = "max_backlog"
            case journalTimeoutSeconds = "journal_timeout_seconds"
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            maxBacklog = try c.decodeIfPresent(Int.self, forKey: .maxBacklog) ?? maxBacklog
            journalTimeoutSeconds =
                try c.decodeIfPresent(Double.self, forKey: .journalTimeoutSeconds)
                ?? journalTimeoutSeconds
        }
    }

    /// Problems in the `readiness` section, for `problems()`.
    func readinessProblems() -> [ConfigError] {
        var errors: [ConfigError] = []
        if readiness.maxBacklog < 1 {
            errors.append(ConfigError(path: "readiness.max_backlog", message: "must be at least 1"))
        }
        if readiness.journalTimeoutSeconds <= 0 {
            errors.append(
                ConfigError(path: "readiness.journal_timeout_seconds", message: "must be > 0"))
        }
        return errors
    }
}
