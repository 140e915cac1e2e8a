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
/// It opens the file with SQLite's read-only flag, so a QA run can never change what a relay
/// wrote, and it runs beside a live relay (WAL lets readers in while the writer works). A
/// missing file, a file that is not SQLite, or a journal of another schema is a
/// `JournalError` with a message that names the file; none of them traps.
public final class JournalReader {
    public let path: String
    private let database: SQLiteDatabase
    /// Whether the journal has the tables and columns newer schema versions added; an older
    /// journal is read as far as it goes.
    private let hasPixelEchoes: Bool
    private let hasAttemptRequests: Bool

    public init(path: String) throws(JournalError) {
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else {
            throw JournalError(
                .io,
                "journal \(path) does not exist; check the config's journal path or --journal")
        }
        do {
            database = try SQLiteDatabase(path: path, readOnly: true)
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

    deinit {
        database.close()
    }

    /// Conversions journaled at or after `sinceMillis` (all when nil), oldest first.
    public func conversions(sinceMillis: Int64? = nil) throws(JournalError) -> [StoredConversion] {
        try read {
            let statement = try database.statement(
                """
                SELECT id, event_id, event_name, dataset, event_time, created_at_ms, capi_state,
                    crm_state, consent_dropped, body
                FROM conversions WHERE created_at_ms >= ? ORDER BY id
                """
            ).bind(.int(sinceMillis ?? .min))
            var found: [StoredConversion] = []
            let decoder = JSONDecoder()
            while try statement.step() {
                var stored = StoredConversion(
                    id: statement.int(0), eventID: statement.text(1) ?? "",
                    eventName: statement.text(2) ?? "", dataset: statement.text(3) ?? "",
                    eventTime: statement.int(4), createdAtMillis: statement.int(5),
                    capiState: statement.text(6) ?? "", crmState: statement.text(7) ?? "",
                    consentDropped: (statement.text(8) ?? "").split(separator: ",").map(
                        String.init),
                    conversion: nil, bodyProblem: nil)
                do {
                    stored.conversion = try decoder.decode(
                        Conversion.self, from: Data((statement.text(9) ?? "").utf8))
                } catch {
                    stored.bodyProblem = "the stored conversion cannot be decoded"
                }
                found.append(stored)
            }
            return found
        }
    }

    /// Attempts that started at or after `sinceMillis`, oldest first, with their conversions.
    public func attempts(sinceMillis: Int64? = nil) throws(JournalError) -> [StoredAttempt] {
        try read {
            let request = hasAttemptRequests ? "request" : "NULL"
            let statement = try database.statement(
                """
                SELECT id, destination, started_at_ms, outcome, \(request) FROM attempts
                WHERE started_at_ms >= ? ORDER BY id
                """
            ).bind(.int(sinceMillis ?? .min))
            var found: [StoredAttempt] = []
            var index: [Int64: Int] = [:]
            while try statement.step() {
                guard let destination = Destination(rawValue: statement.text(1) ?? "") else {
                    continue
                }
                index[statement.int(0)] = found.count
                found.append(
                    StoredAttempt(
                        id: statement.int(0), destination: destination,
                        startedAtMillis: statement.int(2), outcome: statement.text(3) ?? "",
                        request: statement.text(4), conversionIDs: []))
            }
            statement.reset()

            let links = try database.statement(
                "SELECT attempt_id, conversion_id FROM attempt_events ORDER BY attempt_id")
            while try links.step() {
                if let position = index[links.int(0)] {
                    found[position].conversionIDs.append(links.int(1))
                }
            }
            return found
        }
    }

    /// Every pixel echo; empty for a journal older than the table.
    public func pixelEchoes() throws(JournalError) -> [PixelEcho] {
        guard hasPixelEchoes else { return [] }
        return try read {
            let statement = try database.statement(
                "SELECT event_id, event_name, seen_at_ms FROM pixel_echoes ORDER BY seen_at_ms")
            var found: [PixelEcho] = []
            while try statement.step() {
                found.append(
                    PixelEcho(
                        eventID: statement.text(0) ?? "", eventName: statement.text(1) ?? "",
                        seenAtMillis: statement.int(2)))
            }
            return found
        }
    }

    /// Inbound bodies received at or after `sinceMillis` from `source` (all when nil), in
    /// arrival order. `each` sees them one at a time, so a long journal is never all in memory.
    public func forEachDelivery(
        sinceMillis: Int64? = nil, source: String? = nil,
        _ each: (StoredDelivery) throws -> Void
    ) throws(JournalError) {
        try read {
            let statement = try database.statement(
                """
                SELECT id, source, received_at_ms, body FROM deliveries
                WHERE received_at_ms >= ? AND (? IS NULL OR source = ?) ORDER BY id
                """
            ).bind(.int(sinceMillis ?? .min), .optionalText(source), .optionalText(source))
            while try statement.step() {
                try each(
                    StoredDelivery(
                        id: statement.int(0), source: statement.text(1) ?? "",
                        receivedAtMillis: statement.int(2), body: statement.blob(3)))
            }
        }
    }

    private func read<T>(_ body: () throws -> T) throws(JournalError) -> T {
        defer { database.resetStatements() }
        do {
            return try body()
        } catch let error as JournalError {
            throw error
        } catch let error as SQLiteError {
            throw JournalError(.io, "cannot read journal \(path): \(error.message)")
        } catch {
            throw JournalError(.io, "cannot read journal \(path): \(error)")
        }
    }
}
