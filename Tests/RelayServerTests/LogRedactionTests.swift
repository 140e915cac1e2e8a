import Foundation
import RelayCore
import RelayTestSupport
import Testing

/// A real run at the most verbose level, fed invented personal data, secrets and message text
/// through every input, the failures included: none of it may reach the log, in either format.
@Suite(.serialized) struct LogRedactionTests {
    static let email = "renee.invented@example.com"
    static let phone = "+1 650 555 0199"
    static let phoneDigits = "6505550199"
    static let name = "Renée Inventée"
    static let messageText = "my plan is purple-elephant-42"
    static let wrongEventsToken = "wrong-events-token-8a7f6e5d"
    static let wrongIngestToken = "wrong-ingest-token-1b2c3d4e"
    static let pastedSecret = "EAAB-pasted-secret-77f0e1"
    static let refusedAccessToken = "refused-access-token-5c4b3a"

    @Test(arguments: ["logfmt", "json"])
    func noSecretPersonalDataOrMessageTextReachesTheLog(format: String) throws {
        let stack = try RelayStack(
            extraConfig: #""consent": { "grant": [{ "optin": "CONSENT_MARKETING" }] }"#,
            relayAccessToken: Self.refusedAccessToken,
            serveArguments: ["--log-format", format, "--log-level", "trace"])
        defer { stack.stop() }
        try feed(stack)

        // A reload with a secret pasted into the config: refused, and the problem logged.
        let config = try String(contentsOfFile: stack.configPath, encoding: .utf8)
        try config.replacingOccurrences(
            of: #""access_token": { "file": "#,
            with: #""access_token": "\#(Self.pastedSecret)", "x": { "file": "#
        ).write(toFile: stack.configPath, atomically: true, encoding: .utf8)
        stack.relay.kill(SIGHUP)
        #expect(eventually { stack.relay.stderr.contains("config reload refused") })
        // Meta (the sandbox) refuses the relay's token: delivery pauses and says so.
        #expect(
            eventually { stack.relay.stderr.contains("delivery paused") },
            "relay stderr:\n\(stack.relay.stderr)")
        stack.relay.kill(SIGTERM)
        #expect(try stack.relay.waitForExit() == 0)

        let log = stack.relay.stderr
        let lines = log.split(separator: "\n").map(String.init)
        #expect(lines.count > 15, "the run logged at trace level")
        for forbidden in [
            Self.email, "renee.invented", Self.phone, Self.phoneDigits, "Renée", "Inventée",
            Self.messageText, "purple-elephant", Self.wrongEventsToken, Self.wrongIngestToken,
            Self.pastedSecret, Self.refusedAccessToken, MessengerFixture.appSecret,
            RelayStack.verifyToken, RelayStack.accessToken, RelayStack.crmSecret,
            RelayStack.eventsToken, RelayStack.ingestToken,
        ] {
            #expect(!log.contains(forbidden), "the log holds '\(forbidden)'")
        }

        // Every line is one well-formed entry with a level and a fixed lowercase message.
        let levels: Set = ["trace", "debug", "info", "notice", "warning", "error"]
        for line in lines {
            let (level, message): (String?, String?)
            if format == "json" {
                let object =
                    try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                level = object?["level"] as? String
                message = object?["msg"] as? String
                #expect(object?["time"] is String, "\(line)")
            } else {
                let match = line.firstMatch(of: /^time=\S+ level=(\w+) msg=("[^"]*"|\S+)/)
                level = match.map { String($0.1) }
                message = match.map { String($0.2).trimmingCharacters(in: ["\""]) }
            }
            #expect(level.map(levels.contains) == true, "\(line)")
            #expect(message.map { $0 == $0.lowercased() } == true, "\(line)")
        }
        #expect(
            log.contains(
                format == "json" ? #""msg":"webhook rejected""# : #"msg="webhook rejected""#))
    }

    /// Every input the relay has, with invented personal data and wrong credentials.
    func feed(_ stack: RelayStack) throws {
        let now = Int64(Date().timeIntervalSince1970 * 1000) - 5_000
        func messaging(_ item: String) -> [UInt8] {
            Array(
                """
                {"object":"page","entry":[{"id":"104857600000001","time":\(now),"messaging":[\
                {"sender":{"id":"7310000000000777"},"recipient":{"id":"104857600000001"},\
                "timestamp":\(now),\(item)}]}]}
                """.utf8)
        }
        let said = "I'm \(Self.name), \(Self.email), \(Self.phone); \(Self.messageText)"
        let text = messaging(#""message":{"mid":"m_redact-1","text":"\#(said)"}"#)
        #expect(try stack.postWebhook(text).status == 200)
        let lead = messaging(
            #""message":{"mid":"m_redact-2","text":"\#(Self.messageText)","quick_reply":{"payload":"LEAD_GUIDE_YES"}}"#
        )
        #expect(try stack.postWebhook(lead).status == 200)
        #expect(
            try stack.postWebhook(text, signature: "sha256=" + String(repeating: "0", count: 64))
                .status == 403)
        let broken = Array(
            #"{"object":"page","entry":[{"messaging":[{"message":{"text":"\#(Self.messageText)"#
                .utf8)
        #expect(try stack.postWebhook(broken).status == 400)
        let odd = Array(#"{"object":"\#(Self.email)","entry":[]}"#.utf8)
        #expect(try stack.postWebhook(odd).status == 404)

        // Server events: one with a wrong token, one with customer data in clear.
        let event: [String: Any] = [
            "event_name": "Contact", "event_time": Int(Date().timeIntervalSince1970),
            "action_source": "website", "event_source_url": "https://lp.example/contact",
            "client_user_agent": "Mozilla/5.0", "consent": "granted",
            "user_data": ["em": Self.email, "ph": Self.phone, "fn": "Renée", "ln": "Inventée"],
        ]
        #expect(try stack.postEvents(event, token: Self.wrongEventsToken).status == 401)
        #expect(try stack.postEvents(event).status == 200)
        var bad = event
        bad["user_data"] = ["em": Self.email, "emial": Self.email]
        _ = try stack.postEvents(bad)

        // The CAPI-compatible path with a wrong token in the query, then a bad event.
        let graph = "/v25.0/\(RelayStack.dataset)/events"
        _ = try RawHTTP.post(
            port: stack.relayPort, path: graph + "?access_token=\(Self.wrongIngestToken)",
            headers: ["Content-Type": "application/json"],
            body: Array(try JSONSerialization.data(withJSONObject: ["data": [event]])))
        _ = try RawHTTP.post(
            port: stack.relayPort, path: graph + "?access_token=\(RelayStack.ingestToken)",
            headers: ["Content-Type": "application/json"],
            body: Array(
                #"{"data":[{"event_name":"Lead","user_data":{"em":"\#(Self.email)"}}]}"#.utf8))

        // The CRM: an echo with contact details, and one signed with the wrong secret.
        let echo: [String: Any] = [
            "record_id": "crm-redact-1", "event_name": "Lead", "stage": "new",
            "email": Self.email, "phone": Self.phone, "consent": "granted",
        ]
        _ = try stack.postCRM(echo)
        #expect(try stack.postCRM(echo, secret: "not-the-crm-secret").status == 403)

        // The handshake with a wrong verify token.
        let handshake = try RawHTTP.get(
            port: stack.relayPort,
            "/webhooks/messenger?hub.mode=subscribe&hub.verify_token=\(Self.wrongEventsToken)"
                + "&hub.challenge=12345")
        #expect(handshake.status == 403)
    }
}
