import Foundation
import RelayCore
import RelayJournal
import RelayTestSupport

/// A small recorded funnel with known ground truth, played into a real relay: five people,
/// one who types her email, opts in and so carries hashed identifiers; a redelivery and a
/// batched delivery. Eight conversions: Subscribe and Lead for Renée, Lead for P1, P2, P4 and
/// P5, Schedule for P1 and P2.
enum QAFunnel {
    static let renee = "7310000000000006"
    static let people = [
        "7310000000000101", "7310000000000102", "7310000000000104",
        "7310000000000105",
    ]
    static let conversions = 8
    /// Columns the invented CRM names its export's header with.
    static let qaConfig = """
        "consent": { "grant": [{ "optin": "CONSENT_MARKETING" }] },
        "qa": { "crm_columns": { "event_id": "Event ID", "record_id": "Record ID",
                                 "created_at": "Created At" } }
        """

    /// A fixture moved to the present, from `psid`, with its own message id.
    static func fixture(_ name: String, psid: String, mid: String) throws -> [UInt8] {
        let text = String(decoding: try MessengerFixture.shifted(name), as: UTF8.self)
            .replacingOccurrences(of: "7310000000000001", with: psid)
            .replacingOccurrences(of: "m_AbCdEf0001-qr", with: mid)
            .replacingOccurrences(of: "m_AbCdEf0002-pb", with: mid)
        return Array(text.utf8)
    }

    /// Plays the funnel and waits until all eight are delivered to CAPI and the CRM.
    static func play(into stack: RelayStack, waitForCAPI: Bool = true) throws {
        let (p1, p2, p4, p5) = (people[0], people[1], people[2], people[3])
        let bodies = [
            try MessengerFixture.shifted("text-with-email-unicode.json"),
            try fixture("optin-notification.json", psid: renee, mid: "-"),
            try fixture("quick-reply-lead.json", psid: renee, mid: "m_renee-lead"),
            try fixture("quick-reply-lead.json", psid: p1, mid: "m_p1-lead"),
            try fixture("quick-reply-lead.json", psid: p1, mid: "m_p1-lead"),
            try fixture("quick-reply-lead.json", psid: p2, mid: "m_p2-lead"),
            try fixture("postback-book-call.json", psid: p1, mid: "m_p1-call"),
            try fixture("postback-book-call.json", psid: p2, mid: "m_p2-call"),
            try MessengerFixture.batch([
                try fixture("quick-reply-lead.json", psid: p4, mid: "m_p4-lead"),
                try fixture("quick-reply-lead.json", psid: p5, mid: "m_p5-lead"),
            ]),
        ]
        for body in bodies {
            let response = try stack.postWebhook(body)
            guard response.status == 200 else {
                throw TestFailure("a funnel webhook got \(response.status): \(response.body)")
            }
        }
        guard
            try eventually(
                timeout: 30,
                {
                    let counters = try stack.counters()
                    return counters.crmSent == conversions
                        && (waitForCAPI ? counters.capiSent : counters.capiShadow) == conversions
                })
        else {
            throw TestFailure("the funnel was not delivered: \(try stack.counters())")
        }
    }

    /// Each conversion's event_id by person and event name, from the journal.
    static func eventIDs(journal: String) throws -> [String: String] {
        let reader = try JournalReader(path: journal)
        var ids: [String: String] = [:]
        for stored in try reader.conversions() {
            ids["\(stored.conversion?.pageScopedUserID ?? "?") \(stored.eventName)"] =
                stored.eventID
        }
        return ids
    }

    /// Runs `capi-relay` to the end and returns its exit status and output.
    static func run(_ arguments: [String], environment: [String: String] = [:]) throws
        -> (status: Int32, stdout: String, stderr: String)
    {
        let process = try TestProcess(arguments, environment: environment)
        let status = try process.waitForExit()
        return (status, process.stdout, process.stderr)
    }
}
