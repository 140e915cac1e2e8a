import Foundation
import RelayCore
import RelayTestSupport
import Testing

@testable import RelayJournal

/// The whole relay against a funnel with known ground truth (`AdversarialFunnel`): 100
/// invented people, redelivered, batched and out-of-order webhooks, the backend and the CRM
/// reporting the same conversions, a few people three days late. The sandbox must then hold
/// exactly one event per true conversion, and every CRM record the event_id of its CAPI event.
@Suite(.serialized) struct AdversarialFunnelTests {
    @Test func theSandboxHoldsExactlyOneEventPerTrueConversion() throws {
        let stack = try RelayStack()
        defer { stack.stop() }
        let funnel = AdversarialFunnel(people: 100, seed: 7)
        let now = Int64(Date().timeIntervalSince1970)

        // The bot mints each lead's id before the lead happens (landing link, pixel, CRM).
        var leadIDs: [String: String] = [:]
        for person in funnel.people {
            leadIDs[person.pageScopedUserID] = try stack.mintEventID([
                "event_name": "Lead", "page_id": AdversarialFunnel.pageID,
                "page_scoped_user_id": person.pageScopedUserID, "nonce": person.leadNonce,
            ])
        }

        // Phase one: chat, backend events and pixel echoes, in the funnel's order.
        var pixelLeads: Set<String> = []
        for delivery in funnel.phaseOne(leadEventIDs: leadIDs, nowSeconds: now) {
            let response: RawHTTP.Response
            switch delivery {
            case .webhook(let body):
                response = try stack.postWebhook(body)
            case .serverEvents(let body):
                response = try RawHTTP.post(
                    port: stack.relayPort, path: "/v1/events",
                    headers: [
                        "Content-Type": "application/json",
                        "Authorization": "Bearer \(RelayStack.eventsToken)",
                    ], body: body)
                #expect(!response.body.contains("\"rejected\""), "\(response.body)")
            case .pixelEcho(let eventID, let eventName):
                response = try stack.postPixelEcho(eventID: eventID, eventName: eventName)
                pixelLeads.insert(eventID)
            }
            try #require((200..<300).contains(response.status), "\(response.body)")
        }
        #expect(
            try eventually(timeout: 60) {
                let counters = try stack.counters()
                return counters.capiPending == 0 && counters.crmPending == 0
            })

        // Phase two: the CRM echoes what it received, and reports stage changes.
        let received = try stack.acceptedCRMPosts()
        for body in funnel.phaseTwo(received: received, leadEventIDs: leadIDs, nowSeconds: now) {
            let response = try RawHTTP.post(
                port: stack.relayPort, path: "/webhooks/crm",
                headers: [
                    "Content-Type": "application/json",
                    "X-Capi-Relay-Signature-256": "sha256="
                        + Crypto.hmacSHA256Hex(key: Array(RelayStack.crmSecret.utf8), message: body),
                ], body: body)
            try #require(response.status == 200, "\(response.body)")
            #expect(!response.body.contains("\"rejected\""), "\(response.body)")
        }
        #expect(
            try eventually(timeout: 60) {
                let counters = try stack.counters()
                return counters.capiPending == 0 && counters.crmPending == 0
            })
        Thread.sleep(forTimeInterval: 1)  // time for a wrong second send to show up

        // Exactly one event per true conversion, each accepted by the strict sandbox.
        let events = try stack.acceptedEvents()
        let sent = events.map { event -> AdversarialFunnel.Truth in
            let userData = event["user_data"] as? [String: Any]
            let psid =
                userData?["page_scoped_user_id"] as? String
                ?? (event["event_source_url"] as? String)?
                .replacingOccurrences(of: AdversarialFunnel.contactURL, with: "") ?? "?"
            return .init(eventName: event["event_name"] as? String ?? "?", pageScopedUserID: psid)
        }
        let truth = funnel.truth
        #expect(sent.count == truth.count)
        #expect(Set(sent) == Set(truth))
        #expect(Set(sent).count == sent.count, "no conversion may reach the sandbox twice")
        let ids = events.compactMap { $0["event_id"] as? String }
        #expect(Set(ids).count == ids.count)
        let rejected = try stack.records().filter {
            $0["kind"] as? String == "capi" && $0["verdict"] as? String == "rejected"
        }
        #expect(rejected.isEmpty, "\(rejected.first ?? [:])")

        // Every lead carries its minted id; every CRM record the id of its CAPI event.
        let leads = events.filter { $0["event_name"] as? String == "Lead" }
        #expect(Set(leads.compactMap { $0["event_id"] as? String }) == Set(leadIDs.values))
        let capiIDs = Dictionary(
            events.map { ($0["event_id"] as? String ?? "", $0["event_name"] as? String ?? "") },
            uniquingKeysWith: { first, _ in first })
        let crm = try stack.acceptedCRMPosts()
        for post in crm {
            let id = post["event_id"] as? String ?? ""
            #expect(capiIDs[id] == post["event_name"] as? String, "CRM record \(id)")
        }
        let crmIDs = crm.compactMap { $0["event_id"] as? String }
        #expect(Set(crmIDs).count == crmIDs.count, "each conversion is posted to the CRM once")
        #expect(
            crm.count
                == truth.filter { ["Lead", "Schedule", "Contact"].contains($0.eventName) }.count)

        // The CRM's identifiers reached the later conversions, hashed.
        for event in events
        where ["QualifiedLead", "Purchase"].contains(event["event_name"] as? String) {
            let userData = event["user_data"] as? [String: Any]
            let psid = userData?["page_scoped_user_id"] as? String ?? ""
            let person = try #require(funnel.people.first { $0.pageScopedUserID == psid })
            #expect(
                userData?["em"] as? [String] == [Crypto.sha256Hex(person.email.lowercased())])
            #expect(userData?["external_id"] as? [String] == [Crypto.sha256Hex(person.crmRecordID)])
        }

        // Pixel coverage is what the landing pages reported.
        let counters = try stack.counters()
        #expect(counters.pixelMatched == pixelLeads.count)
        #expect(counters.conversionsMade == truth.count)
        #expect(counters.dedupeHits > 0)

        // Each kind of repeat was recognized by the rule meant for it.
        let database = try SQLiteDatabase(path: stack.journalPath)
        defer { database.close() }
        let hits = try database.statement(
            "SELECT rule, source, count(*) FROM dedupe_hits GROUP BY rule, source")
        var byRule: [String: Int] = [:]
        while try hits.step() {
            byRule["\(hits.text(0) ?? "")/\(hits.text(1) ?? "")"] = Int(hits.int(2))
        }
        hits.reset()
        let contacts = funnel.people.filter(\.webContact).count
        #expect(byRule["identity/server_event"] == contacts, "\(byRule)")
        #expect((byRule["event_id/crm_echo"] ?? 0) >= crm.count, "\(byRule)")
        #expect((byRule["event_id/messenger"] ?? 0) > 0, "\(byRule)")
        #expect((byRule["event_id/server_event"] ?? 0) > 0, "\(byRule)")
        let lateEvents = events.filter {
            ($0["event_time"] as? NSNumber).map { now - $0.int64Value > 2 * 86_400 } == true
        }
        #expect(lateEvents.count >= funnel.people.filter(\.late).count, "late people were sent")

        // The QA checklist passes on this journal: every check, with no fault to report.
        let qa = try QAFunnel.run(["qa", "--json", "--config", stack.configPath])
        #expect(qa.status == 0, "qa failed on the adversarial funnel:\n\(qa.stdout)\(qa.stderr)")

        // A CRM export holding exactly what the CRM received reconciles with no mismatch; the
        // conversions the CRM's own stages made are never posted to it and are not compared.
        var export = "event_id,id,created_at\r\n"
        for (index, id) in crmIDs.enumerated() {
            export += "\(id),crm-\(index),2026-01-01T00:00:00Z\r\n"
        }
        let csv = stack.directory.appendingPathComponent("crm-export.csv").path
        try export.write(toFile: csv, atomically: true, encoding: .utf8)
        let reconcile = try QAFunnel.run(
            ["reconcile", "--crm", csv, "--json", "--config", stack.configPath])
        #expect(reconcile.status == 0, "\(reconcile.stdout)\(reconcile.stderr)")
        let report =
            try JSONSerialization.jsonObject(with: Data(reconcile.stdout.utf8)) as? [String: Any]
        #expect(report?["matched"] as? Int == crmIDs.count)
        #expect(report?["mismatches"] as? Int == 0)
    }
}
