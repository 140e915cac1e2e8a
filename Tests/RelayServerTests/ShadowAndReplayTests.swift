import Foundation
import RelayCore
import RelayTestSupport
import Testing

@testable import RelayJournal

/// Shadow mode, and replaying recorded webhook bodies into a fresh relay.
@Suite(.serialized) struct ShadowAndReplayTests {
    @Test func shadowModeSendsNothingToMetaAndQACompareShadowCountsIt() throws {
        let stack = try RelayStack(extraConfig: QAFunnel.qaConfig + #", "mode": "shadow""#)
        defer { stack.stop() }
        try QAFunnel.play(into: stack, waitForCAPI: false)
        Thread.sleep(forTimeInterval: 0.5)  // time for a wrong send to show up
        #expect(try stack.records().filter { $0["kind"] as? String == "capi" }.isEmpty)
        #expect(
            try stack.acceptedCRMPosts().count == QAFunnel.conversions,
            "the CRM still gets its posts")
        #expect(stack.relay.stderr.contains("shadow mode: conversions are journaled"))

        let ids = try QAFunnel.eventIDs(journal: stack.journalPath)
        let journal = try SQLiteJournal(path: stack.journalPath)
        try journal.recordPixelEcho(
            eventID: ids["\(QAFunnel.people[0]) Lead"] ?? "", eventName: "Lead", seenAtMillis: 1)
        try journal.recordPixelEcho(eventID: "cr1.pixel-only", eventName: "Lead", seenAtMillis: 2)
        journal.close()

        let json = try QAFunnel.run(
            ["qa", "--compare-shadow", "--json", "--config", stack.configPath])
        #expect(json.status == 0, "\(json.stdout)\(json.stderr)")
        let report =
            try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let comparison = report?["shadow_comparison"] as? [String: [String: Any]]
        let shadowPixel = comparison?["shadow"]?["pixel_coverage"] as? [String: [String: Int]]
        #expect(shadowPixel?["Lead"] == ["conversions": 5, "seen_by_pixel": 1, "pixel_only": 1])
        #expect(shadowPixel?["Schedule"]?["conversions"] == 2)
        let sentPixel = comparison?["sent"]?["pixel_coverage"] as? [String: [String: Int]]
        #expect(sentPixel?["Lead"] == ["conversions": 0, "seen_by_pixel": 0, "pixel_only": 2])
        let shadowKeys = comparison?["shadow"]?["match_keys"] as? [String: [String: Int]]
        #expect(shadowKeys?["Lead"]?["em"] == 1)

        let text = try QAFunnel.run(["qa", "--compare-shadow", "--config", stack.configPath])
        #expect(
            text.stdout.contains(
                """
                  event      pixel (before)  shadow  sent  shadow ∩ pixel  shadow only
                  Lead                    2       5     0               1            4
                  Schedule                0       2     0               0            2
                  Subscribe               0       1     0               0            1
                """), "\(text.stdout)")
    }

    @Test func bodiesExportedFromOneRunReachTheSandboxThroughAFreshRelayOnce() throws {
        // The recording run.
        let first = try RelayStack(extraConfig: QAFunnel.qaConfig)
        defer { first.stop() }
        try QAFunnel.play(into: first)
        let bodies = first.directory.appendingPathComponent("bodies.jsonl").path
        let export = try QAFunnel.run(
            ["journal", "export-bodies", "--config", first.configPath, "--output", bodies])
        #expect(export.status == 0, "\(export.stderr)")
        #expect(export.stdout == "exported 9 webhook bodies\n")
        let sentFirst = Set(try first.acceptedEvents().compactMap { $0["event_id"] as? String })
        #expect(sentFirst.count == QAFunnel.conversions)

        // A fresh relay and sandbox that accept test event codes.
        let second = try RelayStack(
            extraConfig: QAFunnel.qaConfig.replacingOccurrences(
                of: #""qa": {"#, with: #""qa": { "accept_test_event_code": true,"#))
        defer { second.stop() }
        let url = "http://127.0.0.1:\(second.relayPort)/webhooks/messenger"
        let replay = try QAFunnel.run(
            [
                "replay", bodies, "--to", url, "--test-event-code", "TEST4242", "--config",
                second.configPath,
            ],
            environment: second.environment)
        #expect(replay.status == 0, "\(replay.stdout)\(replay.stderr)")
        #expect(replay.stdout == "replayed 9 webhook bodies: 9 accepted\n")
        #expect(replay.stderr.contains("replay progress done=9 of=9"))
        #expect(
            try eventually(timeout: 30) { try second.counters().capiSent == QAFunnel.conversions })
        let events = try second.acceptedEvents()
        #expect(Set(events.compactMap { $0["event_id"] as? String }) == sentFirst)
        let capiRecords = try second.records().filter { $0["kind"] as? String == "capi" }
        #expect(capiRecords.allSatisfy { $0["test_event_code"] as? String == "TEST4242" })
        // `inspect` shows the request as the dispatcher sent it, the event's own code included.
        let inspected = try FeedTestClient(path: second.feedPath).command(
            "inspect \(try #require(sentFirst.first))")
        #expect(inspected["result"]?["outbound_request"]?["test_event_code"] == "TEST4242")

        // Replaying again deduplicates: every conversion is a dedupe hit, nothing is re-sent.
        let again = try QAFunnel.run(
            ["replay", bodies, "--to", url, "--config", second.configPath],
            environment: second.environment)
        #expect(again.status == 0)
        Thread.sleep(forTimeInterval: 0.5)
        #expect(try second.acceptedEvents().count == QAFunnel.conversions)
        #expect(try second.counters().dedupeHits == 1 + QAFunnel.conversions + 1)

        // A relay that does not accept test codes refuses them rather than sending for real.
        let refused = try QAFunnel.run(
            [
                "replay", bodies, "--to", "http://127.0.0.1:\(first.relayPort)/webhooks/messenger",
                "--test-event-code", "TEST4242", "--config", first.configPath,
            ],
            environment: first.environment)
        #expect(refused.status == 1)
        #expect(
            refused.stdout == "replayed 9 webhook bodies: 0 accepted, 9 refused with HTTP 400\n")
        for output in [replay.stdout, replay.stderr, again.stderr, refused.stderr] {
            #expect(!output.contains(MessengerFixture.appSecret))
        }
    }

    @Test func aRefusedReplaySaysTheRelaysReasonOncePerReasonAndNeverABody() throws {
        let stack = try RelayStack()
        defer { stack.stop() }
        let psid = "7310000000000777"
        let lead = try JSONSerialization.jsonObject(
            with: Data(try QAFunnel.fixture("quick-reply-lead.json", psid: psid, mid: "m_777")))
        let leadLine = String(
            decoding: try JSONSerialization.data(withJSONObject: lead), as: UTF8.self)
        let bodies = stack.directory.appendingPathComponent("bodies.jsonl").path
        func replay(_ lines: [String], _ options: [String] = []) throws
            -> (status: Int32, stdout: String, stderr: String)
        {
            try lines.joined(separator: "\n").write(
                toFile: bodies, atomically: true, encoding: .utf8)
            return try QAFunnel.run(
                [
                    "replay", bodies, "--to",
                    "http://127.0.0.1:\(stack.relayPort)/webhooks/messenger",
                    "--config", stack.configPath,
                ] + options,
                environment: stack.environment)
        }

        // A relay that does not take test event codes says why, once for the three bodies.
        let refused = try replay(
            [leadLine, leadLine, leadLine], ["--test-event-code", "TEST12345"])
        #expect(refused.status == 1)
        #expect(
            refused.stdout == "replayed 3 webhook bodies: 0 accepted, 3 refused with HTTP 400\n")
        let reason =
            "refused with HTTP 400 (3 bodies): X-Capi-Relay-Test-Event-Code is not accepted"
            + " here; set qa.accept_test_event_code in the relay's config\n"
        #expect(refused.stderr.hasSuffix(reason), "\(refused.stderr)")
        #expect(refused.stderr.components(separatedBy: "refused with").count == 2)

        // Each distinct refusal once, in the order met, with its count.
        let mixed = try replay([
            leadLine, #"{"object":"user","entry":[]}"#, #"{"object":"page","entry":"x"}"#,
            #"{"object":"user","entry":[]}"#,
        ])
        #expect(mixed.status == 1)
        #expect(
            mixed.stdout
                == "replayed 4 webhook bodies: 1 accepted, 1 refused with HTTP 400,"
                + " 2 refused with HTTP 404\n")
        #expect(
            mixed.stderr.hasSuffix(
                """
                refused with HTTP 404 (2 bodies): object 'user' is not handled; only 'page' is
                refused with HTTP 400 (1 body): malformed webhook: unexpected value at entry

                """), "\(mixed.stderr)")
        for output in [refused.stdout, refused.stderr, mixed.stdout, mixed.stderr] {
            #expect(!output.contains(psid), "a body's content is never printed")
        }
    }
}
