import Foundation
import RelayCore
import Testing

@testable import RelayJournal

/// What `/readyz` and `/metrics` ask of the journal, on every backend.
@Suite struct JournalHealthTests {
    @Test(arguments: JournalBackend.allCases)
    func theBacklogIsSummedPerDatasetWithItsOldestAndTheWriterAnswersAProbe(
        _ backend: JournalBackend
    ) throws {
        let temp = try TemporaryJournal(backend)
        #expect(try temp.journal.pendingSummary(for: .capi).isEmpty)
        _ = try temp.journal.appendAndWait(
            delivery(
                [
                    InboundItem(
                        signal: signal(.quickReply, mid: "a"),
                        outcome: .conversion(conversion("e1"))),
                    InboundItem(
                        signal: signal(.quickReply, mid: "b"),
                        outcome: .conversion(conversion("e2"))),
                ], at: 1_764_763_200_000))
        _ = try temp.journal.appendAndWait(
            delivery(
                [
                    InboundItem(
                        signal: signal(.quickReply, mid: "c"),
                        outcome: .conversion(conversion("e3")))
                ], at: 1_764_763_260_000))

        #expect(
            try temp.journal.pendingSummary(for: .capi) == [
                PendingSummary(dataset: "880", count: 3, oldestJournaledAtMillis: 1_764_763_200_000)
            ])
        let sent = try temp.journal.due(for: .capi, nowMillis: .max, limit: 1).map(\.conversionID)
        try temp.journal.record(attempt: nil, changes: [(sent[0], .sent)], destination: .capi)
        #expect(try temp.journal.pendingSummary(for: .capi).first?.count == 2)
        #expect(try temp.journal.pendingSummary(for: .crm).first?.count == 3)
        #expect(temp.journal.probeWritable(timeoutSeconds: 5) == nil)
    }
}
