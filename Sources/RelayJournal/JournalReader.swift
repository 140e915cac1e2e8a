import Foundation
import RelayCore

/// One conversion as the journal holds it, for the QA commands.
public struct StoredConversion: Sendable {
    public var id: Int64
    /// The `event_id` column (what dedupe used), which the body should agree with.
    public var eventID: String
    public var eventName: String
    public var dataset: String
    /// Unix seconds, from the column.
    public var eventTime: Int64
    /// Epoch milliseconds: when the relay journaled it.
    public var createdAtMillis: Int64
    /// `pending`, `sent`, `expired`, `failed`, or `shadow` (journaled in shadow mode, never
    /// sent to Meta).
    public var capiState: String
    /// `pending`, `sent`, `failed`, or `disabled` without a CRM.
    public var crmState: String
    /// Field names removed for lack of consent.
    public var consentDropped: [String]
    /// The decoded body; nil when it cannot be read, with `bodyProblem` saying why.
    public var conversion: Conversion?
    public var bodyProblem: String?
}

/// One delivery attempt with the request body as sent.
public struct StoredAttempt: Sendable {
    public var id: Int64
    public var destination: Destination
    public var startedAtMillis: Int64
    /// `sent`, `retry` or `failed`.
    public var outcome: String
    /// Nil for attempts journaled before request bodies were kept.
    public var request: String?
    public var conversionIDs: [Int64]
}

/// The browser pixel was seen firing this event (see `SQLiteJournal.recordPixelEcho`).
public struct PixelEcho: Sendable, Hashable {
    public var eventID: String
    public var eventName: String
    /// Epoch milliseconds.
    public var seenAtMillis: Int64
}

/// One inbound delivery's body as the journal keeps it (message text masked unless raw
/// retention was configured).
public struct StoredDelivery: Sendable {
    public var id: Int64
    public var source: String
    /// Epoch milliseconds.
    public var receivedAtMillis: Int64
    public var body: [UInt8]
}

/// A read-only view of a journal for `qa`, `reconcile` and `journal export-bodies`.
///
/// A SQLite file is opened with SQLite's read-only flag, and a shared PostgreSQL journal in a
/// session whose transactions are read-only, so a QA run can never change what a relay wrote;
/// both run beside live relays. A missing file, a file that is not SQLite, an unreachable
/// database or a journal of another schema is a `JournalError` with a message that names the
/// journal (never a password); none of them traps.
public final class JournalReader {
    /// The journal as messages name it: the file, or the URL without its password.
    public let path: String
    private let source: Source
    /// Whether the journal has the tables and columns newer schema versions added; an older
    /// journal is read as far as it goes.
    private let hasPixelEchoes: Bool
    private let hasAttemptRequests: Bool

    private enum Source {
        case sqlite(SQLiteDatabase)
        case postgres(PostgresConnection)
    }

    /// Opens a SQLite journal file.
    public init(path: String) throws(JournalError) {
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else {
            throw JournalError(
                .io,
                "journal \(path) does not exist; check the config's journal path or --journal")
        }
        do {
            let database = try SQLiteDatabase(path: path, readOnly: true)
            source = .sqlite(database)
            _ = try JournalSchema.version(
                of: database, path: path, advice: "run the newer capi-relay")
            let tables = try database.statement(
                "SELECT name FROM sqlite_master WHERE type = 'table'")
            var names: Set<String> = []
            while try tables.step() { names.insert(tables.text(0) ?? "") }
            tables.reset()
            let required: Set<String> = ["conversions", "attempts", "attempt_events", "deliveries"]
            guard required.isSubset(of: names) else {
                throw JournalError(
                    .incompatible,
                    "\(path) is not a capi-relay journal: it lacks the tables "
                        + required.subtracting(names).sorted().joined(separator: ", "))
            }
            hasPixelEchoes = names.contains("pixel_echoes")
            let columns = try database.statement("PRAGMA table_info(attempts)")
            var attemptColumns: Set<String> = []
            while try columns.step() { attemptColumns.insert(columns.text(1) ?? "") }
            columns.reset()
            hasAttemptRequests = attemptColumns.contains("request")
        } catch let error as JournalError {
            throw error
        } catch let error as SQLiteError {
            throw JournalError(.incompatible, "\(path) is not a readable journal: \(error.message)")
        } catch {
            throw JournalError(.io, "cannot open journal \(path): \(error)")
        }
    }

    /// Opens a shared PostgreSQL journal, read-only; its schema is never migrated from here.
    public init(url: String) throws(JournalError) {
        path = PostgresConnection.redacted(url)
        do {
            let connection = try PostgresConnection(url: url)
            try connection.execute("SET default_transaction_read_only = on")
            // A name that does not resolve fails when a statement is planned, so the table is
            // looked for before it is read.
            let versioned =
                try connection.query("SELECT to_regclass('schema_version') IS NOT NULL")
                == [["t"]]
            let version =
                versioned
                ? try connection.query("SELECT coalesce(max(version), 0) FROM schema_version")
                    .first?.first.flatMap { $0.flatMap { Int($0) } } ?? 0
                : -1
            guard version >= 1 else {
                throw JournalError(
                    .incompatible,
                    "\(path) is not a capi-relay journal: start a relay on it first, which"
                        + " creates the tables")
            }
            guard version <= PostgresSchema.latestVersion else {
                throw JournalError(
                    .incompatible,
                    "journal \(path) has schema version \(version), newer than this capi-relay"
                        + " understands (\(PostgresSchema.latestVersion)); run the newer capi-relay"
                )
            }
            source = .postgres(connection)
            hasPixelEchoes = true
            hasAttemptRequests = true
        } catch let error as JournalError {
            throw error
        } catch {
            throw JournalError(.io, "cannot open journal \(path): \(error)")
        }
    }

    deinit {
        switch source {
        case .sqlite(let database): database.close()
        case .postgres(let connection): connection.close()
        }
    }

    /// Conversions made at or after `sinceMillis` (epoch milliseconds), oldest first.
    public func conversions(sinceMillis: Int64? = nil) throws(JournalError) -> [StoredConversion] {
        let decoder = JSONDecoder()
        return try rows(
            """
            SELECT id, event_id, event_name, dataset, event_time, created_at_ms, capi_state,
                crm_state, consent_dropped, body
            FROM conversions WHERE created_at_ms >= ? ORDER BY id
            """, [.int(sinceMillis ?? .min)]
        ).map { row in
            var stored = StoredConversion(
                id: row.int(0), eventID: row.text(1) ?? "", eventName: row.text(2) ?? "",
                dataset: row.text(3) ?? "", eventTime: row.int(4), createdAtMillis: row.int(5),
                capiState: row.text(6) ?? "", crmState: row.text(7) ?? "",
                consentDropped: (row.text(8) ?? "").split(separator: ",").map(String.init),
                conversion: nil, bodyProblem: nil)
            do {
                stored.conversion = try decoder.decode(
                    Conversion.self, from: Data((row.text(9) ?? "").utf8))
            } catch {
                stored.bodyProblem = "the stored conversion cannot be decoded"
            }
            return stored
        }
    }

    /// Attempts started at or after `sinceMillis`, oldest first, with their conversions.
    public func attempts(sinceMillis: Int64? = nil) throws(JournalError) -> [StoredAttempt] {
        let request = hasAttemptRequests ? "request" : "NULL"
        var found: [StoredAttempt] = []
        var index: [Int64: Int] = [:]
        for row in try rows(
            """
            SELECT id, destination, started_at_ms, outcome, \(request) FROM attempts
            WHERE started_at_ms >= ? ORDER BY id
            """, [.int(sinceMillis ?? .min)])
        {
            guard let destination = Destination(rawValue: row.text(1) ?? "") else { continue }
            index[row.int(0)] = found.count
            found.append(
                StoredAttempt(
                    id: row.int(0), destination: destination, startedAtMillis: row.int(2),
                    outcome: row.text(3) ?? "", request: row.text(4), conversionIDs: []))
        }
        for link in try rows(
            "SELECT attempt_id, conversion_id FROM attempt_events ORDER BY attempt_id", [])
        {
            if let position = index[link.int(0)] {
                found[position].conversionIDs.append(link.int(1))
            }
        }
        return found
    }

    /// Every pixel echo, in the order they were seen.
    public func pixelEchoes() throws(JournalError) -> [PixelEcho] {
        guard hasPixelEchoes else { return [] }
        return try rows(
            "SELECT event_id, event_name, seen_at_ms FROM pixel_echoes ORDER BY seen_at_ms", []
        ).map { row in
            PixelEcho(
                eventID: row.text(0) ?? "", eventName: row.text(1) ?? "",
                seenAtMillis: row.int(2))
        }
    }

    /// Calls `each` with every inbound delivery received at or after `sinceMillis` (from
    /// `source` alone, when given), oldest first.
    // TODO: a PostgreSQL journal's deliveries are read whole before the first call; a cursor
    // (DECLARE … FETCH) would keep a long export's memory flat, as SQLite's stepping does.
    public func forEachDelivery(
        sinceMillis: Int64? = nil, source: String? = nil,
        _ each: (StoredDelivery) throws -> Void
    ) throws(JournalError) {
        let isPostgres: Bool
        if case .postgres = self.source { isPostgres = true } else { isPostgres = false }
        let deliveries = try rows(
            """
            SELECT id, source, received_at_ms, body FROM deliveries
            WHERE received_at_ms >= ? AND (CAST(? AS TEXT) IS NULL OR source = ?) ORDER BY id
            """, [.int(sinceMillis ?? .min), .optionalText(source), .optionalText(source)])
        do {
            for row in deliveries {
                let body: [UInt8]
                switch row.values[3] {
                case .blob(let bytes): body = bytes
                case .text(let text) where isPostgres:
                    body = PostgresConnection.bytes(fromHex: text)
                default: body = Array((row.text(3) ?? "").utf8)
                }
                try each(
                    StoredDelivery(
                        id: row.int(0), source: row.text(1) ?? "",
                        receivedAtMillis: row.int(2), body: body))
            }
        } catch let error as JournalError {
            throw error
        } catch {
            throw JournalError(.io, "cannot read journal \(path): \(error)")
        }
    }

    /// Every row of a query written with `?` placeholders, on either backend.
    private func rows(_ sql: String, _ values: [SQLiteValue]) throws(JournalError) -> [JournalRow] {
        do {
            switch source {
            case .sqlite(let database):
                defer { database.resetStatements() }
                let statement = try database.statement(sql).bind(values)
                var found: [JournalRow] = []
                while try statement.step() {
                    found.append(
                        JournalRow(values: (0..<statement.columnCount).map(statement.value)))
                }
                return found
            case .postgres(let connection):
                return try connection.query(
                    PostgresConnection.numbered(sql), values.map(PostgresConnection.parameter)
                ).map { JournalRow(values: $0.map { $0.map(SQLiteValue.text) ?? .null }) }
            }
        } catch let error as SQLiteError {
            throw JournalError(.io, "cannot read journal \(path): \(error.message)")
        } catch {
            throw JournalError(.io, "cannot read journal \(path): \(error)")
        }
    }
}
