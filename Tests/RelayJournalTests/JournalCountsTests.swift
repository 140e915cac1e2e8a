import Foundation
import RelayCore
import Testing

@testable import RelayJournal

/// The totals the feed shows every second come from counts that triggers keep; they must equal
/// what counting every row says, after every kind of change the journal makes.
@Suite struct JournalCountsTests {
    @Test func theKeptTotalsEqualAFullRecountAfterEveryKindOfChange() throws {
        let temp = try TemporaryJournal()
        let journal = temp.journal
        try journal.recordPixelEcho(eventID: "e1", eventName: "Lead", seenAtMillis: 1)
        _ = try journal.appendAndWait(
            delivery([
                InboundItem(
                    signal: signal(.quickReply, mid: "a"), outcome: .conversion(conversion("e1"))),
                InboundItem(
                    signal: signal(.quickReply, mid: "b"), outcome: .conversion(conversion("e2"))),
                InboundItem(
                    signal: signal(.quickReply, mid: "c"), outcome: .conversion(conversion("e3"))),
                InboundItem(
                    signal: signal(.quickReply, mid: "a"), outcome: .conversion(conversion("e1"))),
                InboundItem(
                    signal: signal(.read, mid: nil), outcome: .notConversion(reason: "read receipt")
                ),
                InboundItem(
                    signal: signal(.message, mid: "d"),
                    outcome: .notConversion(reason: "consent: the person opted out")),
            ]))
        try journal.recordPixelEcho(eventID: "e2", eventName: "Lead", seenAtMillis: 2)
        // A repeat of a pair changes nothing.
        try journal.recordPixelEcho(eventID: "e2", eventName: "Lead", seenAtMillis: 3)
        try expectKeptEqualsRecount(temp)

        let ids = try journal.due(for: .capi, nowMillis: .max, limit: 10).map(\.conversionID)
        try journal.record(
            attempt: nil,
            changes: [
                (ids[0], .sent), (ids[1], .retry(atMillis: 5_000, reason: "busy")),
                (
                    ids[2],
                    .failed(DeadLetterReason(code: "graph_100", message: "Invalid parameter"))
                ),
            ],
            destination: .capi)
        try journal.record(
            attempt: nil, changes: [(ids[0], .sent), (ids[1], .expired(reason: "too old"))],
            destination: .crm)
        try expectKeptEqualsRecount(temp)

        let letters = try journal.deadLetters(matching: DeadLetterFilter(), limit: 10)
        _ = try journal.resend(deadLetterIDs: letters.map(\.id), nowMillis: 10)
        _ = try journal.requeue(eventID: "e1", confirm: true, nowMillis: 10)
        try expectKeptEqualsRecount(temp)
        #expect(try journal.counters().capiPending == 3)
    }

    /// A journal from before the counts existed is counted once, when it is opened.
    @Test func aJournalFromBeforeTheCountsIsCountedWhenOpened() throws {
        let temp = try TemporaryJournal()
        _ = try temp.journal.appendAndWait(
            delivery(
                (0..<5).map { index in
                    InboundItem(
                        signal: signal(.quickReply, mid: "m\(index)"),
                        outcome: .conversion(conversion("e\(index)")))
                }))
        let expected = try temp.journal.counters()
        temp.journal.close()

        let path = temp.directory.appendingPathComponent("journal.sqlite").path
        let database = try SQLiteDatabase(path: path)
        try database.execute(
            """
            DROP TRIGGER count_delivery; DROP TRIGGER count_signal; DROP TRIGGER count_conversion;
            DROP TRIGGER count_capi_state;
            DROP TRIGGER count_crm_state; DROP TRIGGER count_pixel_echo;
            DROP TABLE journal_counts; PRAGMA user_version = 7;
            """)
        database.close()

        let reopened = try SQLiteJournal(path: path)
        defer { reopened.close() }
        #expect(try reopened.counters() == expected)
        #expect(expected.capiPending == 5)
        #expect(expected.received == 5)
    }

    private func expectKeptEqualsRecount(
        _ temp: TemporaryJournal, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let kept = try temp.journal.counters()
        let recounted = try Self.recount(
            temp.directory.appendingPathComponent("journal.sqlite").path)
        #expect(kept == recounted, sourceLocation: sourceLocation)
    }

    /// Every total counted from the rows themselves, as the journal did before version 8.
    static func recount(_ path: String) throws -> JournalCounters {
        let database = try SQLiteDatabase(path: path, readOnly: true)
        defer { database.close() }
        func count(_ sql: String) throws -> [(String, Int)] {
            let statement = try database.statement(sql)
            var rows: [(String, Int)] = []
            while try statement.step() {
                rows.append((statement.text(0) ?? "", Int(statement.int(1))))
            }
            statement.reset()
            return rows
        }
        var counts: [String: Int] = [:]
        for sql in [
            "SELECT 'deliveries', count(*) FROM deliveries",
            "SELECT 'signals.' || outcome, count(*) FROM signals GROUP BY outcome",
            "SELECT 'conversions', count(*) FROM conversions",
            "SELECT 'capi.' || capi_state, count(*) FROM conversions GROUP BY capi_state",
            "SELECT 'crm.' || crm_state, count(*) FROM conversions GROUP BY crm_state",
            """
            SELECT 'consent_drops',
                (SELECT count(*) FROM conversions WHERE consent_dropped IS NOT NULL)
                + (SELECT count(*) FROM signals WHERE reason LIKE 'consent:%')
            """,
            "SELECT 'pixel_echoes', count(*) FROM pixel_echoes",
            """
            SELECT 'pixel_matched', count(*) FROM conversions c WHERE EXISTS (
                SELECT 1 FROM pixel_echoes p
                WHERE p.event_id = c.event_id AND p.event_name = c.event_name)
            """,
        ] {
            for (name, value) in try count(sql) { counts[name] = value }
        }
        return JournalCounters(counts: counts)
    }
}
