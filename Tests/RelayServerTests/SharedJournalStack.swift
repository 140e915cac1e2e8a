import Foundation
import RelayCore
import RelayJournal
import RelayTestSupport

/// Several `capi-relay serve` processes on one PostgreSQL journal, as behind a load balancer,
/// each with its own node name, config, port and feed socket, and sandboxes standing in for
/// Meta: what an operator scaling out would run, on loopback.
final class SharedJournalStack: @unchecked Sendable {
    /// A running relay and what the tests address it by.
    struct Node {
        var name: String
        var process: TestProcess
        var port: UInt16
    }

    /// A running sandbox and the file it records every request in.
    struct Sandbox {
        var process: TestProcess
        var port: UInt16
        var recordPath: String
    }

    let directory: URL
    /// The shared journal: a fresh database on the test server.
    let url: String
    let leaseSeconds: Double
    let timeoutSeconds: Double
    private(set) var nodes: [String: Node] = [:]
    private(set) var sandboxes: [Sandbox] = []

    var environment: [String: String] {
        [
            "CAPI_RELAY_APP_SECRET": MessengerFixture.appSecret,
            "CAPI_RELAY_VERIFY_TOKEN": RelayStack.verifyToken,
            "CAPI_RELAY_ACCESS_TOKEN": RelayStack.accessToken,
        ]
    }

    /// - Parameters:
    ///   - leaseSeconds: how long a relay's claim on delivery work lasts.
    ///   - timeoutSeconds: the relays' CAPI request timeout.
    init(leaseSeconds: Double = 30, timeoutSeconds: Double = 5) throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("shared-journal-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        url = try PostgresTestServer.freshDatabase()
        self.leaseSeconds = leaseSeconds
        self.timeoutSeconds = timeoutSeconds
    }

    deinit {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Starts a sandbox recording to a file of its own; returns its index.
    @discardableResult
    func startSandbox() throws -> Int {
        let recordPath = directory.appendingPathComponent("sandbox-\(sandboxes.count).jsonl").path
        let process = try TestProcess(
            ["sandbox", "--listen", "127.0.0.1:0", "--record", recordPath],
            environment: [
                "CAPI_RELAY_APP_SECRET": MessengerFixture.appSecret,
                "CAPI_RELAY_ACCESS_TOKEN": RelayStack.accessToken,
            ])
        let port = try process.waitForPort("sandbox listening")
        sandboxes.append(Sandbox(process: process, port: port, recordPath: recordPath))
        return sandboxes.count - 1
    }

    /// Starts a relay named `name` on the shared journal, sending CAPI requests to a sandbox.
    func startRelay(_ name: String, sandbox: Int = 0, flushIntervalSeconds: Double = 0.1) throws {
        let config = """
            // Written by SharedJournalStack for one relay of several.
            {
              "listen": "127.0.0.1:0",
              "journal": "\(url)",
              "node": "\(name)",
              "journal_lease_seconds": \(leaseSeconds),
              "pages": [{ "page_id": "104857600000001", "dataset": "\(RelayStack.dataset)" }],
              "capi": {
                "graph_url": "http://127.0.0.1:\(sandboxes[sandbox].port)",
                "flush_interval_seconds": \(flushIntervalSeconds),
                "timeout_seconds": \(timeoutSeconds)
              },
              "feed": { "socket": "\(directory.appendingPathComponent("\(name).sock").path)" },
              "rules": [
                { "name": "guide-lead", "when": { "quick_reply": "LEAD_GUIDE_YES" }, "event": "Lead" }
              ]
            }
            """
        let path = configPath(name)
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        let process = try TestProcess(["serve", "--config", path], environment: environment)
        let port = try process.waitForPort("relay listening")
        nodes[name] = Node(name: name, process: process, port: port)
    }

    /// The config file of the relay named `name`.
    func configPath(_ name: String) -> String {
        directory.appendingPathComponent("\(name).json").path
    }

    /// Posts a signed Messenger webhook to one relay over real HTTP.
    func postWebhook(_ body: [UInt8], to name: String) throws -> RawHTTP.Response {
        guard let node = nodes[name] else { throw TestFailure("no relay named \(name)") }
        return try RawHTTP.post(
            port: node.port, path: "/webhooks/messenger",
            headers: [
                "Content-Type": "application/json",
                "X-Hub-Signature-256": MessengerFixture.signature(body),
            ], body: body)
    }

    /// The Lead webhook of person `index`, and the event id the relay derives for it.
    func lead(_ index: Int) throws -> (body: [UInt8], eventID: String) {
        let template = String(
            decoding: try MessengerFixture.shifted("quick-reply-lead.json"), as: UTF8.self)
        let psid = "73200000\(String(format: "%08d", index))"
        let body = Array(
            template
                .replacingOccurrences(of: "7310000000000001", with: psid)
                .replacingOccurrences(of: "m_AbCdEf0001-qr", with: "m_shared-\(index)").utf8)
        let eventID = EventID.derive(
            pageID: "104857600000001", pageScopedUserID: psid, eventName: "Lead",
            anchor: "mid:m_shared-\(index)")
        return (body, eventID)
    }

    /// The CAPI event ids a sandbox accepted, in arrival order, one per event sent.
    func acceptedEventIDs(sandbox: Int = 0) -> [String] {
        guard let data = FileManager.default.contents(atPath: sandboxes[sandbox].recordPath)
        else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        .filter { $0["kind"] as? String == "capi" && $0["verdict"] as? String == "accepted" }
        .flatMap { ($0["events"] as? [[String: Any]]) ?? [] }
        .compactMap { $0["event_id"] as? String }
    }

    /// Runs a query on the shared database, beside the relays.
    func query(_ sql: String, _ parameters: [String?] = []) throws -> [PostgresRow] {
        try PostgresConnection(url: url).query(sql, parameters)
    }

    /// The database-wide totals, as every relay's feed shows them.
    func counters() throws -> JournalCounters {
        let journal = try PostgresJournal(
            url: url, options: PostgresJournalOptions(node: "test-reader"))
        defer { journal.close() }
        return try journal.counters()
    }

    /// Stops every relay with SIGTERM and every sandbox with SIGKILL (a sandbox holding a
    /// request open would otherwise answer it first).
    func stop() {
        for node in nodes.values {
            node.process.kill(SIGTERM)
            _ = try? node.process.waitForExit()
        }
        for sandbox in sandboxes {
            sandbox.process.kill(SIGKILL)
            _ = try? sandbox.process.waitForExit()
        }
    }

    /// A relay's stderr, for a failure message.
    func stderr(_ name: String) -> String { nodes[name]?.process.stderr ?? "" }
}
