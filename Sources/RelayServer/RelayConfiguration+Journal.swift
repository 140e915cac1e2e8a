import Foundation
import RelayCore
import RelayJournal

/// Where a config's journal lives, and opening it.
public enum JournalLocation: Sendable, Equatable, CustomStringConvertible {
    /// A SQLite file, for one relay.
    case sqlite(path: String)
    /// A PostgreSQL database several relays share, as a libpq URL.
    case postgres(url: String)

    /// The journal as logs and messages may name it: a URL without its password.
    public var description: String {
        switch self {
        case .sqlite(let path): path
        case .postgres(let url): PostgresConnection.redacted(url)
        }
    }
}

extension RelayConfiguration {
    /// The `journal` key read as a backend: a `postgres://` or `postgresql://` URL, or else
    /// a SQLite path.
    public var journalLocation: JournalLocation {
        let lowered = journal.lowercased()
        if lowered.hasPrefix("postgres://") || lowered.hasPrefix("postgresql://") {
            return .postgres(url: journal)
        }
        return .sqlite(path: journal)
    }

    /// This relay's node name: the configured one, or the host name and process id, which
    /// tell two relays apart and change at every start (a restarted relay waits out the
    /// claims of the process it replaces).
    public var nodeName: String {
        node ?? Self.defaultNodeName
    }

    public static let defaultNodeName: String = {
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init)
        return "\(host ?? "relay")-\(ProcessInfo.processInfo.processIdentifier)"
    }()

    /// What the journal's decisions depend on, from the config.
    public func journalConfiguration(consent: ConsentPolicy) -> JournalConfiguration {
        JournalConfiguration(
            dedupeWindowSeconds: Int64(dedupe.windowHours * 3600),
            crmEnabled: crm != nil, consent: consent,
            limitedDataUse: ldu.policy ?? .never, shadow: isShadow,
            dedupeRules: dedupe.dedupeRules,
            identityWindowSeconds: Int64(dedupe.identityWindowHours * 3600))
    }

    /// Opens the configured journal, migrating its schema.
    public func openJournal(
        configuration: JournalConfiguration = .init()
    ) throws(JournalError) -> any Journal {
        switch journalLocation {
        case .sqlite(let path):
            try SQLiteJournal(path: path, configuration: configuration)
        case .postgres(let url):
            try PostgresJournal(
                url: url,
                options: PostgresJournalOptions(node: nodeName, leaseSeconds: journalLeaseSeconds),
                configuration: configuration)
        }
    }

    /// What is wrong with a journal URL's shape, or nil. Nothing is connected to: `config
    /// check` runs where the database may not be reachable. The message quotes the URL
    /// without its password.
    static func postgresURLProblem(_ url: String) -> String? {
        let shown = PostgresConnection.redacted(url)
        guard let components = URLComponents(string: url) else {
            return "'\(shown)' is not a URL; expected postgres://host:5432/database"
        }
        let database = components.path.drop(while: { $0 == "/" })
        let parameters = components.queryItems ?? []
        if database.isEmpty && !parameters.contains(where: { $0.name == "dbname" }) {
            return "'\(shown)' names no database; expected postgres://host:5432/database"
        }
        if (components.host ?? "").isEmpty && !parameters.contains(where: { $0.name == "host" }) {
            return "'\(shown)' names no host; add one (postgres://db.internal/\(database)) or"
                + " a socket directory (?host=/run/postgresql)"
        }
        return nil
    }
}
