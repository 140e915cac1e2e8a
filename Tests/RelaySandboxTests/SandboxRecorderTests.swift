import Foundation
import RelayCore
import Testing

@testable import RelaySandbox

@Suite("Sandbox record file")
struct SandboxRecorderTests {
    func temporaryPath() -> String {
        NSTemporaryDirectory() + "sandbox-record-\(UUID().uuidString).jsonl"
    }

    func lines(_ path: String) throws -> [JSONValue] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return try text.split(separator: "\n").map { try JSONValue(parsing: String($0)) }
    }

    func record(_ index: Int = 0, events: [JSONValue]? = nil) -> SandboxRecord {
        SandboxRecord(
            time: 1_760_000_000.25, kind: .capi, method: "POST", path: "/v25.0/123/events",
            dataset: "123", apiVersion: "v25.0", status: 200, verdict: .accepted,
            eventsReceived: 1, events: events ?? [["event_name": .string("e\(index)")]],
            partnerAgent: "capi-relay/0.1", fbtraceID: "AbCdEfGhIjK"
        )
    }

    @Test func eachAppendIsOneLineReadableAtOnce() throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let recorder = try SandboxRecorder(path: path)

        try recorder.append(record(0))
        #expect(try lines(path).count == 1)
        try recorder.append(record(1))

        let written = try lines(path)
        #expect(written.count == 2)
        #expect(written[1]["events"] == [["event_name": "e1"]])
        #expect(recorder.records.count == 2)
    }

    @Test func lineHasTheDocumentedSchema() throws {
        let line = record().jsonObject
        #expect(line["time"] == "2025-10-09T08:53:20.250Z")
        #expect(line["kind"] == "capi")
        #expect(line["method"] == "POST")
        #expect(line["path"] == "/v25.0/123/events")
        #expect(line["dataset"] == "123")
        #expect(line["api_version"] == "v25.0")
        #expect(line["status"] == 200)
        #expect(line["verdict"] == "accepted")
        #expect(line["error"] == .null)
        #expect(line["events_received"] == 1)
        #expect(line["body"] == .null)
        #expect(line["test_event_code"] == .null)
        #expect(line["partner_agent"] == "capi-relay/0.1")
        #expect(line["fbtrace_id"] == "AbCdEfGhIjK")
        #expect(line["fault"] == .null, "served as Meta would, not by a fault")
        #expect(line.objectValue?.count == 16)
    }

    @Test func credentialsPastedIntoEventsNeverReachTheFile() throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let recorder = try SandboxRecorder(path: path)

        let events: [JSONValue] = [
            [
                "event_name": "x", "access_token": "tok-SECRET",
                "custom_data": ["appsecret_proof": "proof-SECRET"],
            ]
        ]
        try recorder.append(record(events: events))

        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(!text.contains("SECRET"))
        #expect(recorder.records[0].events == [["event_name": "x", "custom_data": [:]]])
    }

    @Test func concurrentAppendsNeverInterleaveLines() async throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let recorder = try SandboxRecorder(path: path)
        let big = JSONValue.string(String(repeating: "x", count: 20_000))

        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<64 {
                group.addTask {
                    try recorder.append(
                        self.record(index, events: [["i": .integer(Int64(index)), "pad": big]]))
                }
            }
            try await group.waitForAll()
        }

        let written = try lines(path)
        #expect(written.count == 64)
        let indices = Set(written.compactMap { $0["events"]?[0]?["i"]?.integerValue })
        #expect(indices == Set(0..<64))
    }

    @Test func appendsToAnExistingFile() throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        try SandboxRecorder(path: path).append(record(0))
        try SandboxRecorder(path: path).append(record(1))
        #expect(try lines(path).count == 2)
    }

    @Test func unwritablePathFailsAtOpenNamingThePath() {
        let path = "/nonexistent-dir-\(UUID().uuidString)/record.jsonl"
        #expect {
            _ = try SandboxRecorder(path: path)
        } throws: { error in
            "\(error)".contains(path) && "\(error)".contains("No such file")
        }
    }

    @Test func memoryKeepsOnlyTheMostRecentRecords() throws {
        let recorder = try SandboxRecorder(path: nil)
        for index in 0..<(SandboxRecorder.memoryLimit + 5) {
            try recorder.append(record(index))
        }
        #expect(recorder.records.count == SandboxRecorder.memoryLimit)
        #expect(recorder.records.first?.events == [["event_name": "e5"]])
    }
}
