import Foundation
import Glibc
import RelayCore

/// The embedded journal: one SQLite file in WAL mode.
///
/// Writes go through one `GroupCommitWriter` thread (SQLite has one writer at a time anyway);
/// reads use a second connection behind a lock, which WAL lets run beside the writer.
/// `synchronous = FULL` makes every commit durable before a webhook is acknowledged.
public final class SQLiteJournal: Journal, @unchecked Sendable {
    public let path: String
    let configuration: JournalConfiguration
    let writer: GroupCommitWriter<SQLiteDatabase>
    /// What this journal appended last, so that delivery reads it without decoding.
    let recentConversions = RecentConversions()
    /// Guarded by `readLock`.
    private let reader: SQLiteDatabase
    private let readLock = NSLock()

    /// Opens or creates the journal and brings its schema up to date.
    public init(path: String, configuration: JournalConfiguration = .init())
        throws(JournalError)
    {
        self.path = path
        self.configuration = configuration
        do {
            // The journal holds raw webhook bodies, message text included: readable by the
            // relay's user only. SQLite gives its -wal and -shm files the same mode.
            if !FileManager.default.fileExists(atPath: path) {
                let descriptor = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0o600)
                if descriptor >= 0 { Glibc.close(descriptor) }
            }
            let writeConnection = try SQLiteDatabase(path: path)
            // Each commit writes every page it changed to the WAL, whole, and an append
            // changes pages all over the dedupe and identity indexes: 2 KiB pages halve that
            // writing against SQLite's default 4 KiB (`capi-relay-bench journal`: about half
            // the kernel time per append). The size only takes on a new file, before WAL mode;
            // an existing journal keeps its own. Temporary tables stay in memory rather than
            // in files under /tmp.
            // A checkpoint copies each page the WAL holds once, however many commits changed
            // it; checkpointing every 16,384 pages (32 MiB) rather than SQLite's 1,000 copies
            // the hot index pages far fewer times: about a fifth more webhooks per second at
            // saturation in `capi-relay-bench ingest`, for a larger WAL file and a longer
            // pause of the writer when it does checkpoint. (A checkpointer thread of its own
            // beside the writer gained nothing measurable: the two cores were already busy.)
            try writeConnection.execute(
                """
                PRAGMA page_size = 2048; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
                PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;
                PRAGMA wal_autocheckpoint = 16384;
                """)
            try SQLiteJournal.migrate(writeConnection, path: path)
            reader = try SQLiteDatabase(path: path)
            writer = GroupCommitWriter(database: writeConnection)
        } catch let error as JournalError {
            throw error
        } catch {
            throw JournalError(.io, "cannot open journal \(path): \(error)")
        }
    }

    deinit {
        close()
    }

    public func close() {
        writer.close()
    }

    public var transactionsCommitted: Int { writer.transactionsCommitted }

    // MARK: Delivery state

    public func due(
        for destination: Destination, nowMillis: Int64, limit: Int
    ) throws(JournalError) -> [PendingConversion] {
        let column = destination.rawValue
        return try read { database in
            let statement = try database.statement(
                """
                SELECT id, body, \(column)_attempts FROM conversions
                WHERE \(column)_state = 'pending' AND \(column)_next_at_ms <= ?
                ORDER BY \(column)_next_at_ms, id LIMIT ?
                """
            ).bind(.int(nowMillis), .int(Int64(limit)))
            var pending: [PendingConversion] = []
            let decoder = JSONDecoder()
            while try statement.step() {
                let id = statement.int(0)
                let conversion =
                    try recentConversions.conversion(id: id)
                    ?? decoder.decode(Conversion.self, from: Data((statement.text(1) ?? "").utf8))
                pending.append(
                    PendingConversion(
                        conversionID: id, conversion: conversion, attempts: Int(statement.int(2))))
            }
            return pending
        }
    }

    public func nextDueMillis(for destination: Destination) throws(JournalError) -> Int64? {
        let column = destination.rawValue
        return try read { database in
            let statement = try database.statement(
                "SELECT min(\(column)_next_at_ms) FROM conversions WHERE \(column)_state = 'pending'"
            )
            guard try statement.step(), !statement.isNull(0) else { return nil }
            return statement.int(0)
        }
    }

    public func record(
        attempt: DeliveryAttempt?, changes: [(conversionID: Int64, change: DeliveryStateChange)],
        destination: Destination
    ) throws(JournalError) {
        do {
            let now = attempt?.finishedAtMillis ?? Int64(Date().timeIntervalSince1970 * 1000)
            try writer.submitAndWait { database in
                if let attempt {
                    try SQLiteJournal.insert(attempt, into: database)
                }
                for (conversionID, change) in changes {
                    try SQLiteJournal.apply(
                        change, to: conversionID, destination: destination, nowMillis: now,
                        in: database)
                }
            }
        } catch let error as JournalError {
            throw error
        } catch {
            throw JournalError(.commitFailed, "cannot record delivery state: \(error)")
        }
    }

    private static func insert(_ attempt: DeliveryAttempt, into database: SQLiteDatabase) throws {
        try database.statement(
            """
            INSERT INTO attempts (destination, dataset, started_at_ms, finished_at_ms,
                http_status, outcome, response, event_count, request)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """
        ).bind(
            .text(attempt.destination.rawValue), .optionalText(attempt.dataset),
            .int(attempt.startedAtMillis), .int(attempt.finishedAtMillis),
            .optionalInt(attempt.httpStatus), .text(attempt.outcome), .text(attempt.response),
            .int(Int64(attempt.conversionIDs.count)), .optionalText(attempt.request)
        ).run()
        let attemptID = database.lastInsertRowID
        let link = try database.statement(
            "INSERT INTO attempt_events (attempt_id, conversion_id) VALUES (?, ?)")
        for conversionID in attempt.conversionIDs {
            link.reset()
            try link.bind(.int(attemptID), .int(conversionID)).run()
        }
    }

    private static func apply(
        _ change: DeliveryStateChange, to conversionID: Int64, destination: Destination,
        nowMillis: Int64, in database: SQLiteDatabase
    ) throws {
        let column = destination.rawValue
        let sql: String
        let values: [SQLiteValue]
        switch change {
        case .sent:
            sql = """
                UPDATE conversions SET \(column)_state = 'sent',
                    \(column)_attempts = \(column)_attempts + 1, \(column)_reason = NULL
                WHERE id = ?
                """
            values = [.int(conversionID)]
        case .retry(let atMillis, let reason):
            sql = """
                UPDATE conversions SET \(column)_attempts = \(column)_attempts + 1,
                    \(column)_next_at_ms = ?, \(column)_reason = ?
                WHERE id = ?
                """
            values = [.int(atMillis), .text(reason), .int(conversionID)]
        case .failed(let reason):
            sql = """
                UPDATE conversions SET \(column)_state = 'failed',
                    \(column)_attempts = \(column)_attempts + 1, \(column)_reason = ?
                WHERE id = ?
                """
            values = [.text(reason.summary), .int(conversionID)]
        case .expired(let reason):
            sql = """
                UPDATE conversions SET \(column)_state = 'expired', \(column)_reason = ?
                WHERE id = ?
                """
            values = [.text(reason), .int(conversionID)]
        }
        try database.statement(sql).bind(values).run()

        // Giving up leaves a dead letter beside the state, in the same transaction.
        guard let deadLetter = change.deadLetterReason else { return }
        try database.statement(
            """
            INSERT INTO dead_letters (conversion_id, destination, reason_code, graph_code,
                graph_subcode, http_status, message, attempts, event, created_at_ms)
            SELECT id, ?, ?, ?, ?, ?, ?, \(column)_attempts, body, ? FROM conversions
            WHERE id = ?
            """
        ).bind(
            .text(destination.rawValue), .text(deadLetter.code),
            .optionalInt(deadLetter.graphCode), .optionalInt(deadLetter.graphSubcode),
            .optionalInt(deadLetter.httpStatus), .text(deadLetter.message), .int(nowMillis),
            .int(conversionID)
        ).run()
    }

    // MARK: Reading

    public func matchKeyCoverage() throws(JournalError) -> [MatchKeyCount] {
        try read { database in
            let statement = try database.statement(
                "SELECT event_name, match_key, conversions FROM match_key_counts"
                    + " ORDER BY event_name")
            var byName: [String: MatchKeyCount] = [:]
            var order: [String] = []
            while try statement.step() {
                let name = statement.text(0) ?? ""
                if byName[name] == nil {
                    order.append(name)
                    byName[name] = MatchKeyCount(eventName: name, conversions: 0, carrying: [:])
                }
                let count = Int(statement.int(2))
                if statement.text(1) == "*" {
                    byName[name]?.conversions = count
                } else if let key = statement.text(1) {
                    byName[name]?.carrying[key] = count
                }
            }
            return order.compactMap { byName[$0] }
        }
    }

    /// The journal's totals, from the counts its triggers keep (schema version 8): a few
    /// rows, however long the journal.
    public func counters() throws(JournalError) -> JournalCounters {
        try read { database in
            var counts: [String: Int] = [:]
            let statement = try database.statement("SELECT name, value FROM journal_counts")
            while try statement.step() {
                counts[statement.text(0) ?? ""] = Int(statement.int(1))
            }
            return JournalCounters(counts: counts)
        }
    }

    public func backlog(for destination: Destination) throws(JournalError) -> [String: Int] {
        let column = destination.rawValue
        return try read { database in
            let statement = try database.statement(
                """
                SELECT dataset, count(*) FROM conversions WHERE \(column)_state = 'pending'
                GROUP BY dataset
                """)
            var backlog: [String: Int] = [:]
            while try statement.step() {
                backlog[statement.text(0) ?? ""] = Int(statement.int(1))
            }
            return backlog
        }
    }

    public func inspect(eventID: String) throws(JournalError) -> [Inspection] {
        try read { database in
            let conversions = try database.statement(
                """
                SELECT c.id, c.body, c.capi_state, c.capi_reason, c.crm_state, c.crm_reason,
                    d.body, d.source, s.mid
                FROM conversions c
                LEFT JOIN signals s ON s.conversion_id = c.id AND s.outcome = 'conversion'
                LEFT JOIN deliveries d ON d.id = s.delivery_id
                WHERE c.event_id = ? ORDER BY c.id DESC
                """
            ).bind(.text(eventID))
            var found: [Inspection] = []
            let decoder = JSONDecoder()
            while try conversions.step() {
                let conversion = try decoder.decode(
                    Conversion.self, from: Data((conversions.text(1) ?? "").utf8))
                found.append(
                    Inspection(
                        conversionID: conversions.int(0), conversion: conversion,
                        capiState: conversions.text(2) ?? "", capiReason: conversions.text(3),
                        crmState: conversions.text(4) ?? "", crmReason: conversions.text(5),
                        inboundBody: conversions.blob(6), inboundSource: conversions.text(7) ?? "",
                        mid: conversions.text(8), attempts: []))
            }
            conversions.reset()

            let attempts = try database.statement(
                """
                SELECT a.destination, a.dataset, a.started_at_ms, a.finished_at_ms, a.http_status,
                    a.response, a.outcome
                FROM attempts a JOIN attempt_events e ON e.attempt_id = a.id
                WHERE e.conversion_id = ? ORDER BY a.id
                """)
            for index in found.indices {
                attempts.reset()
                try attempts.bind(.int(found[index].conversionID))
                while try attempts.step() {
                    found[index].attempts.append(
                        DeliveryAttempt(
                            destination: Destination(rawValue: attempts.text(0) ?? "") ?? .capi,
                            dataset: attempts.text(1), startedAtMillis: attempts.int(2),
                            finishedAtMillis: attempts.int(3),
                            httpStatus: attempts.isNull(4) ? nil : Int(attempts.int(4)),
                            response: attempts.text(5) ?? "", outcome: attempts.text(6) ?? "",
                            conversionIDs: [found[index].conversionID]))
                }
            }
            return found
        }
    }

    public func requeue(
        eventID: String, confirm: Bool, nowMillis: Int64
    ) throws(JournalError) -> RequeueResult {
        let box = RequeueBox()
        do {
            try writer.submitAndWait { database in
                let find = try database.statement(
                    "SELECT id, capi_state FROM conversions WHERE event_id = ? ORDER BY id DESC LIMIT 1"
                ).bind(.text(eventID))
                guard try find.step() else {
                    box.result = .unknownEvent
                    return
                }
                let id = find.int(0)
                let state = find.text(1) ?? ""
                find.reset()
                // A pending event may be in a batch on the wire right now; queuing it again
                // would be overwritten when that batch is recorded, and say nothing true.
                guard state != "pending" else {
                    box.result = .alreadyQueued(conversionID: id)
                    return
                }
                guard state != "sent" || confirm else {
                    box.result = .alreadyDelivered(conversionID: id)
                    return
                }
                try database.statement(
                    """
                    UPDATE conversions SET capi_state = 'pending', capi_next_at_ms = ?,
                        capi_attempts = 0, capi_reason = NULL,
                        crm_state = CASE WHEN crm_state = 'failed' THEN 'pending' ELSE crm_state END,
                        crm_next_at_ms = ?
                    WHERE id = ?
                    """
                ).bind(.int(nowMillis), .int(nowMillis), .int(id)).run()
                try database.statement(
                    """
                    UPDATE dead_letters SET resent_at_ms = ?
                    WHERE conversion_id = ? AND resent_at_ms IS NULL
                    """
                ).bind(.int(nowMillis), .int(id)).run()
                box.result = .requeued(conversionID: id)
            }
        } catch let error as JournalError {
            throw error
        } catch {
            throw JournalError(.commitFailed, "cannot queue \(eventID) again: \(error)")
        }
        return box.result ?? .unknownEvent
    }

    public func recordPixelEcho(
        eventID: String, eventName: String, atMillis: Int64,
        completion: @escaping @Sendable (JournalError?) -> Void
    ) {
        writer.submit(
            { database in
                try database.statement(
                    """
                    INSERT INTO pixel_echoes (event_id, event_name, seen_at_ms) VALUES (?, ?, ?)
                    ON CONFLICT (event_id, event_name) DO NOTHING
                    """
                ).bind(.text(eventID), .text(eventName), .int(atMillis)).run()
            },
            done: { error in
                completion(
                    error.map {
                        $0 as? JournalError
                            ?? JournalError(.commitFailed, "cannot record the pixel echo: \($0)")
                    })
            })
    }

    /// Runs a read on the reader connection.
    func read<T>(_ body: (SQLiteDatabase) throws -> T) throws(JournalError) -> T {
        readLock.lock()
        defer {
            reader.resetStatements()
            readLock.unlock()
        }
        do {
            return try body(reader)
        } catch {
            throw JournalError(.io, "journal read failed: \(error)")
        }
    }

    // MARK: Schema

    private static func migrate(_ database: SQLiteDatabase, path: String) throws {
        let current = try JournalSchema.version(
            of: database, path: path,
            advice: "run the newer capi-relay or point the config at"
                + " another journal")
        for (index, migration) in JournalSchema.migrations.enumerated() where index >= current {
            try database.execute("BEGIN IMMEDIATE")
            do {
                try database.execute(migration)
                try database.execute("PRAGMA user_version = \(index + 1)")
                try database.execute("COMMIT")
            } catch {
                try? database.execute("ROLLBACK")
                throw error
            }
        }
    }
}

/// Carries a requeue's result out of its write job.
private final class RequeueBox: @unchecked Sendable {
    var result: RequeueResult?
}
