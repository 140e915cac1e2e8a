import Foundation
import RelayCore
import Testing

@testable import RelayJournal

/// Dead letters: written when a destination gives up, listed by filter, queued again.
@Suite struct DeadLetterTests {
    /// A journal with three CAPI conversions given up on: two with Graph code 100 at 1,000 ms
    /// and 5,000 ms, one expired.
    func givenUp() throws -> (TemporaryJournal, [Int64]) {
        let temp = try TemporaryJournal()
        _ = try temp.journal.appendAndWait(
            delivery(
                ["e1", "e2", "e3"].enumerated().map { index, id in
                    InboundItem(
                        signal: signal(.quickReply, mid: "m\(index)"),
                        outcome: .conversion(conversion(id)))
                }))
        let ids = try temp.journal.due(for: .capi, nowMillis: .max, limit: 10).map(\.conversionID)
        let invalid = DeadLetterReason(
            code: "graph_100", graphCode: 100, graphSubcode: 2_804_050, httpStatus: 400,
            message: "Invalid parameter")
        for (id, at) in [(ids[0], Int64(1_000)), (ids[1], 5_000)] {
            try temp.journal.record(
                attempt: DeliveryAttempt(
                    destination: .capi, dataset: "880", startedAtMillis: at - 10,
                    finishedAtMillis: at, httpStatus: 400, response: "{}", outcome: "failed",
                    conversionIDs: [id]),
                changes: [(id, .failed(invalid))], destination: .capi)
        }
        try temp.journal.record(
            attempt: nil, changes: [(ids[2], .expired(reason: "too old"))], destination: .capi)
        return (temp, ids)
    }

    @Test(arguments: JournalBackend.allCases)
    func givingUpLeavesADeadLetterWithTheReasonAndTheEvent(_ backend: JournalBackend) throws {
        let (temp, _) = try givenUp()
        let letters = try temp.journal.deadLetters(matching: DeadLetterFilter(), limit: 10)
        #expect(letters.map(\.conversion.eventID) == ["e1", "e2", "e3"])
        #expect(letters[0].reason.graphCode == 100)
        #expect(letters[0].reason.graphSubcode == 2_804_050)
        #expect(letters[0].reason.message == "Invalid parameter")
        #expect(letters[0].attempts == 1)
        #expect(letters[0].createdAtMillis == 1_000)
        #expect(letters[2].reason.code == "expired")
        #expect(try temp.journal.counters().capiFailed == 2)
    }

    @Test(arguments: JournalBackend.allCases) func filtersCombine(_ backend: JournalBackend) throws
    {
        let (temp, _) = try givenUp()
        func ids(_ filter: DeadLetterFilter) throws -> [String] {
            try temp.journal.deadLetters(matching: filter, limit: 10).map(\.conversion.eventID)
        }
        #expect(try ids(DeadLetterFilter(reason: "100")) == ["e1", "e2"])
        #expect(try ids(DeadLetterFilter(reason: "graph_100")) == ["e1", "e2"])
        #expect(try ids(DeadLetterFilter(reason: "expired")) == ["e3"])
        #expect(try ids(DeadLetterFilter(sinceMillis: 2_000, reason: "100")) == ["e2"])
        #expect(try ids(DeadLetterFilter(eventID: "e1")) == ["e1"])
        #expect(try ids(DeadLetterFilter(destination: .crm)).isEmpty)
    }

    @Test(arguments: JournalBackend.allCases)
    func aResendQueuesAgainWithAttemptsFromZeroAndClosesTheLetter(_ backend: JournalBackend) throws
    {
        let (temp, ids) = try givenUp()
        let letters = try temp.journal.deadLetters(
            matching: DeadLetterFilter(reason: "100"), limit: 10)
        let queued = try temp.journal.resend(deadLetterIDs: letters.map(\.id), nowMillis: 9_000)
        #expect(queued == letters.map(\.id))

        let due = try temp.journal.due(for: .capi, nowMillis: 9_000, limit: 10)
        #expect(due.map(\.conversionID) == [ids[0], ids[1]])
        #expect(due.allSatisfy { $0.attempts == 0 })
        #expect(try temp.journal.deadLetters(matching: DeadLetterFilter(), limit: 10).count == 1)
        let closed = try temp.journal.deadLetters(
            matching: DeadLetterFilter(includeResent: true), limit: 10)
        #expect(closed.filter { $0.resentAtMillis == 9_000 }.count == 2)

        // Sending the same ids again changes nothing: they are no longer open.
        #expect(try temp.journal.resend(deadLetterIDs: letters.map(\.id), nowMillis: 9_500).isEmpty)
    }

    @Test(arguments: JournalBackend.allCases) func aResendFromTheFeedClosesTheLetterToo(
        _ backend: JournalBackend
    ) throws {
        let (temp, ids) = try givenUp()
        #expect(
            try temp.journal.requeue(eventID: "e3", confirm: false, nowMillis: 7_000)
                == .requeued(conversionID: ids[2]))
        #expect(
            try temp.journal.deadLetters(matching: DeadLetterFilter(eventID: "e3"), limit: 1)
                .isEmpty)
    }
}
