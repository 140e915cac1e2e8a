import Foundation
import RelayCore
import Testing

@testable import RelaySandbox

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The sandbox over real loopback HTTP, with URLSession as the client, as the relay will use it.
@Suite("Sandbox over loopback HTTP")
struct SandboxTests {
    static let token = "EAAB-sandbox-token-4f2a"
    static let appSecret = "sandbox-app-secret"
    static let crmSecret = "sandbox-crm-secret"

    /// A started sandbox recording to a fresh file; the caller stops it and removes the file.
    func startSandbox() throws -> (Sandbox, String) {
        let path = NSTemporaryDirectory() + "sandbox-\(UUID().uuidString).jsonl"
        let sandbox = Sandbox(
            configuration: SandboxConfiguration(
                recordPath: path, expectedAccessToken: Self.token, appSecret: Self.appSecret,
                crmSecret: Self.crmSecret
            )
        )
        try sandbox.start()
        return (sandbox, path)
    }

    func post(
        _ url: String, body: [UInt8], contentType: String = "application/json",
        headers: [String: String] = [:]
    ) async throws -> (status: Int, body: [UInt8]) {
        var request = URLRequest(url: try #require(URL(string: url)))
        request.httpMethod = "POST"
        request.httpBody = Data(body)
        request.setValue(contentType, forHTTPHeaderField: "Content-Type")
        for (name, value) in headers {
            request.setValue(value, forHTTPHeaderField: name)
        }
        let session = URLSession(configuration: .ephemeral)
        defer { session.finishTasksAndInvalidate() }
        let (data, response) = try await session.data(for: request)
        let status = try #require(response as? HTTPURLResponse).statusCode
        return (status, Array(data))
    }

    func recordLines(_ path: String) throws -> [JSONValue] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
            try JSONValue(parsing: String($0))
        }
    }

    /// A Messenger purchase timed against the real clock, since the sandbox uses it.
    func liveEvent(_ id: String) -> JSONValue {
        let now = Int64(Date().timeIntervalSince1970)
        return CAPIFixtures.changing(
            CAPIFixtures.messengerPurchase(eventID: id), "event_time", to: .integer(now - 5)
        )
    }

    var credentials: String {
        let proof = Crypto.hmacSHA256Hex(key: Self.appSecret, message: Self.token)
        return "access_token=\(Self.token)&appsecret_proof=\(proof)"
    }

    @Test func validBatchIsAcceptedAndRecordedWithoutCredentials() async throws {
        let (sandbox, path) = try startSandbox()
        defer {
            sandbox.stop()
            try? FileManager.default.removeItem(atPath: path)
        }

        let url = "\(sandbox.baseURL)/v25.0/\(CAPIFixtures.dataset)/events?\(credentials)"
        let events = [liveEvent("mid.1"), liveEvent("mid.2")]
        let response = try await post(
            url, body: CAPIFixtures.body(events, extra: ["partner_agent": "capi-relay/test"]))

        #expect(response.status == 200)
        let body = try JSONValue(parsing: response.body)
        #expect(body["events_received"] == 2)
        #expect(body["messages"] == [])
        #expect(body["fbtrace_id"]?.stringValue?.count == 11)

        // The line is on disk by the time the response arrived.
        let lines = try recordLines(path)
        #expect(lines.count == 1)
        #expect(lines[0]["kind"] == "capi")
        #expect(lines[0]["verdict"] == "accepted")
        #expect(lines[0]["status"] == 200)
        #expect(lines[0]["events_received"] == 2)
        #expect(lines[0]["dataset"] == .string(CAPIFixtures.dataset))
        #expect(lines[0]["partner_agent"] == "capi-relay/test")
        #expect(lines[0]["fbtrace_id"] == body["fbtrace_id"])
        #expect(lines[0]["events"] == .array(events))

        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(!text.contains(Self.token))
        #expect(!text.contains("access_token"))
        #expect(!text.contains("appsecret_proof"))
        #expect(sandbox.records.map(\.verdict) == [.accepted])
    }

    @Test func invalidBatchIsGraphErrorAndRecordedAsRejected() async throws {
        let (sandbox, path) = try startSandbox()
        defer {
            sandbox.stop()
            try? FileManager.default.removeItem(atPath: path)
        }

        var events = (0..<10).map { liveEvent("mid.\($0)") }
        events[4] = CAPIFixtures.changing(
            events[4], "event_time", to: .integer(Int64(Date().timeIntervalSince1970) - 8 * 86_400))
        let url = "\(sandbox.baseURL)/v25.0/\(CAPIFixtures.dataset)/events?\(credentials)"
        let response = try await post(url, body: CAPIFixtures.body(events))

        #expect(response.status == 400)
        let error = try #require(try JSONValue(parsing: response.body)["error"])
        #expect(error["type"] == "OAuthException")
        #expect(error["code"] == 100)
        #expect(error["error_subcode"] == 2_804_003)
        #expect(error["error_user_title"] == "Event Timestamp Too Old")
        #expect(error["message"]?.stringValue?.contains("event_time of event 4") == true)
        #expect(error["fbtrace_id"]?.stringValue?.isEmpty == false)

        let lines = try recordLines(path)
        #expect(lines.count == 1)
        #expect(lines[0]["verdict"] == "rejected")
        #expect(lines[0]["status"] == 400)
        #expect(lines[0]["error"]?["error_subcode"] == 2_804_003)
        #expect(lines[0]["events_received"] == .null)
        #expect(lines[0]["events"]?.arrayValue?.count == 10)
    }

    @Test func wrongTokenAndMissingProofAreRefused() async throws {
        let (sandbox, path) = try startSandbox()
        defer {
            sandbox.stop()
            try? FileManager.default.removeItem(atPath: path)
        }
        let base = "\(sandbox.baseURL)/v25.0/\(CAPIFixtures.dataset)/events"
        let body = CAPIFixtures.body([liveEvent("mid.1")])

        let wrong = try await post("\(base)?access_token=not-the-token", body: body)
        #expect(wrong.status == 400)
        #expect(try JSONValue(parsing: wrong.body)["error"]?["code"] == 190)

        let noProof = try await post("\(base)?access_token=\(Self.token)", body: body)
        #expect(try JSONValue(parsing: noProof.body)["error"]?["code"] == 100)

        #expect(!(try String(contentsOfFile: path, encoding: .utf8)).contains("not-the-token"))
        #expect(sandbox.records.map(\.status) == [400, 400])
    }

    @Test func fullBatchLargerThanOneMebibyteIsAccepted() async throws {
        let (sandbox, path) = try startSandbox()
        defer {
            sandbox.stop()
            try? FileManager.default.removeItem(atPath: path)
        }
        let now = Int64(Date().timeIntervalSince1970)
        let hashes: JSONValue = .array(
            (0..<12).map { .string(Crypto.sha256Hex("person\($0)@example.com")) })
        let events = (0..<1_000).map { index in
            var event = CAPIFixtures.changing(
                CAPIFixtures.websitePurchase(), "event_time", to: .integer(now - 60))
            event = CAPIFixtures.changing(event, "event_id", to: .string("order-\(index)"))
            return CAPIFixtures.changing(event, "user_data.em", to: hashes)
        }
        let body = CAPIFixtures.body(events)
        #expect(body.count > 1 << 20, "the batch should exceed the HTTP server's default limit")

        let url = "\(sandbox.baseURL)/v25.0/\(CAPIFixtures.dataset)/events?\(credentials)"
        let response = try await post(url, body: body)
        #expect(response.status == 200)
        #expect(try JSONValue(parsing: response.body)["events_received"] == 1_000)
    }

    @Test func crmPostsNeedAValidSignature() async throws {
        let (sandbox, path) = try startSandbox()
        defer {
            sandbox.stop()
            try? FileManager.default.removeItem(atPath: path)
        }
        let url = "\(sandbox.baseURL)/crm"
        let body = Array(#"{"event_id":"mid.1","event_name":"Purchase","value":12.5}"#.utf8)
        let signature =
            "sha256=" + Crypto.hmacSHA256Hex(key: Array(Self.crmSecret.utf8), message: body)

        let signed = try await post(
            url, body: body, headers: ["X-Capi-Relay-Signature-256": signature])
        #expect(signed.status == 200)
        #expect(String(decoding: signed.body, as: UTF8.self) == #"{"ok":true}"#)

        let unsigned = try await post(url, body: body)
        #expect(unsigned.status == 403)

        let wrongKey = "sha256=" + Crypto.hmacSHA256Hex(key: Array("guess".utf8), message: body)
        let wrong = try await post(
            url, body: body, headers: ["X-Capi-Relay-Signature-256": wrongKey])
        #expect(wrong.status == 403)
        #expect(try JSONValue(parsing: wrong.body)["ok"] == false)

        let lines = try recordLines(path)
        #expect(lines.map { $0["kind"] } == ["crm", "crm", "crm"])
        #expect(lines.map { $0["status"] } == [200, 403, 403])
        #expect(lines[0]["body"]?["event_id"] == "mid.1")
        #expect(!(try String(contentsOfFile: path, encoding: .utf8)).contains(Self.crmSecret))
    }

    @Test func healthCheckAnswersOK() async throws {
        let sandbox = Sandbox(configuration: SandboxConfiguration())
        try sandbox.start()
        defer { sandbox.stop() }
        #expect(sandbox.port != 0)

        let session = URLSession(configuration: .ephemeral)
        defer { session.finishTasksAndInvalidate() }
        let (data, response) = try await session.data(
            from: try #require(URL(string: "\(sandbox.baseURL)/healthz")))
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        #expect(String(decoding: data, as: UTF8.self) == "ok\n")
        #expect(sandbox.records.isEmpty)
    }

    @Test func unwritableRecordPathFailsToStartNamingIt() {
        let path = "/nonexistent-\(UUID().uuidString)/record.jsonl"
        let sandbox = Sandbox(configuration: SandboxConfiguration(recordPath: path))
        #expect {
            try sandbox.start()
        } throws: { error in
            "\(error)".contains(path)
        }
        #expect(sandbox.port == 0)
    }
}
