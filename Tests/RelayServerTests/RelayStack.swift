import Foundation
import RelayCore
import RelayJournal
import RelayTestSupport

/// A sandbox and a relay running as real processes on loopback, with a config and journal in a
/// temporary directory: what an operator staging against the sandbox would run.
final class RelayStack: @unchecked Sendable {
    static let verifyToken = "test-verify-token"
    static let accessToken = "test-access-token-0123456789"
    static let crmSecret = "test-crm-secret"
    static let eventsToken = "test-events-token-0123456789"
    static let ingestToken = "test-ingest-token-0123456789"
    static let dataset = "880000000000001"

    let directory: URL
    let sandbox: TestProcess
    let sandboxPort: UInt16
    private(set) var relay: TestProcess
    private(set) var relayPort: UInt16
    /// More arguments for `serve` (`--log-format json`, `--log-level trace`).
    let serveArguments: [String]

    var environment: [String: String] {
        [
            "CAPI_RELAY_APP_SECRET": MessengerFixture.appSecret,
            "CAPI_RELAY_VERIFY_TOKEN": RelayStack.verifyToken,
            "CAPI_RELAY_ACCESS_TOKEN": RelayStack.accessToken,
            "CAPI_RELAY_CRM_SECRET": RelayStack.crmSecret,
            "CAPI_RELAY_EVENTS_TOKEN": RelayStack.eventsToken,
            "CAPI_RELAY_INGEST_TOKEN": RelayStack.ingestToken,
        ]
    }

    var configPath: String { directory.appendingPathComponent("capi-relay.json").path }
    var journalPath: String { directory.appendingPathComponent("journal.sqlite").path }
    var recordPath: String { directory.appendingPathComponent("sandbox.jsonl").path }
    var feedPath: String { directory.appendingPathComponent("capi-relay.sock").path }

    /// - Parameters:
    ///   - flushIntervalSeconds: the relay's delivery tick.
    ///   - feedClientQueue: lines that may wait for one feed client.
    ///   - sandboxAccessToken: the only token the sandbox accepts; another than the relay's
    ///     makes every CAPI request fail with Graph code 190.
    ///   - capiConfig, crmConfig: more members for the `capi` and `crm` sections.
    ///   - relayAccessToken: when set, the relay reads its access token from a file holding
    ///     this value (see `writeAccessToken`), so that a SIGHUP can bring a new one.
    ///   - feedHistory: records in a new feed client's snapshot.
    ///   - serveArguments: more arguments for `capi-relay serve`.
    init(
        flushIntervalSeconds: Double = 0.1, feedClientQueue: Int = 10_000,
        sandboxAccessToken: String = RelayStack.accessToken, feedAllowedGroups: [String] = [],
        extraConfig: String = "", capiConfig: String = "", crmConfig: String = "",
        relayAccessToken: String? = nil, feedHistory: Int = 200, serveArguments: [String] = []
    ) throws {
        self.serveArguments = serveArguments
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("relay-stack-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)

        let sandboxEnvironment = [
            "CAPI_RELAY_APP_SECRET": MessengerFixture.appSecret,
            "CAPI_RELAY_ACCESS_TOKEN": sandboxAccessToken,
            "CAPI_RELAY_CRM_SECRET": RelayStack.crmSecret,
        ]
        let recordPath = directory.appendingPathComponent("sandbox.jsonl").path
        sandbox = try TestProcess(
            ["sandbox", "--listen", "127.0.0.1:0", "--record", recordPath],
            environment: sandboxEnvironment)
        sandboxPort = try sandbox.waitForPort("sandbox listening")
        let tokenFile = directory.appendingPathComponent("access-token").path
        if let relayAccessToken {
            try relayAccessToken.write(toFile: tokenFile, atomically: true, encoding: .utf8)
        }
        let tokenSource =
            relayAccessToken == nil
            ? "" : #""access_token": { "file": "\#(tokenFile)" },"#

        let config = """
            // Written by RelayStack for one test.
            {
              "listen": "127.0.0.1:0",
              "journal": "\(directory.appendingPathComponent("journal.sqlite").path)",
              "pages": [
                { "page_id": "104857600000001", "dataset": "880000000000001" },
                { "page_id": "104857600000002", "dataset": "880000000000001" }
              ],
              "capi": {
                \(tokenSource)
                \(capiConfig.isEmpty ? "" : capiConfig + ",")
                "graph_url": "http://127.0.0.1:\(sandboxPort)",
                "flush_interval_seconds": \(flushIntervalSeconds),
                "timeout_seconds": 5
              },
              "feed": {
                "client_queue": \(feedClientQueue),
                "history": \(feedHistory),
                "allowed_groups": [\(feedAllowedGroups.map { "\"\($0)\"" }.joined(separator: ", "))]
              },
              "crm": {
                \(crmConfig.isEmpty ? "" : crmConfig + ",")
                "url": "http://127.0.0.1:\(sandboxPort)/crm",
                "flush_interval_seconds": \(flushIntervalSeconds)
              },
              "server_events": { "dataset": "880000000000001" },
              "capi_ingest": {},
              "crm_echo": {
                "stages": [
                  { "stage": "qualified", "event": "QualifiedLead" },
                  { "stage": "won", "event": "Purchase", "currency": "USD" }
                ]
              },
              "pixel_echo": {},
              \(extraConfig.isEmpty ? "" : extraConfig + ",")
              "rules": [
                { "name": "guide-lead", "when": { "quick_reply": "LEAD_GUIDE_YES" }, "event": "Lead" },
                { "name": "book-call", "when": { "postback": "BOOK_CALL" }, "event": "Schedule" },
                { "name": "tips-optin", "when": { "optin": "CONSENT_MARKETING" }, "event": "Subscribe" }
              ]
            }
            """
        try config.write(
            toFile: directory.appendingPathComponent("capi-relay.json").path,
            atomically: true, encoding: .utf8)

        (relay, relayPort) = (try TestProcess([]), 0)
        try startRelay()
    }

    deinit {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Starts (or restarts) `capi-relay serve` on the same config and journal.
    func startRelay() throws {
        relay = try TestProcess(
            ["serve", "--config", configPath] + serveArguments, environment: environment)
        relayPort = try relay.waitForPort("relay listening")
    }

    /// Replaces the access token the relay reads at start and at SIGHUP.
    func writeAccessToken(_ token: String) throws {
        try token.write(
            toFile: directory.appendingPathComponent("access-token").path, atomically: true,
            encoding: .utf8)
    }

    /// Sets the sandbox's fault plan at runtime (`PUT /_sandbox/faults`); outage times count
    /// from now. An empty string clears it.
    func setFaults(_ json: String) throws {
        let response =
            json.isEmpty
            ? try RawHTTP.request(port: sandboxPort, method: "DELETE", path: "/_sandbox/faults")
            : try RawHTTP.request(
                port: sandboxPort, method: "PUT", path: "/_sandbox/faults", body: Array(json.utf8))
        guard response.status == 200 else {
            throw TestFailure("the sandbox refused the faults: \(response.status) \(response.body)")
        }
    }

    /// The relay's journal, opened beside the running relay.
    func openJournal() throws -> SQLiteJournal {
        try SQLiteJournal(path: journalPath)
    }

    /// Posts a signed Messenger webhook over real HTTP.
    func postWebhook(_ body: [UInt8], signature: String? = nil) throws -> RawHTTP.Response {
        var headers = ["Content-Type": "application/json"]
        headers["X-Hub-Signature-256"] = signature ?? MessengerFixture.signature(body)
        return try RawHTTP.post(
            port: relayPort, path: "/webhooks/messenger", headers: headers, body: body)
    }

    /// Posts canonical server events (`POST /v1/events`) with the bearer token.
    func postEvents(_ body: Any, token: String = RelayStack.eventsToken) throws -> RawHTTP.Response
    {
        try RawHTTP.post(
            port: relayPort, path: "/v1/events",
            headers: ["Content-Type": "application/json", "Authorization": "Bearer \(token)"],
            body: Array(try JSONSerialization.data(withJSONObject: body)))
    }

    /// Posts a signed CRM echo (`POST /webhooks/crm`).
    func postCRM(_ body: Any, secret: String = RelayStack.crmSecret) throws -> RawHTTP.Response {
        let bytes = Array(try JSONSerialization.data(withJSONObject: body))
        return try RawHTTP.post(
            port: relayPort, path: "/webhooks/crm",
            headers: [
                "Content-Type": "application/json",
                "X-Capi-Relay-Signature-256": "sha256="
                    + Crypto.hmacSHA256Hex(key: Array(secret.utf8), message: bytes),
            ], body: bytes)
    }

    /// Posts a pixel echo as a landing page's beacon would (`text/plain` JSON).
    func postPixelEcho(eventID: String, eventName: String) throws -> RawHTTP.Response {
        try RawHTTP.post(
            port: relayPort, path: "/v1/pixel-echo",
            headers: ["Content-Type": "text/plain;charset=UTF-8", "Origin": "https://lp.example"],
            body: Array(
                try JSONSerialization.data(withJSONObject: [
                    "event_id": eventID, "event_name": eventName,
                ])))
    }

    /// Mints an event id (`POST /v1/event-ids`).
    func mintEventID(_ request: [String: String]) throws -> String {
        let response = try RawHTTP.post(
            port: relayPort, path: "/v1/event-ids",
            headers: [
                "Content-Type": "application/json",
                "Authorization": "Bearer \(RelayStack.eventsToken)",
            ], body: Array(try JSONSerialization.data(withJSONObject: request)))
        guard response.status == 200,
            let object = try JSONSerialization.jsonObject(with: Data(response.body.utf8))
                as? [String: Any], let id = object["event_id"] as? String
        else { throw TestFailure("minting failed: \(response.status) \(response.body)") }
        return id
    }

    /// Posts the quick-reply Lead fixture and waits until the relay has recorded it as sent
    /// (the sandbox writes its record just before it answers, so its file alone is too early).
    func deliverTheFixtureLead() throws {
        let response = try postWebhook(try MessengerFixture.shifted("quick-reply-lead.json"))
        guard response.status == 200 else {
            throw TestFailure("the lead webhook got \(response.status): \(response.body)")
        }
        guard try eventually({ try counters().capiSent == 1 }) else {
            throw TestFailure("the lead was not delivered; relay stderr:\n\(relay.stderr)")
        }
    }

    /// Every line of the sandbox's record file, parsed.
    func records() throws -> [[String: Any]] {
        guard let data = FileManager.default.contents(atPath: recordPath) else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    /// The CAPI events the sandbox accepted, in arrival order.
    func acceptedEvents() throws -> [[String: Any]] {
        try records().filter {
            $0["kind"] as? String == "capi" && $0["verdict"] as? String == "accepted"
        }
        .flatMap { ($0["events"] as? [[String: Any]]) ?? [] }
    }

    /// The CRM bodies the sandbox accepted.
    func acceptedCRMPosts() throws -> [[String: Any]] {
        try records().filter {
            $0["kind"] as? String == "crm" && $0["verdict"] as? String == "accepted"
        }
        .compactMap { $0["body"] as? [String: Any] }
    }

    /// The journal's counters, read beside the running relay (WAL allows it).
    func counters() throws -> JournalCounters {
        let journal = try SQLiteJournal(path: journalPath)
        defer { journal.close() }
        return try journal.counters()
    }

    /// Stops both processes with SIGTERM, as a service manager would, and returns the relay's
    /// exit status.
    @discardableResult
    func stop() -> Int32? {
        relay.kill(SIGTERM)
        let status = try? relay.waitForExit()
        sandbox.kill(SIGTERM)
        _ = try? sandbox.waitForExit()
        return status
    }
}
