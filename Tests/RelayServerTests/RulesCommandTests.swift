import Foundation
import RelayServer
import RelayTestSupport
import Testing

/// `capi-relay rules` on the example config, compared whole with golden files
/// (`CAPI_RELAY_UPDATE_GOLDEN=1` rewrites them after a deliberate change).
@Suite struct RulesCommandTests {
    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Golden")

    func rules(_ arguments: [String]) throws -> String {
        let file = FileManager.default.temporaryDirectory
            .appendingPathComponent("rules-\(UUID().uuidString)").appendingPathComponent(
                "capi-relay.json")
        try FileManager.default.createDirectory(
            at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: file.deletingLastPathComponent()) }
        try ExampleConfiguration.text.write(to: file, atomically: true, encoding: .utf8)
        let run = try QAFunnel.run(["rules", "--config", file.path] + arguments)
        #expect(run.status == 0, "\(run.stderr)")
        return run.stdout.replacingOccurrences(of: file.path, with: "capi-relay.json")
    }

    func compare(_ output: String, golden name: String) throws {
        let url = Self.golden.appendingPathComponent(name)
        if ProcessInfo.processInfo.environment["CAPI_RELAY_UPDATE_GOLDEN"] == "1" {
            try output.write(to: url, atomically: true, encoding: .utf8)
        }
        #expect(output == (try String(contentsOf: url, encoding: .utf8)))
    }

    @Test func textShowsEachRulesTriggerCAPIFieldsAndCRMPayload() throws {
        let output = try rules([])
        try compare(output, golden: "rules.txt")
        #expect(output.split(separator: "\n").allSatisfy { $0.count <= 100 })
    }

    @Test func markdownIsOneTableRowPerRule() throws {
        try compare(try rules(["--format", "markdown"]), golden: "rules.md")
    }

    @Test func theConversionsCRMStagesMakeAreListedAndNotPostedBack() throws {
        let output = try rules([])
        #expect(output.contains("7. crm_stage:qualified → QualifiedLead"), "\(output)")
        #expect(output.contains("   trigger    CRM stage won"))
        #expect(output.contains("   CRM        \(RulesTable.notPostedBack)"))
        let markdown = try rules(["--format", "markdown"])
        #expect(markdown.contains("| 8 | `crm_stage:won` | CRM stage won | `Purchase` |"))
    }

    @Test func anUnknownFormatIsAUsageError() throws {
        let run = try QAFunnel.run(["rules", "--format", "html"])
        #expect(run.status == 64)
        #expect(run.stderr.hasPrefix("Option '--format' expects text or markdown, got 'html'."))
    }
}
