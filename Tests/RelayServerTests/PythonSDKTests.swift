import Foundation
import RelayCore
import RelayTestSupport
import Testing

/// Meta's official Python Business SDK (`facebook-business`) pointed at the relay's
/// CAPI-compatible endpoint, with only the Graph URL changed: what a team with an existing
/// integration would do.
///
/// `.ci/run` installs the SDK into a venv; the test finds its python through
/// `CAPI_RELAY_PYTHON` or the venv's default path, and fails (never skips) without it.
@Suite(.serialized) struct PythonSDKTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Scripts/send_with_python_sdk.py")

    static var python: String? {
        let candidates: [String?] = [
            ProcessInfo.processInfo.environment["CAPI_RELAY_PYTHON"],
            FileManager.default.homeDirectoryForCurrentUser
                .appendingPathComponent(".cache/capi-relay/venv/bin/python").path,
        ]
        return candidates.compactMap { $0 }.first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
    }

    /// Runs the script and returns what it printed (stdout) and its exit status.
    static func send(_ events: [[String: Any]], to stack: RelayStack) throws -> (String, Int32) {
        guard let python else {
            throw TestFailure(
                "the Python SDK venv is missing: run .ci/run (it installs facebook-business"
                    + " into ~/.cache/capi-relay/venv) or set CAPI_RELAY_PYTHON to a python"
                    + " that can import facebook_business")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [
            script.path, "http://127.0.0.1:\(stack.relayPort)", RelayStack.ingestToken,
            RelayStack.dataset,
            String(decoding: try JSONSerialization.data(withJSONObject: events), as: UTF8.self),
        ]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let printed = output.fileHandleForReading.readDataToEndOfFile()
        let complaint = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        if process.terminationStatus != 0 {
            throw TestFailure(
                "the SDK script failed: \(String(decoding: complaint, as: UTF8.self))")
        }
        return (String(decoding: printed, as: UTF8.self), process.terminationStatus)
    }

    @Test func theSDKsEventsArriveNormalizedAndDeduplicateAgainstMessenger() throws {
        let stack = try RelayStack()
        defer { stack.stop() }
        try stack.deliverTheFixtureLead()
        let now = Int(Date().timeIntervalSince1970)

        let (printed, _) = try Self.send(
            [
                // The landing page's server tag reports the Messenger lead, same event_id.
                [
                    "event_name": "Lead", "event_time": now - 5,
                    "event_id": MessengerPipelineTests.leadEventID, "action_source": "website",
                    "event_source_url": "https://lp.example/guide",
                    "user": [
                        "client_user_agent": "Mozilla/5.0 (test)", "email": "lead@example.com",
                    ],
                ],
                [
                    "event_name": "Purchase", "event_time": now - 5, "event_id": "order-5001",
                    "action_source": "website", "event_source_url": "https://lp.example/checkout",
                    "user": [
                        "email": "  John_Smith@Gmail.com ", "phone": "+1 (650) 555-1212",
                        "first_name": "Mary", "external_id": "crm-42",
                        "client_user_agent": "Mozilla/5.0 (test)",
                        "client_ip_address": "192.0.2.44", "fbp": "fb.1.1558571054389.1098115397",
                    ],
                    "custom": ["value": 120.5, "currency": "usd"],
                ],
            ], to: stack)
        let answer = try #require(
            try JSONSerialization.jsonObject(with: Data(printed.utf8)) as? [String: Any],
            "the SDK printed \(printed)")
        #expect((answer["events_received"] as? NSNumber)?.intValue == 2)

        #expect(try eventually { try stack.acceptedEvents().count == 2 })
        Thread.sleep(forTimeInterval: 0.5)
        let events = try stack.acceptedEvents()
        #expect(events.count == 2, "the Lead must not be sent a second time")
        let purchase = try #require(events.first { $0["event_name"] as? String == "Purchase" })
        #expect(purchase["event_id"] as? String == "order-5001")
        let userData = try #require(purchase["user_data"] as? [String: Any])
        // Meta's documented hashes: what the SDK hashed passes through, lowercased.
        #expect(
            userData["em"] as? [String] == [
                "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f"
            ])
        #expect(
            userData["ph"] as? [String] == [
                "e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176"
            ])
        #expect(
            userData["fn"] as? [String] == [
                "6915771be1c5aa0c886870b6951b03d7eafc121fea0e80a5ea83beb7c449f4ec"
            ])
        // The SDK sends external_id in clear; the relay hashes it, as on every other path.
        #expect(userData["external_id"] as? [String] == [Crypto.sha256Hex("crm-42")])
        #expect(userData["client_ip_address"] as? String == "192.0.2.44")
        let custom = try #require(purchase["custom_data"] as? [String: Any])
        #expect(custom["currency"] as? String == "USD")
        #expect(try stack.counters().dedupeHits == 1)
        #expect(!stack.relay.stderr.contains(RelayStack.ingestToken))
    }
}
