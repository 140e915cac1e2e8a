import CLibPQ
import Foundation

/// An error from PostgreSQL or libpq, with the server's SQLSTATE when there is one.
public struct PostgresError: Error, CustomStringConvertible, Equatable {
    /// The five-character SQLSTATE (`23505` is a unique violation, `40001` a serialization
    /// failure); nil for errors that never reached the server, such as a refused connection.
    public var sqlState: String?
    public var message: String

    public var description: String {
        sqlState.map { "postgres error \($0): \(message)" } ?? "postgres error: \(message)"
    }

    /// A unique or primary-key constraint refused the row.
    public var isUniqueViolation: Bool { sqlState == "23505" }
}

/// One row of a result: each column as text, or nil for NULL.
public typealias PostgresRow = [String?]

/// One libpq connection, speaking the extended protocol with text parameters.
///
/// Not thread-safe: like ``SQLiteDatabase``, each owner (the writer thread, a reader behind its
/// lock) has its own connection.
///
/// Connection URLs may hold a password; it is never part of an error message or log line, which
/// name only the host and database (``redacted(_:)``).
public final class PostgresConnection {
    private var connection: OpaquePointer?
    public let redactedURL: String
    /// The relay's name among those sharing the database, for the rows kept per relay; set
    /// with ``identify(as:)``.
    public private(set) var node = ""
    /// Prepared statement names by SQL text; they live as long as the session.
    private var statements: [String: String] = [:]

    /// Connects to a `postgres://` or `postgresql://` URL (libpq's own syntax, including
    /// `?host=/path/to/socket/dir`).
    public init(url: String) throws(PostgresError) {
        redactedURL = Self.redacted(url)
        let connection = PQconnectdb(url)
        guard let connection, PQstatus(connection) == CONNECTION_OK else {
            let reason = connection.map { Self.firstLine(String(cString: PQerrorMessage($0))) }
            PQfinish(connection)
            throw PostgresError(
                sqlState: nil,
                message: "cannot connect to \(redactedURL): \(reason ?? "out of memory")")
        }
        self.connection = connection
        // Notices (such as "relation already exists, skipping") are not errors; keep them off
        // stderr, which belongs to the relay's structured log.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
    }

    deinit {
        close()
    }

    public func close() {
        if let connection { PQfinish(connection) }
        connection = nil
    }

    /// Runs one statement with `$1`, `$2`… parameters and returns its rows.
    @discardableResult
    public func query(_ sql: String, _ parameters: [String?] = []) throws(PostgresError)
        -> [PostgresRow]
    {
        try run(sql, parameters).rows
    }

    /// Runs one statement and returns how many rows it inserted, updated or deleted.
    @discardableResult
    public func update(_ sql: String, _ parameters: [String?] = []) throws(PostgresError) -> Int {
        try run(sql, parameters).changed
    }

    private func run(_ sql: String, _ parameters: [String?]) throws(PostgresError)
        -> (rows: [PostgresRow], changed: Int)
    {
        guard let connection else { throw PostgresError(sqlState: nil, message: "closed") }
        let name = try prepared(sql, parameterCount: parameters.count)
        let result = withParameterPointers(parameters) { pointers in
            PQexecPrepared(connection, name, Int32(parameters.count), pointers, nil, nil, 0)
        }
        defer { PQclear(result) }
        guard let result else {
            throw PostgresError(sqlState: nil, message: Self.firstLine(lastErrorMessage))
        }

        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK:
            return ([], Int(String(cString: PQcmdTuples(result))) ?? 0)
        case PGRES_TUPLES_OK:
            let rows = PQntuples(result)
            let columns = PQnfields(result)
            let values = (0..<rows).map { row in
                (0..<columns).map { column in
                    PQgetisnull(result, row, column) == 1
                        ? nil : String(cString: PQgetvalue(result, row, column))
                }
            }
            return (values, Int(String(cString: PQcmdTuples(result))) ?? Int(rows))
        default:
            throw Self.error(from: result, fallback: lastErrorMessage)
        }
    }

    /// The name of a server-side prepared statement for `sql`, preparing it the first time:
    /// the journal runs the same few statements for every webhook, and parsing and planning
    /// them once per connection instead of once per call is most of a statement's cost.
    private func prepared(_ sql: String, parameterCount: Int) throws(PostgresError) -> String {
        if let name = statements[sql] { return name }
        let name = "s\(statements.count)"
        let result = PQprepare(connection, name, sql, Int32(parameterCount), nil)
        defer { PQclear(result) }
        guard let result, PQresultStatus(result) == PGRES_COMMAND_OK else {
            throw result.map { Self.error(from: $0, fallback: lastErrorMessage) }
                ?? PostgresError(sqlState: nil, message: Self.firstLine(lastErrorMessage))
        }
        statements[sql] = name
        return name
    }

    private static func error(from result: OpaquePointer, fallback: String) -> PostgresError {
        let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map {
            String(cString: $0)
        }
        let message = PQresultErrorField(result, Int32(UInt8(ascii: "M"))).map {
            String(cString: $0)
        }
        return PostgresError(sqlState: state, message: message ?? firstLine(fallback))
    }

    /// Whether a transaction is open (or failed and not yet rolled back) on this connection.
    public var isInTransaction: Bool {
        guard let connection else { return false }
        return PQtransactionStatus(connection) != PQTRANS_IDLE
    }

    /// Runs several statements without parameters (a migration script).
    public func execute(_ script: String) throws(PostgresError) {
        guard let connection else { throw PostgresError(sqlState: nil, message: "closed") }
        let result = PQexec(connection, script)
        defer { PQclear(result) }
        let status = result.map(PQresultStatus)
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else {
            let state = result.flatMap { PQresultErrorField($0, Int32(UInt8(ascii: "C"))) }
                .map { String(cString: $0) }
            throw PostgresError(sqlState: state, message: Self.firstLine(lastErrorMessage))
        }
    }

    /// Names the relay this session works for, in `node` and in the session setting
    /// `capi_relay.node`, which the journal's count triggers read.
    public func identify(as node: String) throws(PostgresError) {
        self.node = node
        try query("SELECT set_config('capi_relay.node', $1, false)", [node])
    }

    /// Whether the server still answers; a dropped connection is reset once.
    public func isHealthy() -> Bool {
        guard let connection else { return false }
        if PQstatus(connection) != CONNECTION_OK {
            // A new session has none of the old one's prepared statements or settings.
            statements.removeAll()
            PQreset(connection)
            if PQstatus(connection) == CONNECTION_OK && !node.isEmpty {
                _ = try? identify(as: node)
            }
        }
        return PQstatus(connection) == CONNECTION_OK
    }

    private var lastErrorMessage: String {
        connection.map { String(cString: PQerrorMessage($0)) } ?? "closed"
    }

    /// Why the last attempt to connect or reconnect failed, as libpq says it (never the
    /// password: libpq does not repeat it).
    public var connectionProblem: String {
        lastErrorMessage.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Calls `body` with C strings for each parameter (NULL for nil), alive for the call.
    private func withParameterPointers<R>(
        _ parameters: [String?], _ body: ([UnsafePointer<CChar>?]) -> R
    ) -> R {
        let copies: [UnsafeMutablePointer<CChar>?] = parameters.map { $0.map { strdup($0)! } }
        defer { copies.forEach { free($0) } }
        return body(copies.map { $0.map { UnsafePointer($0) } })
    }

    private static func firstLine(_ text: String) -> String {
        String(text.split(separator: "\n").first ?? "").trimmingCharacters(in: .whitespaces)
    }

    /// Whether a URL carries a password, in its user info or as a `password=` parameter.
    public static func holdsPassword(_ url: String) -> Bool {
        guard let components = URLComponents(string: url) else { return false }
        return components.password != nil
            || (components.queryItems ?? []).contains { $0.name.lowercased() == "password" }
    }

    /// The URL without its user info (which may hold a password) and without a `password=`
    /// parameter: what errors and logs may show.
    public static func redacted(_ url: String) -> String {
        var text = url
        if let scheme = text.range(of: "://"),
            let at = text[scheme.upperBound...].firstIndex(of: "@")
        {
            text.replaceSubrange(scheme.upperBound...at, with: "")
        }
        if let query = text.firstIndex(of: "?") {
            let kept = text[text.index(after: query)...].split(separator: "&").filter {
                !$0.lowercased().hasPrefix("password=")
            }
            text = String(text[..<query]) + (kept.isEmpty ? "" : "?" + kept.joined(separator: "&"))
        }
        return text
    }
}
