import Foundation
import RelayCore
import RelayServer
import RelayTestSupport
import Testing

@testable import RelayJournal

/// `qa` and `reconcile` on a journal a real funnel run produced, and on a copy with faults
/// injected: each reports exactly the injected faults and nothing else.
@Suite(.serialized) struct QACommandTests {
    /// The CRM export an invented CRM would write for what it received: a quoted contact
    /// name with a comma and quotes, CRLF line ends.
    func crmExport(_ rows: [(record: String, eventID: String)]) -> String {
        var text = "Record ID,Event ID,Created At,Contact\r\n"
        for row in rows {
            text += "\(row.record),\(row.eventID),2099-01-01T00:00:00Z,\"Doe, Jane \"\"JD\"\"\"\r\n"
        }
        return text
    }

    func checks(_ json: String) throws -> [String: [String: Any]] {
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        let list = (object?["checks"] as? [[String: Any]]) ?? []
        return Dictionary(uniqueKeysWithValues: list.map { ($0["id"] as? String ?? "", $0) })
    }

    /// (status, failed, examples) of every pass/fail check.
    func verdicts(_ json: String) throws -> [String: String] {
        try checks(json).filter { $0.value["status"] as? String != "info" }.mapValues { check in
            let examples = (check["examples"] as? [String]) ?? []
            return "\(check["status"] ?? "") \(check["failed"] ?? "")/\(check["checked"] ?? "")"
                + (examples.isEmpty ? "" : " " + examples.joined(separator: ","))
        }
    }

    @Test func qaAndReconcileReportExactlyTheInjectedFaults() throws {
        let stack = try RelayStack(extraConfig: QAFunnel.qaConfig)
        try QAFunnel.play(into: stack)
        let crmPosts = try stack.acceptedCRMPosts()
        #expect(stack.stop() == 0)
        let ids = try QAFunnel.eventIDs(journal: stack.journalPath)
        let (renee, p1, p2, p4, p5) = (
            QAFunnel.renee, QAFunnel.people[0], QAFunnel.people[1], QAFunnel.people[2],
            QAFunnel.people[3]
        )

        // The pixel saw two of the leads.
        do {
            let journal = try SQLiteJournal(path: stack.journalPath)
            defer { journal.close() }
            for psid in [p1, p2] {
                try journal.recordPixelEcho(
                    eventID: ids["\(psid) Lead"] ?? "", eventName: "Lead", seenAtMillis: 1)
            }
        }

        // The clean run: every check passes, with the funnel's exact counts.
        let clean = try QAFunnel.run(["qa", "--json", "--config", stack.configPath])
        #expect(clean.status == 0, "\(clean.stdout)\(clean.stderr)")
        #expect(
            try verdicts(clean.stdout) == [
                "event_id": "pass 0/8", "crm_event_id": "pass 0/8", "hashing": "pass 0/8",
                "consent": "pass 0/8", "event_time": "pass 0/8", "event_name": "pass 0/8",
                "consent_state": "pass 0/8",
            ])
        let report =
            try JSONSerialization.jsonObject(with: Data(clean.stdout.utf8)) as? [String: Any]
        let pixel = report?["pixel_coverage"] as? [String: [String: Int]]
        #expect(pixel?["Lead"] == ["conversions": 5, "seen_by_pixel": 2, "pixel_only": 0])
        let keys = report?["match_keys"] as? [String: [String: Int]]
        #expect(
            keys?["Lead"] == [
                "conversions": 5, "page_scoped_user_id": 5, "em": 1, "ph": 1, "external_id": 0,
                "fbc": 0, "fbp": 0,
            ])
        #expect(keys?["Subscribe"]?["em"] == 1)
        let text = try QAFunnel.run(["qa", "--config", stack.configPath])
        #expect(text.status == 0)
        #expect(text.stdout.contains("PASS  event_id"))
        #expect(text.stdout.hasSuffix("7 passed, 0 failed\n"), "\(text.stdout)")
        #expect(!text.stdout.contains("renee"), "no raw personal data is printed")

        let rows = crmPosts.enumerated().map { index, post in
            (record: "CRM-\(index + 1)", eventID: post["event_id"] as? String ?? "")
        }
        let cleanCSV = stack.directory.appendingPathComponent("crm-clean.csv").path
        try crmExport(rows).write(toFile: cleanCSV, atomically: true, encoding: .utf8)
        let matched = try QAFunnel.run(
            ["reconcile", "--crm", cleanCSV, "--json", "--config", stack.configPath])
        #expect(matched.status == 0, "\(matched.stdout)\(matched.stderr)")
        let matchedReport =
            try JSONSerialization.jsonObject(with: Data(matched.stdout.utf8)) as? [String: Any]
        #expect(matchedReport?["matched"] as? Int == 8)
        #expect(matchedReport?["mismatches"] as? Int == 0)

        // The corrupted copy of the journal.
        let copy = stack.directory.appendingPathComponent("corrupted.sqlite").path
        try FileManager.default.copyItem(atPath: stack.journalPath, toPath: copy)
        let database = try SQLiteDatabase(path: copy)
        func mutate(_ eventID: String, _ change: (inout Conversion) -> Void) throws {
            let read = try database.statement("SELECT body FROM conversions WHERE event_id = ?")
                .bind(.text(eventID))
            guard try read.step(), let body = read.text(0) else {
                throw TestFailure("no conversion \(eventID)")
            }
            read.reset()
            var conversion = try JSONDecoder().decode(Conversion.self, from: Data(body.utf8))
            change(&conversion)
            let json = String(decoding: try JSONEncoder().encode(conversion), as: UTF8.self)
            try database.statement(
                "UPDATE conversions SET body = ?, event_time = ? WHERE event_id = ?"
            ).bind(.text(json), .int(conversion.eventTime), .text(eventID)).run()
        }
        let reneeSubscribe = try #require(ids["\(renee) Subscribe"])
        try mutate(reneeSubscribe) { $0.userData?["em"] = ["renee.dupont@example.com"] }
        let future = Int64(Date().timeIntervalSince1970) + 86_400
        let p4Lead = try #require(ids["\(p4) Lead"])
        try mutate(p4Lead) { $0.eventTime = future }
        let p5Lead = try #require(ids["\(p5) Lead"])
        try mutate(p5Lead) { $0.consent = nil }
        // The CRM post for P2's booking went out without its event_id.
        let p2Schedule = try #require(ids["\(p2) Schedule"])
        let attempt = try database.statement(
            """
            SELECT a.id, a.request FROM attempts a JOIN attempt_events e ON e.attempt_id = a.id
            JOIN conversions c ON c.id = e.conversion_id
            WHERE a.destination = 'crm' AND a.outcome = 'sent' AND c.event_id = ?
            """
        ).bind(.text(p2Schedule))
        #expect(try attempt.step())
        let attemptID = attempt.int(0)
        let request = try JSONValue(parsing: attempt.text(1) ?? "")
        attempt.reset()
        try database.statement("UPDATE attempts SET request = ? WHERE id = ?").bind(
            .text(request.removingMembers(named: ["event_id"]).serializedString), .int(attemptID)
        ).run()
        database.close()

        let corrupted = try QAFunnel.run(
            ["qa", "--json", "--config", stack.configPath, "--journal", copy])
        #expect(corrupted.status == 1, "\(corrupted.stderr)")
        #expect(
            try verdicts(corrupted.stdout) == [
                "event_id": "pass 0/8", "crm_event_id": "fail 1/8 \(p2Schedule)",
                "hashing": "fail 1/8 \(reneeSubscribe)", "consent": "pass 0/8",
                "event_time": "fail 1/8 \(p4Lead)", "event_name": "pass 0/8",
                "consent_state": "fail 1/8 \(p5Lead)",
            ])
        let corruptedText = try QAFunnel.run(
            ["qa", "--config", stack.configPath, "--journal", copy])
        #expect(corruptedText.stdout.contains("FAIL  hashing"))
        #expect(corruptedText.stdout.hasSuffix("3 passed, 4 failed\n"))
        #expect(!corruptedText.stdout.contains("renee.dupont"), "the raw email is not printed")

        // The corrupted CRM export: P1's booking is missing, one record is there twice, one
        // has no event_id and one carries an event_id the relay never sent.
        let p1Schedule = try #require(ids["\(p1) Schedule"])
        var badRows = rows.filter { $0.eventID != p1Schedule }
        badRows.append(badRows[0])
        badRows.append((record: "CRM-900", eventID: ""))
        badRows.append((record: "CRM-901", eventID: "cr1.00000000000000000000000000000000"))
        let badCSV = stack.directory.appendingPathComponent("crm-bad.csv").path
        try crmExport(badRows).write(toFile: badCSV, atomically: true, encoding: .utf8)
        let mismatched = try QAFunnel.run(
            ["reconcile", "--crm", badCSV, "--json", "--config", stack.configPath])
        #expect(mismatched.status == 1)
        let bad =
            try JSONSerialization.jsonObject(with: Data(mismatched.stdout.utf8)) as? [String: Any]
        func eventIDs(_ key: String) -> [String] {
            ((bad?[key] as? [[String: Any]]) ?? []).map { $0["event_id"] as? String ?? "?" }
        }
        #expect(bad?["matched"] as? Int == 7)
        #expect(eventIDs("journal_only") == [p1Schedule])
        #expect(eventIDs("crm_only") == ["cr1.00000000000000000000000000000000"])
        #expect(eventIDs("duplicated") == [badRows[0].eventID])
        #expect(eventIDs("missing_event_id") == [""])
        #expect(bad?["mismatches"] as? Int == 4)

        let table = try QAFunnel.run(
            ["reconcile", "--crm", badCSV, "--config", stack.configPath, "--max-mismatches", "4"])
        #expect(table.status == 0, "four mismatches are within a threshold of four")
        #expect(table.stdout.contains("  sent, not in the CRM          1   e.g. \(p1Schedule)"))
        #expect(table.stdout.hasSuffix("4 mismatches, threshold 4: ok\n"), "\(table.stdout)")
    }

    @Test func aMissingOrCorruptJournalIsAClearErrorNeverACrash() throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("qa-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("capi-relay.json").path
        try ExampleConfiguration.text.write(toFile: config, atomically: true, encoding: .utf8)
        let garbage = directory.appendingPathComponent("garbage.sqlite").path
        try Data(repeating: 0x41, count: 8192).write(to: URL(fileURLWithPath: garbage))
        let csv = directory.appendingPathComponent("crm.csv").path
        try "id,event_id\r\n1,cr1.a\r\n".write(toFile: csv, atomically: true, encoding: .utf8)

        let missing = try QAFunnel.run(["qa", "--config", config])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("capi-relay.sqlite does not exist"), "\(missing.stderr)")
        let corrupt = try QAFunnel.run(["qa", "--config", config, "--journal", garbage])
        #expect(corrupt.status == 1)
        #expect(
            corrupt.stderr.contains("\(garbage) is not a readable journal"), "\(corrupt.stderr)")
        let reconcile = try QAFunnel.run(
            ["reconcile", "--crm", csv, "--config", config, "--journal", garbage])
        #expect(reconcile.status == 1)
        #expect(reconcile.stderr.contains("is not a readable journal"))
        let export = try QAFunnel.run(["journal", "export-bodies", "--config", config])
        #expect(export.status == 1)
        #expect(export.stderr.contains("does not exist"))
    }
}
