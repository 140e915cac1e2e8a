import Foundation
import RelayCore
import Testing

@testable import RelayJournal

/// The dedupe hierarchy as the journal decides it: which rule fires, in which order, within
/// which windows, whatever order the copies arrive in.
@Suite struct DedupeHierarchyTests {
    /// A server-style conversion of a person with a hashed email and no Messenger ids.
    func webConversion(_ eventID: String, name: String = "Contact", at seconds: Int64) -> Conversion
    {
        var made = Conversion(
            eventID: eventID, eventName: name, dataset: "880", pageID: "", pageScopedUserID: "",
            eventTime: seconds, rule: "server_event")
        made.actionSource = "website"
        return made
    }

    func webItem(_ eventID: String, at seconds: Int64, minted: Bool = true) -> InboundItem {
        InboundItem(
            signal: InboundSignal(
                channel: "server_event", pageID: "", pageScopedUserID: "",
                timestampMillis: seconds * 1000, kind: .serverEvent),
            outcome: .conversion(webConversion(eventID, at: seconds)),
            profileUpdate: ProfileUpdate(
                consent: .granted, identifiers: ["em": [Crypto.sha256Hex("a@example.com")]],
                consentSource: "server_event"),
            dedupeByIdentity: minted)
    }

    func rule(of result: ItemResult) -> String? {
        if case .dedupeHit(_, _, let rule) = result { return rule }
        return nil
    }

    @Test(arguments: JournalBackend.allCases)
    func mintedIDsOfTheSamePersonAndNameWithinTheWindowAreOneConversion(_ backend: JournalBackend)
        throws
    {
        let temp = try TemporaryJournal(backend)
        let t: Int64 = 1_764_763_200

        // The later copy arrives first; the earlier one three hours after it.
        let later = try temp.journal.appendAndWait(delivery([webItem("m2", at: t + 3_600)]))
        let earlier = try temp.journal.appendAndWait(
            delivery([webItem("m1", at: t)], at: 1_764_763_200_000 + 3 * hour))
        guard case .conversion(let id, "m2") = later.results[0] else {
            Issue.record("the first copy to arrive is the conversion: \(later.results)")
            return
        }
        #expect(
            earlier.results == [
                .dedupeHit(matchedConversionID: id, eventID: "m2", rule: "identity")
            ]
        )

        // Past the identity window it is another conversion.
        let dayLater = try temp.journal.appendAndWait(delivery([webItem("m3", at: t + 26 * 3_600)]))
        guard case .conversion = dayLater.results[0] else {
            Issue.record("26 hours apart is two contacts: \(dayLater.results)")
            return
        }
    }

    @Test(arguments: JournalBackend.allCases)
    func theIdentityRuleNeverMatchesAnEventThatCameWithItsOwnID(_ backend: JournalBackend) throws {
        let temp = try TemporaryJournal(backend)
        let t: Int64 = 1_764_763_200
        _ = try temp.journal.appendAndWait(delivery([webItem("m1", at: t)]))
        let supplied = try temp.journal.appendAndWait(
            delivery([webItem("order-7", at: t + 60, minted: false)]))
        guard case .conversion = supplied.results[0] else {
            Issue.record("a supplied id is its own conversion: \(supplied.results)")
            return
        }
    }

    @Test(arguments: JournalBackend.allCases) func aSourceKeyMatchesWhenTheEventIDsDiffer(
        _ backend: JournalBackend
    ) throws {
        let temp = try TemporaryJournal(backend)
        func item(_ eventID: String) -> InboundItem {
            InboundItem(
                signal: signal(.crmEcho), outcome: .conversion(conversion(eventID)),
                sourceKey: "crm:rec-1:qualified")
        }
        let first = try temp.journal.appendAndWait(delivery([item("q1")]))
        let second = try temp.journal.appendAndWait(delivery([item("q2")]))
        guard case .conversion(let id, _) = first.results[0] else {
            Issue.record("\(first.results)")
            return
        }
        #expect(
            second.results == [
                .dedupeHit(matchedConversionID: id, eventID: "q1", rule: "source_key")
            ]
        )
    }

    @Test(arguments: JournalBackend.allCases)
    func theConfiguredOrderDecidesWhichRuleIsCreditedAndALeftOutRuleNeverFires(
        _ backend: JournalBackend
    ) throws {
        let item = InboundItem(
            signal: signal(.quickReply), outcome: .conversion(conversion("e1")),
            sourceKey: "mid:m1")

        let sourceFirst = try TemporaryJournal(
            backend, configuration: .init(dedupeRules: [.sourceKey, .eventID]))
        _ = try sourceFirst.journal.appendAndWait(delivery([item]))
        let hit = try sourceFirst.journal.appendAndWait(delivery([item]))
        #expect(rule(of: hit.results[0]) == "source_key")

        let onlyIdentity = try TemporaryJournal(
            backend, configuration: .init(dedupeRules: [.identity]))
        _ = try onlyIdentity.journal.appendAndWait(delivery([item]))
        let again = try onlyIdentity.journal.appendAndWait(delivery([item]))
        guard case .conversion = again.results[0] else {
            Issue.record("with event_id and source_key off, a repeat is new: \(again.results)")
            return
        }
    }

    @Test(arguments: JournalBackend.allCases)
    func anEchoOfAKnownConversionIsAHitAndEnrichesItsPersonsProfile(_ backend: JournalBackend)
        throws
    {
        let temp = try TemporaryJournal(backend)
        let lead = try temp.journal.appendAndWait(
            delivery([
                InboundItem(signal: signal(.quickReply), outcome: .conversion(conversion("e1")))
            ]))
        let hash = Crypto.sha256Hex("crm-1")
        let echo = InboundItem(
            signal: InboundSignal(
                channel: "crm", pageID: "", pageScopedUserID: "", timestampMillis: 0,
                kind: .crmEcho),
            outcome: .notConversion(reason: "crm echo"),
            profileUpdate: ProfileUpdate(
                consent: .granted, identifiers: ["external_id": [hash]], consentSource: "crm_echo"),
            refersTo: ConversionReference(eventID: "e1", eventName: "Lead"))
        let unknown = InboundItem(
            signal: echo.signal, outcome: echo.outcome,
            refersTo: ConversionReference(eventID: "nope"))
        let receipt = try temp.journal.appendAndWait(
            InboundDelivery(
                source: "crm_echo", receivedAtMillis: 1_764_763_200_000, body: [],
                items: [echo, unknown]))
        guard case .conversion(let id, _) = lead.results[0] else { return }
        #expect(
            receipt.results[0]
                == .dedupeHit(matchedConversionID: id, eventID: "e1", rule: "event_id"))
        guard case .notConversion(let reason) = receipt.results[1] else {
            Issue.record("an echo of an unknown id is refused: \(receipt.results)")
            return
        }
        #expect(reason.contains("nope"))

        // The next conversion of that person carries the CRM's identifier.
        let next = try temp.journal.appendAndWait(
            delivery([
                InboundItem(
                    signal: signal(.postback, mid: "m2"),
                    outcome: .conversion(conversion("e2", name: "Schedule")))
            ]))
        guard case .conversion = next.results[0] else { return }
        let due = try temp.journal.due(for: .capi, nowMillis: .max, limit: 10)
        let schedule = try #require(due.first { $0.conversion.eventID == "e2" })
        #expect(schedule.conversion.userData?["external_id"] == [hash])
        #expect(schedule.conversion.consent == .granted)
        #expect(schedule.conversion.consentSource == "crm_echo")
    }

    @Test(arguments: JournalBackend.allCases) func pixelEchoesCountOncePerPairAndMeasureCoverage(
        _ backend: JournalBackend
    ) throws {
        let temp = try TemporaryJournal(backend)
        _ = try temp.journal.appendAndWait(
            delivery([
                InboundItem(signal: signal(.quickReply), outcome: .conversion(conversion("e1"))),
                InboundItem(
                    signal: signal(.postback, mid: "m2"),
                    outcome: .conversion(conversion("e2", name: "Schedule"))),
            ]))
        for _ in 0..<2 {
            let done = Completion<JournalError?>()
            temp.journal.recordPixelEcho(eventID: "e1", eventName: "Lead", atMillis: 1) {
                done.finish($0)
            }
            #expect(done.wait() == nil)
        }
        let counters = try temp.journal.counters()
        #expect(counters.pixelEchoes == 1)
        #expect(counters.pixelMatched == 1)
        #expect(counters.pixelCoverage == 0.5)
    }
}
