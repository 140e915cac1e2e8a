import Foundation
import RelayCore
import RelayJournal
import Testing

@testable import RelayDelivery

@Suite struct CRMSinkTests {
    @Test func eachConversionIsPostedSignedWithItsEventID() throws {
        let pending = try PendingJournal(count: 2)
        let transport = ScriptedTransport([.success(OutboundResponse(status: 202))])
        let sink = CRMSink(
            journal: pending.journal,
            destination: CRMDestination(url: "http://127.0.0.1:9/crm", secret: "crm-secret"),
            transport: transport)
        sink.deliverDue()

        #expect(transport.sent.count == 2)
        for sent in transport.sent {
            let expected =
                "sha256=" + Crypto.hmacSHA256Hex(key: Array("crm-secret".utf8), message: sent.body)
            #expect(sent.headers[CRMDestination.signatureHeader] == expected)
        }
        #expect(Set(transport.sent.compactMap { $0.json["event_id"] as? String }) == ["e0", "e1"])
        #expect(try pending.journal.counters().crmSent == 2)
        #expect(
            try pending.journal.counters().capiPending == 2, "the CRM does not touch CAPI state")
    }

    @Test func aRefusingCRMFailsAndAnUnavailableOneIsRetried() throws {
        let refused = try PendingJournal(count: 1)
        let refusing = ScriptedTransport([.success(OutboundResponse(status: 422))])
        CRMSink(
            journal: refused.journal,
            destination: CRMDestination(url: "http://127.0.0.1:9/crm", secret: "s"),
            transport: refusing
        ).deliverDue()
        #expect(try refused.journal.counters().crmFailed == 1)

        let down = try PendingJournal(count: 1)
        let unavailable = ScriptedTransport([
            .failure(TransportFailure(timedOut: false, message: "connection refused"))
        ])
        CRMSink(
            journal: down.journal,
            destination: CRMDestination(url: "http://127.0.0.1:9/crm", secret: "s"),
            transport: unavailable
        ).deliverDue()
        #expect(try down.journal.counters().crmPending == 1)
    }

    @Test func aRefusedSignaturePausesTheSinkUntilANewSecretArrives() throws {
        let pending = try PendingJournal(count: 3)
        let transport = ScriptedTransport([
            .success(OutboundResponse(status: 401)), .success(OutboundResponse(status: 200)),
        ])
        let sink = CRMSink(
            journal: pending.journal,
            destination: CRMDestination(
                url: "http://127.0.0.1:9/crm", secret: "old", concurrency: 1),
            transport: transport)
        sink.deliverDue()
        sink.deliverDue()
        #expect(transport.sent.count == 1, "a paused sink posts nothing more")
        #expect(sink.pausedBecause?.httpStatus == 401)
        #expect(try pending.journal.counters().crmPending == 3)

        sink.update(
            CRMDestination(url: "http://127.0.0.1:9/crm", secret: "new", concurrency: 1))
        sink.deliverDue()
        #expect(try pending.journal.counters().crmSent == 3)
    }

    @Test func retryAfterFromTheCRMIsHonoured() throws {
        let pending = try PendingJournal(count: 1)
        let clock = ManualClock()
        let transport = ScriptedTransport([
            .success(OutboundResponse(status: 429, headers: ["retry-after": "20"])),
            .success(OutboundResponse(status: 200)),
        ])
        let sink = CRMSink(
            journal: pending.journal,
            destination: CRMDestination(url: "http://127.0.0.1:9/crm", secret: "s"),
            transport: transport, clock: clock.deliveryClock)
        sink.deliverDue()
        clock.advance(seconds: 19)
        sink.deliverDue()
        #expect(transport.sent.count == 1)
        clock.advance(seconds: 1.01)
        sink.deliverDue()
        #expect(try pending.journal.counters().crmSent == 1)
    }
}
