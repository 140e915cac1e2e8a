import Foundation
import RelayTestSupport
import Testing

@Suite struct DemoTests {
    @Test func demoWithTwoHundredStepsExitsZeroAndItsTotalsAddUp() throws {
        let demo = try TestProcess(["demo", "--events", "200"])
        let status = try demo.waitForExit(timeout: 120)
        #expect(status == 0, "stderr: \(demo.stderr)")

        let output = demo.stdout
        let numbers = try totals(in: output)
        #expect(output.contains("funnel steps      200 messaging items"))
        #expect(numbers["received"]! >= 200, "redeliveries are received too")
        #expect(numbers["received"] == numbers["conversions"]! + numbers["non-conversions"]!)
        #expect(
            numbers["conversions"] == numbers["sent"]! + numbers["dedupe hits"]! + numbers[
                "expired"]! + numbers["failed"]!)
        #expect(numbers["dedupe hits"]! > 0, "the demo redelivers some webhooks")
        #expect(numbers["sent"]! > 0)
        #expect(!output.contains("DOES NOT"))
        // The sandbox's own record agrees: every sent event arrived, none twice.
        #expect(output.contains("[matches the journal, each once]"))
        #expect(output.contains("events accepted (\(numbers["sent"]!) distinct)"))
    }

    @Test func demoWithChaosStillAddsUpWhileTheSandboxFails() throws {
        let demo = try TestProcess(["demo", "--events", "100", "--chaos"])
        let status = try demo.waitForExit(timeout: 180)
        #expect(status == 0, "stderr: \(demo.stderr)")
        let output = demo.stdout
        #expect(!output.contains("DOES NOT"), "\(output)")
        #expect(output.contains("[matches the journal, each once]"))
        // Some requests were refused by the fault plan, and retried or split until delivered.
        let rejected = try NSRegularExpression(pattern: #"(\d+) rejected"#)
        let match = rejected.firstMatch(
            in: output, range: NSRange(output.startIndex..., in: output))
        let count = match.flatMap { Range($0.range(at: 1), in: output) }.flatMap { Int(output[$0]) }
        #expect((count ?? 0) > 0, "\(output)")
    }

    /// Reads `received 200 = conversions 80 + non-conversions 120` and the next line's numbers.
    private func totals(in output: String) throws -> [String: Int] {
        var numbers: [String: Int] = [:]
        let names = [
            "received", "conversions", "non-conversions", "sent", "dedupe hits", "expired",
            "failed",
        ]
        for line in output.split(separator: "\n") where line.contains(" = ") {
            for name in names {
                let pattern = try NSRegularExpression(pattern: "(?:^|[ ])\(name) +(\\d+)")
                let text = String(line)
                if let match = pattern.firstMatch(
                    in: text, range: NSRange(text.startIndex..., in: text)),
                    let range = Range(match.range(at: 1), in: text), numbers[name] == nil
                {
                    numbers[name] = Int(text[range])
                }
            }
        }
        guard numbers.count == names.count else {
            throw TestFailure("totals not found in demo output:\n\(output)")
        }
        return numbers
    }
}
