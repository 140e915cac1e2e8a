import Foundation
import RelayCore
import RelayTestSupport
import Testing

@testable import RelayJournal

/// What only the SQLite journal does: a file of its own, its schema version in the file.
@Suite struct SQLiteJournalTests {
    @Test func theJournalFileIsReadableByItsOwnerOnly() throws {
        let temp = try TemporaryJournal()
        _ = try temp.journal.appendAndWait(
            delivery([
                InboundItem(signal: signal(.read, mid: nil), outcome: .notConversion(reason: "x"))
            ]))
        for suffix in ["", "-wal"] {
            var status = stat()
            #expect(stat(temp.path + suffix, &status) == 0)
            #expect(status.st_mode & 0o777 == 0o600, "journal\(suffix) holds message text")
        }
    }

    /// Completions run on a thread of their own; closing the journal from one, and letting go
    /// of its last reference there, must neither wait for itself nor lose the commit it
    /// reports.
    @Test func aJournalClosedAndReleasedFromItsOwnCompletionDoesNotHang() throws {
        let temp = try TemporaryJournal()
        let path = temp.directory.appendingPathComponent("released.sqlite").path
        let holder = JournalHolder()
        holder.journal = try SQLiteJournal(path: path)
        let answered = DispatchSemaphore(value: 0)
        holder.journal?.append(
            delivery([
                InboundItem(signal: signal(.read, mid: nil), outcome: .notConversion(reason: "x"))
            ])
        ) { result in
            holder.journal?.close()
            holder.journal = nil
            if case .success = result { answered.signal() }
        }
        #expect(answered.wait(timeout: .now() + 10) == .success)
        let reopened = try SQLiteJournal(path: path)
        defer { reopened.close() }
        #expect(try reopened.counters().deliveries == 1)
    }

    /// Jobs run without savepoints until one fails; then the batch runs again with one per
    /// job, and only the failing job is lost.
    @Test func aJobFailingInASharedTransactionFailsAloneAndTheOthersCommit() throws {
        // The fifth job repeats the first's value and breaks the UNIQUE constraint.
        let run = try SharedTransaction(
            schema: "CREATE TABLE t (v INTEGER UNIQUE)", value: { $0 == 5 ? 1 : $0 })
        #expect(run.failed == [5])
        #expect(run.transactions == 2, "the ten shared one transaction")
        #expect(run.values == [1, 2, 3, 4, 6, 7, 8, 9, 10])
    }

    /// A job can end the whole transaction, not just its own part (`RAISE(ROLLBACK)` in a
    /// trigger); the jobs before it then run again without it, and none runs outside a
    /// transaction.
    @Test func aJobThatEndsTheWholeTransactionFailsAloneToo() throws {
        let run = try SharedTransaction(
            schema: """
                CREATE TABLE t (v INTEGER);
                CREATE TRIGGER refuse BEFORE INSERT ON t WHEN NEW.v = 5
                BEGIN SELECT RAISE(ROLLBACK, 'refused'); END;
                """, value: { $0 })
        #expect(run.failed == [5])
        #expect(run.values == [1, 2, 3, 4, 6, 7, 8, 9, 10])
    }

    /// A CRM echo, `inspect`, `resend` and a pixel echo find an event by its id: an index
    /// lookup, not a read of every conversion, whatever the journal's size.
    @Test func lookupsByEventIDUseAnIndex() throws {
        let temp = try TemporaryJournal()
        let database = try SQLiteDatabase(path: temp.path)
        defer { database.close() }
        let lookups = [
            "SELECT id, body FROM conversions WHERE event_id = 'x'"
                + " AND (CAST(NULL AS TEXT) IS NULL OR event_name = NULL) ORDER BY id DESC LIMIT 1",
            "SELECT id, capi_state FROM conversions WHERE event_id = 'x' ORDER BY id DESC LIMIT 1",
            "SELECT count(*) FROM conversions c WHERE c.event_id = 'x' AND c.event_name = 'Lead'",
            // The dedupe lookup by event id, on every append.
            "SELECT id, created_at_ms FROM conversions WHERE event_id = 'x' AND event_name = 'Lead'"
                + " AND dataset = 'd' ORDER BY id DESC LIMIT 1",
        ]
        for lookup in lookups {
            let plan = try database.statement("EXPLAIN QUERY PLAN " + lookup)
            var steps: [String] = []
            while try plan.step() { steps.append(plan.text(3) ?? "") }
            #expect(
                steps.contains { $0.contains("USING") && $0.contains("INDEX conversions_event") },
                "\(lookup): \(steps)")
        }

        // `inspect` also finds the signal behind each conversion by index, not by building a
        // temporary one over every signal.
        let inspect = try database.statement(
            """
            EXPLAIN QUERY PLAN SELECT c.id, d.body, s.mid FROM conversions c
            LEFT JOIN signals s ON s.conversion_id = c.id AND s.outcome = 'conversion'
            LEFT JOIN deliveries d ON d.id = s.delivery_id
            WHERE c.event_id = 'x' ORDER BY c.id DESC
            """)
        var steps: [String] = []
        while try inspect.step() { steps.append(inspect.text(3) ?? "") }
        #expect(
            steps.contains { $0.contains("SEARCH s USING INDEX signals_conversion") }, "\(steps)")
        #expect(!steps.contains { $0.contains("AUTOMATIC") }, "\(steps)")
    }

    @Test func theWindowIsNeverBelow48Hours() {
        #expect(
            JournalConfiguration(dedupeWindowSeconds: 60).dedupeWindowSeconds == 48 * 3600)
    }

    @Test func oneFailingAppendDoesNotPoisonTheOnesAfterIt() throws {
        let temp = try TemporaryJournal()
        let other = try SQLiteDatabase(path: temp.path)
        try other.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON deliveries BEGIN SELECT RAISE(FAIL, 'refused'); END;"
        )
        let item = InboundItem(signal: signal(.quickReply), outcome: .conversion(conversion("e1")))
        #expect(throws: JournalError.self) { try temp.journal.appendAndWait(delivery([item])) }

        try other.execute("DROP TRIGGER refuse")
        other.close()
        let receipt = try temp.journal.appendAndWait(delivery([item]))
        #expect(receipt.results.count == 1)
    }

    @Test func deliveryReadsAnAppendedConversionAsStoredAndNeverOneThatRolledBack() throws {
        // Delivery takes a conversion just appended from memory rather than decoding its row.
        // An append that fails after writing its conversion row loses the row with its
        // transaction, and the id is free again: here another writer (a second process on the
        // same file) takes it, and memory must not answer for it.
        let temp = try TemporaryJournal()
        let other = try SQLiteDatabase(path: temp.path)
        defer { other.close() }
        try other.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON source_keys BEGIN SELECT RAISE(FAIL, 'refused'); END;"
        )
        let lost = InboundItem(
            signal: signal(.quickReply, mid: "m1"), outcome: .conversion(conversion("e-lost")),
            sourceKey: "mid:m1")
        #expect(throws: JournalError.self) { try temp.journal.appendAndWait(delivery([lost])) }
        try other.execute("DROP TRIGGER refuse")
        try other.statement(
            """
            INSERT INTO conversions (id, dataset, event_name, event_id, body, event_time,
                created_at_ms, capi_state, capi_next_at_ms, crm_state, crm_next_at_ms)
            VALUES (1, '880', 'Lead', 'e-other', ?, 1764763200, 0, 'pending', 0, 'pending', 0)
            """
        ).bind(.text(conversion("e-other").storedJSON)).run()

        var made = conversion("e-kept", psid: "732")
        made.customData = ["value": .float(480), "currency": "EUR", "note": "a \"quoted\" é"]
        let kept = InboundItem(
            signal: signal(.quickReply, psid: "732", mid: "m2"), outcome: .conversion(made),
            sourceKey: "mid:m2")
        let receipt = try temp.journal.appendAndWait(delivery([kept]))
        #expect(receipt.results.first == .conversion(conversionID: 2, eventID: "e-kept"))

        for destination in [Destination.capi, .crm] {
            let due = try temp.journal.due(
                for: destination, nowMillis: 2_000_000_000_000, limit: 10)
            #expect(due.map(\.conversion.eventID) == ["e-other", "e-kept"])
            // What goes out is what each row decodes to, byte for byte. (The row spells the
            // value 480.0 as 480, which decodes as an integer: the same JSON.)
            let rows = try other.statement("SELECT body FROM conversions ORDER BY id")
            for pending in due {
                #expect(try rows.step())
                let stored = try JSONDecoder().decode(
                    Conversion.self, from: Data((rows.text(0) ?? "").utf8))
                #expect(
                    CAPIEventEncoder.event(pending.conversion).serialized()
                        == CAPIEventEncoder.event(stored).serialized())
                #expect(
                    CAPIEventEncoder.crmPayload(pending.conversion).serialized()
                        == CAPIEventEncoder.crmPayload(stored).serialized())
            }
            rows.reset()
        }
    }

    @Test func recentConversionsForgetTheOldestBeyondTheirCapacity() {
        let recent = RecentConversions(capacity: 2)
        recent.remember([(1, conversion("e1")), (2, conversion("e2"))])
        recent.remember([(3, conversion("e3"))])
        #expect(recent.conversion(id: 1) == nil)
        #expect(recent.conversion(id: 2)?.eventID == "e2")
        #expect(recent.conversion(id: 3)?.eventID == "e3")
        recent.remember([(4, conversion("e4")), (5, conversion("e5"))])
        #expect([2, 3, 4].map { recent.conversion(id: $0) == nil } == [true, true, false])
        #expect(recent.conversion(id: 5)?.eventID == "e5")
    }

    @Test func aJournalFromANewerVersionIsRefused() throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("journal-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("journal.sqlite").path
        let database = try SQLiteDatabase(path: path)
        try database.execute("PRAGMA user_version = 99")
        database.close()

        do {
            _ = try SQLiteJournal(path: path)
            Issue.record("a newer journal must be refused")
        } catch {
            #expect(error.code == .incompatible)
            #expect(error.message.contains("schema version 99"))
        }
    }

    @Test func reopeningKeepsEverything() throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("journal-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("journal.sqlite").path
        do {
            let journal = try SQLiteJournal(path: path)
            _ = try journal.appendAndWait(
                delivery([
                    InboundItem(signal: signal(.quickReply), outcome: .conversion(conversion("e1")))
                ]))
            journal.close()
        }
        let reopened = try SQLiteJournal(path: path)
        defer { reopened.close() }
        #expect(try reopened.due(for: .capi, nowMillis: .max, limit: 10).count == 1)
        let again = try reopened.appendAndWait(
            delivery([
                InboundItem(signal: signal(.quickReply), outcome: .conversion(conversion("e1")))
            ]))
        guard case .dedupeHit = again.results[0] else {
            Issue.record("dedupe must survive a restart, got \(again.results)")
            return
        }
    }
}

/// Holds a journal that a completion lets go of.
private final class JournalHolder: @unchecked Sendable {
    var journal: SQLiteJournal?
}

/// Which jobs finished, and which of them failed.
private final class OutcomeLog: @unchecked Sendable {
    private let condition = NSCondition()
    private var finished: [Int] = []  // guarded by condition
    private var failures: [Int] = []  // guarded by condition

    func add(_ value: Int, failed: Bool) {
        condition.withLock {
            finished.append(value)
            if failed { failures.append(value) }
            condition.broadcast()
        }
    }

    var failed: [Int] { condition.withLock { failures.sorted() } }

    func waitForCount(_ count: Int) -> Bool {
        let deadline = Date().addingTimeInterval(10)
        condition.lock()
        defer { condition.unlock() }
        while finished.count < count {
            guard condition.wait(until: deadline) else { return false }
        }
        return true
    }
}

/// Ten jobs inserting into table `t` through one group-commit writer, queued while a first
/// job holds the writer so that they share the next transaction; job `n` inserts `value(n)`.
private struct SharedTransaction {
    /// The jobs that reported an error.
    var failed: [Int]
    /// The values in `t` afterwards.
    var values: [Int64]
    /// Transactions the writer committed, the holding job's included.
    var transactions: Int

    init(schema: String, value: @escaping @Sendable (Int) -> Int) throws {
        let temp = try TemporaryJournal()
        let path = temp.directory.appendingPathComponent("writer.sqlite").path
        let database = try SQLiteDatabase(path: path)
        try database.execute("PRAGMA journal_mode = WAL; " + schema)
        let writer = GroupCommitWriter(database: database)
        defer { writer.close() }

        let holding = DispatchSemaphore(value: 0)
        let gate = DispatchSemaphore(value: 0)
        writer.submit(
            { _ in
                holding.signal()
                gate.wait()
            }, done: { _ in })
        holding.wait()
        let outcomes = OutcomeLog()
        for job in 1...10 {
            writer.submit(
                { database in try database.execute("INSERT INTO t VALUES (\(value(job)))") },
                done: { error in outcomes.add(job, failed: error != nil) })
        }
        gate.signal()
        guard outcomes.waitForCount(10) else { throw TestFailure("the jobs did not finish") }
        failed = outcomes.failed
        transactions = writer.transactionsCommitted

        let reader = try SQLiteDatabase(path: path)
        defer { reader.close() }
        let rows = try reader.statement("SELECT v FROM t ORDER BY v")
        values = []
        while try rows.step() { values.append(rows.int(0)) }
    }
}
