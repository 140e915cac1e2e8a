import Foundation
import RelayCore
import RelayTestSupport
import Testing

@testable import RelayJournal

/// The journal backends every shared journal test runs against.
enum JournalBackend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite
    case postgres

    var testDescription: String { rawValue }
}

/// A fresh journal of one backend: a SQLite file in a temporary directory (removed with the
/// value), or a database of its own on the test PostgreSQL server.
final class TemporaryJournal {
    let directory: URL
    let journal: any Journal
    /// The PostgreSQL URL, for a second relay's journal on the same database.
    let url: String?

    init(_ backend: JournalBackend = .sqlite, configuration: JournalConfiguration = .init())
        throws
    {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("journal-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        switch backend {
        case .sqlite:
            url = nil
            journal = try SQLiteJournal(
                path: directory.appendingPathComponent("journal.sqlite").path,
                configuration: configuration)
        case .postgres:
            let url = try PostgresTestServer.freshDatabase()
            self.url = url
            journal = try PostgresJournal(
                url: url, options: PostgresJournalOptions(node: "test-node"),
                configuration: configuration)
        }
    }

    /// The SQLite journal's file; only for tests of SQLite alone.
    var path: String { (journal as! SQLiteJournal).path }

    deinit {
        journal.close()
        try? FileManager.default.removeItem(at: directory)
    }
}

let hour: Int64 = 3_600_000

func signal(
    _ kind: SignalKind, psid: String = "731", mid: String? = "m1", referral: Referral? = nil,
    atMillis: Int64 = 1_764_763_200_000
) -> InboundSignal {
    InboundSignal(
        pageID: "100", pageScopedUserID: psid, timestampMillis: atMillis, kind: kind, mid: mid,
        referral: referral)
}

func conversion(_ eventID: String, name: String = "Lead", psid: String = "731") -> Conversion {
    Conversion(
        eventID: eventID, eventName: name, dataset: "880", pageID: "100", pageScopedUserID: psid,
        eventTime: 1_764_763_200, rule: "test")
}

func delivery(_ items: [InboundItem], at millis: Int64 = 1_764_763_200_000) -> InboundDelivery {
    InboundDelivery(
        source: "messenger", receivedAtMillis: millis, body: Array("{}".utf8), items: items)
}

/// The journal's behaviour, the same whichever database holds it.
@Suite struct JournalTests {
    @Test(arguments: JournalBackend.allCases) func aConversionIsQueuedForBothDestinations(
        _ backend: JournalBackend
    ) throws {
        let temp = try TemporaryJournal(backend)
        let receipt = try temp.journal.appendAndWait(
            delivery([
                InboundItem(signal: signal(.quickReply), outcome: .conversion(conversion("e1")))
            ]))
        guard case .conversion(let id, "e1") = receipt.results.first else {
            Issue.record("expected a new conversion, got \(receipt.results)")
            return
        }
        let capi = try temp.journal.due(for: .capi, nowMillis: .max, limit: 10)
        let crm = try temp.journal.due(for: .crm, nowMillis: .max, limit: 10)
        #expect(capi.map(\.conversionID) == [id])
        #expect(crm.map(\.conversionID) == [id])
        #expect(capi.first?.conversion.eventID == "e1")
    }

    @Test(arguments: JournalBackend.allCases)
    func theSameKeyInsideTheWindowIsADedupeHitThatPointsAtTheFirst(_ backend: JournalBackend) throws
    {
        let temp = try TemporaryJournal(backend)
        let first = try temp.journal.appendAndWait(
            delivery([
                InboundItem(signal: signal(.quickReply), outcome: .conversion(conversion("e1")))
            ]))
        let again = try temp.journal.appendAndWait(
            delivery(
                [
                    InboundItem(signal: signal(.quickReply), outcome: .conversion(conversion("e1")))
                ], at: 1_764_763_200_000 + 47 * hour))
        guard case .conversion(let firstID, _) = first.results[0] else {
            Issue.record("first append was not a conversion")
            return
        }
        #expect(
            again.results == [
                .dedupeHit(matchedConversionID: firstID, eventID: "e1", rule: "event_id")
            ])
        #expect(try temp.journal.due(for: .capi, nowMillis: .max, limit: 10).count == 1)
        let counters = try temp.journal.counters()
        #expect(counters.conversions == 2)
        #expect(counters.dedupeHits == 1)
        #expect(counters.capiPending == 1)
    }

    @Test(arguments: JournalBackend.allCases) func anotherEventNameWithTheSameIdIsNotADuplicate(
        _ backend: JournalBackend
    ) throws {
        let temp = try TemporaryJournal(backend)
        let receipt = try temp.journal.appendAndWait(
            delivery([
                InboundItem(signal: signal(.quickReply), outcome: .conversion(conversion("e1"))),
                InboundItem(
                    signal: signal(.postback),
                    outcome: .conversion(conversion("e1", name: "Schedule"))),
            ]))
        #expect(receipt.results.allSatisfy { if case .conversion = $0 { true } else { false } })
    }

    @Test(arguments: JournalBackend.allCases) func pastTheWindowTheSameKeyIsANewConversion(
        _ backend: JournalBackend
    ) throws {
        let temp = try TemporaryJournal(
            backend, configuration: .init(dedupeWindowSeconds: 48 * 3600))
        _ = try temp.journal.appendAndWait(
            delivery([
                InboundItem(signal: signal(.quickReply), outcome: .conversion(conversion("e1")))
            ]))
        let later = try temp.journal.appendAndWait(
            delivery(
                [
                    InboundItem(signal: signal(.quickReply), outcome: .conversion(conversion("e1")))
                ], at: 1_764_763_200_000 + 49 * hour))
        guard case .conversion = later.results[0] else {
            Issue.record("expected a new conversion past the window, got \(later.results)")
            return
        }
    }

    @Test(arguments: JournalBackend.allCases)
    func theFirstReferralOfAThreadTravelsWithLaterConversions(_ backend: JournalBackend) throws {
        let temp = try TemporaryJournal(backend)
        let ad = Referral(ref: "spring_promo", source: "ADS", adID: "2385")
        let later = Referral(ref: "newsletter_dec", source: "SHORTLINK")
        _ = try temp.journal.appendAndWait(
            delivery([
                InboundItem(
                    signal: signal(.postback, mid: "m0", referral: ad),
                    outcome: .notConversion(reason: "x")),
                InboundItem(
                    signal: signal(.referral, mid: nil, referral: later),
                    outcome: .notConversion(reason: "x")),
            ]))
        _ = try temp.journal.appendAndWait(
            delivery([
                InboundItem(signal: signal(.quickReply), outcome: .conversion(conversion("e1")))
            ]))
        let pending = try temp.journal.due(for: .capi, nowMillis: .max, limit: 10)
        #expect(pending.first?.conversion.referral == ad)
    }

    @Test(arguments: JournalBackend.allCases) func countersAddUp(_ backend: JournalBackend) throws {
        let temp = try TemporaryJournal(backend)
        _ = try temp.journal.appendAndWait(
            delivery([
                InboundItem(signal: signal(.quickReply), outcome: .conversion(conversion("e1"))),
                InboundItem(
                    signal: signal(.read, mid: nil), outcome: .notConversion(reason: "read receipt")
                ),
                InboundItem(signal: signal(.quickReply), outcome: .conversion(conversion("e1"))),
            ]))
        let counters = try temp.journal.counters()
        #expect(counters.deliveries == 1)
        #expect(counters.received == 3)
        #expect(counters.conversions == 2)
        #expect(counters.notConversions == 1)
        #expect(counters.dedupeHits == 1)
    }

    @Test(arguments: JournalBackend.allCases) func deliveryStatesAndAttemptsAreRecorded(
        _ backend: JournalBackend
    ) throws {
        let temp = try TemporaryJournal(backend)
        _ = try temp.journal.appendAndWait(
            delivery([
                InboundItem(
                    signal: signal(.quickReply, mid: "a"), outcome: .conversion(conversion("e1"))),
                InboundItem(
                    signal: signal(.quickReply, mid: "b"), outcome: .conversion(conversion("e2"))),
                InboundItem(
                    signal: signal(.quickReply, mid: "c"), outcome: .conversion(conversion("e3"))),
            ]))
        let due = try temp.journal.due(for: .capi, nowMillis: .max, limit: 10)
        let ids = due.map(\.conversionID)
        try temp.journal.record(
            attempt: DeliveryAttempt(
                destination: .capi, dataset: "880", startedAtMillis: 1, finishedAtMillis: 2,
                httpStatus: 503, response: "busy", outcome: "retry", conversionIDs: ids),
            changes: [
                (ids[0], .sent), (ids[1], .retry(atMillis: 5_000, reason: "busy")),
                (ids[2], .expired(reason: "too old")),
            ],
            destination: .capi)

        #expect(try temp.journal.due(for: .capi, nowMillis: 4_999, limit: 10).isEmpty)
        let retried = try temp.journal.due(for: .capi, nowMillis: 5_000, limit: 10)
        #expect(retried.map(\.conversionID) == [ids[1]])
        #expect(retried.first?.attempts == 1)
        #expect(try temp.journal.nextDueMillis(for: .capi) == 5_000)
        let counters = try temp.journal.counters()
        #expect(counters.capiSent == 1)
        #expect(counters.capiExpired == 1)
        #expect(counters.capiPending == 1)
        // The CRM queue is independent of what happened at CAPI.
        #expect(counters.crmPending == 3)
    }

    @Test(arguments: JournalBackend.allCases)
    func appendsQueuedTogetherAllCommitAndShareTransactions(_ backend: JournalBackend) throws {
        let temp = try TemporaryJournal(backend)
        let journal = temp.journal
        let done = DispatchGroup()
        let failures = Failures()
        // As the HTTP server does: submit without waiting, answer when the commit completes.
        for index in 0..<200 {
            done.enter()
            journal.append(
                delivery([
                    InboundItem(
                        signal: signal(.quickReply, psid: "u\(index)", mid: "m\(index)"),
                        outcome: .conversion(conversion("e\(index)", psid: "u\(index)")))
                ])
            ) { result in
                if case .failure = result { failures.add() }
                done.leave()
            }
        }
        done.wait()
        #expect(failures.count == 0)
        #expect(try journal.counters().capiPending == 200)
        // 200 appends queued together cannot each have had a transaction of their own.
        #expect(journal.transactionsCommitted < 200)
        #expect(journal.transactionsCommitted >= 1)
    }

    @Test(arguments: JournalBackend.allCases)
    func readsAlwaysSeeTheLatestCommitSoNothingIsSentTwice(_ backend: JournalBackend) throws {
        // A reader statement left open after its first row would pin an old snapshot: the
        // dispatcher would then see events it had already sent as still pending.
        let temp = try TemporaryJournal(backend)
        _ = try temp.journal.appendAndWait(
            delivery([
                InboundItem(signal: signal(.quickReply), outcome: .conversion(conversion("e1")))
            ]))
        _ = try temp.journal.counters()
        let due = try temp.journal.due(for: .capi, nowMillis: .max, limit: 10)
        #expect(due.count == 1)
        try temp.journal.record(
            attempt: nil, changes: due.map { ($0.conversionID, .sent) }, destination: .capi)
        #expect(try temp.journal.due(for: .capi, nowMillis: .max, limit: 10).isEmpty)
    }

    @Test(arguments: JournalBackend.allCases)
    func requeueTellsPendingDeliveredAndUnknownEventsApart(_ backend: JournalBackend) throws {
        let temp = try TemporaryJournal(backend)
        _ = try temp.journal.appendAndWait(
            delivery([
                InboundItem(signal: signal(.quickReply), outcome: .conversion(conversion("e1")))
            ]))
        guard
            case .alreadyQueued = try temp.journal.requeue(
                eventID: "e1", confirm: true, nowMillis: 1)
        else {
            Issue.record("a pending event is not re-sent")
            return
        }
        let due = try temp.journal.due(for: .capi, nowMillis: .max, limit: 10)
        try temp.journal.record(
            attempt: nil, changes: due.map { ($0.conversionID, .sent) }, destination: .capi)
        guard
            case .alreadyDelivered = try temp.journal.requeue(
                eventID: "e1", confirm: false, nowMillis: 1)
        else {
            Issue.record("a delivered event needs confirm")
            return
        }
        guard case .requeued = try temp.journal.requeue(eventID: "e1", confirm: true, nowMillis: 1)
        else {
            Issue.record("a confirmed re-send is queued")
            return
        }
        #expect(try temp.journal.due(for: .capi, nowMillis: 1, limit: 10).count == 1)
        #expect(
            try temp.journal.requeue(eventID: "nope", confirm: true, nowMillis: 1) == .unknownEvent)
    }

}

/// Counts failures reported from the writer thread.
final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func add() { lock.withLock { value += 1 } }
    var count: Int { lock.withLock { value } }
}

@Suite struct MatchKeyCoverageTests {
    @Test(arguments: JournalBackend.allCases)
    func eachNewConversionCountsTheMatchKeysItCarriesAndDuplicatesCountNothing(
        _ backend: JournalBackend
    ) throws {
        let temp = try TemporaryJournal(backend)
        // The journal takes identifiers from the person's profile, so the email goes there,
        // with consent.
        let withEmail = conversion("e1")
        let email = ProfileUpdate(
            consent: .granted, identifiers: ["em": [String(repeating: "a", count: 64)]],
            consentSource: "test")
        _ = try temp.journal.appendAndWait(
            delivery([
                InboundItem(
                    signal: signal(.quickReply), outcome: .conversion(withEmail),
                    profileUpdate: email),
                InboundItem(
                    signal: signal(.postback, psid: "732"),
                    outcome: .conversion(conversion("e2", psid: "732"))),
                InboundItem(
                    signal: signal(.postback),
                    outcome: .conversion(conversion("s1", name: "Schedule"))),
            ]))
        // A redelivery is a dedupe hit: it must not count a second time.
        _ = try temp.journal.appendAndWait(
            delivery([InboundItem(signal: signal(.quickReply), outcome: .conversion(withEmail))]))

        let coverage = try temp.journal.matchKeyCoverage()
        #expect(
            coverage == [
                MatchKeyCount(
                    eventName: "Lead", conversions: 2,
                    carrying: ["page_scoped_user_id": 2, "em": 1]),
                // The same person's Schedule carries the email from the profile too.
                MatchKeyCount(
                    eventName: "Schedule", conversions: 1,
                    carrying: ["page_scoped_user_id": 1, "em": 1]),
            ])
    }
}
