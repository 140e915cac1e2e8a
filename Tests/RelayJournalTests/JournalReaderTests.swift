import Foundation
import RelayCore
import RelayTestSupport
import Testing

@testable import RelayJournal

/// The read-only view the QA commands use, and what the journal keeps for them.
@Suite struct JournalReaderTests {
    @Test(arguments: JournalBackend.allCases)
    func conversionsAttemptsWithTheirRequestsAndPixelEchoesReadBack(
        _ backend: JournalBackend
    ) throws {
        let temp = try TemporaryJournal(backend)
        let receipt = try temp.journal.appendAndWait(
            delivery([
                InboundItem(signal: signal(.quickReply), outcome: .conversion(conversion("e1")))
            ]))
        guard case .conversion(let id, _) = receipt.results.first else {
            Issue.record("expected a conversion, got \(receipt.results)")
            return
        }
        try temp.journal.record(
            attempt: DeliveryAttempt(
                destination: .capi, dataset: "880", startedAtMillis: 5, finishedAtMillis: 6,
                httpStatus: 200, response: "{}", outcome: "sent", conversionIDs: [id],
                request: #"{"data":[{"event_id":"e1"}]}"#),
            changes: [(id, .sent)], destination: .capi)
        try temp.journal.recordPixelEcho(eventID: "e1", eventName: "Lead", seenAtMillis: 7)
        try temp.journal.recordPixelEcho(eventID: "e1", eventName: "Lead", seenAtMillis: 9)

        let reader =
            try temp.url.map { try JournalReader(url: $0) }
            ?? JournalReader(path: temp.path)
        let stored = try reader.conversions()
        #expect(stored.map(\.eventID) == ["e1"])
        #expect(stored.first?.capiState == "sent")
        #expect(stored.first?.conversion?.consent == .unknown, "the journal keeps the consent")
        let attempts = try reader.attempts()
        #expect(attempts.first?.request == #"{"data":[{"event_id":"e1"}]}"#)
        #expect(attempts.first?.conversionIDs == [id])
        #expect(
            try reader.pixelEchoes() == [
                PixelEcho(eventID: "e1", eventName: "Lead", seenAtMillis: 7)
            ])
        var bodies: [[UInt8]] = []
        try reader.forEachDelivery { bodies.append($0.body) }
        #expect(bodies == [Array("{}".utf8)], "the body comes back byte for byte")
    }

    @Test func aDatabaseNoRelayHasWrittenIsNotAJournal() throws {
        let url = try PostgresTestServer.freshDatabase()
        do {
            _ = try JournalReader(url: url)
            Issue.record("an empty database opened as a journal")
        } catch {
            #expect(error.code == .incompatible)
            #expect(error.message.contains("start a relay on it first"))
        }
    }

    @Test func theReaderNeverWrites() throws {
        let temp = try TemporaryJournal()
        let reader = try JournalReader(path: temp.path)
        let database = try SQLiteDatabase(path: temp.path, readOnly: true)
        #expect(throws: SQLiteError.self) { try database.execute("DELETE FROM conversions") }
        _ = reader
    }

    @Test func aMissingOrCorruptJournalIsAnErrorThatNamesTheFile() throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("reader-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        let missing = directory.appendingPathComponent("none.sqlite").path
        #expect(throws: JournalError.self) { try JournalReader(path: missing) }
        #expect(!FileManager.default.fileExists(atPath: missing), "nothing is created")

        let garbage = directory.appendingPathComponent("garbage.sqlite").path
        try Data(repeating: 0x41, count: 8192).write(to: URL(fileURLWithPath: garbage))
        do {
            _ = try JournalReader(path: garbage)
            Issue.record("a file of garbage opened as a journal")
        } catch {
            #expect(error.code == .incompatible)
            #expect(error.message.contains(garbage))
        }
    }
}
